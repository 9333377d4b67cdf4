"""How far the detailed cell's data move with its time step: ``surrogate-cell bench dt``.

The same simulations (cell, seeds, inputs of ``generate``) are run at each
``--dt-ms`` and at a fine reference step. Against the reference, per step:

* spike F1 at ±1, ±2 and ±5 ms (somatic spikes, one-to-one matching);
* the somatic sub-threshold RMSE (mV, both traces clipped at −55 mV) and the
  median over segments of the compartment RMSE (mV), on the 1 ms samples
  that ``generate`` stores;
* the wall time per simulated second of one process, and its ratio to the
  finest step's.

This is the check to run before ``generate --dt-ms``: a coarser step is
worth its saving where its figures sit as close to the reference as those of
the standard 0.025 ms do. Each simulation runs in its own spawned process
(NEURON's ``dt`` is global), ``--workers`` at a time.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from ...cells.segments import section_name
from ...data.cellspec import CellSpec
from ...data.inputs import GeneratorConfig, draw_inputs, sim_seed
from ...data.simulate import SimSettings, Simulator
from ...errors import DataError
from ...training.metrics import prf, soma_subthreshold_rmse_mv
from ..generate import add_cell_arguments, cell_from_args, generator_from_file

TOLERANCES_MS = (1.0, 2.0, 5.0)


def _one(cell: CellSpec, settings: SimSettings, config: GeneratorConfig, sim_ms: int, seed: int) -> dict:
    """Worker: one simulation at ``settings.dt_ms``; voltages (sim_ms, n) mV, spikes ms, run time s."""
    sim = Simulator(cell, settings)
    inputs = draw_inputs(config, sim.cell.layout(), sim_ms, seed)
    t0 = time.perf_counter()
    out = sim.run(inputs, sim_ms)
    return {"voltage_mV": out.voltage_mV, "spikes_ms": out.spike_times_ms, "run_s": time.perf_counter() - t0,
            "soma_row": sim.cell.segments.index(section_name(sim.cell.soma_seg.sec), 0.5)}


def bench_dt(cell: CellSpec = CellSpec(), *, dts_ms=(0.025, 0.05), reference_dt_ms: float = 0.0125,
             sims: int = 3, sim_seconds: float = 5.0, seed: int = 0, settle_ms: int = 500,
             config: GeneratorConfig = GeneratorConfig(), workers: int = 2) -> dict:
    """Run the benchmark (see the module docstring) and return its figures.

    Parameters
    ----------
    cell : CellSpec
    dts_ms : sequence of float
        Steps to judge (ms).
    reference_dt_ms : float
        The reference step (ms), finer than every one of ``dts_ms``.
    sims : int
        Simulations per step, seeds as ``generate --seed seed`` draws them.
    sim_seconds : float
        Recorded length of each simulation (s).
    seed : int
    settle_ms : int
    config : GeneratorConfig
    workers : int
        Simulations run at once.

    Returns
    -------
    dict
        JSON-able: per step, the figures against the reference.
    """
    dts = [float(d) for d in dts_ms]
    if not dts or min(dts) <= reference_dt_ms:
        raise DataError(f"every --dt-ms must be coarser than the reference {reference_dt_ms} ms, got {dts}")
    if sims < 1 or workers < 1:
        raise DataError("--sims and --workers must be >= 1")
    sim_ms = int(round(sim_seconds * 1000))
    cell.validate()
    cell.compile()
    steps = [reference_dt_ms] + dts
    jobs = [(dt, i) for dt in steps for i in range(sims)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        futures = {job: pool.submit(_one, cell, SimSettings(dt_ms=job[0], settle_ms=settle_ms), config, sim_ms,
                                    sim_seed(seed, job[1])) for job in jobs}
        runs = {job: f.result() for job, f in futures.items()}

    def spikes(dt):  # one train, simulations laid end to end
        return np.concatenate([runs[(dt, i)]["spikes_ms"] + i * sim_ms for i in range(sims)])

    def volts(dt):
        return np.concatenate([runs[(dt, i)]["voltage_mV"] for i in range(sims)])

    soma = runs[(reference_dt_ms, 0)]["soma_row"]
    ref_spikes, ref_v = spikes(reference_dt_ms), volts(reference_dt_ms)
    ref_cost = sum(runs[(reference_dt_ms, i)]["run_s"] for i in range(sims)) / (sims * sim_seconds)
    figures = []
    for dt in dts:
        v, spk = volts(dt), spikes(dt)
        cost = sum(runs[(dt, i)]["run_s"] for i in range(sims)) / (sims * sim_seconds)
        row = {"dt_ms": dt, "spikes": int(spk.size),
               "soma_subthreshold_rmse_mv": round(soma_subthreshold_rmse_mv(v[:, soma], ref_v[:, soma]), 4),
               "compartment_rmse_mv_median": round(float(np.median(np.sqrt(np.mean((v - ref_v) ** 2, axis=0)))), 4),
               "wall_s_per_sim_s": round(cost, 3), "cost_vs_reference": round(cost / ref_cost, 3)}
        for tol in TOLERANCES_MS:
            row[f"spike_f1_{tol:g}ms"] = round(prf(ref_spikes, spk, tol)[2], 4)
        figures.append(row)
    return {"benchmark": "dt", "cell": cell.describe()["morphology"] if cell.kind == "hay" else cell.template_name,
            "simulations": sims, "sim_ms": sim_ms, "seed": seed, "reference_dt_ms": reference_dt_ms,
            "reference_spikes": int(ref_spikes.size), "reference_wall_s_per_sim_s": round(ref_cost, 3),
            "steps": figures}


def register_bench(sub, formatter) -> None:
    """Add ``dt`` to ``surrogate-cell bench``."""
    p = sub.add_parser("dt", help="data at a coarser step: spike F1 and voltage error against a fine reference",
                       description=__doc__, formatter_class=formatter)
    add_cell_arguments(p)
    p.add_argument("--dt-ms", type=float, nargs="+", default=[0.025, 0.05], help="steps to judge (ms)")
    p.add_argument("--reference-dt-ms", type=float, default=0.0125, help="the reference step (ms)")
    p.add_argument("--sims", type=int, default=3, help="simulations per step")
    p.add_argument("--sim-seconds", type=float, default=5.0, help="recorded length of each simulation (s)")
    p.add_argument("--settle-ms", type=int, default=500, help="settling time before each simulation (ms)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--generator", metavar="FILE.json", help="override input-generator parameters")
    p.add_argument("--workers", type=int, default=2, help="simulations at once")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_run)


def _run(args) -> int:
    figures = bench_dt(cell_from_args(args), dts_ms=args.dt_ms, reference_dt_ms=args.reference_dt_ms,
                       sims=args.sims, sim_seconds=args.sim_seconds, seed=args.seed, settle_ms=args.settle_ms,
                       config=generator_from_file(args.generator), workers=args.workers)
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"{figures['cell']}: {figures['simulations']} x {figures['sim_ms']} ms, seed {figures['seed']}; "
          f"reference dt {figures['reference_dt_ms']} ms: {figures['reference_spikes']} spikes, "
          f"{figures['reference_wall_s_per_sim_s']:.2f} s per simulated s")
    print("  dt (ms)  F1 ±1 ms  F1 ±2 ms  F1 ±5 ms  soma sub-thr (mV)  median comp. (mV)  s per sim-s  cost")
    for r in figures["steps"]:
        print(f"  {r['dt_ms']:7.4g}  {r['spike_f1_1ms']:8.3f}  {r['spike_f1_2ms']:8.3f}  {r['spike_f1_5ms']:8.3f}  "
              f"{r['soma_subthreshold_rmse_mv']:17.3f}  {r['compartment_rmse_mv_median']:17.3f}  "
              f"{r['wall_s_per_sim_s']:11.2f}  {r['cost_vs_reference']:.2f}x")
    return 0
