"""Load an exported surrogate (TorchScript + metadata); no training code needed.

An exported model is one file written by ``torch.jit.save`` with an extra file
``surrogate_cell.json`` holding its metadata:

==================  ============================================================
key                 meaning
==================  ============================================================
format              ``"surrogate_cell.model"``
format_version      integer; this package reads up to ``FORMAT_VERSION``
package_version     ``surrogate_cell`` version that wrote it
arch                ``mh``, ``mmoe``, ``mmoeex`` (or another name)
dt_ms               the model's step, 1.0 ms
spike_threshold_mV  somatic threshold the detailed cell's spikes were counted at
spike_probability   probability above which a step emits a spike
segments            the segment table (lists), rows = voltage outputs
channels            ``segment`` (row per channel) and ``kind`` (``exc``/``inh``)
cell_digest         sha256 of the segment table of the cell it was trained on
data_digest         ``surrogate-cell inspect`` digest of its training data
params_sha256       sha256 of the parameters, checked on load
==================  ============================================================

The scripted module exposes ``init_state(batch) -> state`` and
``step(inputs, state) -> (voltage_mV, spike_probability, state)`` where
``inputs`` is (batch, channels), the summed event weight per channel in the
1 ms bin, and ``voltage_mV`` (batch, segments) is the voltage at the bin's end.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cells.segments import SegmentTable
from .errors import SurrogateCellError


def ignore_sparse_notes() -> None:
    """Silence torch's notes on the sparse CSR read-out a model may step with.

    torch flags CSR as beta, and its invariants as unchecked (TorchScript cannot pass
    ``check_invariants``); the indices are fixed and valid, and the step is checked against
    the dense window forward, so neither note says anything about the result.
    """
    for note in ("Sparse CSR tensor support is in beta", "Sparse invariant checks are implicitly disabled"):
        warnings.filterwarnings("ignore", message=note, category=UserWarning)


ignore_sparse_notes()

FORMAT = "surrogate_cell.model"
FORMAT_VERSION = 1
METADATA_FILE = "surrogate_cell.json"


class ModelFormatError(SurrogateCellError):
    """A model file is missing, corrupt, of another format, or too new."""


def params_digest(module) -> str:
    """sha256 over a module's parameters and buffers, in name order, as float32 bytes."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().float().numpy().tobytes())
    return digest.hexdigest()


def crossing_fractions(prev: np.ndarray, cur: np.ndarray, level: float):
    """Upward crossings of ``level`` between two samples, linearly interpolated.

    Returns the indices ``i`` with ``prev[i] < level <= cur[i]`` and, for each,
    the fraction of the step (0–1) at which the crossing lies. The NEURON
    runner and the evaluation both time spikes with this.
    """
    idx = np.flatnonzero((prev < level) & (cur >= level))
    frac = (level - prev[idx]) / (cur[idx] - prev[idx])
    return idx, np.clip(frac, 0.0, 1.0)


@dataclass
class SurrogateModel:
    """A loaded surrogate.

    Attributes
    ----------
    module : torch.jit.ScriptModule
    metadata : dict
    segments : SegmentTable
        One row per voltage output.
    channel_segment : ndarray of int (channels,)
        Segment-table row of each input channel.
    channel_kind : ndarray of str (channels,)
        ``'exc'`` (AMPA+NMDA) or ``'inh'`` (GABA_A).
    """

    path: str
    module: object
    metadata: dict
    segments: SegmentTable
    channel_segment: np.ndarray
    channel_kind: np.ndarray

    @property
    def n_channels(self) -> int:
        return len(self.channel_segment)

    @property
    def n_segments(self) -> int:
        return len(self.segments)

    @property
    def dt_ms(self) -> float:
        return float(self.metadata["dt_ms"])

    @property
    def spike_threshold_mV(self) -> float:
        return float(self.metadata["spike_threshold_mV"])

    @property
    def spike_probability(self) -> float:
        return float(self.metadata["spike_probability"])

    @property
    def cell_digest(self) -> str:
        return self.metadata["cell_digest"]

    def init_state(self, batch: int):
        return self.module.init_state(batch)

    def step(self, inputs, state):
        """One 1 ms step; see the module docstring."""
        return self.module.step(inputs, state)

    def to(self, device: str) -> "SurrogateModel":
        self.module.to(device)
        return self


def load(path: str | Path | None = None, device: str = "cpu") -> SurrogateModel:
    """Load an exported surrogate.

    Parameters
    ----------
    path : str, Path or None
        Model file; None for the package's default model.
    device : str
        ``'cpu'`` or ``'cuda'``.

    Raises
    ------
    ModelFormatError
        Missing or corrupt file, another format, a newer format version, or
        parameters that do not match their recorded digest.
    """
    import torch

    if path is None:
        path = default_model_path()
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"model file not found: {path}")
    extra = {METADATA_FILE: ""}
    try:
        module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except Exception as exc:  # torch raises several types for a damaged archive
        raise ModelFormatError(f"{path} is not a readable surrogate model ({type(exc).__name__}); "
                               "the file is corrupt or not a TorchScript export — re-export or re-download it") from None
    try:
        meta = json.loads(extra[METADATA_FILE] or "{}")
    except json.JSONDecodeError:
        raise ModelFormatError(f"{path}: its metadata is not valid JSON; the file is corrupt") from None
    if meta.get("format") != FORMAT:
        raise ModelFormatError(f"{path} is not a surrogate_cell model (no '{METADATA_FILE}' metadata)")
    version = int(meta.get("format_version", -1))
    if version > FORMAT_VERSION:
        raise ModelFormatError(f"{path} has model format version {version}, newer than this package reads "
                               f"({FORMAT_VERSION}); upgrade surrogate-cell (pip install -U surrogate-cell)")
    if params_digest(module) != meta.get("params_sha256"):
        raise ModelFormatError(f"{path}: parameters do not match their recorded digest; the file is corrupt")
    segments = SegmentTable.from_dict({k: np.asarray(v) for k, v in meta["segments"].items()})
    return SurrogateModel(str(path), module, meta, segments,
                          np.asarray(meta["channels"]["segment"], dtype=np.int64),
                          np.asarray(meta["channels"]["kind"]))


def default_model_path() -> Path:
    """The model shipped inside the package."""
    from importlib import resources

    path = Path(str(resources.files("surrogate_cell") / "default_model" / "l5pc_synthetic.pt"))
    if not path.is_file():
        raise ModelFormatError("this installation ships no default model yet; pass the path of a model "
                               "exported by 'surrogate-cell train'")
    return path
