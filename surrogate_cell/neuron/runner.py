"""The population runner: one per process, it steps every surrogate cell of the process.

NEURON runs the network as usual (``h.run``, ``h.continuerun``, ``pc.psolve``).
An ``FInitializeHandler`` schedules ``CVode().event`` callbacks at t = 1, 2,
3 ... ms; at each one the runner

1. drains the events that the ``sc_Surrogate`` cells buffered
   (``(cell, channel, weight, t)`` records, a C buffer shared by the
   process: cost proportional to the number of events, not of connections);
2. bins them: an event delivered at time t belongs to bin ``floor(t)``
   (within ``bin_tolerance_ms``); at the callback at t = k the bin
   [k − 1, k) is complete, later events wait for their own bin;
3. calls the model once per batch (all cells of one model):
   ``step(inputs (B, C), state) -> voltage at t = k, spike probability, state``;
4. finds somatic threshold crossings in [k − 1, k], interpolates their time
   t* linearly, and makes each crossing cell emit its spike at
   ``t* + latency_ms`` (``latency_ms`` = the model step, 1 ms), which is never
   before the current time, so NEURON never sees an event in the past;
5. appends the requested voltages to the recordings.

Connections *from* a surrogate made with :func:`~surrogate_cell.neuron.connect`
or :func:`~surrogate_cell.neuron.gid_connect` get their NetCon delay shortened
by ``latency_ms``: a spike then arrives at ``t* + delay``, exactly where a
detailed cell's spike at t* would. See ``docs/neuron.md``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
import os
import time
import warnings
from dataclasses import dataclass

import numpy as np

from ..callbacks import without_gc
from ..errors import NetworkError, RunnerStateError
from ..model import check_device, crossing_fractions

#: Spike rules a runner understands.
SPIKE_RULES = ("threshold", "probability")


@dataclass(frozen=True)
class RunnerConfig:
    """How the process's runner steps the surrogates.

    Attributes
    ----------
    device : str
        Torch device for the models: ``'cpu'`` (default) or ``'cuda'`` /
        ``'cuda:N'``; a CUDA device that is not available is an error.
    torch_threads : int or None
        Torch intra-op threads of this process. None: chosen at each
        ``finitialize`` from the number of surrogate cells, one thread per
        ``CELLS_PER_THREAD`` cells, at least 1 and at most the CPU cores this
        process may use, ``os.cpu_count() // ranks`` (no oversubscription
        under MPI). Small batches get one thread because torch's threads
        spin while they wait: beside other busy processes a 100-cell network
        with 2 threads ran 26x slower than quiet, with 1 thread 1.8x.
        0: leave torch's setting alone.
    spike_rule : str or None
        None (default): the model's own rule (metadata ``spike_rule``, else
        ``'threshold'``). ``'threshold'``: a spike where the predicted somatic voltage (the
        first ``'soma'`` row of the segment table, row 0 of a HayCell)
        crosses ``model.spike_threshold_mV`` upwards. ``'probability'``:
        where the spike probability crosses ``model.spike_probability``
        upwards. The crossing time is interpolated linearly within the 1 ms bin.
    min_netcon_delay_ms : float
        Smallest NetCon delay (ms) left on a connection from a surrogate after
        the latency is subtracted; a connection from a surrogate therefore
        needs ``delay >= latency_ms + min_netcon_delay_ms``. It must be
        positive: under MPI NEURON exchanges spikes every minimum delay.
    warmup_steps : int
        Model calls on a batch of the right size at ``finitialize`` whenever
        the batch changed (the first TorchScript calls are slow; this keeps
        them out of the run and away from ``pc.timeout``).
    bin_tolerance_ms : float
        An event at ``k - bin_tolerance_ms`` or later counts into bin k
        (absorbs floating-point rounding of delivery times such as
        2.9999999999999996 ms).
    """

    device: str = "cpu"
    torch_threads: int | None = None
    spike_rule: str | None = None
    min_netcon_delay_ms: float = 0.1
    warmup_steps: int = 3
    bin_tolerance_ms: float = 1e-9

    def validate(self) -> None:
        if not (self.device == "cpu" or self.device == "cuda" or self.device.startswith("cuda:")):
            raise NetworkError(f"RunnerConfig.device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        if self.spike_rule is not None and self.spike_rule not in SPIKE_RULES:
            raise NetworkError(f"RunnerConfig.spike_rule must be one of {SPIKE_RULES}, got {self.spike_rule!r}")
        if not (math.isfinite(self.min_netcon_delay_ms) and self.min_netcon_delay_ms > 0):
            raise NetworkError(f"RunnerConfig.min_netcon_delay_ms must be positive, got {self.min_netcon_delay_ms}")
        if self.torch_threads is not None and self.torch_threads < 0:
            raise NetworkError(f"RunnerConfig.torch_threads must be >= 0 or None, got {self.torch_threads}")
        if self.warmup_steps < 1:
            raise NetworkError(f"RunnerConfig.warmup_steps must be at least 1, got {self.warmup_steps}")
        if not (0 <= self.bin_tolerance_ms < 0.5):
            raise NetworkError(f"RunnerConfig.bin_tolerance_ms must be in [0, 0.5), got {self.bin_tolerance_ms}")


@dataclass
class RunStats:
    """Counters and wall times (s) since the last ``finitialize``."""

    ticks: int = 0
    events: int = 0
    spikes: int = 0
    late_events: int = 0
    played_events: int = 0  # of events: played by the runner (play_spikes), not delivered by NEURON
    clamped_spikes: int = 0
    callback_s: float = 0.0  # everything the runner does per tick
    model_s: float = 0.0  # of which: the model calls (including device transfers)
    init_s: float = 0.0  # batch rebuilds, warm-up, initial state at finitialize
    lfp_s: float = 0.0  # of callback_s: LFP copies and products (record_lfp), not part of model_s

    def as_dict(self) -> dict:
        return dict(self.__dict__)


#: Surrogate cells per torch thread when the runner chooses the thread count (RunnerConfig.torch_threads None).
CELLS_PER_THREAD = 500


def default_torch_threads(nhost: int, n_cells: int | None = None) -> int:
    """Torch threads for one of ``nhost`` processes stepping ``n_cells`` surrogates.

    One per :data:`CELLS_PER_THREAD` cells (all cores where ``n_cells`` is
    None), at least 1, at most the process's usable cores and cores // nhost.
    """
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    cap = max(1, min(usable, (os.cpu_count() or 1) // max(1, nhost)))
    return cap if n_cells is None else max(1, min(cap, n_cells // CELLS_PER_THREAD))


class _Batch:
    """The cells of one model: input matrix, model state, spikes and recordings."""

    def __init__(self, runner: "SurrogateRunner", model):
        self.runner = runner
        self.model = model
        self.cells: list = []
        self.rec_row: list[int] = []  # batch row of each recorded column
        self.lfp_parts: list = []  # LFP kernels of placed cells (surrogate_cell.neuron.lfp._BatchLFP)
        self.rec_seg: list[int] = []  # segment row of each recorded column
        self.threshold = model.spike_threshold_mV
        self.p_threshold = model.spike_probability
        self.spike_rule = runner.config.spike_rule or model.metadata.get("spike_rule", "threshold")
        if self.spike_rule not in SPIKE_RULES:
            raise NetworkError(f"model {model.path}: unknown spike_rule {self.spike_rule!r} in its metadata")
        self.n_channels = model.n_channels
        self.n_segments = model.n_segments
        soma = np.flatnonzero(np.asarray(model.segments.region) == "soma")
        if soma.size == 0:
            raise NetworkError(f"model {model.path}: its segment table has no 'soma' segment to detect spikes on")
        self.soma_row = int(soma[0])  # row 0 for HayCell tables
        self._built_size = -1
        self._v0 = None  # (N,) rest voltage, p0: rest spike probability
        self._p0 = 0.0
        # channel lookup: (segment row, kind) -> channel
        self.channel_of = {(int(s), str(k)): c for c, (s, k) in
                           enumerate(zip(model.channel_segment, model.channel_kind))}

    # -- structure --------------------------------------------------------------
    def add_cell(self, cell) -> int:
        self.cells.append(cell)
        return len(self.cells) - 1

    def add_recording(self, row: int, segs) -> tuple[int, int]:
        start = len(self.rec_row)
        for s in segs:
            self.rec_row.append(row)
            self.rec_seg.append(int(s))
        return start, len(self.rec_row)

    # -- run --------------------------------------------------------------------
    def start(self, k0: int) -> None:
        """Reset for a run starting at t = k0 ms (called at finitialize)."""
        import torch

        dev = self.runner.device
        B, C = len(self.cells), self.n_channels
        if self._built_size != B:
            self.model.module.to(dev)
            self.model.module.eval()
            # channel-major (C, B), handed to the model as its (B, C) transpose: the layout its step reads fastest
            self.inputs = np.zeros((C, B), dtype=np.float32)
            self.inputs_t = torch.from_numpy(self.inputs).t()
            with torch.inference_mode():
                zeros = torch.zeros(B, C, device=dev)
                for _ in range(self.runner.config.warmup_steps):
                    v, p, _ = self.model.module.step(zeros, self.model.module.init_state(B))
            v = v.detach().float().cpu().numpy()
            p = p.detach().float().cpu().numpy()
            self._check_shapes(v, p, B)
            # the rest state: one input-free step from the initial state (same for every cell)
            self._v0 = v[0].astype(np.float64)
            self._p0 = float(p[0])
            self.self_ncs = [c._self_nc for c in self.cells]
            self._built_size = B
        self.rec_row_t = torch.as_tensor(self.rec_row, dtype=torch.long, device=dev)
        self.rec_seg_t = torch.as_tensor(self.rec_seg, dtype=torch.long, device=dev)
        self.rec_row_np = np.asarray(self.rec_row, dtype=np.int64)
        self.rec_seg_np = np.asarray(self.rec_seg, dtype=np.int64)
        with torch.inference_mode():
            self.state = self.model.module.init_state(B).to(dev)
        self.inputs[:] = 0.0
        self.prev = np.full(B, self._v0[self.soma_row] if self.spike_rule == "threshold" else self._p0)
        self.t_ms = [float(k0)]
        self.chunks = [self._v0[self.rec_seg_np]]
        self._stacked = None
        self.spike_rows: list[np.ndarray] = []
        self.spike_times: list[np.ndarray] = []
        for part in self.lfp_parts:
            part.start(self._v0)

    def _check_shapes(self, v, p, B) -> None:
        if v.shape != (B, self.n_segments) or p.shape != (B,):
            raise NetworkError(
                f"model {self.model.path}: step() returned voltage {tuple(v.shape)} and spike probability "
                f"{tuple(p.shape)}, expected ({B}, {self.n_segments}) and ({B},) for its segment table")

    def step(self, k: int, rows: np.ndarray, chans: np.ndarray, weights: np.ndarray):
        """Advance bin [k − 1, k). Returns (batch rows, crossing times t* in ms) of new spikes."""
        import torch

        t0 = time.perf_counter()
        with torch.inference_mode():
            if self.runner.device == "cpu":
                if rows.size:
                    np.add.at(self.inputs, (chans, rows), weights.astype(np.float32))
                x = self.inputs_t
            else:
                x = torch.zeros(self.inputs.shape, device=self.runner.device)
                if rows.size:
                    dev = self.runner.device
                    x.index_put_((torch.as_tensor(chans, device=dev), torch.as_tensor(rows, device=dev)),
                                 torch.as_tensor(weights, dtype=torch.float32, device=dev), accumulate=True)
                x = x.t()
            v, p, self.state = self.model.module.step(x, self.state)
            if self.spike_rule == "threshold":
                cur = v[:, self.soma_row].double().cpu().numpy()
            else:
                cur = p.double().cpu().numpy()
            rec = v[self.rec_row_t, self.rec_seg_t].double().cpu().numpy() if self.rec_row else None
            self.runner.stats.model_s += time.perf_counter() - t0
            if self.lfp_parts:
                t1 = time.perf_counter()
                for part in self.lfp_parts:
                    part.record(k, v, self.state)
                self.runner.stats.lfp_s += time.perf_counter() - t1
        if rows.size and self.runner.device == "cpu":
            self.inputs[chans, rows] = 0.0
        if rec is not None:
            self.chunks.append(rec)
        self.t_ms.append(float(k))
        self._stacked = None
        level = self.threshold if self.spike_rule == "threshold" else self.p_threshold
        prev = self.prev
        crossing, frac = crossing_fractions(prev, cur, level)
        self.prev = cur
        if crossing.size == 0:
            return crossing, np.empty(0)
        tstar = (k - 1) + frac
        self.spike_rows.append(crossing)
        self.spike_times.append(tstar)
        return crossing, tstar

    # -- results ----------------------------------------------------------------
    def recorded(self) -> np.ndarray:
        """(T, R) recorded voltages (mV) of this run so far."""
        if self._stacked is None:
            self._stacked = np.stack(self.chunks) if self.rec_row else np.zeros((len(self.t_ms), 0))
        return self._stacked

    def cell_spikes(self, row: int) -> np.ndarray:
        out = [t[r == row] for r, t in zip(self.spike_rows, self.spike_times)]
        return np.concatenate(out) if out else np.empty(0)


class SurrogateRunner:
    """Batches every surrogate cell of this process and steps them every 1 ms of a NEURON run.

    Do not construct one directly: :func:`get_runner` returns the process's
    runner, creating it on first use (``SurrogateCell`` does that for you).

    Attributes
    ----------
    config : RunnerConfig
    latency_ms : float
        Delay between a somatic crossing at t* and the emitted spike (1 ms).
    stats : RunStats
        Counters and wall times since the last ``finitialize``.
    """

    def __init__(self, config: RunnerConfig | None = None):
        from .._native import import_neuron_quietly
        from ..mechanisms import load_mechanisms

        config = config or RunnerConfig()
        config.validate()
        check_device(config.device)
        h = import_neuron_quietly()
        load_mechanisms()
        h.load_file("stdrun.hoc")
        self.h = h
        self.config = config
        self.device = config.device
        self.pc = h.ParallelContext()
        import torch

        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        self.latency_ms = 1.0
        self.stats = RunStats()
        self._batches: list[_Batch] = []
        self._models: dict = {}  # (path, mtime) -> SurrogateModel, for cells given a file
        self._cells: list = []
        self._cell_info: list[tuple[int, int, int]] = []  # (batch, row, channel count) by cell id
        self._cell_batch = self._cell_row = self._cell_channels = np.zeros(0, dtype=np.int64)
        self._surrogate_gids: set[int] = set()
        self._lfp: list = []  # LFPRecording objects (record_lfp)
        self._version = 0  # bumped by every structural change
        self._run_version = -1  # version at the last finitialize
        self._k = 0
        self._pending = np.zeros((0, 4))
        self._played: list = []  # PlayedTrain objects (trains.play_spikes)
        self._played_events = np.zeros((0, 4))  # their (cell, code, w, t) records sorted by t, at finitialize
        self._played_pos = 0
        self._played_horizon = math.inf  # played NetStims are drawn to h.tstop at finitialize
        self._netstims: dict = {}  # hname -> (NetStim, (interval, start, noise, number) as first read, silenced?)
        self._closed = False
        self._drain_cell = h.sc_Surrogate()  # drain() is a method of any instance
        self._buffer = h.Vector(4096)
        self._cvode = h.CVode()
        self._fih = h.FInitializeHandler(1, self._on_init)
        self._tick_cb = self._tick

    # -- structure ---------------------------------------------------------------
    def load_model(self, path):
        """The model in file ``path``, loaded once per process (cells given the same file share a batch)."""
        from pathlib import Path

        from ..model import load

        p = Path(path).resolve()
        key = (str(p), p.stat().st_mtime_ns if p.is_file() else -1)
        if key not in self._models:
            self._models[key] = load(p)
        return self._models[key]

    def batch_for(self, model) -> _Batch:
        for batch in self._batches:
            if batch.model is model:
                return batch
        if abs(model.dt_ms - 1.0) > 1e-12:
            raise NetworkError(f"model {model.path} has a {model.dt_ms} ms step; the runner steps every 1 ms")
        batch = _Batch(self, model)
        self._batches.append(batch)
        return batch

    def add_cell(self, cell, model) -> tuple[_Batch, int, int]:
        """Register a cell; returns (batch, row in batch, cell id)."""
        self._check_open()
        batch = self.batch_for(model)
        row = batch.add_cell(cell)
        cellid = len(self._cells)
        self._cells.append(cell)
        self._cell_info.append((self._batches.index(batch), row, batch.n_channels))
        self._version += 1
        return batch, row, cellid

    def structure_changed(self) -> None:
        """Note a change (a new recording) that takes effect at the next finitialize."""
        self._version += 1

    def declare_surrogate_gids(self, gids) -> None:
        """Declare gids (of any rank) whose cells are surrogates.

        :func:`~surrogate_cell.neuron.gid_connect` shortens the delay of
        connections from these gids by ``latency_ms``. Under MPI a rank knows
        only its own cells: call this on every rank with every surrogate gid
        (:class:`~surrogate_cell.neuron.Population` does it for its gids).
        """
        self._surrogate_gids.update(int(g) for g in gids)

    def is_surrogate_gid(self, gid: int) -> bool:
        return int(gid) in self._surrogate_gids

    def record_lfp(self, electrodes, placements, *, morphology=None, dtype: str = "float32",
                   method: str = "neuron", form: str = "auto"):
        """Record the LFP of placed surrogate cells every 1 ms (from the next ``finitialize``).

        Parameters
        ----------
        electrodes : surrogate_cell.lfp.ElectrodeConfig
            Contacts (µm), source model and conductivity (e.g. ``laminar_probe``).
        placements : mapping
            ``{SurrogateCell or gid: Placement or (x, y, z)}``: where each
            cell sits (µm, radians; :class:`surrogate_cell.lfp.Placement`, a
            bare position places the soma centre there, unrotated). Give the
            same mapping on every rank: gids of other ranks are skipped. Only
            the cells given contribute.
        morphology : str, Path or None
            The morphology the models were trained on, to build T
            (:func:`surrogate_cell.lfp.vmem_to_imem_for`); None: the synthetic
            L5PC. A model of another morphology is an error.
        dtype : {'float32', 'float64'}
            Precision of the kernels and of their product with the voltages.
        method : {'neuron', 'lfpy'}
            Route to T; 'neuron' builds it without touching the simulation
            ('lfpy' calls ``h.finitialize``: only before a run is set up).
        form : {'auto', 'full', 'readout'}
            The per-step product, both exact: 'full' kernels on the voltages,
            or 'readout' kernels on the features of a model whose voltages are
            a linear readout (MH with linear towers; an error for other
            models). 'auto': 'readout' where the model has one.

        Returns
        -------
        LFPRecording
            ``.lfp()`` (contacts, samples) in mV at ``.t`` = t0, t0 + 1, ... ms,
            summed over MPI ranks (collective).

        Raises
        ------
        NetworkError
            No placements, unknown cells or gids, bad electrodes, dtype or method.
        surrogate_cell.lfp.LFPError
            A contact inside a placed soma; a model whose segment table the
            morphology does not reproduce.
        """
        from .lfp import LFPRecording, resolve_placements

        self._check_open()
        if isinstance(placements, Mapping) and not placements and int(self.pc.nhost()) == 1:
            # (under MPI a rank may hold none of the cells; the recording is collective)
            raise NetworkError("record_lfp got no placements, so its LFP would be all zeros; give "
                               "{SurrogateCell or gid: (x, y, z) µm} for every cell to record")
        recording = LFPRecording(self, electrodes, resolve_placements(self, placements), morphology=morphology,
                                 dtype=dtype, method=method, form=form)
        self._lfp.append(recording)
        self._version += 1
        return recording

    def add_played(self, train) -> None:
        """Keep a :class:`~surrogate_cell.neuron.trains.PlayedTrain`; it plays from the next ``finitialize``."""
        self._check_open()
        if train.target.cell._runner is not self:
            raise NetworkError(f"{train!r} targets a cell of another runner")
        self._played.append(train)
        self._version += 1

    def netstim_params(self, netstim, silence: bool = True) -> tuple:
        """(interval, start, noise, number) of a NetStim, read once; with ``silence`` the NetStim is then
        silenced (number 0) until the runner closes. A NetStim is either silenced or not, for all its targets."""
        key = netstim.hname()
        if key not in self._netstims:
            self._netstims[key] = (netstim, (float(netstim.interval), float(netstim.start), float(netstim.noise),
                                             float(netstim.number)), bool(silence))
            if silence:
                netstim.number = 0  # NEURON sends nothing; the runner plays its spikes
        elif self._netstims[key][2] != bool(silence):
            raise NetworkError(f"{key} is played {'silenced' if self._netstims[key][2] else 'unsilenced'} already; "
                               "play a NetStim the same way into all its targets")
        return self._netstims[key][1]

    def _played_records(self, k0: int) -> None:
        """Sort every played event into (cell, code, w, t) records; skip those before the run's start k0."""
        from .trains import PlayedNetStim, draw_netstim_trains

        netstims = [tr for tr in self._played if isinstance(tr, PlayedNetStim)]
        self._played_horizon = math.inf
        if netstims:
            if k0 != 0:
                raise RunnerStateError(f"played NetStims replay a run from t = 0; this one starts at t = {k0} ms")
            self._played_horizon = float(self.h.tstop)
            draw_netstim_trains(netstims, self._played_horizon, int(self.h.Random().Random123_globalindex()))
        trains = [tr for tr in self._played if len(tr)]
        counts = np.array([len(tr) for tr in trains], dtype=np.int64)
        ev = np.empty((int(counts.sum()), 4))
        if trains:  # one pass per column, not per train (a network may play 10^5 trains)
            ev[:, 0] = np.repeat([float(tr.target.cell.source.cellid) for tr in trains], counts)
            ev[:, 1] = np.repeat([float(tr.target.code) for tr in trains], counts)
            ev[:, 2] = np.repeat([tr.weight for tr in trains], counts)
            ev[:, 3] = np.concatenate([tr.delivery_ms for tr in trains])
        ev = ev[np.argsort(ev[:, 3], kind="stable")]
        self._played_events = ev
        self._played_pos = int(np.searchsorted(ev[:, 3], k0 - self.config.bin_tolerance_ms, side="left"))

    @property
    def cells(self) -> list:
        """Every surrogate cell of this process, in cell-id order."""
        return list(self._cells)

    def close(self) -> None:
        """Stop stepping and forget every cell (their NEURON objects die with the last reference).

        Gids stay registered with the ParallelContext (``pc.gid_clear()``
        drops them); events that still reach a forgotten cell are an error.
        """
        self._closed = True
        for cell in self._cells:
            cell.source.cellid = -1
        self._fih = None
        self._lfp = []
        self._played, self._played_events = [], np.zeros((0, 4))
        for netstim, params, silenced in self._netstims.values():
            if silenced:
                netstim.number = params[3]  # the NetStims send their own spikes again
        self._netstims = {}
        self._batches, self._cells, self._models = [], [], {}
        self._surrogate_gids = set()

    def _check_open(self) -> None:
        if self._closed:
            raise RunnerStateError("this runner was closed (reset_runner()); create new cells")

    # -- the run -------------------------------------------------------------------
    @without_gc
    def _on_init(self) -> None:
        if self._closed:
            return
        h = self.h
        if self._lfp:
            from .lfp import capacity_hint

            for recording in self._lfp:
                recording._reset(round(h.t), capacity_hint(h))
        if not self._cells:
            return
        t0 = time.perf_counter()
        if int(self.pc.nthread()) > 1:
            raise RunnerStateError(f"surrogate cells need one NEURON thread per process, got "
                                   f"pc.nthread() = {int(self.pc.nthread())}; use MPI ranks instead")
        if h.dt > 1.0 + 1e-9:  # one tick per step would skip whole bins, silently
            raise RunnerStateError(f"h.dt = {h.dt:g} ms is longer than the surrogate cells' 1 ms step; set h.dt "
                                   "(NetPyNE: cfg.dt) to 1 ms or less, e.g. 0.025")
        k0 = round(h.t)
        if abs(h.t - k0) > 1e-9:
            raise RunnerStateError(f"a run with surrogate cells must start at a whole ms, got t = {h.t}")
        self.stats = RunStats()
        if self.config.torch_threads is None and self.device == "cpu":
            import torch

            torch.set_num_threads(default_torch_threads(int(self.pc.nhost()), len(self._cells)))
        info = np.asarray(self._cell_info, dtype=np.int64).reshape(-1, 3)
        self._cell_batch, self._cell_row, self._cell_channels = info[:, 0], info[:, 1], info[:, 2]
        for batch in self._batches:
            batch.start(k0)
        self._k = k0
        self._pending = np.zeros((0, 4))
        self._played_records(k0)
        self._buffer.resize(max(int(self._buffer.size()), 4096))
        self._run_version = self._version
        self._cvode.event(k0 + 1.0, self._tick_cb)
        self.stats.init_s = time.perf_counter() - t0

    @without_gc
    def _tick(self) -> None:
        if self._closed:
            return
        t0 = time.perf_counter()
        h = self.h
        k = self._k + 1  # this callback ends bin [k - 1, k)
        self._cvode.event(k + 1.0, self._tick_cb)
        if self._run_version != self._version:
            raise RunnerStateError("surrogate cells, recordings or played trains were added after finitialize(); "
                                   "initialise again (h.finitialize(), h.stdinit() or h.run())")
        if k > self._played_horizon + 1e-9:
            raise RunnerStateError(f"played NetStims were drawn up to h.tstop = {self._played_horizon:g} ms at "
                                   f"finitialize, and the run went on to {k} ms: set h.tstop to the run's end before "
                                   "finitialize (NetPyNE sets it from cfg.duration)")
        n = int(self._drain_cell.drain(self._buffer))
        events = self._buffer.as_numpy()[: 4 * n].reshape(n, 4)
        if self._pending.shape[0]:
            events = np.concatenate([self._pending, events])
        if events.shape[0]:
            bins = np.floor(events[:, 3] + self.config.bin_tolerance_ms)
            now = bins <= k - 1
            late = int(np.count_nonzero(bins < k - 1))
            if late:
                if not self.stats.late_events:
                    warnings.warn(f"events reached surrogate cells after their 1 ms bin had been computed "
                                  f"(t = {h.t:.3f} ms; a connection delay shorter than dt?); they are added "
                                  "to the current bin and counted in runner.stats.late_events",
                                  RuntimeWarning, stacklevel=1)
                self.stats.late_events += late
            self._pending = events[~now].copy()
            events = events[now]
        if self._played_pos < self._played_events.shape[0]:  # played events of this bin: t < k - tolerance
            end = int(np.searchsorted(self._played_events[:, 3], k - self.config.bin_tolerance_ms, side="left"))
            if end > self._played_pos:
                events = np.concatenate([events, self._played_events[self._played_pos:end]])
                self.stats.played_events += end - self._played_pos
                self._played_pos = end
        self.stats.events += events.shape[0]
        if events.shape[0] > 1:
            # a bin's float32 sums must not depend on the order its events arrived in (NEURON's queue, played
            # trains, ranks): add them in one canonical order, by cell, channel and weight
            events = events[np.lexsort((events[:, 2], events[:, 1], events[:, 0]))]
        ids = events[:, 0].astype(np.int64)
        codes = events[:, 1].astype(np.int64)
        if ids.size:
            self._check_events(ids, codes)
        for b, batch in enumerate(self._batches):
            if len(self._batches) == 1:
                rows, chans, w = self._cell_row[ids], codes - 1, events[:, 2]
            else:
                mine = self._cell_batch[ids] == b
                rows, chans, w = self._cell_row[ids[mine]], codes[mine] - 1, events[mine, 2]
            crossing, tstar = batch.step(k, rows, chans, w)
            if crossing.size:
                now_t = h.t
                for row, ts in zip(crossing.tolist(), tstar.tolist()):
                    te = ts + self.latency_ms
                    if te < now_t:  # only by floating-point rounding of h.t
                        self.stats.clamped_spikes += 1
                        te = now_t
                    batch.self_ncs[row].event(te, 2)
                self.stats.spikes += crossing.size
        self._k = k
        self.stats.ticks += 1
        self.stats.callback_s += time.perf_counter() - t0

    def _check_events(self, ids: np.ndarray, codes: np.ndarray) -> None:
        bad_id = (ids < 0) | (ids >= len(self._cells))
        if bad_id.any():
            raise RunnerStateError(
                f"an event reached an sc_Surrogate that is not a registered surrogate cell (cellid "
                f"{int(ids[bad_id][0])}): create cells with SurrogateCell, and drop the cells of a closed runner "
                "(pc.gid_clear() releases their gids)")
        n_ch = self._cell_channels[ids]
        bad = (codes < 1) | (codes > n_ch)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            cell = self._cells[int(ids[i])]
            raise RunnerStateError(
                f"an event reached surrogate cell {cell.label} with channel code {int(codes[i])} "
                f"(NetCon.weight[1] must be channel + 1, 1..{int(n_ch[i])}); make connections with "
                "surrogate_cell.neuron.connect()/gid_connect() or cell.synapse(...).code")


_RUNNER: SurrogateRunner | None = None


def get_runner(config: RunnerConfig | None = None) -> SurrogateRunner:
    """The process's runner, created with ``config`` (default :class:`RunnerConfig`) on first use.

    Raises
    ------
    RunnerStateError
        A runner exists already with another configuration (call
        :func:`reset_runner` first, before creating any cell).
    """
    global _RUNNER
    if _RUNNER is None:
        _RUNNER = SurrogateRunner(config)
    elif config is not None and config != _RUNNER.config:
        raise RunnerStateError(f"this process's surrogate runner exists already with {_RUNNER.config}; "
                               f"cannot switch to {config} (one runner per process: reset_runner() first)")
    return _RUNNER


def reset_runner() -> None:
    """Close the process's runner and forget its cells (tests, or building a second network)."""
    global _RUNNER
    if _RUNNER is not None:
        _RUNNER.close()
    _RUNNER = None
