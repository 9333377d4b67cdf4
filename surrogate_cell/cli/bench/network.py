"""Benchmark of surrogate networks: ``surrogate-cell bench network``.

One recurrent network of L5PCs, drawn once from a seed (background Poisson
inputs on the model's dendritic channels, recurrent excitatory connections
between the cells), is timed in up to five forms, each in a fresh process,
one after another on this machine:

1. detailed HayCells at fixed dt 0.025 ms;
2. detailed HayCells at fixed dt 0.1 ms;
3. surrogate cells, model on the CPU, inputs delivered by NEURON;
4. surrogate cells, model on the CPU, inputs played by the runner
   (:func:`~surrogate_cell.neuron.play_spikes`);
5. surrogate cells, model on CUDA, inputs played (only where torch sees a GPU).

Every form gets the same input spikes: each background input is a Poisson
train drawn in numpy (one generator per cell, seeded with (seed, cell)). NEURON
delivers them (``NetCon.event`` at spike time + 1 ms, scheduled at
``finitialize``) to the detailed synapses and in form 3; form 4 hands the
same times to the runner, which bins them as it bins NEURON's events, so
forms 3 and 4 must give the same spikes (``spikes_digest``; the output says
whether they agree). Recurrent spikes always travel through NEURON.

Detailed runs are expensive, so they are shortened: at most
``detailed_cells`` cells (the first ones of the network, with their
recurrent connections among themselves) for ``detailed_ms``. Their cost is
extrapolated per cell-second (wall seconds per simulated second of one cell),
which is how the figures compare: ``speedup = detailed s per cell-s /
surrogate s per cell-s``. The output says which runs were shortened.

Surrogate wall time is split into the model calls, the runner's own Python
work (draining and binning events, spike emission, recording), and NEURON
(event queue, input and recurrent events, fixed steps), which is the rest.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing as mp
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..._native import import_neuron_quietly
from ...cells import HayCell
from ...errors import NetworkError
from ...model import default_model_path, load
from .fresh import in_fresh_process

INPUT_DELAY_MS = 1.0  # from each background input spike to its delivery
FORMS = ("detailed_dt0.025", "detailed_dt0.1", "surrogate_cpu", "surrogate_cpu_played", "surrogate_cuda")
PLAYED_FORMS = ("surrogate_cpu_played", "surrogate_cuda")


@dataclass(frozen=True)
class NetworkSpec:
    """The benchmark network (rates in Hz, delays in ms, weights in units of the reference conductance)."""

    cells: int
    inputs_per_cell: int = 1000
    inh_fraction: float = 0.2
    exc_rate_hz: float = 5.0
    inh_rate_hz: float = 10.0
    exc_weight: float = 1.0
    inh_weight: float = 1.0
    recurrent_per_cell: int = 10
    recurrent_weight: float = 1.0
    delay_min_ms: float = 1.5
    delay_max_ms: float = 3.0
    seed: int = 0


#: Regions of the segments the benchmark network puts its synapses on.
SITE_REGIONS = ("basal", "oblique", "trunk", "tuft")


def synapse_sites(segments) -> tuple[np.ndarray, np.ndarray]:
    """(segment row, kind) of the benchmark's synapse sites: an excitatory (``'exc'``, the project's
    AMPA+NMDA) and an inhibitory (``'inh'``, GABA_A) one on every dendritic segment, in that order."""
    rows = np.flatnonzero(np.isin(segments.region, SITE_REGIONS))
    return np.concatenate([rows, rows]), np.array(["exc"] * len(rows) + ["inh"] * len(rows))


def draw_network(spec: NetworkSpec, site_kind: np.ndarray, n_cells: int | None = None) -> dict:
    """The connections of the first ``n_cells`` cells (all by default), drawn from ``spec.seed``.

    Returns
    -------
    dict
        ``inputs``: (cell, site, is_inh) per background input; ``recurrent``:
        (pre, post, site, delay_ms) per connection, pre < n_cells only (sites of :func:`synapse_sites`).
    """
    rng = np.random.default_rng(spec.seed)
    exc = np.flatnonzero(site_kind == "exc")
    inh = np.flatnonzero(site_kind == "inh")
    n_inh = int(round(spec.inh_fraction * spec.inputs_per_cell))
    n_exc = spec.inputs_per_cell - n_inh
    k = min(spec.recurrent_per_cell, spec.cells - 1)
    inputs, recurrent = [], []
    for post in range(spec.cells):  # draw for every cell so that a prefix is the same network
        ch = np.concatenate([rng.choice(exc, n_exc), rng.choice(inh, n_inh)])
        pres = rng.choice(np.delete(np.arange(spec.cells), post), k, replace=False) if k > 0 else []
        rch = rng.choice(exc, len(pres))
        delays = rng.uniform(spec.delay_min_ms, spec.delay_max_ms, len(pres))
        if n_cells is not None and post >= n_cells:
            continue
        inputs += [(post, int(c), i >= n_exc) for i, c in enumerate(ch)]
        recurrent += [(int(p), post, int(c), float(d)) for p, c, d in zip(pres, rch, delays)
                      if n_cells is None or p < n_cells]
    return {"inputs": inputs, "recurrent": recurrent}


def input_times(spec: NetworkSpec, inputs, stop_ms: float) -> list:
    """Spike times (ms) on [0, stop_ms) of each background input: independent Poisson trains.

    Each cell's trains come from its own generator (seed, cell): a Poisson
    count per input, then uniform times. A cell's inputs are therefore the
    same at every network size and rank count; runs of different lengths
    share their inputs when drawn to the same ``stop_ms`` (the benchmark
    draws every form to its longest run).
    """
    inputs = list(inputs)
    out: list = [None] * len(inputs)
    by_cell: dict = {}
    for j, (cell, _, _) in enumerate(inputs):
        by_cell.setdefault(cell, []).append(j)
    for cell, js in by_cell.items():
        rng = np.random.default_rng((spec.seed, cell))
        rates = np.array([spec.inh_rate_hz if inputs[j][2] else spec.exc_rate_hz for j in js])
        counts = rng.poisson(rates * stop_ms / 1000.0)
        times = rng.uniform(0.0, stop_ms, int(counts.sum()))
        for j, train in zip(js, np.split(times, np.cumsum(counts)[:-1])):
            out[j] = np.sort(train)
    return out


def neuron_delivery(h, scheduled):
    """Deliver through NEURON's event queue: ``NetCon.event(t)`` for each (NetCon, delivery times) at finitialize.

    Returns the ``FInitializeHandler`` (keep a reference for the run).
    """
    def schedule():
        for nc, times in scheduled:
            for t in times.tolist():
                nc.event(t)

    return h.FInitializeHandler(schedule)


def run_form(form: str, spec: NetworkSpec, model_path: str, n_cells: int, sim_ms: float,
             threads: int | None, inputs_ms: float | None = None) -> dict:
    """Worker: build one form of the network and run it for ``sim_ms``; wall times in s.

    ``inputs_ms``: the inputs are drawn on [0, inputs_ms) (default ``sim_ms``),
    so that forms run for different times get the same input spikes.
    """
    t0 = time.perf_counter()

    h = import_neuron_quietly()
    h.load_file("stdrun.hoc")
    model = load(model_path)
    net = draw_network(spec, synapse_sites(model.segments)[1], n_cells)
    times = input_times(spec, net["inputs"], max(sim_ms, inputs_ms or 0.0))
    spikes, ids = h.Vector(), h.Vector()
    if form.startswith("detailed"):
        h.celsius = 34.0
        cells, stims = build_detailed_network(h, model, spec, net, n_cells, times, spikes, ids)
        h.dt = 0.025 if form == "detailed_dt0.025" else 0.1
        runner = None
    else:
        from ...neuron.runner import RunnerConfig, get_runner  # NEURON: only where a simulation is built

        device = "cuda" if form == "surrogate_cuda" else "cpu"
        runner = get_runner(RunnerConfig(device=device, torch_threads=threads))
        cells, stims = build_surrogate_network(h, model, spec, net, n_cells, times, played=form in PLAYED_FORMS)
        h.ParallelContext().spike_record(-1, spikes, ids)
        h.dt = 0.025
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    h.finitialize(-65.0)
    init_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    h.continuerun(sim_ms)
    run_s = time.perf_counter() - t2
    cell_seconds = n_cells * sim_ms / 1000.0
    out = {"form": form, "cells": n_cells, "sim_ms": sim_ms, "dt_ms": h.dt, "build_s": build_s, "init_s": init_s,
           "run_s": run_s, "ms_per_sim_ms": 1000.0 * run_s / sim_ms, "s_per_cell_s": run_s / cell_seconds,
           "spikes": int(spikes.size()), "rate_hz": spikes.size() / cell_seconds,
           "spikes_digest": spikes_digest(ids.as_numpy(), spikes.as_numpy()),
           "inputs": len(net["inputs"]),
           "input_events": int(sum(np.count_nonzero(t + INPUT_DELAY_MS < sim_ms) for t in times)),  # in this run
           "recurrent": len(net["recurrent"])}
    if runner is not None:
        import torch  # heavy (torch): only when a model runs

        s = runner.stats
        out.update({"device": runner.device, "torch_threads": torch.get_num_threads(), "events": s.events,
                    "played_events": s.played_events,
                    "model_ms_per_sim_ms": 1000.0 * s.model_s / sim_ms,
                    "runner_ms_per_sim_ms": 1000.0 * (s.callback_s - s.model_s) / sim_ms,
                    "neuron_ms_per_sim_ms": 1000.0 * (run_s - s.callback_s) / sim_ms,
                    "warmup_s": s.init_s, "late_events": s.late_events})
    return out


def _spin() -> None:
    while True:  # a busy neighbour: one core's worth of pure computation
        pass


@contextlib.contextmanager
def busy_neighbours(n: int):
    """Run ``n`` processes that each keep one core busy, for the time of the block."""
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_spin, daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    try:
        time.sleep(0.5 if procs else 0.0)  # let them reach their loops
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.join()


def _timed(busy: int, *args) -> dict:
    """:func:`run_form` in a fresh process, quiet or beside ``busy`` busy processes."""
    with busy_neighbours(busy):
        fig = in_fresh_process(run_form, *args)
    fig["busy_neighbours"] = busy
    return fig


def bench_network(model_path: str, cells=(10, 100, 1000), *, sim_ms: float = 200.0, detailed_ms: float = 100.0,
                  detailed_cells: int = 10, spec: NetworkSpec = NetworkSpec(cells=1), threads: int | None = None,
                  forms=FORMS, busy: int = 0, progress=None) -> dict:
    """Run the benchmark (see the module docstring) and return its figures.

    Parameters
    ----------
    model_path : str
        Exported surrogate; the detailed forms are HayCells on the geometry it
        carries (the synthetic L5PC for a file without one).
    cells : sequence of int
        Network sizes.
    sim_ms, detailed_ms : float
        Simulated time of the surrogate and of the (shortened) detailed runs (ms).
    detailed_cells : int
        At most this many detailed cells per run (the network's first ones).
    spec : NetworkSpec
        Network parameters; ``cells`` is overridden by each size.
    threads : int or None
        Torch threads of the surrogate runs (None: the runner's default).
    forms : sequence of str
        Subset of ``FORMS``; ``surrogate_cuda`` is skipped without a GPU.
    busy : int
        If > 0, every form runs a second time beside this many processes that
        each keep a core busy, and ``slowdown`` gives busy / quiet wall time
        per form (how each copes with a shared machine).
    progress : callable or None
        Called with one line of text per finished run.

    Returns
    -------
    dict
        JSON-able figures.
    """
    import torch  # heavy (torch): only when a model runs


    unknown = set(forms) - set(FORMS)
    if unknown:
        raise NetworkError(f"unknown forms {sorted(unknown)}; choose from {FORMS}")
    has_cuda = torch.cuda.is_available()
    inputs_ms = max(sim_ms, detailed_ms)  # every form gets the same input spikes
    load_before = os.getloadavg()
    results, detailed_cache = [], {}
    for n in cells:
        s = NetworkSpec(**{**asdict(spec), "cells": int(n)})
        row = {"cells": int(n), "forms": {}, "busy_forms": {}}
        for form in forms:
            if form == "surrogate_cuda" and not has_cuda:
                row["forms"][form] = {"skipped": "torch sees no CUDA device"}
                continue
            m, shortened = int(n), None
            if form.startswith("detailed"):
                m = min(int(n), detailed_cells)
                shortened = (f"{m} of {n} cells for {detailed_ms:g} ms, extrapolated per cell-second"
                             if m < n or detailed_ms < sim_ms else "")
            run = (form, s, model_path, m, detailed_ms if shortened is not None else sim_ms, threads, inputs_ms)
            for neighbours in ([0, busy] if busy > 0 else [0]):
                key = (form, m, neighbours)
                if shortened is None or key not in detailed_cache:  # detailed runs serve every size
                    detailed_cache[key] = _timed(neighbours, *run)
                fig = dict(detailed_cache[key])
                if shortened is not None:
                    fig["shortened"] = shortened
                row["busy_forms" if neighbours else "forms"][form] = fig
                if progress:
                    beside = f" beside {neighbours} busy processes" if neighbours else ""
                    progress(f"{n:6d} cells  {form:18s} {fig['s_per_cell_s']:.4g} s per cell-s{beside}")
        ref = {f: row["forms"][f]["s_per_cell_s"] for f in forms
               if f in row["forms"] and "s_per_cell_s" in row["forms"][f]}
        row["speedup"] = {f"{d}/{sgt}": ref[d] / ref[sgt] for d in ref if d.startswith("detailed")
                          for sgt in ref if sgt.startswith("surrogate")}
        if busy > 0:
            row["slowdown"] = {f: row["busy_forms"][f]["run_s"] / row["forms"][f]["run_s"] for f in ref
                               if f in row["busy_forms"]}
        digests = {f: row["forms"][f]["spikes_digest"] for f in ("surrogate_cpu", "surrogate_cpu_played")
                   if "spikes_digest" in row["forms"].get(f, {})}
        if len(digests) == 2:  # the same inputs, delivered by NEURON or played: the same spikes
            row["surrogate_spikes_agree"] = len(set(digests.values())) == 1
        results.append(row)
    return {"benchmark": "network", "model": str(model_path), "spec": asdict(spec), "sim_ms": sim_ms,
            "detailed_ms": detailed_ms, "detailed_cells": detailed_cells, "busy_neighbours": busy, "results": results,
            "cuda": has_cuda, "cpu_count": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()]}


def build_detailed_network(h, model, spec, net, n_cells: int, times, spikes, ids):
    """Detailed HayCells with the drawn inputs (NEURON-delivered) and recurrent connections.

    Somatic spikes (threshold ``model.spike_threshold_mV``) are recorded into
    the Vectors ``spikes`` (ms) and ``ids`` (cell index). Returns (cells, what
    must stay referenced for the run).
    """
    seg = model.segments
    rows, kinds = synapse_sites(seg)
    cells = [HayCell(model.geometry) for _ in range(n_cells)]  # the model's own cell (synthetic: no geometry)
    syns, keep = {}, []

    def synapse(cell, site):
        key = (cell, site)
        if key not in syns:
            row = rows[site]
            mech = h.sc_AMPANMDA if kinds[site] == "exc" else h.sc_GABAA
            syns[key] = mech(cells[cell].section(str(seg.section[row]))(float(seg.x[row])))
        return syns[key]

    scheduled = []
    for (cell, ch, is_inh), t in zip(net["inputs"], times):
        nc = h.NetCon(None, synapse(cell, ch))
        nc.weight[0] = spec.inh_weight if is_inh else spec.exc_weight
        scheduled.append((nc, t + INPUT_DELAY_MS))
    for pre, post, ch, d in net["recurrent"]:
        soma = cells[pre].soma[0]
        nc = h.NetCon(soma(0.5)._ref_v, synapse(post, ch), sec=soma)
        nc.threshold, nc.weight[0], nc.delay = model.spike_threshold_mV, spec.recurrent_weight, d
        keep.append(nc)
    for i, c in enumerate(cells):
        soma = c.soma[0]
        nc = h.NetCon(soma(0.5)._ref_v, None, sec=soma)
        nc.threshold = model.spike_threshold_mV
        nc.record(spikes, ids, i)
        keep.append(nc)
    return cells, [neuron_delivery(h, scheduled), scheduled, syns, keep]


def build_surrogate_network(h, model, spec, net, n_cells: int, times, *, played: bool):
    """Surrogate cells with the drawn inputs (spike ``times`` per input) and recurrent connections.

    ``played``: inputs go to the runner (:func:`play_spikes`); else NEURON
    delivers them. Returns (cells, what must stay referenced for the run).
    """
    from ...neuron import SurrogateCell, connect, play_spikes  # NEURON: only where a simulation is built

    seg = model.segments
    rows, kinds = synapse_sites(seg)
    cells = [SurrogateCell(model, gid=i) for i in range(n_cells)]
    targets = {}

    def target(cell, site):
        key = (cell, site)
        if key not in targets:
            row = rows[site]
            targets[key] = cells[cell].synapse(str(seg.section[row]), float(seg.x[row]), str(kinds[site]))
        return targets[key]

    scheduled = []
    for (cell, ch, is_inh), t in zip(net["inputs"], times):
        w = spec.inh_weight if is_inh else spec.exc_weight
        if played:
            play_spikes(target(cell, ch), t, weight=w, delay=INPUT_DELAY_MS)
        else:
            scheduled.append((connect(None, target(cell, ch), weight=w, delay=INPUT_DELAY_MS), t + INPUT_DELAY_MS))
    for pre, post, ch, d in net["recurrent"]:
        connect(cells[pre], target(post, ch), weight=spec.recurrent_weight, delay=d)
    return cells, [neuron_delivery(h, scheduled), scheduled] if scheduled else []


def spikes_digest(ids, times_ms) -> str:
    """A digest of the spikes (cell, time rounded to 1 µs), independent of their order."""
    key = np.round(np.asarray(times_ms, dtype=np.float64), 3)
    order = np.lexsort((key, np.asarray(ids)))
    pairs = np.column_stack([np.asarray(ids, dtype=np.float64)[order], key[order]])
    return hashlib.sha256(np.ascontiguousarray(pairs).tobytes()).hexdigest()[:16]


def parse_cell_sizes(text: str) -> list:
    """``'10,100,1000'`` → ``[10, 100, 1000]``; a clear error otherwise."""

    try:
        cells = [int(c) for c in text.split(",") if c.strip()]
    except ValueError:
        raise NetworkError(f"--cells must be comma-separated integers, got {text!r}") from None
    if not cells or min(cells) < 1:
        raise NetworkError("--cells needs at least one size, each >= 1")
    return cells


def register_bench(sub, formatter) -> None:
    """Add ``network`` to ``surrogate-cell bench``."""
    p = sub.add_parser("network", help="a recurrent L5PC network: detailed (dt 0.025, 0.1) vs surrogates (CPU, GPU)",
                       description=__doc__, formatter_class=formatter)
    p.add_argument("--model", metavar="FILE", help="exported surrogate; unset: the packaged model")
    p.add_argument("--cells", default="10,100,1000", help="comma-separated network sizes")
    p.add_argument("--ms", type=float, default=200.0, help="simulated time of the surrogate runs (ms)")
    p.add_argument("--detailed-ms", type=float, default=100.0, help="simulated time of the detailed runs (ms)")
    p.add_argument("--detailed-cells", type=int, default=10, help="at most this many detailed cells per run")
    p.add_argument("--inputs", type=int, default=1000, help="background inputs per cell")
    p.add_argument("--recurrent", type=int, default=10, help="recurrent connections per cell")
    p.add_argument("--threads", type=int, help="torch threads of the surrogate runs; unset: the runner's choice")
    p.add_argument("--forms", default=",".join(FORMS), help="comma-separated subset of " + ", ".join(FORMS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--busy", type=int, default=0, metavar="N",
                   help="also run every form beside N processes that keep a core busy each, and print the slowdowns")
    p.add_argument("--baseline", metavar="FILE.json",
                   help="a --json output of an earlier run (another model or version): print each surrogate form's "
                        "cost per simulated ms against it, network size by network size")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_run)


def _run(args) -> int:

    cells = parse_cell_sizes(args.cells)
    if (args.ms < 1 or args.detailed_ms < 1 or args.detailed_cells < 1 or args.inputs < 0 or args.recurrent < 0
            or args.busy < 0):
        raise NetworkError("--ms and --detailed-ms must be >= 1 ms, --detailed-cells >= 1, --inputs, --recurrent "
                           "and --busy >= 0")
    model_path = str(args.model) if args.model else str(default_model_path())
    check_model(model_path)
    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    spec = NetworkSpec(cells=1, inputs_per_cell=args.inputs, recurrent_per_cell=args.recurrent, seed=args.seed)
    progress = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    baseline = read_baseline(args.baseline) if args.baseline else None
    fig = bench_network(model_path, cells, sim_ms=args.ms, detailed_ms=args.detailed_ms,
                        detailed_cells=args.detailed_cells, spec=spec, threads=args.threads, forms=forms,
                        busy=args.busy, progress=progress)
    if baseline is not None:
        fig["against_baseline"] = against_baseline(fig, baseline)
    if args.json:
        print(json.dumps(fig))
        return 0
    print(f"network benchmark: {args.inputs} background inputs and {args.recurrent} recurrent connections per "
          f"cell; surrogates {args.ms:g} ms; detailed runs shortened to at most {args.detailed_cells} cells for "
          f"{args.detailed_ms:g} ms, extrapolated per cell-second")
    for row in fig["results"]:
        print(f"{row['cells']} cells")
        for form, f in row["forms"].items():
            if "skipped" in f:
                print(f"  {form:18s} skipped: {f['skipped']}")
                continue
            extra = ""
            if form.startswith("surrogate"):
                extra = (f"  (model {f['model_ms_per_sim_ms']:.2f}, runner {f['runner_ms_per_sim_ms']:.2f}, "
                         f"NEURON {f['neuron_ms_per_sim_ms']:.2f} ms per sim-ms)")
            print(f"  {form:18s} {f['cells']:5d} cells x {f['sim_ms']:g} ms: {f['ms_per_sim_ms']:9.2f} ms per sim-ms, "
                  f"{f['s_per_cell_s']:.4g} s per cell-s{extra}")
        for k, v in row["speedup"].items():
            print(f"  speed-up {k}: {v:.3g}x")
        for form, v in row.get("slowdown", {}).items():
            print(f"  slowdown beside {args.busy} busy processes, {form}: {v:.3g}x")
        if "surrogate_spikes_agree" in row:
            print(f"  surrogate spikes with NEURON-delivered and with played inputs: "
                  f"{'identical' if row['surrogate_spikes_agree'] else 'DIFFERENT'}")
        for form, v in fig.get("against_baseline", {}).get(str(row["cells"]), {}).items():
            print(f"  {form} cost against {args.baseline}: {v['ratio']:.3g}x ({v['ms_per_sim_ms']:.2f} against "
                  f"{v['baseline_ms_per_sim_ms']:.2f} ms per sim-ms; model part {v['model_ratio']:.3g}x)")
    return 0


def read_baseline(path) -> dict:
    """The figures of an earlier ``bench network --json`` run."""
    try:
        fig = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise NetworkError(f"--baseline {path}: not a readable bench network --json output ({exc})") from None
    if fig.get("benchmark") != "network" or not isinstance(fig.get("results"), list):
        raise NetworkError(f"--baseline {path} is not the --json output of surrogate-cell bench network")
    return fig


def against_baseline(fig: dict, baseline: dict) -> dict:
    """Per network size and surrogate form: this run's cost per simulated ms over the baseline's."""
    old = {(row["cells"], form): f for row in baseline["results"] for form, f in row["forms"].items()}
    out: dict = {}
    for row in fig["results"]:
        for form, f in row["forms"].items():
            b = old.get((row["cells"], form))
            if not form.startswith("surrogate") or b is None or "skipped" in f or "skipped" in b:
                continue
            out.setdefault(str(row["cells"]), {})[form] = {
                "ms_per_sim_ms": f["ms_per_sim_ms"], "baseline_ms_per_sim_ms": b["ms_per_sim_ms"],
                "ratio": f["ms_per_sim_ms"] / b["ms_per_sim_ms"],
                "model_ratio": f["model_ms_per_sim_ms"] / b["model_ms_per_sim_ms"]}
    return out


def check_model(model_path: str) -> None:
    """The model must exist and be trained on the detailed form's morphology (the cell it carries, or the
    synthetic HayCell for a file that carries none)."""
    from ...neuron import check_morphology  # NEURON: only where a simulation is built

    model = load(model_path)
    check_morphology(model, HayCell(model.geometry))
