"""What the commands that refit part of a trained model share: the model with its training data, and the
refitted model's export with the same metadata."""
from __future__ import annotations

import json
from pathlib import Path

from ..data import Dataset, DatasetUnion
from ..errors import SurrogateCellError
from ..model import load


def add_refit_arguments(p, run) -> None:
    """The options every refit command takes (the model, its training data, the output, threads, output form),
    and ``run`` as its function."""
    p.add_argument("--model", required=True, metavar="FILE.pt", help="an exported model (train's model.pt)")
    p.add_argument("--data", required=True, nargs="+", metavar="FILE.h5", help="the model's training data, in order")
    p.add_argument("--out", required=True, metavar="FILE.pt", help="the fitted model (never the input file)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run, output_files=("out",))


def trained_model(args):
    """``(exported, dataset, model)``: the model file ``args.model``, its training data ``args.data`` (checked by
    digest) and its trainable form; refuses ``args.out`` equal to ``args.model``."""
    import torch  # heavy (torch): only when a model runs

    from ..training.evaluate import check_compatible  # heavy (torch): only when training code runs
    from ..training.export import training_model  # heavy (torch): only when training code runs

    if Path(args.out).resolve() == Path(args.model).resolve():
        raise SurrogateCellError("--out must differ from --model: the refitted model is a new file")
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
    return exported, dataset, training_model(exported, dataset)


def sim_list(meta: dict, key: str) -> list[int]:
    """The model's ``train_sims`` or ``val_sims`` (older files hold them as a JSON string)."""
    value = meta[key]
    return [int(s) for s in (json.loads(value) if isinstance(value, str) else value)]


def export_refitted(model, exported, out, config: dict, keep: dict):
    """Export the refitted ``model`` to ``out`` with ``exported``'s cell, data and calibration entries, the
    entries ``keep`` and the model ``config``."""
    from ..training.export import export_model  # heavy (torch): only when training code runs

    meta = exported.metadata
    extra = {k: meta[k] for k in ("spike_calibration", "train_sims", "val_sims", "provenance", "soma_fit",
                                  "spike_history_fit") if k in meta}
    extra.update(keep)
    return export_model(model, out, segments=exported.segments, channel_segment=exported.channel_segment,
                        channel_kind=exported.channel_kind, arch=meta["arch"], config=config,
                        data_digest=meta["data_digest"], trained_inputs=exported.trained_inputs,
                        spike_threshold_mV=meta["spike_threshold_mV"], geometry=exported.geometry, extra=extra)
