"""Load an exported surrogate (TorchScript + metadata); no training code needed.

An exported model is one file written by ``torch.jit.save`` with an extra file
``surrogate_cell.json`` holding its metadata:

==================  ============================================================
key                 meaning
==================  ============================================================
format              ``"surrogate_cell.model"``
format_version      integer; this package reads up to ``MODEL_FORMAT_VERSION``
package_version     ``surrogate_cell`` version that wrote it
arch                ``mh``, ``mmoe``, ``mmoeex`` (or another name)
dt_ms               the model's step, 1.0 ms
spike_threshold_mV  somatic threshold the detailed cell's spikes were counted at
spike_probability   probability above which a step emits a spike
spike_rule          ``probability`` (the model's own spike mechanism) or ``threshold``
linear_readout      optional: true where the voltages are an exact linear readout
                    of a few features (the module then has ``linear_readout()``
                    and ``readout_features(state)``)
segments            the segment table (lists), rows = voltage outputs
channels            ``segment`` (row per channel) and ``kind`` (the receptor class:
                    ``ampa``, ``nmda``, ``gaba_a``, ``gaba_b``)
trained_inputs      per receptor class, the ranges of the training data:
                    ``tau_rise_ms``, ``tau_decay_ms``, ``peak_nS`` ([low, high])
                    and ``e_mV`` (the class's reversal potential)
cell_digest         sha256 of the segment table of the cell it was trained on
geometry            the cell's sections, parents, ``nseg`` and 3-D points
                    (:class:`~surrogate_cell.cells.CellGeometry`), from which
                    ``HayCell(model.geometry)`` rebuilds it; null where unknown
data_digest         ``surrogate-cell inspect`` digest of its training data
params_sha256       sha256 of the parameters, checked on load
metadata_sha256     sha256 of every other metadata entry (canonical JSON), checked on load
==================  ============================================================

Every entry is checked at load (type, range, agreement with the others), so a
damaged or hand-edited file is refused instead of run.

The scripted module exposes ``init_state(batch) -> state`` and
``step(inputs, state) -> (voltage_mV, spike_probability, state)`` where
``inputs`` is (batch, channels), the mean conductance (nS) of every channel
in the 1 ms bin, and ``voltage_mV`` (batch, segments) is the voltage at the
bin's end; ``input_projection()`` and ``step_projected(z, state)`` are the
same step from the grouped input ``z = inputs @ input_projection()``.
"""
from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np

from .cells.geometry import CellGeometry
from .cells.segments import SegmentTable
from .errors import DeviceUnavailableError, MorphologyError, SurrogateCellError
from .synapses import RECEPTORS, input_channel


def ignore_sparse_notes() -> None:
    """Silence torch's notes on the sparse CSR read-out a model may step with.

    torch flags CSR as beta, and its invariants as unchecked (TorchScript cannot pass
    ``check_invariants``); the indices are fixed and valid, and the step is checked against
    the dense window forward, so neither note says anything about the result.
    """
    for note in ("Sparse CSR tensor support is in beta", "Sparse invariant checks are implicitly disabled"):
        warnings.filterwarnings("ignore", message=note, category=UserWarning)


ignore_sparse_notes()

MODEL_FORMAT = "surrogate_cell.model"
MODEL_FORMAT_VERSION = 3  # 2: metadata_sha256 covers the metadata; 3: conductance inputs per receptor class
METADATA_FILE = "surrogate_cell.json"


class ModelFormatError(SurrogateCellError):
    """A model file is missing, corrupt, of another format, or too new."""


def weights_digest(module) -> str:
    """sha256 over a module's parameters and buffers, in name order, as float32 bytes."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().float().numpy().tobytes())
    return digest.hexdigest()


def metadata_digest(meta: dict) -> str:
    """sha256 of the metadata without its own ``metadata_sha256`` entry, as canonical JSON."""
    body = {k: v for k, v in meta.items() if k != "metadata_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


#: How a model's spikes are read (metadata ``spike_rule``).
SPIKE_RULES = ("threshold", "probability")
_CHANNEL_KINDS = RECEPTORS


def validate_metadata(meta: dict, path) -> SegmentTable:
    """Check every metadata entry of a version-``MODEL_FORMAT_VERSION`` model file; returns its segment table.

    Raises
    ------
    ModelFormatError
        Naming the first entry that is missing, of the wrong type, out of
        range, or inconsistent with the others.
    """
    def bad(key: str, why: str):
        raise ModelFormatError(f"{path}: metadata entry '{key}' {why}; the file is damaged or was edited — "
                               "re-export the model")

    def number(key: str, low: float, high: float) -> float:
        value = meta.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            bad(key, f"is {value!r}, not a finite number")
        if not low <= value <= high:
            bad(key, f"is {value!r}, outside [{low:g}, {high:g}]")
        return float(value)

    def text(key: str) -> str:
        if not isinstance(meta.get(key), str):
            bad(key, f"is {meta.get(key)!r}, not a string")
        return meta[key]

    def hexdigest(key: str) -> str:
        value = text(key)
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            bad(key, "is not a sha256 hex digest")
        return value

    for key in ("package_version", "arch", "data_digest", "torch_version"):
        text(key)
    if not isinstance(meta.get("config"), dict):
        bad("config", "is not a mapping")
    if number("dt_ms", 0.0, math.inf) != 1.0:
        bad("dt_ms", f"is {meta['dt_ms']!r}; surrogates step every 1 ms")
    number("spike_threshold_mV", -100.0, 100.0)
    p = number("spike_probability", 0.0, 1.0)
    if p in (0.0, 1.0):
        bad("spike_probability", f"is {p!r}; it must lie strictly between 0 and 1")
    if not isinstance(meta.get("linear_readout", False), bool):
        bad("linear_readout", f"is {meta.get('linear_readout')!r}, not true or false")
    if meta.get("spike_rule") not in SPIKE_RULES:
        bad("spike_rule", f"is {meta.get('spike_rule')!r}, not one of {SPIKE_RULES}")
    hexdigest("params_sha256")
    cell = hexdigest("cell_digest")
    seg = meta.get("segments")
    if not isinstance(seg, dict) or not all(isinstance(v, list) for v in seg.values()):
        bad("segments", "is not a table of lists")
    try:
        table = SegmentTable.from_dict({k: np.asarray(v) for k, v in seg.items()})
    except (KeyError, TypeError, ValueError) as exc:
        bad("segments", f"is not a segment table ({type(exc).__name__}: {exc})")
    n = len(table.section)
    if n == 0 or any(len(v) != n for v in seg.values()):
        bad("segments", "has columns of different lengths, or no rows")
    if table.digest() != cell:
        bad("cell_digest", "does not match the segment table")
    channels = meta.get("channels")
    if not isinstance(channels, dict) or not isinstance(channels.get("segment"), list) \
            or not isinstance(channels.get("kind"), list) or len(channels["segment"]) != len(channels["kind"]):
        bad("channels", "is not two lists of equal length, 'segment' and 'kind'")
    if not channels["segment"] or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n
                                          for i in channels["segment"]):
        bad("channels", f"has a 'segment' that is not a segment-table row (0..{n - 1})")
    if not all(k in _CHANNEL_KINDS for k in channels["kind"]):
        bad("channels", f"has a 'kind' that is not one of {_CHANNEL_KINDS}")
    trained = meta.get("trained_inputs")
    if not isinstance(trained, dict) or set(trained) != set(RECEPTORS):
        bad("trained_inputs", f"is not a mapping with one entry per receptor class {RECEPTORS}")
    for r, ranges in trained.items():
        ok = isinstance(ranges, dict) and isinstance(ranges.get("e_mV"), (int, float)) and all(
            isinstance(ranges.get(k), list) and len(ranges[k]) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in ranges[k])
            and ranges[k][0] <= ranges[k][1] for k in ("tau_rise_ms", "tau_decay_ms", "peak_nS"))
        if not ok:
            bad("trained_inputs", f"has a bad entry for {r!r} (need tau_rise_ms, tau_decay_ms, peak_nS as "
                "[low, high] >= 0, and e_mV)")
    if meta.get("geometry") is not None:
        try:
            geometry = CellGeometry.from_dict(meta["geometry"])
        except MorphologyError as exc:
            bad("geometry", str(exc))
        if geometry.n_segments != n or not set(geometry.names) == set(table.section.tolist()):
            bad("geometry", "does not hold the sections and segments of the segment table")
    return table


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
        The receptor class of each channel (``'ampa'``, ``'nmda'``, ``'gaba_a'``, ``'gaba_b'``).
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
    def trained_inputs(self) -> dict:
        """Per receptor class, the ranges the model was trained on (metadata ``trained_inputs``)."""
        return self.metadata["trained_inputs"]

    def channel(self, receptor: str, segment: int) -> int:
        """The input channel of ``receptor`` on segment-table row ``segment``."""
        return input_channel(receptor, segment, self.n_segments)

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

    @cached_property
    def geometry(self) -> CellGeometry | None:
        """The trained cell's sections and 3-D points (metadata ``geometry``): ``HayCell(model.geometry)``
        builds that cell without its morphology file. None in files written without it."""
        saved = self.metadata.get("geometry")
        return None if saved is None else CellGeometry.from_dict(saved)

    def init_state(self, batch: int):
        return self.module.init_state(batch)

    def linear_readout(self):
        """``(A, b)``, A (segments, r) and b (segments,) in mV, where the voltages are ``z @ A.T + b`` for the
        features z = :meth:`readout_features` of the state after a step (metadata ``linear_readout``); else None."""
        if not self.metadata.get("linear_readout"):
            return None
        A, b = self.module.linear_readout()
        return A.detach().double().cpu().numpy(), b.detach().double().cpu().numpy()

    def readout_features(self, state):
        """z (batch, r) from the model's state after a step (torch, on the model's device)."""
        return self.module.readout_features(state)

    def step(self, inputs, state):
        """One 1 ms step; see the module docstring."""
        return self.module.step(inputs, state)

    def to(self, device: str) -> "SurrogateModel":
        self.module.to(device)
        return self


def check_device(device: str) -> None:
    """Raise :class:`DeviceUnavailableError` where ``device`` cannot be used."""
    import torch  # heavy (torch): only when a model runs

    if device != "cpu" and not device.startswith("cuda"):
        raise DeviceUnavailableError(f"device {device!r} is not one a surrogate runs on; use 'cpu' or 'cuda' "
                                     "(or 'cuda:N')")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(
                f"device {device!r} was asked for, but torch sees no CUDA device (torch {torch.__version__}, "
                f"CUDA build {torch.version.cuda}); run with device='cpu' or on a machine with a GPU")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise DeviceUnavailableError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s)")


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
        Missing or corrupt file, another format, another format version, or
        parameters or metadata that do not match their recorded digests.
    DeviceUnavailableError
        ``device`` is not usable on this machine.
    """
    import torch  # heavy (torch): only when a model runs

    check_device(device)

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
    if meta.get("format") != MODEL_FORMAT:
        raise ModelFormatError(f"{path} is not a surrogate_cell model (no '{METADATA_FILE}' metadata)")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFormatError(f"{path}: metadata entry 'format_version' is {version!r}, not an integer; "
                               "the file is corrupt")
    if version > MODEL_FORMAT_VERSION:
        raise ModelFormatError(f"{path} has model format version {version}, newer than this package reads "
                               f"({MODEL_FORMAT_VERSION}); upgrade surrogate-cell (pip install -U surrogate-cell)")
    if version < MODEL_FORMAT_VERSION:
        raise ModelFormatError(f"{path} has model format version {version}: its input is summed event weights on "
                               "dendritic channels, not the conductance of every receptor class on every segment "
                               "that this package feeds; retrain it with this version (training/synthetic_l5pc.sh)")
    try:
        recorded = metadata_digest(meta)
    except ValueError:  # NaN or infinity: JSON without them is what was written
        raise ModelFormatError(f"{path}: its metadata hold NaN or infinity; the file is corrupt or was edited — "
                               "re-export the model") from None
    if meta.get("metadata_sha256") != recorded:
        raise ModelFormatError(f"{path}: metadata do not match their recorded digest; the file is corrupt or "
                               "was edited — re-export the model")
    if weights_digest(module) != meta.get("params_sha256"):
        raise ModelFormatError(f"{path}: parameters do not match their recorded digest; the file is corrupt")
    segments = validate_metadata(meta, path)
    own = module.state_dict().get("spike_logit_threshold")
    if own is not None and abs(float(torch.sigmoid(own)) - meta["spike_probability"]) > 1e-6:
        raise ModelFormatError(f"{path}: metadata entry 'spike_probability' {meta['spike_probability']!r} differs "
                               f"from the model's own spike level {float(torch.sigmoid(own))!r}; re-export the model")
    return SurrogateModel(str(path), module, meta, segments,
                          np.asarray(meta["channels"]["segment"], dtype=np.int64),
                          np.asarray(meta["channels"]["kind"]))


#: The models shipped inside the package, by name (``docs/model-card.md``).
SHIPPED_MODELS = {"hay2011": "l5pc_hay2011.pt", "synthetic": "l5pc_synthetic.pt"}
#: The one ``load()`` returns.
DEFAULT_MODEL = "hay2011"


def shipped_model_path(name: str = DEFAULT_MODEL) -> Path:
    """The file of a model shipped inside the package: ``'hay2011'`` (the published Hay L5PC on
    ``cell1.asc``) or ``'synthetic'`` (the Hay L5PC on the project's synthetic morphology, for small tests
    and examples)."""
    if name not in SHIPPED_MODELS:
        raise ModelFormatError(f"no shipped model called {name!r}; the package ships {sorted(SHIPPED_MODELS)}")
    path = Path(str(resources.files("surrogate_cell") / "default_model" / SHIPPED_MODELS[name]))
    if not path.is_file():
        raise ModelFormatError(f"this installation lacks the shipped model {name!r} ({path.name}); reinstall "
                               "surrogate-cell, or pass the path of a model exported by 'surrogate-cell train'")
    return path


def default_model_path() -> Path:
    """The model ``load()`` returns: :data:`DEFAULT_MODEL` of :data:`SHIPPED_MODELS`."""
    return shipped_model_path(DEFAULT_MODEL)
