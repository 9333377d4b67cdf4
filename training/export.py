"""Export a trained :class:`~surrogate_cell.training.model.Surrogate` as one TorchScript file."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from surrogate_cell import __version__
from surrogate_cell.cells.segments import SegmentTable
from surrogate_cell.model import FORMAT, FORMAT_VERSION, METADATA_FILE, params_digest


def _jsonable(table: SegmentTable) -> dict:
    return {k: np.asarray(v).tolist() for k, v in table.__dict__.items()}


def export_model(model: torch.nn.Module, path: str | Path, *, segments: SegmentTable,
                 channel_segment: np.ndarray, channel_kind: np.ndarray, arch: str,
                 config: dict | None = None, data_digest: str = "", spike_threshold_mV: float = -10.0,
                 spike_probability: float | None = None, extra: dict | None = None) -> Path:
    """Script ``model`` and write it with its metadata (see :mod:`surrogate_cell.model`).

    ``spike_probability`` defaults to the model's own threshold (``sigmoid(spike_logit_threshold)``),
    with which its spike mechanism fires; the file is written to a temporary name and renamed into place.
    """
    model = model.cpu().eval()
    own = getattr(model, "spike_logit_threshold", None)
    if spike_probability is None:
        spike_probability = float(torch.sigmoid(own)) if own is not None else 0.5
    elif own is not None and abs(float(torch.sigmoid(own)) - spike_probability) > 1e-6:
        raise ValueError(f"spike_probability {spike_probability} differs from the model's own threshold "
                         f"{float(torch.sigmoid(own))}; leave it unset")
    scripted = torch.jit.script(model)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "arch": arch,
        "config": config or {},
        "dt_ms": 1.0,
        "spike_threshold_mV": spike_threshold_mV,
        "spike_probability": spike_probability,
        # a model with its own spike mechanism spikes by its probability; others by the soma threshold
        "spike_rule": "probability" if own is not None else "threshold",
        "segments": _jsonable(segments),
        "channels": {"segment": np.asarray(channel_segment).tolist(), "kind": np.asarray(channel_kind).tolist()},
        "cell_digest": segments.digest(),
        "data_digest": data_digest,
        "params_sha256": params_digest(scripted),
        "torch_version": torch.__version__,
    }
    meta.update(extra or {})
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    torch.jit.save(scripted, str(tmp), _extra_files={METADATA_FILE: json.dumps(meta)})
    os.replace(tmp, path)
    return path
