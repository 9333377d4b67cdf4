"""The LFP of surrogate cells, recorded by the population runner every 1 ms.

``get_runner().record_lfp(electrodes, placements)`` (or
:meth:`Population.record_lfp <surrogate_cell.neuron.Population.record_lfp>`)
adds, for every model batch of this process, the kernels K_c = M_c T of its
placed cells (:class:`~surrogate_cell.lfp.NetworkLFP`, one T per morphology)
as one matrix (contacts × placed cells · segments) on the model's device.
At every runner step, right after the model call, the batch's voltages at
t = k (less the rest voltage) are copied into a block of up to
:data:`BLOCK_STEPS` steps; a full block, or any read of the results, goes
through one matrix product into rows k of a buffer on the device:

    LFP(t = k) [mV] = Σ_c K_c V_c(k) = K_flat @ vec(V[placed rows]).

Why blocks: the kernels are large (1000 cells × 16 contacts × 663 segments
are 42 MB in float32) and a per-step mat-vec reads all of them every 1 ms;
the block reads them once per :data:`BLOCK_STEPS` steps, for the same sums.
That is the exact population LFP of the predicted voltages
(``NetworkLFP.compute``), in the full-kernel form. Where a model's voltages
are a linear readout of a few features, V = A z + b (the MH surrogate with
linear towers; :class:`LinearReadout`), the cheaper exact form of
``surrogate_cell.lfp.lowrank.ReadoutLFP`` is used instead: kernels K_c A
(contacts × r) on z, plus the constant Σ_c K_c b. The default MMoE surrogate
(non-linear towers) has no such readout. Nothing crosses to the host during
the run; :meth:`LFPRecording.lfp` copies the buffer once and sums it over
MPI ranks (collective).

Samples are aligned with :class:`~surrogate_cell.neuron.Recording`: t = t0,
t0 + 1, ... ms, the first one the model's rest (one input-free step from its
initial state), the others the voltages at the end of each 1 ms bin.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..errors import NetworkError

#: Routes to T (``surrogate_cell.lfp.vmem_to_imem_for``); 'neuron' has no side effect on a simulation.
T_METHODS = ("neuron", "lfpy")
DTYPES = ("float32", "float64")
#: Forms of the per-step product: 'full' kernels K_c (contacts × segments), or 'readout' kernels K_c A
#: (contacts × r) on the features z of a model whose voltages are a linear readout V = A z + b.
FORMS = ("auto", "full", "readout")
#: Steps of voltages held per batch before the 'full' form's matrix product (fewer passes over the kernels).
BLOCK_STEPS = 16
#: ... but at most this many bytes of held voltages per batch (the block shrinks for very large batches).
BLOCK_BYTES = 64 * 2**20


class LinearReadout:
    """The exact linear voltage readout ``V = z @ A.T + b`` of a model, and its features z from the state.

    Exists for the MH surrogate with linear towers (``arch 'mh'``,
    ``tower_hidden 0`` in the model's config): its voltages (mV) are
    ``(e @ W1 + b1 + b2) · v_std + v_mean`` with e the expert's D outputs,
    which the runner recomputes from the new state after each step
    (``experts.readout(h)``, one small linear layer).

    Attributes
    ----------
    A : ndarray, shape (segments, r)
        mV per unit feature.
    b : ndarray, shape (segments,)
        mV.
    """

    def __init__(self, module):
        import torch

        D = int(module.t_w1.shape[1])
        w1 = module.t_w1.detach().double().cpu().permute(1, 0, 2).reshape(D, -1)
        std, mean = module.v_std.detach().double().cpu(), module.v_mean.detach().double().cpu()
        self.A = (w1 * std[None, :]).T.numpy().copy()
        self.b = ((module.t_b1.detach().double().cpu()[:, 0] + module.t_b2.detach().double().cpu()) * std
                  + mean).numpy().copy()
        self._module = module
        self._n_feat, self._hidden = int(module.n_feat), int(module.hidden)
        self._torch = torch

    @classmethod
    def of(cls, model) -> "LinearReadout | None":
        """The readout of ``model``, or None where its voltages are not a linear readout of a small state."""
        cfg = model.metadata.get("config") or {}
        if model.metadata.get("arch") != "mh" or cfg.get("tower_hidden", None) != 0:
            return None
        m = model.module
        try:
            if (int(m.n_experts) != 1 or int(m.tower_hidden) != 0
                    or tuple(m.t_w1.shape[::2]) != (model.n_segments, 1)):
                return None
            # a local path or spike-triggered waveforms add to A z + b: not a linear readout
            if bool(getattr(m, "local_path", False)) or float(m.spike_kernel.abs().max()) != 0.0:
                return None
            return cls(m)
        except (AttributeError, RuntimeError):
            return None

    def features(self, state):
        """z (batch, r) from the model's state after a step (torch, on the model's device)."""
        h = state[:, self._n_feat:self._n_feat + self._hidden].reshape(state.shape[0], 1, self._hidden)
        return self._module.experts.readout(h)[:, 0, :]


class _BatchLFP:
    """Kernels of one batch's placed cells; adds their LFP into the recording's buffer each step."""

    def __init__(self, recording: "LFPRecording", batch, rows: np.ndarray, kernels: np.ndarray,
                 readout: LinearReadout | None = None):
        import torch

        self.recording = recording
        self.batch = batch
        self.rows = np.asarray(rows, dtype=np.int64)
        self.readout = readout
        self.form = "readout" if readout is not None else "full"
        n, contacts, segs = kernels.shape
        dev = recording.device
        if readout is not None:  # K_c A: contacts × r per cell; Σ_c K_c b is a constant
            reduced = np.einsum("cks,sr->ckr", kernels, readout.A)
            flat = np.ascontiguousarray(reduced.transpose(1, 0, 2).reshape(contacts, -1))
            self.offset = torch.as_tensor(np.einsum("cks,s->k", kernels, readout.b), dtype=torch.float64,
                                          device=dev)
        else:
            # segment-major (contacts, segments · cells): the model's step returns voltages as the transpose of a
            # (segments, cells) tensor, which then needs no copy
            flat = np.ascontiguousarray(kernels.transpose(1, 2, 0).reshape(contacts, segs * n))
        self.K = torch.from_numpy(flat.astype(recording.dtype)).to(dev)
        self.K_rest = kernels.sum(axis=0)  # (contacts, segments), float64: the LFP of all placed cells at rest
        self.rows_t = torch.as_tensor(self.rows, dtype=torch.long, device=dev)
        self.full = False  # every batch row placed, in order: no row selection (set at each run's start)
        # 'full' form: voltage deviations of the steps not yet multiplied (rows of _held), and their times k
        row_bytes = segs * n * self.K.element_size()
        self.block = 1 if readout is not None else max(1, min(BLOCK_STEPS, BLOCK_BYTES // max(row_bytes, 1)))
        self._held = None
        self._held_k: list[int] = []

    def start(self, v0: np.ndarray) -> None:
        """Set the rest voltage ``v0`` (segments,) and add the rest LFP (every placed cell at ``v0``) as sample 0.

        Each step computes ``K @ (V - v0) + LFP_rest``: equal to ``K @ V``, but the
        mat-vec sees deviations from rest only, which keeps float32 kernels
        accurate (V itself is about -70 mV, and the LFP a small difference of
        large terms).
        """
        import torch

        v0 = np.asarray(v0, dtype=np.float64)
        self.rest = torch.as_tensor(self.K_rest @ v0, dtype=torch.float64, device=self.K.device)
        self.v0 = torch.as_tensor(v0, dtype=self.K.dtype, device=self.K.device)
        self._held_k = []  # steps of an earlier run that were never read belong to its discarded buffer
        self.recording._add(0, self.rest)

    def record(self, k: int, v, state=None) -> None:
        """Add the LFP at t = k into sample k − t0.

        Parameters
        ----------
        v : torch.Tensor, shape (batch, segments)
            The batch's voltages at t = k (mV) ('full' form).
        state : torch.Tensor
            The batch's model state after the step ('readout' form).
        """
        import torch

        if self.readout is not None:
            z = self.readout.features(state)
            x = z if self.full else z.index_select(0, self.rows_t)
            value = (self.K @ x.reshape(-1).to(self.K.dtype)).double() + self.offset
            self.recording._add(k - self.recording.t0, value)
            return
        xT = v.t() if self.full else v.t().index_select(1, self.rows_t)  # (segments, placed cells)
        if self._held is None or self._held.shape[1] != xT.numel():
            self._held = torch.empty((self.block, xT.numel()), dtype=self.K.dtype, device=self.K.device)
        j = len(self._held_k)
        torch.sub(xT, self.v0[:, None], out=self._held[j].view(xT.shape))
        self._held_k.append(int(k))
        if j + 1 == self.block:
            self.flush()

    def flush(self) -> None:
        """Multiply the held steps' voltages by the kernels and add their LFP into the buffer."""
        import torch

        if not self._held_k:
            return
        m = len(self._held_k)
        values = torch.mm(self.K, self._held[:m].t()).t().double() + self.rest  # (m, contacts)
        t0 = self.recording.t0
        for i, k in enumerate(self._held_k):
            self.recording._add(k - t0, values[i])
        self._held_k = []


class LFPRecording:
    """The LFP of this process's placed surrogate cells, sampled every 1 ms of each run.

    Made by :meth:`SurrogateRunner.record_lfp`; do not construct directly.

    Attributes
    ----------
    electrodes : ElectrodeConfig
    placements : dict of SurrogateCell to Placement
        This rank's placed cells.
    device, dtype : str
        Where the kernels and the buffer live, and the precision of the
        kernels and the per-step mat-vec (the buffer is float64).
    t0 : int
        Start of the current run (ms).
    """

    def __init__(self, runner, electrodes, placements: dict, *, morphology=None, dtype: str = "float32",
                 method: str = "neuron", form: str = "auto"):
        from ..lfp import ElectrodeConfig, NetworkLFP, vmem_to_imem_for

        if not isinstance(electrodes, ElectrodeConfig):
            raise NetworkError(f"electrodes must be a surrogate_cell.lfp.ElectrodeConfig (e.g. laminar_probe(...)), "
                               f"got {type(electrodes).__name__}")
        if dtype not in DTYPES:
            raise NetworkError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        if method not in T_METHODS:
            raise NetworkError(f"method must be one of {T_METHODS}, got {method!r}")
        if form not in FORMS:
            raise NetworkError(f"form must be one of {FORMS}, got {form!r}")
        self.runner = runner
        self.electrodes = electrodes
        self.placements = placements
        self.device = runner.device
        self.dtype = dtype
        self.t0 = 0
        self._n = 0
        self._buf = None
        self._parts: list[_BatchLFP] = []
        by_batch: dict[int, list] = {}
        for cell, placement in placements.items():
            by_batch.setdefault(id(cell._batch), []).append((cell._row, cell, placement))
        readouts = {}
        for batch in runner._batches:
            readout = LinearReadout.of(batch.model) if form in ("auto", "readout") else None
            if form == "readout" and readout is None and id(batch) in by_batch:
                raise NetworkError(f"form='readout': model {batch.model.path} has no linear voltage readout (only "
                                   "an MH surrogate with linear towers, tower_hidden 0, has one); use form='full' or "
                                   "'auto'")
            readouts[id(batch)] = readout
        for batch in runner._batches:
            entries = sorted(by_batch.get(id(batch), []), key=lambda e: e[0])
            if not entries:
                continue
            T = vmem_to_imem_for(batch.model.segments, morphology, method=method)
            net = NetworkLFP(electrodes, batch.model.segments, T)
            for _, _, placement in entries:
                net.add_placement(placement)
            rows = np.array([e[0] for e in entries], dtype=np.int64)
            self._parts.append(_BatchLFP(self, batch, rows, net.kernels, readouts[id(batch)]))
        for part in self._parts:  # only once every batch's kernels are built
            part.batch.lfp_parts.append(part)
        self._closed = False

    # -- buffer --------------------------------------------------------------------
    def _reset(self, k0: int, capacity: int) -> None:
        import torch

        self.t0 = int(k0)
        self._n = 1
        self._buf = torch.zeros((max(2, capacity), self.electrodes.n_contacts), dtype=torch.float64,
                                device=self.device)
        for part in self._parts:
            # a batch may have grown since record_lfp (cells added later are not placed)
            part.full = bool(len(part.batch.cells) == len(part.rows)
                             and np.array_equal(part.rows, np.arange(len(part.rows))))

    def _add(self, j: int, values) -> None:
        import torch

        if j >= self._buf.shape[0]:
            grown = torch.zeros((max(j + 1, 2 * self._buf.shape[0]), self._buf.shape[1]), dtype=self._buf.dtype,
                                device=self._buf.device)
            grown[: self._buf.shape[0]] = self._buf
            self._buf = grown
        self._buf[j] += values
        self._n = max(self._n, j + 1)

    def _flush(self) -> None:
        """Bring the buffer up to date with every step run so far (the held blocks; timed as LFP cost)."""
        import time

        import torch

        t0 = time.perf_counter()
        with torch.inference_mode():  # as in the runner's step: the buffer may be an inference tensor
            for part in self._parts:
                part.flush()
        self.runner.stats.lfp_s += time.perf_counter() - t0

    # -- results -------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        """Placed cells on this rank."""
        return len(self.placements)

    @property
    def forms(self) -> list:
        """Per model batch with placed cells: 'full' or 'readout'."""
        return [part.form for part in self._parts]

    @property
    def t(self) -> np.ndarray:
        """Sample times of this rank's recording (ms): t0, t0 + 1, ..."""
        self._flush()
        return self.t0 + np.arange(self._n, dtype=np.float64)

    def lfp(self, *, reduce: bool = True) -> np.ndarray:
        """The LFP (contacts, samples) in mV at ``t``.

        Parameters
        ----------
        reduce : bool
            Sum over MPI ranks (collective: call on every rank, each with its
            recording made by the same ``record_lfp`` call). Ranks that ran no
            step (no surrogate cells) contribute zeros.

        Returns
        -------
        ndarray, float64
        """
        from ..lfp import allreduce_sum

        self._flush()
        local = (np.zeros((self.electrodes.n_contacts, 0)) if self._buf is None
                 else self._buf[: self._n].detach().cpu().numpy().astype(np.float64).T.copy())
        if not reduce:
            return local
        pc = self.runner.pc
        n = local.shape[1]
        if int(pc.nhost()) > 1:
            n = int(pc.allreduce(float(n), 2))  # max over ranks
            if local.shape[1] < n:
                local = np.concatenate([local, np.zeros((local.shape[0], n - local.shape[1]))], axis=1)
        return allreduce_sum(local, pc)

    def lfp_at(self, times_ms, *, reduce: bool = True) -> np.ndarray:
        """The LFP (contacts, len(times_ms)) linearly interpolated between the 1 ms samples.

        Raises
        ------
        NetworkError
            A time outside the recorded samples (no extrapolation).
        """
        times = np.asarray(times_ms, dtype=np.float64)
        data = self.lfp(reduce=reduce)
        t = self.t0 + np.arange(data.shape[1], dtype=np.float64)
        if times.size and (data.shape[1] == 0 or times.min() < t[0] - 1e-9 or times.max() > t[-1] + 1e-9):
            span = f"{t[0]:g}..{t[-1]:g} ms" if data.shape[1] else "nothing"
            raise NetworkError(f"LFP asked for at {times.min():g}..{times.max():g} ms, but the runner recorded "
                               f"{span}; run at least to the last time asked for")
        return np.stack([np.interp(times, t, row) for row in data]) if data.shape[0] else np.zeros((0, times.size))

    def close(self) -> None:
        """Stop recording (the kernels are dropped; results of the last run stay readable)."""
        self._flush()
        for part in self._parts:
            if part in part.batch.lfp_parts:
                part.batch.lfp_parts.remove(part)
        if self in self.runner._lfp:
            self.runner._lfp.remove(self)
        self._parts = []
        self._closed = True


def resolve_placements(runner, placements) -> dict:
    """``{SurrogateCell: Placement}`` of this rank from a mapping keyed by cells or gids.

    Values may be a :class:`~surrogate_cell.lfp.Placement` or a position (x, y, z)
    in µm (soma centre, no rotation). A gid of another rank (declared a
    surrogate, e.g. by a Population) is skipped; any other unknown key is an error.
    """
    from ..lfp import Placement
    from .cell import SurrogateCell

    if not isinstance(placements, Mapping):
        raise NetworkError("placements must be a mapping {SurrogateCell or gid: Placement or (x, y, z) µm}")
    by_gid = {c.gid: c for c in runner.cells if c.gid is not None}
    out = {}
    for key, value in placements.items():
        if isinstance(key, SurrogateCell):
            if key._runner is not runner or key not in runner.cells:
                raise NetworkError(f"cell {key.label} does not belong to this process's runner")
            cell = key
        else:
            try:
                gid = int(key)
            except (TypeError, ValueError):
                raise NetworkError(f"a placement key must be a SurrogateCell or a gid, got {key!r}") from None
            cell = by_gid.get(gid)
            if cell is None:
                if runner.is_surrogate_gid(gid) and int(runner.pc.nhost()) > 1:
                    continue  # a cell of another rank
                raise NetworkError(f"gid {gid} is no surrogate cell of this network; place only surrogate cells")
        if cell in out:
            raise NetworkError(f"cell {cell.label} is placed twice")
        if isinstance(value, Placement):
            out[cell] = value
        else:
            try:
                out[cell] = Placement(tuple(float(v) for v in value))
            except (TypeError, ValueError):
                raise NetworkError(f"placement of {cell.label} must be a Placement or (x, y, z) in µm, "
                                   f"got {value!r}") from None
    return out


def capacity_hint(h) -> int:
    """Samples to preallocate for a run: up to ``h.tstop`` (grows if the run goes further)."""
    tstop = float(getattr(h, "tstop", 0.0) or 0.0)
    return int(math.ceil(tstop)) + 2 if math.isfinite(tstop) and tstop > 0 else 1024
