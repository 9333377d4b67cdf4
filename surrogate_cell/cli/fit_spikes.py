"""``surrogate-cell fit-spikes``: fit the spike mechanism's refractoriness and threshold on free runs.

Training teaches the spike mechanism with the true spike history fed in; run
free, a model may then fire again 5–10 ms after its own spikes where the cell
stays silent. This command runs the model free from rest on its training
simulations, moves each spike-history weight in turn with the threshold
re-chosen, and keeps what raises the objective there: F1 at ±5 ms, minus the
relative rate error, minus the difference between the predicted and the true
fractions of inter-spike intervals under 10 ms. The validation simulations
are scored before and after (``fit_objective``). Voltages change only
through the spikes (their waveforms and after-effects). Evaluate the result
on held-out data with `surrogate-cell evaluate`.

--data must be the model's training data, the same files in the same order
(their digest is checked against the model's).
"""
from __future__ import annotations

import json

from tqdm import tqdm

from ..errors import SurrogateCellError
from .refit import add_refit_arguments, export_refitted, sim_list, trained_model

EXAMPLES = """
examples:
  surrogate-cell fit-spikes --model run/model.pt --data train.h5 more.h5 --out run/model_spikes.pt
  surrogate-cell fit-spikes --model run/model.pt --data train.h5 --out fitted.pt --rounds 1 --json
"""


def register(sub, formatter):
    p = sub.add_parser("fit-spikes", help="fit the spike mechanism's refractoriness and threshold on free runs",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    add_refit_arguments(p, run)
    p.add_argument("--rounds", type=int, default=2, help="passes over the history weights (default 2)")


def run(args) -> int:
    from ..training.evaluate import sims_drive  # heavy (torch): only when training code runs
    from ..training.spike_fit import figures_at, fit_spike_history  # heavy (torch): training code

    if args.rounds < 1:
        raise SurrogateCellError(f"--rounds must be at least 1, got {args.rounds}")
    exported, dataset, model = trained_model(args)
    meta = exported.metadata
    fit_d = sims_drive(model, dataset, sim_list(meta, "train_sims"))
    val_d = sims_drive(model, dataset, sim_list(meta, "val_sims"))
    before = figures_at(model, val_d, float(meta["spike_probability"]))
    with tqdm(total=args.rounds * model.n_hist, desc="fit-spikes", disable=args.no_progress) as bar:
        report = fit_spike_history(model, fit_d, rounds=args.rounds, progress=lambda _: bar.update())
    after = figures_at(model, val_d, report["after"]["level"])
    fitted = {"train": report, "validation_before": before, "validation_after": after}
    config = json.loads(json.dumps(meta["config"]))
    path = export_refitted(model, exported, args.out, config,
                           {"spike_history_fit": fitted,
                            "spike_calibration": {**report["after"], "refitted_with": "fit-spikes"}})
    summary = {"model": str(path), "level": report["after"]["level"], "w_hist": report["w_hist"],
               "validation_before": before, "validation_after": after}
    print(json.dumps(summary) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 0
