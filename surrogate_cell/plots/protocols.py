"""Figures of the Hay validation protocols on the detailed cell (PNG)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..cells.protocols import PROTOCOLS


def plot_protocols(traces: dict, folder: str | Path) -> list[Path]:
    """One PNG per protocol: soma and dendritic traces (mV) against time (ms)."""
    import matplotlib.pyplot as plt  # heavy: only when a figure is drawn

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in dict.fromkeys(k.split("/")[0] for k in traces):
        soma = traces[f"{name}/soma"]
        t = np.arange(soma.size) * 0.1
        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.plot(t, soma, color="k", lw=0.8, label="soma")
        ax.plot(t, traces[f"{name}/apic400"], color="tab:blue", lw=0.8, label="apical 400 µm")
        ax.plot(t, traces[f"{name}/apic620"], color="tab:red", lw=0.8, label="apical 620 µm")
        for s in traces[f"{name}/spike_times"]:
            ax.axvline(s, color="0.8", lw=0.5, zorder=0)
        if PROTOCOLS[name].tstop_ms <= 600:
            ax.set_xlim(250, 450)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("V (mV)")
        ax.set_title(f"{name}: {len(traces[f'{name}/spike_times'])} somatic spikes")
        ax.legend(loc="upper right", fontsize=8, frameon=False)
        fig.tight_layout()
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths

