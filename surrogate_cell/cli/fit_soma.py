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
from pathlib import Path

from ..data import Dataset, DatasetUnion
from ..errors import SurrogateCellError
from ..model import load

EXAMPLES = """
examples:
  surrogate-cell fit-soma --model run/model.pt --data train.h5 more.h5 --out run/model_soma.pt
  surrogate-cell fit-soma --model run/model.pt --data train.h5 --out fitted.pt --json
"""


def register(sub, formatter):
    p = sub.add_parser("fit-soma", help="fit a least-squares soma read-out onto a trained model",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    p.add_argument("--model", required=True, metavar="FILE.pt", help="an exported model (train's model.pt)")
    p.add_argument("--data", required=True, nargs="+", metavar="FILE.h5", help="the model's training data, in order")
    p.add_argument("--out", required=True, metavar="FILE.pt", help="the fitted model (never the input file)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run, output_files=("out",))


def run(args) -> int:
    import torch  # heavy (torch): only when a model runs

    from ..training.evaluate import check_compatible  # heavy (torch): only when training code runs
    from ..training.export import export_model, training_model  # heavy (torch): only when training code runs
    from ..training.soma_fit import fit_soma  # heavy (torch): only when training code runs

    if Path(args.out).resolve() == Path(args.model).resolve():
        raise SurrogateCellError("--out must differ from --model: the fitted model is a new file")
    if args.threads:
        torch.set_num_threads(args.threads)
    exported = load(args.model)
    meta = exported.metadata
    dataset = DatasetUnion([Dataset(p) for p in args.data], None)
    check_compatible(exported, dataset)
    if dataset.digest != meta.get("data_digest"):
        raise SurrogateCellError(f"--data is not the training data of {args.model} (digest {dataset.digest[:8]}… "
                                 f"against the model's {str(meta.get('data_digest'))[:8]}…); give the files it was "
                                 "trained on, in the same order")
    if "train_sims" not in meta or "val_sims" not in meta:
        raise SurrogateCellError(f"{args.model} does not record its training and validation simulations; "
                                 "export it with `surrogate-cell train`")
    model = training_model(exported, dataset)  # fit_soma refuses one fitted already, and switches the read-out on
    val_sims = list(meta["val_sims"])
    report = fit_soma(model, dataset, list(meta["train_sims"]), val_sims, progress=not args.no_progress)
    config = json.loads(json.dumps(meta["config"]))
    config["model"]["soma_fit"] = True
    keep = {k: meta[k] for k in ("spike_calibration", "train_sims", "val_sims", "provenance") if k in meta}
    keep["soma_fit"] = {k: v for k, v in report.items() if k != "val_rmse_mv_by_ridge"}
    path = export_model(model, args.out, segments=exported.segments, channel_segment=exported.channel_segment,
                        channel_kind=exported.channel_kind, arch=meta["arch"], config=config,
                        data_digest=meta["data_digest"], trained_inputs=exported.trained_inputs,
                        spike_threshold_mV=meta["spike_threshold_mV"], geometry=exported.geometry,
                        extra=keep)
    summary = {"model": str(path), **keep["soma_fit"]}
    print(json.dumps(summary) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 0
