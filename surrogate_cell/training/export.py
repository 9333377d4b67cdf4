"""Export a trained :class:`~surrogate_cell.training.model.Surrogate` as one TorchScript file."""
from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..cells import HayCell
from ..cells.geometry import CellGeometry
from ..cells.segments import SegmentTable
from ..data.cellspec import input_channels
from ..data.inputs import GeneratorConfig, kinetics_bounds
from ..model import (METADATA_FILE, MODEL_FORMAT, MODEL_FORMAT_VERSION, load, metadata_digest, validate_metadata,
                     weights_digest)
from ..synapses import trained_ranges
from .model import ModelConfig, Surrogate
from .train import REGION_INDEX, build_model
from .weights import load_compatible


def _jsonable(table: SegmentTable) -> dict:
    """The table's fields as JSON lists (not its ``__dict__``, which also holds its cached section lookup)."""
    return {f.name: np.asarray(getattr(table, f.name)).tolist() for f in fields(table)}


def export_model(model: torch.nn.Module, path: str | Path, *, segments: SegmentTable,
                 channel_segment: np.ndarray, channel_kind: np.ndarray, arch: str, trained_inputs: dict,
                 config: dict | None = None, data_digest: str = "", spike_threshold_mV: float = -10.0,
                 spike_probability: float | None = None, geometry: CellGeometry | None = None,
                 extra: dict | None = None) -> Path:
    """Script ``model`` and write it with its metadata (see :mod:`surrogate_cell.model`).

    ``trained_inputs`` is :func:`surrogate_cell.synapses.trained_ranges` of the training data's kinetics.
    ``geometry`` is the cell's :class:`~surrogate_cell.cells.CellGeometry`, so that the file rebuilds the
    detailed cell (LFP, comparisons) without its morphology file; :func:`data_fields` gives it with the rest.

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
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "package_version": __version__,
        "arch": arch,
        "config": config or {},
        "dt_ms": 1.0,
        "spike_threshold_mV": spike_threshold_mV,
        "spike_probability": spike_probability,
        # a model with its own spike mechanism spikes by its probability; others by the soma threshold
        "spike_rule": "probability" if own is not None else "threshold",
        # the voltages are an exact linear readout of a few features (the LFP's reduced form may use it)
        "linear_readout": bool(getattr(model, "has_linear_readout", lambda: False)()),
        "segments": _jsonable(segments),
        "channels": {"segment": np.asarray(channel_segment).tolist(), "kind": np.asarray(channel_kind).tolist()},
        "trained_inputs": trained_inputs,
        "cell_digest": segments.digest(),
        "geometry": geometry.to_dict() if geometry is not None else None,
        "data_digest": data_digest,
        "params_sha256": weights_digest(scripted),
        "torch_version": torch.__version__,
    }
    meta.update(extra or {})
    return _write(scripted, meta, Path(path))


def with_geometry(src: str | Path, geometry: CellGeometry, dst: str | Path) -> Path:
    """Write model ``src`` to ``dst`` with ``geometry`` (its cell's, checked against its segment table) in its
    metadata; the weights are unchanged. For model files written before models carried their cell."""
    model = load(src)
    if HayCell(geometry).segments.digest() != model.cell_digest:
        raise ValueError(f"the geometry ({geometry.source}) is not the cell {src} was trained on")
    meta = {k: v for k, v in model.metadata.items() if k != "metadata_sha256"}
    meta["geometry"] = geometry.to_dict()
    return _write(model.module, meta, Path(dst))


def rescripted(src: str | Path, dst: str | Path) -> Path:
    """Write model ``src`` to ``dst`` scripted from this version's code: the same weights and metadata, this
    version's methods (a file written before :meth:`~.model.Surrogate.step_rows` existed gains it)."""
    model = load(src)
    if "model" not in model.metadata.get("config", {}):
        raise ValueError(f"{src} does not record its model configuration (metadata config.model): export it with "
                         "`surrogate-cell train`, or rebuild it with export_model(..., config={'model': ...})")
    if model.metadata["config"]["model"].get("local_path"):
        raise ValueError(f"{src} has a local path, whose channel rows a model file does not keep: retrain it")
    scripted = torch.jit.script(training_model(model, model).cpu().eval())  # the loaded model is its own cell
    if weights_digest(scripted) != model.metadata["params_sha256"]:
        raise ValueError(f"{src}: its weights did not load unchanged into this version's model")
    meta = {k: v for k, v in model.metadata.items() if k != "metadata_sha256"}
    return _write(scripted, meta, Path(dst))


def data_fields(dataset) -> dict:
    """The keyword arguments of :func:`export_model` that come from the training data: the cell's tables and
    geometry, its input channels, the trained input ranges and the data digest."""
    return {"segments": dataset.segments, "channel_segment": dataset.channel_segment,
            "channel_kind": dataset.channel_kind, "trained_inputs": trained_ranges(dataset.kinetics),
            "data_digest": dataset.digest, "geometry": dataset.geometry}


def _write(scripted, meta: dict, path: Path) -> Path:
    """Seal ``meta`` with its digest, check it as ``load`` will, and write atomically (temporary name, rename)."""
    meta = json.loads(json.dumps(meta, allow_nan=False))  # plain JSON types, as load reads them back
    meta["metadata_sha256"] = metadata_digest(meta)
    validate_metadata(meta, path)
    tmp = path.with_name(path.name + ".part")
    torch.jit.save(scripted, str(tmp), _extra_files={METADATA_FILE: json.dumps(meta)})
    os.replace(tmp, path)
    return path


def export_untrained(path, segments: SegmentTable, config: ModelConfig | None = None, *,
                     v_mean_mV: float = -70.0, v_std_mV: float = 5.0, trained_inputs: dict | None = None) -> Path:
    """Export an untrained :class:`~surrogate_cell.training.model.Surrogate` of ``segments`` (for benchmarks
    and tests: the real module, random weights). ``trained_inputs`` defaults to the default generator's ranges."""
    config = config or ModelConfig()
    channels = input_channels(len(segments))
    excitatory = np.isin(channels.kind, ("ampa", "nmda"))
    xyz = segments.mid_um[channels.segment]
    groups = np.array([REGION_INDEX.get(str(r), 0) for r in segments.region])
    module = Surrogate(config, xyz[excitatory], xyz[~excitatory], groups, np.full(len(segments), v_mean_mV),
                       np.full(len(segments), v_std_mV))
    ranges = trained_inputs or trained_ranges(kinetics_bounds(GeneratorConfig()))
    return export_model(module, path, segments=segments, channel_segment=channels.segment,
                        channel_kind=channels.kind, arch=config.arch, config={"model": config.to_dict()},
                        trained_inputs=ranges)


def training_model(exported, dataset):
    """The trainable :class:`~surrogate_cell.training.model.Surrogate` of an exported model: same weights,
    Python code (the inverse of :func:`export_model`). ``dataset`` must be of the model's cell."""
    saved = exported.metadata["config"]["model"]
    cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()}
    weights = exported.module.state_dict()
    model = build_model(dataset, ModelConfig(**cfg), weights["v_mean"].numpy(), weights["v_std"].numpy())
    load_compatible(model, weights)
    return model
