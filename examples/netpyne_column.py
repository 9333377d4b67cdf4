"""A small cortical column in NetPyNE, run with detailed L5 pyramidal cells and again with their surrogate.

The specification is ordinary NetPyNE:

* ``--cells`` L5 pyramidal cells: the project's detailed HayCell imported the
  way NetPyNE users import a cell (``importCellParams`` from a Python file
  holding the class; the rule is saved as JSON and reloaded on later runs);
* ``--inh`` (default cells // 3, at least 1) fast-spiking interneurons: one
  Hodgkin-Huxley compartment each;
* background NetStims onto the pyramidal cells' apical and basal dendrites
  and the interneurons' somata; recurrent excitation between pyramidal cells
  (apical tree), pyramidal → interneuron excitation and basket-cell
  inhibition of the pyramidal cells' somata;
* synapses as published specs write them (``--synapses``): ``exp2syn``
  (NEURON's ``Exp2Syn``, weights in µS), ``expsyn`` (``ExpSyn``) or
  ``project`` (the HayCell's ``sc_AMPANMDA`` and ``sc_GABAA``);
* recorded: spikes, the voltage of the soma, the apical trunk and a basal
  dendrite of the pyramidal cells, the interneurons' soma, and the LFP of a
  laminar probe (``cfg.recordLFP``).

The same spec runs twice: detailed, then with ``surrogate_cell.netpyne.swap``
on the pyramidal rule (one call; nothing else changes). Writes to ``--out``:
``l5pc_rule_*.json`` (the model's cell), ``detailed.npz``, ``surrogate.npz``,
``comparison.png`` (rasters, population rates, compartment traces, LFP) and
``fidelity.json`` (population rates, per-cell rate correlation, LFP
correlation per electrode; the first ``--skip-ms`` are left out),
``lfp_comparison.png`` (detailed against swapped LFP at every contact, as the
paper's Fig 1D) and ``lfp_laminar.png`` (laminar heat maps of both).

    python examples/netpyne_column.py --model l5pc.pt --cells 5 --duration-ms 500 --out column_out
    python examples/netpyne_column.py --cells 60 --duration-ms 1500 --synapses expsyn --out column_expsyn
    python examples/netpyne_column.py --model l5pc.pt --skip-detailed --out column_out    # reuse detailed.npz
    mpiexec -n 2 python examples/netpyne_column.py --model l5pc.pt --out column_out

A model trained on the synthetic HayCell is needed for a meaningful
comparison; with an untrained model the example still runs end to end.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from surrogate_cell.cli.column import CELL_POPS, SYNAPSE_SETS, TRACES, ColumnConfig, column_spec, hay_rule, rule_path

LFP_DEPTHS_UM = ColumnConfig().lfp_depths_um


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="exported surrogate model (.pt); unset: the packaged default model")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--cells", type=int, default=5, help="L5 pyramidal cells")
    p.add_argument("--inh", type=int, help="interneurons (default: cells // 3, at least 1)")
    p.add_argument("--duration-ms", type=float, default=500.0, help="simulated time (ms, whole)")
    p.add_argument("--bkg-rate", type=float, default=50.0, help="rate of each background NetStim (Hz)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--synapses", choices=sorted(SYNAPSE_SETS), default="exp2syn",
                   help="how the spec writes its synapses (default exp2syn: Exp2Syn, weights in µS)")
    p.add_argument("--skip-detailed", action="store_true", help="reuse --out/detailed.npz instead of running it")
    p.add_argument("--skip-ms", type=float, default=None,
                   help="start-up transient left out of fidelity.json (ms; default 200, or a fifth of a shorter run)")
    return p.parse_args(argv)


def column(rule: Path, args):
    """(netParams, cfg) of the column; the pyramidal rule is 'L5PC'."""
    return column_spec(rule, ColumnConfig(n_l5=args.cells, n_fs=args.inh, duration_ms=args.duration_ms,
                                          bkg_rate_hz=args.bkg_rate, seed=args.seed, synapses=args.synapses))


def run(netParams, cfg, label: str, out: Path) -> dict | None:
    """Run the spec with NetPyNE and save what the figure needs (rank 0)."""
    from netpyne import sim

    t0 = time.perf_counter()
    sim.createSimulateAnalyze(netParams, cfg)
    wall = time.perf_counter() - t0
    result = None
    if sim.rank == 0:
        d = sim.allSimData
        pops = {p: list(v["cellGids"]) for p, v in sim.net.allPops.items() if p in CELL_POPS}
        result = {"t": np.asarray(d["t"]), "spkt": np.asarray(d["spkt"]), "spkid": np.asarray(d["spkid"]),
                  "lfp": np.asarray(d["LFP"]), "wall_s": wall, "pops": json.dumps(pops)}
        for key in list(TRACES) + ["V_fs"]:
            for cell, v in d[key].items():
                result[f"{key}/{cell}"] = np.asarray(v)
        np.savez(out / f"{label}.npz", **result)
        print(f"{label}: {len(result['spkt'])} spikes, run and gather {wall:.1f} s", flush=True)
    sim.clearAll()
    return result


def plot(out: Path, det: dict, sur: dict, duration: float) -> Path:
    import matplotlib.pyplot as plt

    pops = json.loads(str(det["pops"]))
    colours = {"L5": "tab:blue", "FS": "tab:red"}
    fig = plt.figure(figsize=(13, 11))
    grid = fig.add_gridspec(4, 2, height_ratios=[1.2, 0.8, 1.6, 1.2])
    for col, (name, d) in enumerate((("detailed", det), ("surrogate", sur))):
        ax = fig.add_subplot(grid[0, col])
        for pop, gids in pops.items():
            mask = np.isin(d["spkid"], gids)
            ax.plot(d["spkt"][mask], d["spkid"][mask], "|", ms=6, color=colours.get(pop, "k"), label=pop)
        ax.set(title=f"{name}: raster", xlim=(0, duration), xlabel="t (ms)", ylabel="gid")
        ax.legend(loc="upper right", fontsize=8)
    ax = fig.add_subplot(grid[1, :])
    bins = np.arange(0.0, duration + 10.0, 10.0)
    for pop, gids in pops.items():
        for name, d, style in (("detailed", det, "-"), ("surrogate", sur, "--")):
            counts, _ = np.histogram(d["spkt"][np.isin(d["spkid"], gids)], bins)
            ax.plot(bins[:-1] + 5.0, counts / max(1, len(gids)) / 0.010, style, color=colours.get(pop, "k"),
                    label=f"{pop} {name}")
    ax.set(title="population rates (10 ms bins)", xlabel="t (ms)", ylabel="Hz", xlim=(0, duration))
    ax.legend(ncol=4, fontsize=8)
    sub = grid[2, :].subgridspec(1, 4)
    cell = "cell_0"
    for i, key in enumerate(list(TRACES) + ["V_fs"]):
        ax = fig.add_subplot(sub[0, i])
        c = cell if key != "V_fs" else next(k.split("/")[1] for k in det if k.startswith("V_fs/"))
        for name, d, style in (("detailed", det, "k-"), ("surrogate", sur, "C1-")):
            if f"{key}/{c}" in d:
                ax.plot(d["t"], d[f"{key}/{c}"], style, lw=0.8, label=name)
        where = f"{TRACES[key][0]}({TRACES[key][1]})" if key in TRACES else "FS soma"
        ax.set(title=f"{c} {where}", xlabel="t (ms)", ylabel="mV" if i == 0 else None, xlim=(0, duration))
        if i == 0:
            ax.legend(fontsize=8)
    ax = fig.add_subplot(grid[3, :])
    t_lfp = (np.arange(det["lfp"].shape[0]) + 1) * (det["t"][1] - det["t"][0])
    span = max(np.abs(det["lfp"]).max(), np.abs(sur["lfp"]).max(), 1e-12)
    for j, depth in enumerate(LFP_DEPTHS_UM):
        ax.plot(t_lfp, det["lfp"][:, j] / span - 2 * j, "k-", lw=0.7, label="detailed" if j == 0 else None)
        ax.plot(t_lfp, sur["lfp"][:, j] / span - 2 * j, "C1-", lw=0.7, label="surrogate" if j == 0 else None)
    ax.set_yticks([-2 * j for j in range(len(LFP_DEPTHS_UM))], [f"{d:g} µm" for d in LFP_DEPTHS_UM])
    ax.set(title=f"LFP (cfg.recordLFP; scale bar = {span * 1e3:.3g} µV per unit)", xlabel="t (ms)",
           xlim=(0, duration))
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / "comparison.png"
    fig.savefig(path, dpi=110)
    return path


def plot_lfp(out: Path, det: dict, sur: dict) -> list:
    """LFP at every contact, detailed vs swapped, and both as laminar heat maps."""
    import matplotlib.pyplot as plt

    from surrogate_cell.plots.lfp import plot_laminar_lfp, plot_lfp_comparison

    step = float(det["t"][1] - det["t"][0])
    t = (np.arange(det["lfp"].shape[0]) + 1) * step
    labels = [f"y {d:g} µm" for d in LFP_DEPTHS_UM]
    fig = plot_lfp_comparison(t, det["lfp"].T, sur["lfp"].T, labels=labels,
                              title="column LFP: detailed (black) vs swapped (red)")
    paths = [out / "lfp_comparison.png", out / "lfp_laminar.png"]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)
    fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for ax, (name, d) in zip(axes, (("detailed", det), ("swapped", sur))):
        plot_laminar_lfp(t, np.asarray(LFP_DEPTHS_UM), d["lfp"].T, title=f"{name}: laminar LFP", ax=ax)
    fig.tight_layout()
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths


def fidelity(det: dict, sur: dict, duration: float, skip_ms: float) -> dict:
    """Rates per population and LFP per electrode, swapped against detailed."""
    from surrogate_cell.fidelity import lfp_agreement, rate_agreement

    pops = json.loads(str(det["pops"]))
    report = {"skip_ms": skip_ms, "duration_ms": duration}
    for pop in CELL_POPS:
        report[pop] = rate_agreement((det["spkt"], det["spkid"]), (sur["spkt"], sur["spkid"]), pops[pop],
                                     duration, skip_ms)
    step = float(det["t"][1] - det["t"][0])
    report["lfp"] = lfp_agreement(det["lfp"], sur["lfp"], skip_samples=int(round(skip_ms / step)), step_ms=step)
    report["lfp"]["depths_um"] = list(LFP_DEPTHS_UM)
    return report


def main(argv=None) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")  # the figures go to files
    args = parse_args(argv)
    if args.cells < 1 or args.duration_ms < 1 or abs(args.duration_ms - round(args.duration_ms)) > 1e-9:
        print("netpyne_column: --cells must be >= 1 and --duration-ms a whole number of ms >= 1", file=sys.stderr)
        return 2
    if args.skip_ms is None:
        args.skip_ms = min(200.0, args.duration_ms / 5.0)
    if not 0 <= args.skip_ms < args.duration_ms:
        print(f"netpyne_column: --skip-ms must lie in [0, --duration-ms), got {args.skip_ms}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from surrogate_cell.mechanisms import load_mechanisms

    load_mechanisms()  # the HayCell's mechanisms, compiled before MPI starts and before NetPyNE lists them
    from neuron import h

    h.nrnmpi_init()
    import surrogate_cell.netpyne as scn
    from surrogate_cell.errors import SurrogateCellError

    scn.install()  # cfg.recordLFP for the detailed run too (NetPyNE's own LFP fails on NEURON 9)
    pc = h.ParallelContext()
    try:
        from surrogate_cell.model import load

        geometry = load(args.model).geometry  # fail before the detailed run, not after it
        rule = rule_path(out, geometry)  # the detailed cell the model was trained on, from the model file
        if int(pc.id()) == 0 and not rule.is_file():
            hay_rule(out, geometry)
        pc.barrier()
        if args.skip_detailed:
            det = dict(np.load(out / "detailed.npz")) if int(pc.id()) == 0 else None
        else:
            netParams, cfg = column(rule, args)
            det = run(netParams, cfg, "detailed", out)
        netParams, cfg = column(rule, args)
        scn.swap(netParams, "L5PC", args.model)  # the one call
        sur = run(netParams, cfg, "surrogate", out)
    except (SurrogateCellError, FileNotFoundError) as exc:
        print(f"netpyne_column: error: {exc}", file=sys.stderr)
        return 2
    if int(pc.id()) == 0:
        print(f"wrote {plot(out, det, sur, float(round(args.duration_ms)))}")
        print(f"wrote {', '.join(str(p) for p in plot_lfp(out, det, sur))}")
        report = fidelity(det, sur, float(round(args.duration_ms)), args.skip_ms)
        (out / "fidelity.json").write_text(json.dumps(report, indent=1))
        for pop in CELL_POPS:
            r = report[pop]
            print(f"{pop}: population rate {r['population_rate_hz_reference']:.2f} Hz detailed vs "
                  f"{r['population_rate_hz_candidate']:.2f} Hz swapped, error {100 * r['population_rate_error']:.1f} %, "
                  f"per-cell rate r {r['per_cell_rate_r']:.3f}, population rate r in {r['bin_ms']:g} ms bins "
                  f"{r['population_rate_r_bins']:.3f} ({r['cells']} cells)")
        for key, what in (("per_electrode_r", "raw"), ("per_electrode_r_lowpass", "low-passed at 100 Hz")):
            print(f"LFP r per electrode, {what}: " + ", ".join(f"{d:g} µm {r:.3f}" for d, r in
                                                              zip(LFP_DEPTHS_UM, report["lfp"][key])))
    pc.barrier()
    if int(pc.nhost()) > 1:
        pc.done()
        h.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
