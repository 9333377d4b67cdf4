"""``surrogate-cell demo``: a recurrent NetPyNE network of surrogate L5PCs with LFP.

Builds the column of :mod:`surrogate_cell.netpyne.column` with ``n_l5``
pyramidal cells swapped for the shipped surrogate (one call), plus
interneurons and background drive, simulates it, and writes a raster, traces,
LFP plots and ``summary.json``. The speed ratio against the same network with
detailed cells is estimated from a short run of the detailed column in the
same session: wall time per detailed cell-second, extrapolated to the full
network, over the surrogate network's measured wall time.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass
class DemoConfig:
    n_l5: int = 100
    n_fs: int = 25
    duration_ms: float = 1000.0
    detailed_cells: int = 2  # cells in the short detailed run used for the speed ratio
    detailed_ms: float = 100.0
    model: str | None = None  # None: the packaged default
    seed: int = 1


def _simulate(net, cfg):
    """Create, run and gather a NetPyNE network; NetPyNE's own printing is kept off stdout."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return _simulate_quietly(net, cfg)


def _simulate_quietly(net, cfg):
    from netpyne import sim

    from .netpyne import column as col

    t0 = time.perf_counter()
    sim.initialize(net, cfg)
    sim.net.createPops()
    sim.net.createCells()
    sim.net.connectCells()
    sim.net.addStims()
    sim.setupRecording()
    t_build = time.perf_counter() - t0
    t1 = time.perf_counter()
    sim.runSim()
    t_run = time.perf_counter() - t1
    sim.gatherData()
    d = sim.allSimData
    pops = {p: list(v["cellGids"]) for p, v in sim.net.allPops.items() if p in col.CELL_POPS}
    out = {"t": np.asarray(d["t"]), "spkt": np.asarray(d["spkt"]), "spkid": np.asarray(d["spkid"]),
           "lfp": np.asarray(d["LFP"]) if "LFP" in d else None, "pops": pops, "build_s": t_build, "run_s": t_run,
           "traces": {k: {c: np.asarray(v) for c, v in d[k].items()} for k in ("V_soma", "V_trunk", "V_basal", "V_fs")
                      if k in d}}
    sim.clearAll()
    return out


def run_demo(out_dir: str | Path, dc: DemoConfig = DemoConfig(), progress: bool = True) -> dict:
    """Run the demo; returns the summary (also written to ``out_dir/summary.json``)."""
    from tqdm import tqdm

    from .mechanisms import load_mechanisms
    from .model import load
    from .netpyne import column as col
    from .netpyne import swap

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=4, desc="demo", disable=not progress, bar_format="{desc}: {n}/{total} {postfix}")
    bar.set_postfix_str("loading model and building the L5PC rule")
    load_mechanisms()
    model = load(dc.model)
    rule = col.hay_rule(out / "rule")
    cc = col.ColumnConfig(n_l5=dc.n_l5, n_fs=dc.n_fs, duration_ms=dc.duration_ms, seed=dc.seed, record_step_ms=1.0)
    bar.update()

    bar.set_postfix_str(f"short detailed run: {dc.detailed_cells} L5PC, {dc.detailed_ms:g} ms")
    dcc = col.ColumnConfig(n_l5=dc.detailed_cells, n_fs=1, duration_ms=dc.detailed_ms, seed=dc.seed,
                           record_step_ms=1.0, lfp_depths_um=())
    net_d, cfg_d = col.column_spec(rule, dcc)
    cfg_d.recordLFP = []
    det = _simulate(net_d, cfg_d)  # before the swap: plain NetPyNE, no surrogate hooks yet
    bar.update()

    bar.set_postfix_str(f"surrogate network: {dc.n_l5} L5PC + {dc.n_fs} FS, {dc.duration_ms:g} ms")
    net, cfg = col.column_spec(rule, cc)
    swap(net, "L5PC", model)
    sur = _simulate(net, cfg)
    bar.update()

    # detailed cost per L5PC cell-second, scaled to the demo network (the FS cells are cheap in both)
    det_s_per_cell_s = det["run_s"] / (dc.detailed_cells * dc.detailed_ms / 1000.0)
    det_estimate_s = det_s_per_cell_s * dc.n_l5 * dc.duration_ms / 1000.0
    ratio = det_estimate_s / sur["run_s"]
    def rate(res, pop, duration_ms):
        gids = res["pops"][pop]
        return float(np.isin(res["spkid"], gids).sum() / len(gids) / (duration_ms / 1000.0))

    bar.set_postfix_str("plots")
    paths = _plots(out, sur, dc, cc.lfp_depths_um)
    bar.update()
    bar.close()
    summary = {
        "config": asdict(dc), "model": model.path, "model_arch": model.metadata.get("arch"),
        "l5_rate_hz": rate(sur, "L5", dc.duration_ms), "fs_rate_hz": rate(sur, "FS", dc.duration_ms),
        "detailed_l5_rate_hz": rate(det, "L5", dc.detailed_ms), "n_spikes": int(len(sur["spkt"])),
        "surrogate_run_s": sur["run_s"], "surrogate_build_s": sur["build_s"],
        "detailed_run_s": det["run_s"], "detailed_cells": dc.detailed_cells, "detailed_ms": dc.detailed_ms,
        "detailed_s_per_cell_second": det_s_per_cell_s, "detailed_estimate_s": det_estimate_s,
        "speed_ratio": ratio,
        "speed_note": (f"detailed time measured on {dc.detailed_cells} L5PC for {dc.detailed_ms:g} ms at dt 0.025 ms "
                       f"and extrapolated per cell-second to {dc.n_l5} cells x {dc.duration_ms:g} ms; both runs "
                       "exclude network construction"),
        "lfp_electrodes_um": [[150.0, y, 150.0] for y in cc.lfp_depths_um],
        "files": [str(p) for p in paths],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def _plots(out: Path, sur: dict, dc: DemoConfig, depths) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for pop, colour in (("L5", "tab:blue"), ("FS", "tab:red")):
        m = np.isin(sur["spkid"], sur["pops"][pop])
        ax.plot(sur["spkt"][m], sur["spkid"][m], "|", ms=3, color=colour, label=pop)
    ax.set(xlabel="t (ms)", ylabel="gid", xlim=(0, dc.duration_ms),
           title=f"{dc.n_l5} surrogate L5PCs + {dc.n_fs} interneurons (NetPyNE)")
    ax.legend(loc="upper right")
    fig.tight_layout()
    paths.append(out / "raster.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(len(sur["traces"]), 1, figsize=(9, 2.2 * len(sur["traces"])), sharex=True)
    for ax, (key, cells) in zip(np.atleast_1d(axes), sur["traces"].items()):
        for c, v in list(cells.items())[:3]:
            ax.plot(sur["t"][: len(v)], v, lw=0.7, label=c)
        ax.set_ylabel(f"{key} (mV)")
        ax.legend(fontsize=7, loc="upper right")
    np.atleast_1d(axes)[-1].set_xlabel("t (ms)")
    fig.tight_layout()
    paths.append(out / "traces.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    if sur["lfp"] is not None and sur["lfp"].size:
        lfp = sur["lfp"]
        t = np.arange(lfp.shape[0]) * 1.0
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        spacing = max(float(np.abs(lfp).max()) * 1e3, 1e-6)
        for j, depth in enumerate(depths):
            axes[0].plot(t, lfp[:, j] * 1e3 - spacing * j, lw=0.7, label=f"{depth:g} µm")
        axes[0].legend(fontsize=7, loc="upper right")
        axes[0].set(xlabel="t (ms)", ylabel="LFP (µV), offset per contact", title="LFP, laminar probe")
        lim = max(float(np.abs(lfp).max()) * 1e3, 1e-9)
        im = axes[1].imshow(lfp.T * 1e3, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, extent=(0, t[-1], max(depths), min(depths)))
        axes[1].set(xlabel="t (ms)", ylabel="depth y (µm)", title="LFP heat map")
        fig.colorbar(im, ax=axes[1], label="µV")
        fig.tight_layout()
        paths.append(out / "lfp.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths
