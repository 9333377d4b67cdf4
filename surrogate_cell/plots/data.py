"""Figures of a generated data set: firing rates, voltage distributions, traces (PNG)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.dataset import Dataset

#: Region groups of the voltage histograms, in plotting order.
REGION_GROUPS = ("soma", "basal", "oblique", "trunk", "tuft")


def plot_dataset(path: str | Path, folder: str | Path, n_traces: int = 3, max_sims: int = 20) -> list[Path]:
    """Write ``firing_rates.png``, ``voltage_distributions.png`` and ``traces.png``.

    Parameters
    ----------
    path : str or Path
        The data set.
    folder : str or Path
        Output folder (created).
    n_traces : int
        Simulations shown in ``traces.png`` (the quietest, a median and the busiest).
    max_sims : int
        At most this many simulations are read for the voltage histograms.

    Returns
    -------
    list of Path
    """
    import matplotlib.pyplot as plt  # heavy: only when a figure is drawn

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with Dataset(path) as ds:
        # firing rates, stacked by regime
        fig, ax = plt.subplots(figsize=(6, 3.5))
        top = max(30.0, float(ds.rate_hz.max()) + 1)
        bins = np.arange(0, top + 2, 2)
        regimes = sorted(set(ds.regime))
        ax.hist([ds.rate_hz[ds.regime == r] for r in regimes], bins=bins, stacked=True, label=regimes)
        ax.set_xlabel("somatic firing rate per simulation (Hz)")
        ax.set_ylabel("simulations")
        ax.set_title(f"{ds.n_sims} simulations of {ds.sim_ms / 1000:g} s; median "
                     f"{np.median(ds.rate_hz):.1f} Hz")
        ax.legend(fontsize=8, frameon=False)
        fig.tight_layout()
        paths.append(folder / "firing_rates.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)

        # voltage distributions per region group
        rng = np.random.default_rng(0)
        sims = np.sort(rng.permutation(ds.n_sims)[:max_sims])
        region = ds.segments.region
        fig, ax = plt.subplots(figsize=(6, 3.5))
        vbins = np.linspace(-90, 40, 131)
        for group in REGION_GROUPS:
            cols = np.flatnonzero(region == group)
            if cols.size == 0:
                continue
            hist = np.zeros(len(vbins) - 1)
            for s in sims:
                v = ds._voltage[int(s)][:, cols]
                hist += np.histogram(v, bins=vbins)[0]
            ax.semilogy(0.5 * (vbins[1:] + vbins[:-1]), hist / max(hist.sum(), 1), label=group)
        ax.set_xlabel("membrane potential (mV)")
        ax.set_ylabel("fraction of samples")
        ax.set_title(f"voltage by region ({len(sims)} simulations)")
        ax.legend(fontsize=8, frameon=False)
        fig.tight_layout()
        paths.append(folder / "voltage_distributions.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)

        # traces: soma and the most distal tuft/apical segment, with input rates
        order = np.argsort(ds.rate_hz, kind="stable")
        picks = list(dict.fromkeys([int(order[0]), int(order[len(order) // 2]), int(order[-1])]))[:n_traces]
        distal = int(np.argmax(np.where(np.isin(region, ("trunk", "tuft", "oblique")), ds.segments.dist_um, -1)))
        fig, axes = plt.subplots(len(picks), 1, figsize=(9, 2.4 * len(picks)), squeeze=False)
        exc = np.isin(ds.channels.kind, ("ampa", "nmda"))
        t = np.arange(1, ds.sim_ms + 1)  # voltage[k] is v at t = k + 1 ms
        for ax, s in zip(axes[:, 0], picks):
            inputs, volt, spikes = ds.window(s, 0, ds.sim_ms)
            ax.plot(t, volt[:, distal], color="tab:red", lw=0.5, label=f"{ds.segments.section[distal]} "
                    f"({ds.segments.dist_um[distal]:.0f} µm)")
            ax.plot(t, volt[:, 0], color="k", lw=0.6, label="soma")
            ax.set_ylabel("V (mV)")
            ax.set_title(f"sim {s} ({ds.regime[s]}): {ds.rate_hz[s]:.1f} Hz", fontsize=9)
            twin = ax.twinx()
            twin.plot(np.arange(ds.sim_ms), inputs[:, exc].sum(1), color="tab:green", lw=0.6, alpha=0.7)
            twin.plot(np.arange(ds.sim_ms), inputs[:, ~exc].sum(1), color="tab:blue", lw=0.6, alpha=0.7)
            twin.set_ylabel("E (green) / I (blue)\nconductance (nS)", fontsize=7)
            ax.legend(loc="upper left", fontsize=7, frameon=False)
        axes[-1, 0].set_xlabel("time (ms)")
        fig.tight_layout()
        paths.append(folder / "traces.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths
