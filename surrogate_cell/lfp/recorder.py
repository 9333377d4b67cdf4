"""The LFP of placed cells, recorded step by step: one recorder for the runner, NetPyNE and scripts.

A :class:`LFPRecorder` holds groups of placed cells. A group is cells of one
segment table (one model batch of the population runner): their kernels
K_c = M_c T (:attr:`~.network.NetworkLFP.kernels`) as one matrix on the
voltages' device. Whoever steps the cells hands the recorder, at each time
t = k ms, a group's voltages; the recorder adds that group's LFP into sample
k − t0 of a buffer on the device:

    LFP(t = k) [mV] = Σ_c K_c V_c(k) = K_flat @ vec(V[placed rows]).

Voltages are held for up to :data:`BLOCK_STEPS` steps and multiplied in one
matrix product (the kernels are large: 1000 cells × 16 contacts × 663
segments are 42 MB in float32, and a per-step mat-vec reads them all every
1 ms); any read of the results multiplies what is held first. Each group
sees voltages as deviations from its rest voltage, whose LFP is added as a
constant: the same sum, but the float32 product then never subtracts large
numbers (V ≈ −70 mV; the LFP is a small difference of large terms).

Where a model's voltages are a linear readout of a few features,
V = A z + b (:meth:`~surrogate_cell.model.SurrogateModel.linear_readout`),
a group may take the features instead: kernels K_c A (contacts × r) on z
plus the constant Σ_c K_c b, exact as well (:func:`~.lowrank.readout_kernels`).

Samples lie at t = t0, t0 + 1, ... ms. In a runner's recording the first is
the cells at rest (one input-free step from the model's initial state), the
others the voltages at the end of each 1 ms bin, as
:class:`~surrogate_cell.neuron.Recording` samples them.
"""
from __future__ import annotations

import numpy as np

from .._native import import_neuron_quietly
from .errors import LFPError
from .lowrank import readout_kernels
from .network import allreduce_sum

DTYPES = ("float32", "float64")
#: Steps of voltages held per group before one matrix product (fewer passes over the kernels).
BLOCK_STEPS = 16
#: ... but at most this many bytes of held voltages per group (the block shrinks for very large groups).
BLOCK_BYTES = 64 * 2**20


class _Group:
    """Kernels of one group of placed cells and the steps of voltages not yet multiplied."""

    def __init__(self, recorder: "LFPRecorder", kernels: np.ndarray, rows, readout):
        import torch  # heavy: only when an LFP is recorded

        self.recorder = recorder
        n, contacts, segs = kernels.shape
        self.rows = None if rows is None else np.asarray(rows, dtype=np.int64)
        if self.rows is not None and self.rows.shape != (n,):
            raise LFPError(f"rows must name one voltage row per placed cell ({n}), got {self.rows.shape}")
        dev, dtype = recorder.device, recorder.dtype
        self.features = None
        if readout is not None:  # K_c A: contacts × r per cell; Σ_c K_c b is a constant
            A, b, self.features = readout
            reduced, offset = readout_kernels(kernels, A, b)
            flat = np.ascontiguousarray(reduced.transpose(1, 0, 2).reshape(contacts, -1))
            self.offset = torch.as_tensor(offset, dtype=torch.float64, device=dev)
        else:
            # segment-major (contacts, segments · cells): a model step's voltages are the transpose of a
            # (segments, cells) tensor, which then needs no copy
            flat = np.ascontiguousarray(kernels.transpose(1, 2, 0).reshape(contacts, segs * n))
        self.form = "readout" if readout is not None else "full"
        self.K = torch.from_numpy(flat.astype(dtype)).to(dev)
        self.K_rest = kernels.sum(axis=0)  # (contacts, segments), float64: the LFP of all cells at rest
        self.rows_t = None if self.rows is None else torch.as_tensor(self.rows, dtype=torch.long, device=dev)
        self.n_cells, self.n_segments = n, segs
        row_bytes = segs * n * self.K.element_size()
        self.block = 1 if readout is not None else max(1, min(BLOCK_STEPS, BLOCK_BYTES // max(row_bytes, 1)))
        self.rest = torch.zeros(contacts, dtype=torch.float64, device=dev)
        self.v0 = torch.zeros(segs, dtype=self.K.dtype, device=dev)
        self._all_rows: dict = {}  # voltage batch size -> whether the rows are all of it, in order
        self._held = None
        self._held_k: list[int] = []

    def _select(self, x):
        """The placed cells' rows of ``x`` (cells first)."""
        if self.rows_t is None:
            return x
        size = int(x.shape[0])
        if size not in self._all_rows:
            self._all_rows[size] = size == len(self.rows) and bool(np.array_equal(self.rows, np.arange(size)))
        return x if self._all_rows[size] else x.index_select(0, self.rows_t)

    def start(self, v_rest, add_rest: bool) -> None:
        import torch  # heavy (torch): only when a model runs

        v_rest = np.asarray(v_rest, dtype=np.float64)
        if v_rest.shape != (self.n_segments,):
            raise LFPError(f"the rest voltage must be ({self.n_segments},) mV, got {v_rest.shape}")
        self.rest = torch.as_tensor(self.K_rest @ v_rest, dtype=torch.float64, device=self.K.device)
        self.v0 = torch.as_tensor(v_rest, dtype=self.K.dtype, device=self.K.device)
        self._held_k = []  # steps of an earlier run that were never read belong to its discarded buffer
        if add_rest:
            self.recorder._add(0, self.rest)

    def record(self, k: int, v, state) -> None:
        import torch  # heavy (torch): only when a model runs

        if self.features is not None:
            z = self._select(self.features(state))
            value = (self.K @ z.reshape(-1).to(self.K.dtype)).double() + self.offset
            self.recorder._add(k - self.recorder.t0, value)
            return
        xT = self._select(v).t()  # (segments, placed cells)
        if xT.shape[0] != self.n_segments or xT.shape[1] != self.n_cells:
            raise LFPError(f"voltages must be (cells={self.n_cells}, segments={self.n_segments}) mV, "
                           f"got {tuple(xT.t().shape)}")
        if self._held is None or self._held.shape[1] != xT.numel():
            self._held = torch.empty((self.block, xT.numel()), dtype=self.K.dtype, device=self.K.device)
        j = len(self._held_k)
        torch.sub(xT.to(self.K.dtype), self.v0[:, None], out=self._held[j].view(xT.shape))
        self._held_k.append(int(k))
        if j + 1 == self.block:
            self.flush()

    def flush(self) -> None:
        import torch  # heavy (torch): only when a model runs

        if not self._held_k:
            return
        m = len(self._held_k)
        values = torch.mm(self.K, self._held[:m].t()).t().double() + self.rest  # (m, contacts)
        t0 = self.recorder.t0
        for i, k in enumerate(self._held_k):
            self.recorder._add(k - t0, values[i])
        self._held_k = []


class LFPRecorder:
    """The LFP of placed cells, sampled every 1 ms (see the module docstring).

    The population runner makes one with
    :meth:`~surrogate_cell.neuron.SurrogateRunner.record_lfp` and feeds it
    itself; a script that steps a model by hand feeds one as in the example.

    Parameters
    ----------
    n_contacts : int
        Electrode contacts.
    device : str
        Torch device of the voltages handed to :meth:`record`.
    dtype : {'float32', 'float64'}
        Precision of the kernels and of their products (the buffer is float64).
    pc : h.ParallelContext or None
        For :meth:`lfp`'s sum over MPI ranks (created when needed).

    Attributes
    ----------
    t0 : int
        Time (ms) of sample 0 of the current run.

    Examples
    --------
    >>> net = NetworkLFP(laminar_probe(...), segments, T); net.add_cell((0.0, 0.0, 0.0))
    >>> rec = LFPRecorder(net.n_contacts)
    >>> group = rec.add_group(net.kernels)
    >>> rec.start(0)
    >>> for k in range(100):
    ...     v, p, state = model.step(inputs[k], state)      # (cells, segments) mV at t = k
    ...     rec.record(k, group, v)
    >>> rec.lfp()                                             # (contacts, 100) mV at rec.t
    """

    def __init__(self, n_contacts: int, *, device: str = "cpu", dtype: str = "float32", pc=None):
        if dtype not in DTYPES:
            raise LFPError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        if int(n_contacts) < 1:
            raise LFPError(f"n_contacts must be >= 1, got {n_contacts}")
        self.n_contacts = int(n_contacts)
        self.device = device
        self.dtype = dtype
        self.pc = pc
        self.t0 = 0
        self._n = 0
        self._buf = None
        self._groups: list[_Group] = []
        self.closed = False

    def add_group(self, kernels, *, rows=None, readout=None) -> int:
        """Add placed cells of one segment table; returns the group's index for :meth:`record`.

        Parameters
        ----------
        kernels : ndarray, shape (cells, contacts, segments)
            K_c (mV per mV of each segment; :attr:`NetworkLFP.kernels`).
        rows : sequence of int or None
            Which rows of the voltages handed to :meth:`record` are these cells,
            in kernel order (None: all rows, in order).
        readout : tuple (A, b, features) or None
            A linear readout V = A z + b (A (segments, r) and b (segments,)
            in mV) and ``features(state) -> z`` (cells, r): :meth:`record`
            then multiplies the features of ``state``, not the voltages.
        """
        kernels = np.asarray(kernels, dtype=np.float64)
        if kernels.ndim != 3 or kernels.shape[1] != self.n_contacts or kernels.shape[0] == 0:
            raise LFPError(f"kernels must be (cells >= 1, contacts={self.n_contacts}, segments), got {kernels.shape}")
        self._groups.append(_Group(self, kernels, rows, readout))
        return len(self._groups) - 1

    @property
    def forms(self) -> list:
        """Per group: 'full' (kernels on voltages) or 'readout' (reduced kernels on features)."""
        return [g.form for g in self._groups]

    # -- a run -------------------------------------------------------------------------
    def start(self, t0_ms: int, capacity: int = 1024) -> None:
        """Start a run at t0 (a whole ms): an empty buffer for about ``capacity`` samples (it grows)."""
        import torch  # heavy (torch): only when a model runs

        self.t0 = int(t0_ms)
        self._n = 0
        self._buf = torch.zeros((max(2, int(capacity)), self.n_contacts), dtype=torch.float64, device=self.device)
        for group in self._groups:
            group._held_k = []

    def start_group(self, group: int, v_rest, add_rest: bool = True) -> None:
        """Set a group's rest voltage (segments,) mV; with ``add_rest`` its cells at rest are sample 0."""
        self._groups[group].start(v_rest, add_rest)

    def record(self, k: int, group: int, v, state=None) -> None:
        """Add group ``group``'s LFP at t = k ms into sample k − t0.

        Parameters
        ----------
        v : torch.Tensor, shape (rows, segments)
            The voltages at t = k (mV); the group's ``rows`` of it are its cells.
        state : torch.Tensor or None
            The model state after the step (a group with a ``readout``).
        """
        self._groups[group].record(k, v, state)

    def flush(self) -> None:
        """Multiply every held step (the results are then up to date)."""
        import torch  # heavy (torch): only when a model runs

        with torch.inference_mode():  # as in a model step: the buffer may be an inference tensor
            for group in self._groups:
                group.flush()

    def _add(self, j: int, values) -> None:
        import torch  # heavy (torch): only when a model runs

        if self._buf is None:
            self.start(self.t0)
        if j < 0:
            raise LFPError(f"a sample before the run's start t0 = {self.t0} ms")
        if j >= self._buf.shape[0]:
            grown = torch.zeros((max(j + 1, 2 * self._buf.shape[0]), self._buf.shape[1]), dtype=self._buf.dtype,
                                device=self._buf.device)
            grown[: self._buf.shape[0]] = self._buf
            self._buf = grown
        self._buf[j] += values
        self._n = max(self._n, j + 1)

    # -- results -------------------------------------------------------------------
    @property
    def t(self) -> np.ndarray:
        """Sample times of this rank's recording (ms): t0, t0 + 1, ..."""
        self.flush()
        return self.t0 + np.arange(self._n, dtype=np.float64)

    def lfp(self, *, reduce: bool = True) -> np.ndarray:
        """The LFP (contacts, samples) in mV at :attr:`t`, float64.

        Parameters
        ----------
        reduce : bool
            Sum over MPI ranks (collective: call on every rank, each with its
            recorder made by the same call). Ranks that recorded fewer
            samples (or none) contribute zeros.
        """
        self.flush()
        local = (np.zeros((self.n_contacts, 0)) if self._buf is None
                 else self._buf[: self._n].detach().cpu().numpy().astype(np.float64).T.copy())
        if not reduce:
            return local
        if self.pc is None:
            self.pc = import_neuron_quietly().ParallelContext()
        n = local.shape[1]
        if int(self.pc.nhost()) > 1:
            n = int(self.pc.allreduce(float(n), 2))  # max over ranks
            if local.shape[1] < n:
                local = np.concatenate([local, np.zeros((local.shape[0], n - local.shape[1]))], axis=1)
        return allreduce_sum(local, self.pc)

    def lfp_at(self, times_ms, *, reduce: bool = True) -> np.ndarray:
        """The LFP (contacts, len(times_ms)) linearly interpolated between the 1 ms samples.

        Raises
        ------
        LFPError
            A time outside the recorded samples (no extrapolation).
        """
        times = np.asarray(times_ms, dtype=np.float64)
        data = self.lfp(reduce=reduce)
        t = self.t0 + np.arange(data.shape[1], dtype=np.float64)
        if times.size and (data.shape[1] == 0 or times.min() < t[0] - 1e-9 or times.max() > t[-1] + 1e-9):
            span = f"{t[0]:g}..{t[-1]:g} ms" if data.shape[1] else "nothing"
            raise LFPError(f"LFP asked for at {times.min():g}..{times.max():g} ms, but the recorder holds "
                           f"{span}; run at least to the last time asked for")
        return np.stack([np.interp(times, t, row) for row in data]) if data.shape[0] else np.zeros((0, times.size))

    def close(self) -> None:
        """Stop recording (the kernels are dropped; the results of the last run stay readable)."""
        self.flush()
        self._groups = []
        self.closed = True
