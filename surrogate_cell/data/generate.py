"""Generate a training data set: many simulations, deterministic and resumable.

Two ways to use many cores:

* local worker processes (``workers=N``, ``multiprocessing`` spawn context);
  the calling process never builds a cell itself;
* MPI (``mpiexec -n N surrogate-cell generate ...``): NEURON's
  ``ParallelContext``; rank ``r`` simulates the unfinished simulations ``i``
  with ``i % N == r``, all ranks meet at a barrier, rank 0 assembles the file.

Simulation ``i`` draws its inputs from ``sim_seed(seed, i)`` and starts from a
fresh ``finitialize``, so the array contents are the same whatever the number
of workers or ranks, and whichever simulations a resumed run still had to do.
"""
from __future__ import annotations

import ctypes
import math
import multiprocessing as mp
import os
import queue
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .. import errors
from ..cells.geometry import geometry_of
from ..errors import DataError, SurrogateCellError
from .cellspec import CellSpec
from .format import FORMAT_VERSION, canonical_json, generation_digest
from .inputs import GeneratorConfig, draw_inputs, sim_seed
from .simulate import SimSettings, Simulator
from .store import PartsDir, assemble, existing_status


def _whole_ms(seconds: float, what: str) -> int:
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds <= 0:
        raise DataError(f"{what} must be a positive number of seconds, got {seconds}")
    ms = round(seconds * 1000)
    if ms < 1 or abs(seconds * 1000 - ms) > 1e-6:
        raise DataError(f"{what} must be a whole number of ms (>= 0.001 s), got {seconds} s")
    return int(ms)


@dataclass(frozen=True)
class GenerationPlan:
    """What to generate, validated: the parameters that define the data.

    Build it with :meth:`make`. ``n_sims`` simulations of ``sim_ms`` each make
    up ``seconds`` exactly (a total that is no multiple of ``sim_seconds`` is
    refused); where ``seconds`` is shorter than ``sim_seconds`` there is one
    simulation of ``seconds``.
    """

    out: Path
    cell: CellSpec
    n_sims: int
    sim_ms: int
    seed: int
    config: GeneratorConfig
    settings: SimSettings
    params: dict = field(default_factory=dict)

    @classmethod
    def make(cls, out, *, cell: CellSpec = CellSpec(), seconds: float, sim_seconds: float = 5.0,
             seed: int = 0, config: GeneratorConfig = GeneratorConfig(),
             settings: SimSettings = SimSettings()) -> "GenerationPlan":
        total_ms = _whole_ms(seconds, "--seconds")
        sim_ms = min(_whole_ms(sim_seconds, "--sim-seconds"), total_ms)
        if total_ms % sim_ms:
            n = -(-total_ms // sim_ms)
            raise DataError(f"--seconds {seconds:g} is not a whole number of --sim-seconds {sim_seconds:g} "
                            f"simulations: it would record {n * sim_ms / 1000:g} s; give a multiple of "
                            f"--sim-seconds, such as {n * sim_ms / 1000:g}, or --sim-seconds that divides it")
        if not isinstance(seed, int) or not 0 <= seed < 2 ** 63:
            raise DataError(f"--seed must be an integer in [0, 2**63), got {seed}")
        out = Path(out)
        folder = out.parent if str(out.parent) else Path(".")
        if out.is_dir():
            raise DataError(f"output {out} is a folder; give a file name such as data.h5")
        if not folder.is_dir():
            raise DataError(f"cannot write {out}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise DataError(f"cannot write {out}: folder {folder} is not writable")
        cell.validate()
        n_sims = -(-total_ms // sim_ms)
        params = {
            "format_version": FORMAT_VERSION, "cell": cell.identity(), "n_sims": n_sims, "sim_ms": sim_ms,
            "seed": seed, "generator": config.to_dict(), "settings": settings.to_dict(),
        }
        return cls(out=out, cell=cell, n_sims=n_sims, sim_ms=sim_ms, seed=seed, config=config,
                   settings=settings, params=params)

    @property
    def params_sha256(self) -> str:
        return generation_digest(self.params)

    def attrs(self) -> dict:
        """Root attributes of the HDF5 file besides those :func:`assemble` sets."""
        s = self.settings
        return {"bin_ms": s.bin_ms, "sim_dt_ms": s.dt_ms, "celsius": s.celsius_degC, "settle_ms": s.settle_ms,
                "v_init_mV": s.v_init_mV, "spike_threshold_mV": s.spike_threshold_mV,
                "seed": self.seed, "generator": canonical_json(self.config.to_dict())}


@dataclass
class GenerationReport:
    """The outcome of :func:`generate`.

    Attributes
    ----------
    path : Path
    status : str
        ``'generated'`` or ``'already complete'``.
    n_sims, sim_ms : int
    simulated_now : int
        Simulations run by this call (the rest came from earlier, killed runs).
    wall_s : float
        Wall time of the call (s).
    """

    path: Path
    status: str
    n_sims: int
    sim_ms: int
    simulated_now: int
    wall_s: float


def simulate_one(sim: Simulator, plan: GenerationPlan, index: int, parts: PartsDir) -> int:
    """Simulate ``index`` and write its part file; returns its somatic spike count."""
    inputs = draw_inputs(plan.config, sim.cell.layout(), plan.sim_ms, sim_seed(plan.seed, index))
    out = sim.run(inputs, plan.sim_ms)
    parts.write_part(index, voltage_mV=out.voltage_mV, spike_times_ms=out.spike_times_ms, inputs=inputs,
                     params_sha256=plan.params_sha256, cell_digest=sim.cell.digest)
    return int(out.spike_times_ms.size)


def _prepare_simulator(plan: GenerationPlan, parts: PartsDir) -> Simulator:
    sim = Simulator(plan.cell, plan.settings)
    c = sim.cell
    description = plan.cell.describe()
    parts.write_cell(c.segments.to_dict(), c.channels.to_dict(), c.digest, description,
                     geometry_of(c.cell, description["morphology"]).to_dict())
    return sim


def _die_with_parent(parent_pid: int) -> None:
    """Linux: have the kernel kill this worker when the parent dies (kill -9 included)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(1)


def _worker(plan: GenerationPlan, parent_pid: int, tasks, results) -> None:
    """Worker process: build the cell once, then simulate indices from ``tasks``."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    try:
        parts = PartsDir(plan.out)
        sim = _prepare_simulator(plan, parts)
        while True:
            index = tasks.get()
            if index is None:
                return
            results.put(("done", index, simulate_one(sim, plan, index, parts)))
    except SurrogateCellError as exc:
        results.put(("error", type(exc).__name__, str(exc)))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        results.put(("crash", None, traceback.format_exc()))


def _raise_from_worker(kind: str, name: str, message: str):
    if kind == "error":
        cls = getattr(errors, name, SurrogateCellError)
        raise cls(message)
    raise RuntimeError(f"a worker process failed:\n{message}")


def _run_local(plan: GenerationPlan, todo: list[int], workers: int, bar) -> None:
    ctx = mp.get_context("spawn")
    tasks, results = ctx.Queue(), ctx.Queue()
    for i in todo:
        tasks.put(i)
    n_proc = max(1, min(workers, len(todo)))
    for _ in range(n_proc):
        tasks.put(None)
    procs = [ctx.Process(target=_worker, args=(plan, os.getpid(), tasks, results), daemon=True)
             for _ in range(n_proc)]
    for p in procs:
        p.start()
    remaining = set(todo)
    try:
        while remaining:
            try:
                kind, a, b = results.get(timeout=1.0)
            except queue.Empty:
                dead = [p for p in procs if p.exitcode not in (None, 0)]
                if dead:
                    raise DataError(f"a worker process died (exit code {dead[0].exitcode}); "
                                    "rerun the same command to continue where it stopped") from None
                if all(p.exitcode == 0 for p in procs) and remaining:
                    raise DataError("the workers stopped before finishing; rerun the same command")
                continue
            if kind == "done":
                remaining.discard(a)
                bar.update()
                bar.set_postfix_str(f"sim {a}: {b} spikes")
            elif kind in ("error", "crash"):
                _raise_from_worker(kind, a, b)
        for p in procs:
            p.join()
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()


def mpi_size() -> int:
    """Number of ranks when this process was started by mpiexec/srun (1 otherwise)."""
    for var in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"):
        if var == "SLURM_NTASKS" and "PMIX_RANK" not in os.environ:
            continue  # srun without a PMIx launch, or a batch script outside srun
        value = os.environ.get(var)
        if value and value.isdigit():
            return int(value)
    return 1


def mpi_rank() -> int:
    """This process's rank when started by mpiexec/srun (0 otherwise)."""
    for var in ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"):
        value = os.environ.get(var)
        if value and value.isdigit():
            return int(value)
    return 0


def generate(plan: GenerationPlan, *, workers: int = 1, progress: bool = True, mpi: bool | None = None,
             log=None) -> GenerationReport:
    """Generate (or finish) the data set of ``plan``.

    Parameters
    ----------
    plan : GenerationPlan
    workers : int
        Local worker processes (ignored under MPI).
    progress : bool
        Show a tqdm progress bar on stderr.
    mpi : bool or None
        Use NEURON's ParallelContext over MPI ranks. None: when started by
        mpiexec with more than one rank (:func:`mpi_size`).
    log : callable or None
        Receives one-line notes (e.g. ``print``).

    Returns
    -------
    GenerationReport

    Raises
    ------
    DataError
        Bad parameters, an existing output made with other parameters, ...
    """
    if workers < 1:
        raise DataError(f"--workers must be at least 1, got {workers}")
    if mpi is None:
        mpi = mpi_size() > 1
    log = log or (lambda msg: None)
    if mpi:
        return _generate_mpi(plan, progress=progress, log=log)
    from tqdm import tqdm  # progress bars: only for long runs

    t0 = time.perf_counter()
    if existing_status(plan.out, plan.params) == "complete":
        PartsDir(plan.out).remove_leftover(plan.params)  # a run killed after the final rename
        return GenerationReport(plan.out, "already complete", plan.n_sims, plan.sim_ms, 0,
                                time.perf_counter() - t0)
    parts = PartsDir(plan.out)
    parts.open(plan.params)
    try:
        done = set(parts.finished(plan.n_sims, log))
        todo = [i for i in range(plan.n_sims) if i not in done]
        if done:
            log(f"resuming: {len(done)} of {plan.n_sims} simulations were finished before")
        plan.cell.compile()  # before any worker starts
        with tqdm(total=plan.n_sims, initial=len(done), desc="simulating", unit="sim",
                  disable=not progress) as bar:
            if todo:
                _run_local(plan, todo, workers, bar)
        assemble(parts, plan.params, plan.attrs(), progress=progress)
    except BaseException:
        if not parts.has_parts():
            parts.remove()  # nothing worth keeping: leave no trace
        else:
            parts.release()
        raise
    parts.remove()
    return GenerationReport(plan.out, "generated", plan.n_sims, plan.sim_ms, len(todo), time.perf_counter() - t0)


def _generate_mpi(plan: GenerationPlan, *, progress: bool, log) -> GenerationReport:
    """MPI flavour of :func:`generate` (every rank calls it; MPI is finalised on return)."""
    plan.cell.compile()  # nrnivmodl forks: do it before MPI starts
    from neuron import h  # NEURON: only where a simulation is built

    h.nrnmpi_init()
    pc = h.ParallelContext()
    try:
        return _mpi_body(plan, pc, progress=progress, log=log)
    finally:
        pc.done()  # MPI_Finalize: mpiexec then sees a clean exit, whatever the exit status


def _mpi_body(plan: GenerationPlan, pc, *, progress: bool, log) -> GenerationReport:
    from tqdm import tqdm  # progress bars: only for long runs

    t0 = time.perf_counter()
    rank, nhost = int(pc.id()), int(pc.nhost())
    parts = PartsDir(plan.out)
    decision = None
    if rank == 0:
        try:
            if existing_status(plan.out, plan.params) == "complete":
                parts.remove_leftover(plan.params)
                decision = ("complete", [])
            else:
                parts.open(plan.params)
                done = set(parts.finished(plan.n_sims, log))
                decision = ("run", [i for i in range(plan.n_sims) if i not in done])
                if done:
                    log(f"resuming: {len(done)} of {plan.n_sims} simulations were finished before")
                log(f"MPI: {nhost} ranks, {len(decision[1])} simulations to run")
        except SurrogateCellError as exc:
            decision = ("error", (type(exc).__name__, str(exc)))
        except Exception:  # noqa: BLE001 - broadcast, so that no rank waits forever
            decision = ("crash", (None, traceback.format_exc()))
    kind, payload = pc.py_broadcast(decision, 0)
    if kind in ("error", "crash"):
        _raise_from_worker(kind, *payload)
    if kind == "complete":
        return GenerationReport(plan.out, "already complete", plan.n_sims, plan.sim_ms, 0,
                                time.perf_counter() - t0)
    mine = [i for i in payload if i % nhost == rank]
    failure = None
    try:
        sim = _prepare_simulator(plan, parts)
        with tqdm(total=len(mine), desc=f"simulating (rank 0 of {nhost})", unit="sim",
                  disable=not progress or rank != 0) as bar:
            for i in mine:
                spikes = simulate_one(sim, plan, i, parts)
                bar.update()
                bar.set_postfix_str(f"sim {i}: {spikes} spikes")
    except SurrogateCellError as exc:
        failure = ("error", type(exc).__name__, f"rank {rank}: {exc}")
    except Exception:  # noqa: BLE001 - gathered below, so that no rank waits forever
        failure = ("crash", None, f"rank {rank}:\n{traceback.format_exc()}")
    failures = [f for f in pc.py_allgather(failure) if f is not None]  # also the barrier
    if failures:
        if rank == 0:
            parts.release()
        _raise_from_worker(*failures[0])
    outcome = None
    if rank == 0:
        try:
            assemble(parts, plan.params, plan.attrs(), progress=progress)
            parts.remove()
        except SurrogateCellError as exc:
            parts.release()
            outcome = ("error", type(exc).__name__, str(exc))
        except Exception:  # noqa: BLE001
            parts.release()
            outcome = ("crash", None, traceback.format_exc())
    outcome = pc.py_broadcast(outcome, 0)
    if outcome is not None:
        _raise_from_worker(*outcome)
    return GenerationReport(plan.out, "generated", plan.n_sims, plan.sim_ms, len(payload),
                            time.perf_counter() - t0)
