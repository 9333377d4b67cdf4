"""A small cortical column in NetPyNE, run with detailed L5 pyramidal cells and again with their surrogate.

The specification is ordinary NetPyNE:

* ``--cells`` L5 pyramidal cells: the project's detailed HayCell imported the
  way NetPyNE users import a cell (``importCellParams`` from a Python file
  holding the class; the rule is saved as JSON and reloaded on later runs);
* ``--inh`` (default cells // 3, at least 1) fast-spiking interneurons: one
  Hodgkin-Huxley compartment each;
* background NetStims onto the pyramidal cells' apical and basal dendrites
  and the interneurons' somata; recurrent excitation between pyramidal cells
  (apical tree), pyramidal → interneuron excitation and interneuron →
  pyramidal inhibition (basal tree);
* recorded: spikes, the voltage of the soma, the apical trunk and a basal
  dendrite of the pyramidal cells, the interneurons' soma, and the LFP of a
  laminar probe (``cfg.recordLFP``).

The same spec runs twice: detailed, then with ``surrogate_cell.netpyne.swap``
on the pyramidal rule (one call; nothing else changes). Writes to ``--out``:
``l5pc_rule.json``, ``detailed.npz``, ``surrogate.npz`` and
``comparison.png`` (rasters, population rates, compartment traces, LFP).

    python examples/netpyne_column.py --model l5pc.pt --cells 5 --duration-ms 500 --out column_out
    python examples/netpyne_column.py --model l5pc.pt --skip-detailed --out column_out    # reuse detailed.npz
    mpiexec -n 2 python examples/netpyne_column.py --model l5pc.pt --out column_out

A model trained on the synthetic HayCell is needed for a meaningful
comparison; with an untrained model the example still runs end to end.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

TRACES = {  # label: (section of the imported rule, location)
    "V_soma": ("soma_0", 0.5),
    "V_trunk": ("apic_5", 0.5),
    "V_basal": ("dend_3", 0.5),
}
LFP_DEPTHS_UM = (400.0, 600.0, 800.0, 1000.0, 1200.0)  # NetPyNE y (depth): the soma layer is at 1000 µm


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="exported surrogate model (.pt); unset: the packaged default model")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--cells", type=int, default=5, help="L5 pyramidal cells")
    p.add_argument("--inh", type=int, help="interneurons (default: cells // 3, at least 1)")
    p.add_argument("--duration-ms", type=float, default=500.0, help="simulated time (ms, whole)")
    p.add_argument("--bkg-rate", type=float, default=50.0, help="rate of each background NetStim (Hz)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--skip-detailed", action="store_true", help="reuse --out/detailed.npz instead of running it")
    return p.parse_args(argv)


def hay_rule(out: Path) -> Path:
    """The detailed HayCell as a NetPyNE cell rule (importCellParams from a Python file), saved as JSON."""
    path = out / "l5pc_rule.json"
    if path.is_file():
        return path
    from netpyne import specs

    cell_file = out / "hay_cell.py"
    cell_file.write_text("from surrogate_cell.cells import HayCell  # the project's detailed L5PC\n")
    netParams = specs.NetParams()
    netParams.importCellParams("L5PC", fileName=str(cell_file), cellName="HayCell")
    netParams.saveCellParamsRule("L5PC", str(path))
    return path


def column(rule: Path, args):
    """(netParams, cfg) of the column; the pyramidal rule is 'L5PC'."""
    from netpyne import specs

    n_inh = args.inh if args.inh is not None else max(1, args.cells // 3)
    netParams = specs.NetParams()
    netParams.sizeX, netParams.sizeY, netParams.sizeZ = 300, 1400, 300
    netParams.loadCellParamsRule("L5PC", str(rule))
    netParams.cellParams["FS"] = {"secs": {"soma": {
        "geom": {"diam": 15, "L": 15, "Ra": 100, "cm": 1},
        "mechs": {"hh": {"gnabar": 0.12, "gkbar": 0.036, "gl": 0.0003, "el": -70}}}}}
    netParams.popParams["L5"] = {"cellType": "L5PC", "numCells": args.cells, "yRange": [950, 1050]}
    netParams.popParams["FS"] = {"cellType": "FS", "numCells": n_inh, "yRange": [800, 1100]}
    netParams.synMechParams["AMPANMDA"] = {"mod": "sc_AMPANMDA"}       # the HayCell's synapses (e 0 mV)
    netParams.synMechParams["GABAA"] = {"mod": "sc_GABAA"}             # (e -80 mV)
    netParams.synMechParams["exc"] = {"mod": "Exp2Syn", "tau1": 0.1, "tau2": 3.0, "e": 0}
    netParams.stimSourceParams["bkg"] = {"type": "NetStim", "rate": args.bkg_rate, "noise": 1.0}
    netParams.stimTargetParams["bkg->L5 apical"] = {"source": "bkg", "conds": {"pop": "L5"}, "sec": "apical",
                                                     "synsPerConn": 40, "weight": 1.0, "delay": 1,
                                                     "synMech": "AMPANMDA"}
    netParams.stimTargetParams["bkg->L5 basal"] = {"source": "bkg", "conds": {"pop": "L5"}, "sec": "basal",
                                                    "synsPerConn": 30, "weight": 1.0, "delay": 1,
                                                    "synMech": "AMPANMDA"}
    netParams.stimTargetParams["bkg->FS"] = {"source": "bkg", "conds": {"pop": "FS"}, "sec": "soma", "loc": 0.5,
                                              "synsPerConn": 1, "weight": 0.03, "delay": 1, "synMech": "exc"}
    netParams.connParams["L5->L5"] = {"preConds": {"pop": "L5"}, "postConds": {"pop": "L5"}, "probability": 0.5,
                                      "sec": "apical", "synsPerConn": 5, "weight": 1.0, "delay": 2.0,
                                      "synMech": "AMPANMDA"}
    netParams.connParams["L5->FS"] = {"preConds": {"pop": "L5"}, "postConds": {"pop": "FS"}, "probability": 0.8,
                                      "sec": "soma", "loc": 0.5, "weight": 0.01, "delay": 1.5, "synMech": "exc"}
    netParams.connParams["FS->L5"] = {"preConds": {"pop": "FS"}, "postConds": {"pop": "L5"}, "probability": 0.8,
                                      "sec": "basal", "synsPerConn": 10, "weight": 1.0, "delay": 1.5,
                                      "synMech": "GABAA"}
    cfg = specs.SimConfig()
    cfg.duration, cfg.dt, cfg.recordStep = float(round(args.duration_ms)), 0.025, 0.5
    cfg.hParams = {"celsius": 34.0, "v_init": -75.0}
    cfg.seeds = {"conn": args.seed, "stim": args.seed, "loc": args.seed, "cell": args.seed}
    cfg.recordCells = [("L5", list(range(min(args.cells, 3)))), ("FS", [0])]
    cfg.recordTraces = {k: {"sec": sec, "loc": x, "var": "v", "conds": {"pop": "L5"}}
                        for k, (sec, x) in TRACES.items()}
    cfg.recordTraces["V_fs"] = {"sec": "soma", "loc": 0.5, "var": "v", "conds": {"pop": "FS"}}
    cfg.recordLFP = [[150.0, y, 150.0] for y in LFP_DEPTHS_UM]
    cfg.verbose = False
    cfg.printPopAvgRates = True
    cfg.saveJson = cfg.savePickle = False
    cfg.analysis = {}
    return netParams, cfg


def run(netParams, cfg, label: str, out: Path) -> dict | None:
    """Run the spec with NetPyNE and save what the figure needs (rank 0)."""
    from netpyne import sim

    t0 = time.perf_counter()
    sim.createSimulateAnalyze(netParams, cfg)
    wall = time.perf_counter() - t0
    result = None
    if sim.rank == 0:
        d = sim.allSimData
        pops = {p: list(v["cellGids"]) for p, v in sim.net.allPops.items()}
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
    import matplotlib

    matplotlib.use("Agg")
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


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.cells < 1 or args.duration_ms < 1 or abs(args.duration_ms - round(args.duration_ms)) > 1e-9:
        print("netpyne_column: --cells must be >= 1 and --duration-ms a whole number of ms >= 1", file=sys.stderr)
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
    rule = out / "l5pc_rule.json"
    if int(pc.id()) == 0 and not rule.is_file():
        hay_rule(out)
    pc.barrier()
    try:
        from surrogate_cell.model import load

        load(args.model)  # fail before the detailed run, not after it
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
    pc.barrier()
    if int(pc.nhost()) > 1:
        pc.done()
        h.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
