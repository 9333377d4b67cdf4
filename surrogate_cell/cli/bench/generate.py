"""Benchmark of data generation: ``surrogate-cell bench generate``.

Three runs of the same simulations (same cell, seeds and inputs), one after
another on this machine:

1. bare NEURON: one spawned process builds the cell and synapses and runs
   the simulations with nothing recorded;
2. ``generate`` with 1 worker: recording, part files, HDF5 assembly;
3. ``generate`` with 2 workers.

Reported: throughput (recorded simulated seconds per wall second) of each
run, the generation overhead ``wall(2) / wall(1) - 1`` over bare NEURON (and
the same ratio of CPU time, which other load on a shared machine disturbs
less), and the speed-up ``wall(gen, 1 worker) / wall(gen, 2 workers)``. Every
time runs from the start of the worker process(es) to the end, so process
start-up, imports and cell building count on both sides. With ``repeat > 1``
the three runs are interleaved and the fastest of each is reported. The 1-
and 2-worker files are also checked to have the same digest.
"""
from __future__ import annotations

import json
import os
import resource
import tempfile
import time
from pathlib import Path

from ...data.cellspec import CellSpec
from ...data.generate import GenerationPlan, generate
from ...data.inputs import GeneratorConfig, draw_inputs, sim_seed
from ...data.simulate import SimSettings, Simulator
from ...data.store import data_digest
from ...errors import DataError
from ..generate import add_cell_arguments, cell_from_args
from .fresh import in_fresh_process


def _bare_neuron(cell: CellSpec, settings: SimSettings, config: GeneratorConfig, sim_ms: int,
                 seeds: list[int]) -> dict:
    """Worker: the cell, synapses and inputs, nothing recorded. Times in s."""
    t0 = time.perf_counter()
    sim = Simulator(cell, settings, record=False)
    layout = sim.cell.layout()
    t1 = time.perf_counter()
    for seed in seeds:
        sim.run(draw_inputs(config, layout, sim_ms, seed), sim_ms)
    return {"build_s": t1 - t0, "run_s": time.perf_counter() - t1}


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and its finished children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _measured(fn) -> tuple[float, float]:
    """``(wall s, CPU s)`` of ``fn()``, child processes included once they have ended."""
    cpu0, t0 = _cpu_s(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, _cpu_s() - cpu0


def bench_generate(cell: CellSpec = CellSpec(), *, sims: int = 4, sim_seconds: float = 1.0, seed: int = 0,
                   settings: SimSettings = SimSettings(), config: GeneratorConfig = GeneratorConfig(),
                   workers: int = 2, repeat: int = 1, progress: bool = False) -> dict:
    """Run the benchmark (see the module docstring) and return its figures.

    Parameters
    ----------
    cell : CellSpec
    sims : int
        Simulations per run (use a multiple of ``workers``).
    sim_seconds : float
        Recorded length of each simulation (s); the settling time comes on top.
    seed : int
    settings, config
        As for ``generate``.
    workers : int
        Worker count of the parallel run.
    repeat : int
        Rounds of the three runs; each figure uses the fastest round, which
        is the least disturbed by other load on a shared machine.
    progress : bool

    Returns
    -------
    dict
        JSON-able figures: throughputs (simulated s per wall s), overhead (%)
        by wall and by CPU time, speed-up, and the load average around the runs.
    """
    cell.compile()
    load_before = os.getloadavg()
    walls = {"bare": [], "gen1": [], "genN": []}
    cpus = {k: [] for k in walls}
    with tempfile.TemporaryDirectory(prefix="sc_bench_") as tmp:
        def plan(name):
            return GenerationPlan.make(Path(tmp) / name, cell=cell, seconds=sims * sim_seconds,
                                       sim_seconds=sim_seconds, seed=seed, config=config, settings=settings)

        first = plan("probe.h5")
        sim_ms, n = first.sim_ms, first.n_sims
        seeds = [sim_seed(seed, i) for i in range(n)]
        build_s = []

        def bare():
            build_s.append(in_fresh_process(_bare_neuron, cell, settings, config, sim_ms, seeds)["build_s"])

        digests = set()
        for r in range(repeat):
            for key, w in (("bare", 0), ("gen1", 1), ("genN", workers)):
                if key == "bare":
                    wall, cpu = _measured(bare)
                else:
                    target = plan(f"bench_{r}_{w}.h5")
                    wall, cpu = _measured(lambda: generate(target, workers=w, progress=progress, mpi=False))
                    digests.add(data_digest(target.out))
                    target.out.unlink()
                walls[key].append(wall)
                cpus[key].append(cpu)
    simulated = n * sim_ms / 1000.0
    best = {k: min(v) for k, v in walls.items()}
    best_cpu = {k: min(v) for k, v in cpus.items()}

    def run_figures(key):
        return {"wall_s": round(best[key], 3), "cpu_s": round(best_cpu[key], 3),
                "throughput_sim_s_per_s": round(simulated / best[key], 5),
                "all_wall_s": [round(x, 3) for x in walls[key]]}

    return {
        "benchmark": "generate",
        "cell": cell.describe()["morphology"] if cell.kind == "hay" else cell.template_name,
        "simulations": n,
        "sim_ms": sim_ms,
        "settle_ms": settings.settle_ms,
        "simulated_seconds": simulated,
        "repeat": repeat,
        "bare_neuron": {**run_figures("bare"), "cell_build_s": round(min(build_s), 3)},
        "generate_1_worker": run_figures("gen1"),
        f"generate_{workers}_workers": run_figures("genN"),
        "overhead_vs_bare_pct": round(100.0 * (best["gen1"] / best["bare"] - 1.0), 2),
        "overhead_vs_bare_cpu_pct": round(100.0 * (best_cpu["gen1"] / best_cpu["bare"] - 1.0), 2),
        f"speedup_1_to_{workers}_workers": round(best["gen1"] / best["genN"], 3),
        "same_digest": len(digests) == 1,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
    }


def register_bench(sub, formatter) -> None:
    """Add ``generate`` to ``surrogate-cell bench``."""

    p = sub.add_parser("generate", help="data generation: overhead over bare NEURON, 1 -> 2 worker speed-up",
                       description=__doc__, formatter_class=formatter)
    add_cell_arguments(p)
    p.add_argument("--sims", type=int, default=4, help="simulations per run")
    p.add_argument("--sim-seconds", type=float, default=1.0, help="recorded length of each simulation (s)")
    p.add_argument("--settle-ms", type=int, default=500, help="settling time before each simulation (ms)")
    p.add_argument("--workers", type=int, default=2, help="workers of the parallel run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=1, help="rounds; the fastest of each run is reported")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--progress", action="store_true", help="show progress bars")
    p.set_defaults(func=_run)


def _run(args) -> int:

    if args.sims < 1 or args.workers < 2 or args.repeat < 1:
        raise DataError("--sims and --repeat must be >= 1 and --workers >= 2")
    figures = bench_generate(cell_from_args(args), sims=args.sims, sim_seconds=args.sim_seconds, seed=args.seed,
                             settings=SimSettings(settle_ms=args.settle_ms), workers=args.workers,
                             repeat=args.repeat, progress=args.progress)
    if args.json:
        print(json.dumps(figures))
    else:
        w = args.workers
        print(f"{figures['simulated_seconds']:g} simulated s ({figures['simulations']} x {figures['sim_ms']} ms "
              f"+ {figures['settle_ms']} ms settling each)")
        print(f"  bare NEURON        {figures['bare_neuron']['wall_s']:8.1f} s wall  "
              f"{figures['bare_neuron']['throughput_sim_s_per_s']:.4f} sim-s/s")
        print(f"  generate, 1 worker {figures['generate_1_worker']['wall_s']:8.1f} s wall  "
              f"{figures['generate_1_worker']['throughput_sim_s_per_s']:.4f} sim-s/s  "
              f"overhead {figures['overhead_vs_bare_pct']:+.1f} % "
              f"(CPU time {figures['overhead_vs_bare_cpu_pct']:+.1f} %)")
        print(f"  generate, {w} workers {figures[f'generate_{w}_workers']['wall_s']:7.1f} s wall  "
              f"speed-up {figures[f'speedup_1_to_{w}_workers']:.2f}x  same digest: {figures['same_digest']}")
    return 0
