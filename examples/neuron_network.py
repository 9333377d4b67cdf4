"""A recurrent network in plain NEURON: L5PC surrogates and fast-spiking inhibitory cells.

* ``--cells`` L5PC surrogates (gids 0..N-1), each with Poisson background
  (NetStims) on its dendritic synapses, recurrent excitation from other
  surrogates, and inhibition from the interneurons onto its basal dendrites;
* ``--inh`` interneurons (gids N..): one fast-spiking compartment (transient
  Na and Kv3.1, the project's channels, as in the NetPyNE column) with an
  excitatory ``ExpSyn``, driven by the surrogates and by their own background.

The run is at 34 °C (the Hay cell's temperature) in both forms.

The run is an ordinary NEURON run (``pc.psolve``); the surrogates are stepped
by the process's runner behind the scenes. Writes ``spikes.npz``,
``raster.png`` and ``traces.png`` to ``--out``.

    python examples/neuron_network.py --model l5pc.pt --out net_out
    mpiexec -n 2 python examples/neuron_network.py --model l5pc.pt --out net_out

Under MPI the gids are dealt round-robin; every rank draws the same
connectivity from ``--seed`` and builds the part it owns, so the spikes do not
depend on the number of ranks.

Network fidelity: ``--detailed`` builds the same network (same inputs, sites,
weights and delays) with detailed HayCells (the cell the model file carries) at dt 0.025 ms in place of the
surrogates; ``--compare DIR`` compares this run's spikes with those in
``DIR/spikes.npz`` (population rates, per-cell rate correlation) and writes
``fidelity.json``:

    python examples/neuron_network.py --detailed --cells 100 --inh 25 --tstop 1000 --out det
    python examples/neuron_network.py --cells 100 --inh 25 --tstop 1000 --out sur --compare det
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


class Interneuron:
    """A fast-spiking interneuron: one 15 µm compartment with an excitatory ExpSyn (e 0 mV, τ 2 ms).

    Transient Na and Kv3.1 (``sc_NaTa_t``, ``sc_SKv3_1``): NEURON's ``hh`` barely fires at 34 °C.
    """

    def __init__(self, h, gid: int):
        self.soma = h.Section(name=f"inh_{gid}")
        self.soma.L = self.soma.diam = 15.0
        self.soma.insert("pas")
        self.soma.insert("sc_NaTa_t")
        self.soma.insert("sc_SKv3_1")
        for seg in self.soma:
            seg.pas.g, seg.pas.e = 1e-4, -70.0
            seg.sc_NaTa_t.gbar, seg.sc_SKv3_1.gbar = 0.5, 0.5
        self.soma.ena, self.soma.ek = 50.0, -85.0
        self.syn = h.ExpSyn(self.soma(0.5))
        self.syn.tau = 2.0
        self.spike_detector = h.NetCon(self.soma(0.5)._ref_v, None, sec=self.soma)
        self.spike_detector.threshold = 0.0
        self.v = h.Vector().record(self.soma(0.5)._ref_v, 1.0)


class DetailedL5PC:
    """The detailed HayCell in a surrogate's place (the cell the model file carries): one synapse per
    (section, x, kind), shared by its NetCons."""

    def __init__(self, h, threshold_mV: float, geometry=None):
        from surrogate_cell.cells import HayCell

        self.h, self.cell, self.synapses = h, HayCell(geometry), {}
        soma = self.cell.soma[0]
        self.spike_detector = h.NetCon(soma(0.5)._ref_v, None, sec=soma)
        self.spike_detector.threshold = threshold_mV
        self._v = {}

    def synapse(self, section: str, x: float, kind: str):
        key = (section, x, kind)
        if key not in self.synapses:
            mech = self.h.sc_AMPANMDA if kind == "exc" else self.h.sc_GABAA
            self.synapses[key] = mech(self.cell.section(section)(x))
        return self.synapses[key]

    def record(self, section: str, x: float):
        vec = self.h.Vector().record(self.cell.section(section)(x)._ref_v, 1.0)
        self._v[(section, x)] = vec
        return _Recorded(vec)


class _Recorded:
    def __init__(self, vec):
        self._vec = vec

    @property
    def v(self):
        return np.asarray(self._vec)[1:]  # samples at 1, 2, ... ms, as the surrogate records


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="exported surrogate model (.pt); unset: the packaged default model")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--cells", type=int, default=20, help="L5PC surrogates")
    p.add_argument("--inh", type=int, default=5, help="interneurons")
    p.add_argument("--tstop", type=float, default=500.0, help="simulated time (ms)")
    p.add_argument("--background", type=int, default=100, help="Poisson inputs per surrogate")
    p.add_argument("--rate", type=float, default=5.0, help="background rate per input (Hz)")
    p.add_argument("--device", default="cpu", help="torch device of the surrogates: cpu or cuda")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--detailed", action="store_true", help="detailed HayCells (dt 0.025 ms) instead of surrogates")
    p.add_argument("--compare", metavar="DIR", help="compare the spikes with DIR/spikes.npz; writes fidelity.json")
    p.add_argument("--skip-ms", type=float, default=100.0, help="start-up transient left out of --compare (ms)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from neuron import h

    from surrogate_cell.mechanisms import load_mechanisms

    load_mechanisms()  # compile (once, cached) before MPI starts
    h.nrnmpi_init()  # MPI if started by mpiexec; a no-op otherwise
    from surrogate_cell.errors import SurrogateCellError
    from surrogate_cell.model import load
    from surrogate_cell.neuron import Population, RunnerConfig, connect, get_runner, gid_connect

    h.load_file("stdrun.hoc")
    pc = h.ParallelContext()
    rank, nhost = int(pc.id()), int(pc.nhost())
    out = Path(args.out)
    try:
        model = load(args.model)
        get_runner(RunnerConfig(device=args.device))
    except SurrogateCellError as exc:
        print(f"neuron_network: error: {exc}", file=sys.stderr)
        return 2
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    n_exc, n_inh = args.cells, args.inh
    exc_gids, inh_gids = range(n_exc), range(n_exc, n_exc + n_inh)

    # -- cells: surrogates dealt round-robin by the Population (or detailed cells likewise), interneurons too
    t0 = time.perf_counter()
    h.celsius = 34.0  # the Hay cell's temperature, in both forms (the surrogate ignores it)
    if args.detailed:
        pop = _DetailedPopulation(h, pc, exc_gids, model.spike_threshold_mV, model.geometry)
    else:
        pop = Population(model, exc_gids)
    inh = {}
    for gid in inh_gids:
        if gid % nhost == rank:
            inh[gid] = Interneuron(h, gid)
            pc.set_gid2node(gid, rank)
            pc.cell(gid, inh[gid].spike_detector)

    # -- connectivity, drawn identically on every rank
    rng = np.random.default_rng(args.seed)
    # synapse sites: an excitatory ('exc', AMPA+NMDA) and an inhibitory ('inh', GABA_A) one per dendritic segment
    seg = model.segments
    dendritic = np.flatnonzero(np.isin(seg.region, ("basal", "oblique", "trunk", "tuft")))
    site_rows, kinds = np.r_[dendritic, dendritic], np.array(["exc"] * len(dendritic) + ["inh"] * len(dendritic))
    exc_ch = np.flatnonzero(kinds == "exc")
    inh_basal = [c for c in np.flatnonzero(kinds == "inh") if seg.region[site_rows[c]] == "basal"]

    def site(channel):
        row = site_rows[channel]
        return str(seg.section[row]), float(seg.x[row]), str(kinds[channel])

    stims, conns = [], []  # NetCons to detailed synapses live only as long as a reference to them
    for gid in exc_gids:
        n_bg_inh = args.background // 5  # 80 % excitatory, 20 % inhibitory background
        bg = np.concatenate([rng.choice(exc_ch, args.background - n_bg_inh),
                             rng.choice(np.flatnonzero(kinds == "inh"), n_bg_inh)])
        ee_src = rng.choice([g for g in exc_gids if g != gid], min(10, n_exc - 1), replace=False)
        ee_ch, ee_d = rng.choice(exc_ch, len(ee_src)), rng.uniform(1.5, 3.0, len(ee_src))
        ie_src = rng.choice(list(inh_gids), min(5, n_inh), replace=False) if n_inh else []
        ie_ch = rng.choice(inh_basal, len(ie_src))
        if gid not in pop.cells:
            continue
        cell = pop.cells[gid]
        for j, ch in enumerate(bg):
            ns = h.NetStim()
            ns.start, ns.number, ns.interval, ns.noise = 0.0, 1e9, 1000.0 / args.rate, 1.0
            ns.noiseFromRandom123(gid, j, args.seed)
            stims.append(ns)
            conns.append(connect(ns, cell.synapse(*site(ch)), weight=1.0, delay=1.0))
        for src, ch, d in zip(ee_src, ee_ch, ee_d):  # surrogate -> surrogate: delay from the crossing
            conns.append(gid_connect(int(src), cell.synapse(*site(ch)), weight=1.0, delay=float(d),
                                         surrogate_source=not args.detailed))
        for src, ch in zip(ie_src, ie_ch):  # interneuron -> surrogate (GABA_A on basal dendrites)
            conns.append(gid_connect(int(src), cell.synapse(*site(ch)), weight=2.0, delay=1.2,
                                         surrogate_source=False))
    for gid in inh_gids:
        ei_src = rng.choice(list(exc_gids), min(20, n_exc), replace=False)
        if gid not in inh:
            continue
        for src in ei_src:  # surrogate -> interneuron ExpSyn (µS)
            conns.append(gid_connect(int(src), inh[gid].syn, weight=0.002, delay=1.5,
                                         surrogate_source=not args.detailed))
        for j in range(20):
            ns = h.NetStim()
            ns.start, ns.number, ns.interval, ns.noise = 0.0, 1e9, 100.0, 1.0
            ns.noiseFromRandom123(gid, j, args.seed)
            stims.append(ns)
            conns.append(connect(ns, inh[gid].syn, weight=0.002, delay=1.0))

    # -- recording: spikes of every gid, a few surrogate compartments, the interneurons' voltage
    tvec, idvec = h.Vector(), h.Vector()
    pc.spike_record(-1, tvec, idvec)
    shown = sorted(pop.cells)[:3]
    traces = {g: {"soma": pop.cells[g].record("soma", 0.5), "apic[30](0.5)": pop.cells[g].record("apic[30]", 0.5)}
              for g in shown}
    build_s = time.perf_counter() - t0

    # -- run, the ordinary way
    pc.set_maxstep(10)
    h.dt = 0.025
    t1 = time.perf_counter()
    h.stdinit()
    pc.psolve(args.tstop)
    run_s = time.perf_counter() - t1

    spikes = np.column_stack([np.asarray(tvec), np.asarray(idvec)])
    gathered = pc.py_gather(spikes, 0)
    local_traces = {g: {k: r.v for k, r in d.items()} for g, d in traces.items()}
    local_traces.update({g: {"soma": np.asarray(c.v)} for g, c in list(inh.items())[:2]})
    all_traces = pc.py_gather(local_traces, 0)
    if rank == 0:
        spikes = np.concatenate(gathered)
        spikes = spikes[np.lexsort((spikes[:, 1], spikes[:, 0]))]
        merged = {}
        for part in all_traces:
            merged.update(part)
        np.savez(out / "spikes.npz", t_ms=spikes[:, 0], gid=spikes[:, 1].astype(int), n_exc=n_exc, n_inh=n_inh)
        _plot(out, spikes, merged, n_exc, n_inh, args.tstop)
        if args.compare:
            _compare(out, Path(args.compare), spikes, n_exc, n_inh, args.tstop, args.skip_ms)
        n_e = int(np.sum(spikes[:, 1] < n_exc))
        kind = "detailed L5PCs" if args.detailed else "surrogates"
        print(f"{n_exc} {kind} + {n_inh} interneurons on {nhost} rank(s): build {build_s:.1f} s, "
              f"run {run_s:.1f} s for {args.tstop:g} ms; {n_e} L5PC spikes "
              f"({n_e / max(n_exc, 1) / args.tstop * 1000:.1f} Hz), {len(spikes) - n_e} interneuron spikes; "
              f"wrote {out}/spikes.npz, raster.png, traces.png")
    pc.barrier()
    return 0


class _DetailedPopulation:
    """Detailed L5PCs on the gids this rank owns (round-robin, as :class:`~surrogate_cell.neuron.Population`)."""

    def __init__(self, h, pc, gids, threshold_mV: float, geometry=None):
        rank, nhost = int(pc.id()), int(pc.nhost())
        self.cells = {}
        for gid in gids:
            if gid % nhost == rank:
                self.cells[gid] = DetailedL5PC(h, threshold_mV, geometry)
                pc.set_gid2node(gid, rank)
                pc.cell(gid, self.cells[gid].spike_detector)


def _compare(out: Path, other: Path, spikes, n_exc: int, n_inh: int, tstop: float, skip_ms: float):
    """Fidelity of this run against ``other/spikes.npz`` (the reference, e.g. the detailed run)."""
    import json

    from surrogate_cell.fidelity import rate_agreement

    ref = np.load(other / "spikes.npz")
    report = {"reference": str(other), "skip_ms": skip_ms, "tstop_ms": tstop}
    for name, gids in (("L5PC", range(n_exc)), ("interneurons", range(n_exc, n_exc + n_inh))):
        report[name] = rate_agreement((ref["t_ms"], ref["gid"]), (spikes[:, 0], spikes[:, 1]), list(gids),
                                      tstop, skip_ms)
    (out / "fidelity.json").write_text(json.dumps(report, indent=1))
    for name in ("L5PC", "interneurons"):
        r = report[name]
        print(f"{name}: population rate {r['population_rate_hz_reference']:.2f} Hz (reference) vs "
              f"{r['population_rate_hz_candidate']:.2f} Hz, error {100 * r['population_rate_error']:.1f} %, "
              f"per-cell rate r {r['per_cell_rate_r']:.3f} over {r['cells']} cells")


def _plot(out: Path, spikes, traces, n_exc, n_inh, tstop):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    exc = spikes[:, 1] < n_exc
    ax.plot(spikes[exc, 0], spikes[exc, 1], "|", color="tab:red", ms=4, label="L5PC surrogates")
    ax.plot(spikes[~exc, 0], spikes[~exc, 1], "|", color="tab:blue", ms=4, label="interneurons")
    ax.set(xlabel="t (ms)", ylabel="gid", xlim=(0, tstop), ylim=(-1, n_exc + n_inh))
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "raster.png", dpi=120)
    plt.close(fig)
    fig, axes = plt.subplots(len(traces), 1, figsize=(8, 1.8 * max(len(traces), 1)), sharex=True, squeeze=False)
    for ax, (gid, rec) in zip(axes[:, 0], sorted(traces.items())):
        for name, v in rec.items():
            ax.plot(np.arange(len(v)) * 1.0, v, lw=0.8, label=name)
        ax.set_ylabel(f"gid {gid}\nmV")
        ax.legend(loc="upper right", fontsize=7)
    axes[-1, 0].set_xlabel("t (ms)")
    fig.tight_layout()
    fig.savefig(out / "traces.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    code = main()
    from neuron import h

    h.ParallelContext().done()
    h.quit() if code == 0 else sys.exit(code)
