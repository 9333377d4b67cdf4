"""``surrogate-cell fit-soma``: fit a least-squares soma read-out onto a trained surrogate.

The model runs free from rest on its own training simulations; a ridge
regression of the soma's remaining sub-threshold error on the model's own
state (hidden units, traces, own spikes) is added to the soma's output voltage
(see surrogate_cell/training/soma_fit.py). Spikes and all other segments are unchanged. The
ridge is chosen by a fit on the model's training simulations scored on its
validation simulations (their soma sub-threshold RMSE before and after is
printed); the read-out is then fitted on both. Evaluate the result on
held-out data with `surrogate-cell evaluate`.

--data must be the model's training data, the same files in the same order
(their digest is checked against the model's).
"""
from __future__ import annotations

import json

from .refit import add_refit_arguments, export_refitted, sim_list, trained_model

EXAMPLES = """
examples:
  surrogate-cell fit-soma --model run/model.pt --data train.h5 more.h5 --out run/model_soma.pt
  surrogate-cell fit-soma --model run/model.pt --data train.h5 --out fitted.pt --json
"""


def register(sub, formatter):
    p = sub.add_parser("fit-soma", help="fit a least-squares soma read-out onto a trained model",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    add_refit_arguments(p, run)


def run(args) -> int:
    from ..training.soma_fit import fit_soma  # heavy (torch): only when training code runs

    exported, dataset, model = trained_model(args)  # fit_soma refuses one fitted already
    meta = exported.metadata
    report = fit_soma(model, dataset, sim_list(meta, "train_sims"), sim_list(meta, "val_sims"),
                      progress=not args.no_progress)
    config = json.loads(json.dumps(meta["config"]))
    config["model"]["soma_fit"] = True
    fitted = {k: v for k, v in report.items() if k != "val_rmse_mv_by_ridge"}
    path = export_refitted(model, exported, args.out, config, {"soma_fit": fitted})
    summary = {"model": str(path), **fitted}
    print(json.dumps(summary) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 0
