"""Figures of a network run: raster, compartment traces, laminar LFP (PNG)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_network_run(out: Path, sur: dict, n_l5: int, n_fs: int, duration_ms: float, depths) -> list:
    """``raster.png``, ``traces.png`` and ``lfp.png`` of a NetPyNE run (the demo's ``_simulate`` output) in ``out``."""
    import matplotlib.pyplot as plt  # heavy: only when a figure is drawn

    paths = []
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for pop, colour in (("L5", "tab:blue"), ("FS", "tab:red")):
        m = np.isin(sur["spkid"], sur["pops"][pop])
        ax.plot(sur["spkt"][m], sur["spkid"][m], "|", ms=3, color=colour, label=pop)
    ax.set(xlabel="t (ms)", ylabel="gid", xlim=(0, duration_ms),
           title=f"{n_l5} surrogate L5PCs + {n_fs} interneurons (NetPyNE)")
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

