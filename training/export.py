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
                 spike_probability: float = 0.5, extra: dict | None = None) -> Path:
    """Script ``model`` and write it with its metadata (see :mod:`surrogate_cell.model`).

    The file is written to a temporary name and renamed into place.
    """
    model = model.cpu().eval()
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
