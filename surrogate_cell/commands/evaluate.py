"""``surrogate-cell evaluate``: free-running figures of an exported surrogate on held-out data.

The model runs from rest with its own state only; no true voltage is fed in.
Figures (see docs/models.md, "Evaluation"): spike precision/recall/F1 at ±2 ms (and
``_5ms``), spike AUC at 1 ms, soma and soma sub-threshold RMSE, per-segment RMSE
(median, p95, per region), rate error, spike-count r over 100 ms bins, and
whether the run produced NaN or left [−100, 60] mV. With ``--lfp``, also the
single-cell LFP of the predicted voltages against that of the true ones (Pearson r
per contact of a laminar probe beside the cell; no network, same inputs).
"""
from __future__ import annotations

import json

EXAMPLES = """
examples:
  surrogate-cell evaluate --model runs/mmoe/model.pt --data heldout.h5 --json
  surrogate-cell evaluate --model runs/mmoe/model.pt --data heldout.h5 --plot figs/
  surrogate-cell evaluate --model runs/mmoe/model.pt --data heldout.h5 --lfp --json
  surrogate-cell evaluate --model hay.pt --data hay_heldout.h5 --lfp --morphology cell1.asc
"""


def register(sub, formatter):
    p = sub.add_parser("evaluate", help="free-running evaluation of a model on held-out data",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    p.add_argument("--model", required=True, metavar="FILE.pt")
    p.add_argument("--data", required=True, metavar="FILE.h5", help="held-out data (seeds never used in training)")
    p.add_argument("--max-ms", type=int, default=None, help="evaluate only the first ms of each simulation")
    p.add_argument("--plot", metavar="DIR", help="write heat map and region plots here")
    p.add_argument("--lfp", action="store_true",
                   help="add the single-cell LFP figures (lfp_r_per_contact, lfp_r_min, lfp_rms_ratio)")
    p.add_argument("--lfp-x-um", type=float, default=50.0,
                   help="lateral distance of the LFP probe from the soma (µm; contacts at y = -200..1200 µm)")
    p.add_argument("--morphology", metavar="FILE", default=None,
                   help="the model's morphology file, for --lfp (default: the synthetic L5PC)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run, output_folders=("plot",))


def run(args) -> int:
    from ..data import Dataset
    from ..model import load
    from ..training.evaluate import evaluate, plot_evaluation, plot_region_swarm, public_figures

    model = load(args.model)
    dataset = Dataset(args.data)
    result = evaluate(model, dataset, max_ms=args.max_ms)
    if args.plot:
        from pathlib import Path

        plot_evaluation(result, dataset.segments, args.plot, title=model.metadata.get("arch", ""))
        plot_region_swarm({model.metadata.get("arch", "model"): result["per_segment_rmse_mv"]},
                          dataset.segments, Path(args.plot) / "region_rmse.png")
    figures = public_figures(result)
    if args.lfp:
        from ..training.evaluate import lfp_fidelity

        figures.update(lfp_fidelity(result, dataset.segments, x_um=args.lfp_x_um, morphology=args.morphology))
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:28s} {v}")
    return 0
