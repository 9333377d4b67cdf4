"""``surrogate-cell evaluate``: free-running figures of an exported surrogate on held-out data.

The model runs from rest with its own state only; no true voltage is fed in.
Figures (see docs/models.md, "Evaluation"): spike precision/recall/F1 at ±2 ms (and
``_5ms``), spike AUC at 1 ms, soma and soma sub-threshold RMSE, per-segment RMSE
(median, p95, per region), rate error, spike-count r over 100 ms bins, and
whether the run produced NaN or left [−100, 60] mV. With ``--lfp``, also the
single-cell LFP of the predicted voltages against that of the true ones (Pearson r
per contact of a laminar probe beside the cell; no network, same inputs).

Each headline figure comes with a 95 % bootstrap interval over the
simulations (``bootstrap``): the spread that a held-out set of this size
carries. Judge a model on at least 120 s (24 simulations of 5 s) that no
choice was made on; the command says so when the set is smaller.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..data import Dataset, DatasetUnion
from ..errors import SurrogateCellError
from ..model import load
from ..plots.models import plot_evaluation, plot_region_swarm

#: Held-out data (s) below which a set is too small to judge a model by.
MIN_HELDOUT_S = 120.0

EXAMPLES = """
examples:
  surrogate-cell evaluate --model runs/mmoe/model.pt --data heldout.h5 --json
  surrogate-cell evaluate --model runs/mmoe/model.pt --data heldout.h5 --plot figs/
  surrogate-cell evaluate --model runs/mmoe/model.pt --data heldout.h5 --lfp --json
  surrogate-cell evaluate --model runs/mmoe/model.pt --data heldout.h5 heldout_strong.h5 --json
  surrogate-cell evaluate --model hay.pt --data hay_heldout.h5 --lfp      # the model file carries its cell
"""


def register(sub, formatter):
    p = sub.add_parser("evaluate", help="free-running evaluation of a model on held-out data",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    p.add_argument("--model", required=True, metavar="FILE.pt")
    p.add_argument("--data", required=True, nargs="+", metavar="FILE.h5",
                   help="held-out data (seeds never used in training); several files of one cell are one set")
    p.add_argument("--max-ms", type=int, default=None, help="evaluate only the first ms of each simulation")
    p.add_argument("--plot", metavar="DIR", help="write heat map and region plots here")
    p.add_argument("--lfp", action="store_true",
                   help="add the single-cell LFP figures (lfp_r_per_contact, lfp_r_min, lfp_rms_ratio)")
    p.add_argument("--lfp-x-um", type=float, default=50.0,
                   help="lateral distance of the LFP probe from the soma (µm; contacts at y = -200..1200 µm)")
    p.add_argument("--morphology", metavar="FILE", default=None,
                   help="the model's morphology file, for --lfp (default: the geometry the model file carries)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="resamples of the simulations for the 95 %% intervals (0: none)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run, output_folders=("plot",))


def run(args) -> int:
    from ..training.evaluate import evaluate, public_figures  # heavy (torch): only when training code runs

    if args.bootstrap < 0:
        raise SurrogateCellError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    model = load(args.model)
    sets = [Dataset(path) for path in args.data]
    dataset = sets[0] if len(sets) == 1 else DatasetUnion(sets)
    result = evaluate(model, dataset, max_ms=args.max_ms, n_boot=args.bootstrap)
    if result["simulated_s"] < MIN_HELDOUT_S:
        print(f"note: {result['simulated_s']:g} s of held-out data in {dataset.n_sims} simulations; figures on "
              f"less than {MIN_HELDOUT_S:g} s swing widely between sets (see the bootstrap intervals)",
              file=sys.stderr)
    if args.plot:
        plot_evaluation(result, dataset.segments, args.plot, title=model.metadata.get("arch", ""))
        plot_region_swarm({model.metadata.get("arch", "model"): result["per_segment_rmse_mv"]},
                          dataset.segments, Path(args.plot) / "region_rmse.png")
    figures = public_figures(result)
    if args.lfp:
        from ..training.evaluate import lfp_fidelity  # heavy (torch): only when training code runs

        figures.update(lfp_fidelity(result, dataset.segments, x_um=args.lfp_x_um,
                                    morphology=args.morphology or model.geometry))
    if args.json:
        print(json.dumps(figures))
        return 0
    intervals = figures.get("bootstrap") or {}
    for k, v in figures.items():
        if k == "bootstrap":
            continue
        ci = intervals.get(k)
        shown = f"{v:.4g}" if isinstance(v, float) else v
        print(f"{k:28s} {shown}" + (f"   [{ci[0]:.4g}, {ci[1]:.4g}]" if ci else ""))
    if intervals:
        print(f"(brackets: {100 * intervals['level']:g} % bootstrap intervals over {intervals['n_simulations']} "
              f"simulations, {intervals['n_boot']} resamples)")
    return 0
