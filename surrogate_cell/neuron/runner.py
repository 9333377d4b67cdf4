"""The population runner: one per process, it steps every surrogate cell of the process.

NEURON runs the network as usual (``h.run``, ``h.continuerun``, ``pc.psolve``).
An ``FInitializeHandler`` schedules ``CVode().event`` callbacks at t = 1, 2,
3 ... ms; at each one the runner

1. drains the events that the ``sc_Surrogate`` cells buffered
   (``(cell, synapse code, weight, t)`` records, a C buffer shared by the
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
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._native import import_neuron_quietly
from ..callbacks import without_gc
from ..errors import DelayTooShortError, NetworkError, RunnerStateError
from ..lfp import ElectrodeConfig, LFPRecorder, NetworkLFP, Placement, vmem_to_imem_for
from ..lfp.recorder import DTYPES as LFP_DTYPES
from ..mechanisms import load_mechanisms
from ..model import SPIKE_RULES, check_device, load
from .batch import ModelBatch
from .checks import check_delay
from .events import BinnedEvents

#: Routes to T (``surrogate_cell.lfp.vmem_to_imem_for``); 'neuron' has no side effect on a simulation.
T_METHODS = ("neuron", "lfpy")
#: Forms of the LFP's per-step product: 'full' kernels K_c on the voltages, or 'readout' kernels K_c A on the
#: features z of a model whose voltages are a linear readout V = A z + b; 'auto' picks 'readout' where it exists.
LFP_FORMS = ("auto", "full", "readout")


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
        import torch  # heavy: only once a network has surrogate cells

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
        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        self.latency_ms = 1.0
        self.stats = RunStats()
        self._batches: list[ModelBatch] = []
        self._models: dict = {}  # (path, mtime) -> SurrogateModel, for cells given a file
        self._cells: list = []
        self._cell_info: list[tuple[int, int]] = []  # (batch, row) by cell id
        self._cell_batch = self._cell_row = np.zeros(0, dtype=np.int64)
        self._surrogate_gids: set[int] = set()
        self._lfp: list = []  # LFPRecorder objects (record_lfp)
        self._version = 0  # bumped by every structural change
        self._run_version = -1  # version at the last finitialize
        self._k = 0
        self.events = BinnedEvents(h, config.bin_tolerance_ms)
        self._closed = False
        self._cvode = h.CVode()
        self._fih = h.FInitializeHandler(1, self._on_init)
        self._tick_cb = self._tick

    # -- structure ---------------------------------------------------------------
    def load_model(self, path):
        """The model in file ``path``, loaded once per process (cells given the same file share a batch)."""
        p = Path(path).resolve()
        key = (str(p), p.stat().st_mtime_ns if p.is_file() else -1)
        if key not in self._models:
            self._models[key] = load(p)
        return self._models[key]

    def batch_for(self, model) -> ModelBatch:
        for batch in self._batches:
            if batch.model is model:
                return batch
        if abs(model.dt_ms - 1.0) > 1e-12:
            raise NetworkError(f"model {model.path} has a {model.dt_ms} ms step; the runner steps every 1 ms")
        batch = ModelBatch(self, model)
        self._batches.append(batch)
        return batch

    def add_cell(self, cell, model) -> tuple[ModelBatch, int, int]:
        """Register a cell; returns (batch, row in batch, cell id)."""
        self._check_open()
        batch = self.batch_for(model)
        row = batch.add_cell(cell)
        cellid = len(self._cells)
        self._cells.append(cell)
        self._cell_info.append((self._batches.index(batch), row))
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

    def netcon_delay(self, delay_ms: float, *, what: str = "a connection") -> float:
        """The NetCon delay (ms) of a connection from a surrogate with ``delay_ms``: it delivers at t* + delay_ms.

        A surrogate emits its spike ``latency_ms`` after the somatic crossing
        t*, so its NetCons are shortened by that much, and must keep at least
        ``RunnerConfig.min_netcon_delay_ms``.

        Raises
        ------
        DelayTooShortError
            ``delay_ms`` below ``latency_ms + min_netcon_delay_ms``, naming ``what``.
        """
        d = check_delay(delay_ms)
        minimum = self.latency_ms + self.config.min_netcon_delay_ms
        if d < minimum - 1e-12:
            raise DelayTooShortError(
                f"{what}: delay {d:g} ms from a surrogate cell is below its minimum {minimum:g} ms (a surrogate emits "
                f"its spike {self.latency_ms:g} ms after the somatic crossing, one model step, and the NetCon keeps "
                f"at least RunnerConfig.min_netcon_delay_ms = {self.config.min_netcon_delay_ms:g} ms); use a "
                "longer delay")
        return d - self.latency_ms

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
        morphology : str, Path, CellGeometry or None
            The morphology the models were trained on, to build T
            (:func:`surrogate_cell.lfp.vmem_to_imem_for`); None: the geometry
            each model file carries (the synthetic L5PC for a file without
            one). A model of another morphology is an error.
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
        surrogate_cell.lfp.LFPRecorder
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
        self._check_open()
        if isinstance(placements, Mapping) and not placements and int(self.pc.nhost()) == 1:
            # (under MPI a rank may hold none of the cells; the recording is collective)
            raise NetworkError("record_lfp got no placements, so its LFP would be all zeros; give "
                               "{SurrogateCell or gid: (x, y, z) µm} for every cell to record")
        if not isinstance(electrodes, ElectrodeConfig):
            raise NetworkError(f"electrodes must be a surrogate_cell.lfp.ElectrodeConfig (e.g. laminar_probe(...)), "
                               f"got {type(electrodes).__name__}")
        if dtype not in LFP_DTYPES:
            raise NetworkError(f"dtype must be one of {LFP_DTYPES}, got {dtype!r}")
        if method not in T_METHODS:
            raise NetworkError(f"method must be one of {T_METHODS}, got {method!r}")
        if form not in LFP_FORMS:
            raise NetworkError(f"form must be one of {LFP_FORMS}, got {form!r}")
        placed = self._placed(placements)
        by_batch: dict[int, list] = {}
        for cell, placement in placed.items():
            by_batch.setdefault(self._batches.index(cell.batch), []).append((cell.row, placement))
        recorder = LFPRecorder(electrodes.n_contacts, device=self.device, dtype=dtype, pc=self.pc)
        probes = []
        for b, entries in sorted(by_batch.items()):
            batch = self._batches[b]
            readout = batch.model.linear_readout() if form in ("auto", "readout") else None
            if form == "readout" and readout is None:
                raise NetworkError(f"form='readout': model {batch.model.path} has no linear voltage readout (only "
                                   "an MH surrogate with linear towers and neither local path nor spike waveforms "
                                   "has one); use form='full' or 'auto'")
            entries.sort(key=lambda e: e[0])
            net = NetworkLFP(electrodes, batch.model.segments,
                             vmem_to_imem_for(batch.model.segments,
                                              batch.model.geometry if morphology is None else morphology,
                                              method=method))
            for _, placement in entries:
                net.add_placement(placement)
            spec = None if readout is None else (*readout, batch.model.readout_features)
            group = recorder.add_group(net.kernels, rows=[e[0] for e in entries], readout=spec)
            probes.append((batch, group))
        for batch, group in probes:  # only once every group's kernels are built
            batch.probes.append((recorder, group))
        self._lfp.append(recorder)
        self._version += 1
        return recorder

    def _placed(self, placements) -> dict:
        """``{SurrogateCell: Placement}`` of this rank from a mapping keyed by cells or gids.

        Values may be a :class:`~surrogate_cell.lfp.Placement` or a position
        (x, y, z) in µm (soma centre, no rotation). A gid of another rank
        (declared a surrogate, e.g. by a Population) is skipped; any other
        unknown key is an error.
        """
        if not isinstance(placements, Mapping):
            raise NetworkError("placements must be a mapping {SurrogateCell or gid: Placement or (x, y, z) µm}")
        by_gid = {c.gid: c for c in self._cells if c.gid is not None}
        mine = set(map(id, self._cells))
        out = {}
        for key, value in placements.items():
            if hasattr(key, "synapse"):  # a cell
                if id(key) not in mine:
                    raise NetworkError(f"cell {key.label} does not belong to this process's runner")
                cell = key
            else:
                try:
                    gid = int(key)
                except (TypeError, ValueError):
                    raise NetworkError(f"a placement key must be a SurrogateCell or a gid, got {key!r}") from None
                cell = by_gid.get(gid)
                if cell is None:
                    if self.is_surrogate_gid(gid) and int(self.pc.nhost()) > 1:
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

    def add_played(self, train) -> None:
        """Keep a :class:`~surrogate_cell.neuron.PlayedTrain`; it plays from the next ``finitialize``."""
        self._check_open()
        if train.target.cell.runner is not self:
            raise NetworkError(f"{train!r} targets a cell of another runner")
        self.events.played.append(train)
        self._version += 1

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
        self.events.restore_netstims()
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
        self._lfp = [rec for rec in self._lfp if not rec.closed]
        for batch in self._batches:
            batch.probes = [(rec, group) for rec, group in batch.probes if not rec.closed]
        tstop = float(getattr(h, "tstop", 0.0) or 0.0)
        capacity = int(math.ceil(tstop)) + 2 if math.isfinite(tstop) and tstop > 0 else 1024
        for recorder in self._lfp:
            recorder.start(round(h.t), capacity)
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
            import torch  # heavy: imported already by the model

            torch.set_num_threads(default_torch_threads(int(self.pc.nhost()), len(self._cells)))
        info = np.asarray(self._cell_info, dtype=np.int64).reshape(-1, 2)
        self._cell_batch, self._cell_row = info[:, 0], info[:, 1]
        self._batch_codes = np.array([b.n_codes for b in self._batches], dtype=np.int64)
        for batch in self._batches:
            batch.start(k0)
        self._k = k0
        self.events.start(k0)
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
        events = self.events.take(k, self.stats)
        ids = events[:, 0].astype(np.int64)
        codes = events[:, 1].astype(np.int64)
        if ids.size:
            self._check_events(ids, codes)
        for b, batch in enumerate(self._batches):
            if len(self._batches) == 1:
                rows, targets, w, t = self._cell_row[ids], codes - 1, events[:, 2], events[:, 3]
            else:
                mine = self._cell_batch[ids] == b
                rows, targets, w, t = self._cell_row[ids[mine]], codes[mine] - 1, events[mine, 2], events[mine, 3]
            crossing, tstar = batch.step(k, rows, targets, w, t)
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
        n_codes = self._batch_codes[self._cell_batch[ids]]
        bad = (codes < 1) | (codes > n_codes)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            cell = self._cells[int(ids[i])]
            raise RunnerStateError(
                f"an event reached surrogate cell {cell.label} with synapse code {int(codes[i])} "
                f"(NetCon.weight[1] must be the code of a synapse of its model, 1..{int(n_codes[i])}); make "
                "connections with surrogate_cell.neuron.connect()/gid_connect() onto cell.synapse(...)")


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
