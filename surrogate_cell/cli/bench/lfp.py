"""Benchmark of the runner's LFP recording: ``surrogate-cell bench lfp``.

The surrogate network of ``surrogate-cell bench network`` (background
Poisson inputs and recurrent connections, drawn once from a seed) is run
with and without ``record_lfp`` (full kernels, the exact form; a laminar
probe through the column, the cells scattered around it), each run in a fresh
process, alternating, ``repeats`` times each. The figure is the best run
time with LFP over the best run time without, for the same network:
``overhead = with / without - 1``. On a busy machine the run times of two
processes vary by more than the LFP costs, so the runner's own account of
the LFP mat-vecs (``RunStats.lfp_s``) is given too, as
``accounted_overhead = lfp_s / (run_s - lfp_s)`` of the best run with LFP.

``--untrained`` times an untrained surrogate of the default architecture
(``ModelConfig()``) on the synthetic HayCell, for cost only (no trained model
is needed to time the LFP).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..._native import import_neuron_quietly
from ...cells import HayCell
from ...errors import NetworkError
from ...lfp import Placement, laminar_probe
from ...model import default_model_path, load
from .fresh import in_fresh_process
from .network import (NetworkSpec, build_surrogate_network, check_model, draw_network, input_times, parse_cell_sizes,
                      synapse_sites)


@dataclass(frozen=True)
class ProbeSpec:
    """The LFP set-up: a laminar probe on the column's axis and cells scattered around it (µm)."""

    contacts: int = 16
    y_min_um: float = -200.0
    y_max_um: float = 1300.0
    kind: str = "line"
    radius_min_um: float = 30.0
    radius_max_um: float = 300.0
    dtype: str = "float32"
    seed: int = 0


def placements(n_cells: int, probe: ProbeSpec) -> list:
    """Soma positions on an annulus around the probe (y = 0), each cell turned about its apical (y) axis."""
    rng = np.random.default_rng(probe.seed)
    r = rng.uniform(probe.radius_min_um, probe.radius_max_um, n_cells)
    phi = rng.uniform(0.0, 2 * np.pi, n_cells)
    turn = rng.uniform(0.0, 2 * np.pi, n_cells)
    return [Placement((float(r[i] * np.cos(phi[i])), 0.0, float(r[i] * np.sin(phi[i]))), (0.0, float(turn[i]), 0.0))
            for i in range(n_cells)]


def run_once(spec: NetworkSpec, model_path: str, n_cells: int, sim_ms: float, lfp: bool, probe: ProbeSpec,
             threads: int | None) -> dict:
    """Worker: build the surrogate network, optionally record its LFP, run; wall times in s."""
    t0 = time.perf_counter()
    from ...neuron.runner import RunnerConfig, get_runner  # NEURON: only where a simulation is built

    h = import_neuron_quietly()
    h.load_file("stdrun.hoc")
    model = load(model_path)
    net = draw_network(spec, synapse_sites(model.segments)[1], n_cells)
    runner = get_runner(RunnerConfig(torch_threads=threads))
    # inputs through NEURON's queue, as in a network built from NEURON spike sources
    cells, stims = build_surrogate_network(h, model, spec, net, n_cells, input_times(spec, net["inputs"], sim_ms),
                                           played=False)
    lfp_setup_s = 0.0
    rec = None
    if lfp:
        t1 = time.perf_counter()
        electrodes = laminar_probe(x_um=0.0, z_um=0.0, y_um=np.linspace(probe.y_min_um, probe.y_max_um,
                                                                         probe.contacts), kind=probe.kind)
        rec = runner.record_lfp(electrodes, dict(zip(cells, placements(n_cells, probe))), dtype=probe.dtype)
        lfp_setup_s = time.perf_counter() - t1
    spikes, ids = h.Vector(), h.Vector()
    h.ParallelContext().spike_record(-1, spikes, ids)
    h.dt = 0.025
    build_s = time.perf_counter() - t0
    h.finitialize(-65.0)
    t2 = time.perf_counter()
    h.continuerun(sim_ms)
    # reading the LFP multiplies the last held block: part of its cost
    lfp_samples = int(rec.lfp(reduce=False).shape[1]) if rec is not None else 0
    run_s = time.perf_counter() - t2
    s = runner.stats
    import torch  # heavy (torch): only when a model runs

    out = {"cells": n_cells, "lfp": lfp, "sim_ms": sim_ms, "run_s": run_s, "build_s": build_s,
           "lfp_setup_s": lfp_setup_s, "ms_per_sim_ms": 1000.0 * run_s / sim_ms,
           "model_ms_per_sim_ms": 1000.0 * s.model_s / sim_ms, "lfp_ms_per_sim_ms": 1000.0 * s.lfp_s / sim_ms,
           "spikes": int(spikes.size()), "torch_threads": torch.get_num_threads()}
    if rec is not None:
        out["lfp_samples"] = lfp_samples
        out["contacts"] = probe.contacts
    return out


def untrained_default_model(path) -> str:
    """Export an untrained surrogate of the default architecture (``ModelConfig()``) on the synthetic HayCell."""
    from ...training.export import export_untrained  # heavy (torch): only when training code runs
    from ...training.model import ModelConfig  # heavy (torch): only when training code runs

    return str(export_untrained(path, HayCell().segments, ModelConfig()))


def bench_lfp(model_path: str, cells=(100, 1000), *, sim_ms: float = 100.0, repeats: int = 2,
              spec: NetworkSpec = NetworkSpec(cells=1, inputs_per_cell=100), probe: ProbeSpec = ProbeSpec(),
              threads: int | None = None,
              progress=None) -> dict:
    """Time the network with and without LFP recording (see the module docstring).

    Returns
    -------
    dict
        JSON-able: per size the best run times (s), ``ratio`` = with / without,
        ``overhead`` = ratio − 1, and the runs.
    """
    load_before = os.getloadavg()
    results = []
    for n in cells:
        s = NetworkSpec(**{**asdict(spec), "cells": int(n)})
        runs = {False: [], True: []}
        for r in range(repeats):
            for lfp in ((False, True) if r % 2 == 0 else (True, False)):
                fig = in_fresh_process(run_once, s, model_path, int(n), sim_ms, lfp, probe, threads)
                runs[lfp].append(fig)
                if progress:
                    progress(f"{n:6d} cells  {'with' if lfp else 'without':7s} LFP  run {fig['run_s']:.3f} s "
                             f"(model {fig['model_ms_per_sim_ms']:.2f}, LFP {fig['lfp_ms_per_sim_ms']:.3f} ms per "
                             "sim-ms)")
        best = {k: min(runs[k], key=lambda f: f["run_s"]) for k in runs}
        ratio = best[True]["run_s"] / best[False]["run_s"]
        lfp_s = best[True]["lfp_ms_per_sim_ms"] * sim_ms / 1000.0
        results.append({"cells": int(n), "without_lfp_s": best[False]["run_s"], "with_lfp_s": best[True]["run_s"],
                        "ratio": ratio, "overhead": ratio - 1.0,
                        "accounted_overhead": lfp_s / (best[True]["run_s"] - lfp_s),
                        "lfp_ms_per_sim_ms": best[True]["lfp_ms_per_sim_ms"],
                        "model_ms_per_sim_ms": best[True]["model_ms_per_sim_ms"],
                        "runs": {"without": runs[False], "with": runs[True]}})
    return {"benchmark": "lfp", "model": str(model_path), "sim_ms": sim_ms, "repeats": repeats,
            "spec": asdict(spec), "probe": asdict(probe), "results": results, "cpu_count": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()]}


def register_bench(sub, formatter) -> None:
    """Add ``lfp`` to ``surrogate-cell bench``."""
    p = sub.add_parser("lfp", help="surrogate network run time with and without LFP recording",
                       description=__doc__, formatter_class=formatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", metavar="FILE", help="exported surrogate; unset: the packaged model")
    src.add_argument("--untrained", action="store_true",
                     help="time an untrained surrogate of the default architecture (cost only)")
    p.add_argument("--cells", default="100,1000", help="comma-separated network sizes")
    p.add_argument("--ms", type=float, default=100.0, help="simulated time per run (ms)")
    p.add_argument("--repeats", type=int, default=2, help="runs with and without LFP per size (best is kept)")
    p.add_argument("--contacts", type=int, default=16, help="electrode contacts of the laminar probe")
    p.add_argument("--kind", default="line", choices=("line", "point", "soma_as_point"), help="source model")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="precision of the LFP mat-vec")
    p.add_argument("--inputs", type=int, default=100, help="background inputs per cell")
    p.add_argument("--recurrent", type=int, default=10, help="recurrent connections per cell")
    p.add_argument("--threads", type=int, help="torch threads; unset: the runner's choice")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_run)


def _run(args) -> int:

    cells = parse_cell_sizes(args.cells)
    if args.ms < 1 or args.repeats < 1 or args.contacts < 1 or args.inputs < 0 or args.recurrent < 0:
        raise NetworkError("--ms must be >= 1 ms, --repeats and --contacts >= 1, --inputs and --recurrent >= 0")
    spec = NetworkSpec(cells=1, inputs_per_cell=args.inputs, recurrent_per_cell=args.recurrent, seed=args.seed)
    probe = ProbeSpec(contacts=args.contacts, kind=args.kind, dtype=args.dtype, seed=args.seed)
    progress = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    with tempfile.TemporaryDirectory(prefix="sc_bench_lfp_") as tmp:
        if args.untrained:
            model_path = untrained_default_model(os.path.join(tmp, "untrained_default.pt"))
        else:
            model_path = str(args.model) if args.model else str(default_model_path())
            check_model(model_path)
        fig = bench_lfp(model_path, cells, sim_ms=args.ms, repeats=args.repeats, spec=spec, probe=probe,
                        threads=args.threads, progress=progress)
    if args.untrained:
        fig["model"] = "untrained ModelConfig() surrogate on the synthetic HayCell"
    if args.json:
        print(json.dumps(fig))
        return 0
    print(f"LFP benchmark: {args.contacts}-contact {args.kind} probe, {args.dtype} full kernels; {args.ms:g} ms per "
          f"run, best of {args.repeats}; {fig['model']}")
    for row in fig["results"]:
        print(f"  {row['cells']:6d} cells: without LFP {row['without_lfp_s']:.3f} s, with {row['with_lfp_s']:.3f} s, "
              f"ratio {row['ratio']:.3f} ({100 * row['overhead']:+.1f} %; accounted "
              f"{100 * row['accounted_overhead']:+.1f} %); LFP {row['lfp_ms_per_sim_ms']:.3f} ms, "
              f"model {row['model_ms_per_sim_ms']:.2f} ms per sim-ms")
    return 0
