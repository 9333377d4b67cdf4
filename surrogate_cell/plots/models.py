"""Figures of models: free-running evaluation, training logs, region errors, learning curves (PNG)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def plot_evaluation(result: dict, segments, folder, title: str = "") -> list:
    """Heat map of true vs predicted voltage over all segments (Fig 1B/C) and a soma trace."""
    import matplotlib.pyplot as plt  # heavy: only when a figure is drawn

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tr = result["_traces"]
    order = np.argsort(segments.dist_um * np.where(np.isin(segments.region, ["basal"]), -1, 1))
    T = min(1000, tr["true_v"][0].shape[0])
    fig, axes = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    n_seg = len(order)
    kw = dict(aspect="auto", vmin=-90, vmax=0, cmap="viridis", interpolation="nearest", extent=(0, T, n_seg, 0))
    axes[0].imshow(tr["true_v"][0][:T, order].T, **kw)
    axes[0].set_title(f"{title} detailed cell (rows: segments, basal ↔ apical by path distance)")
    im = axes[1].imshow(tr["pred_v"][0][:T, order].T, **kw)
    axes[1].set_title("surrogate, free-running")
    fig.colorbar(im, ax=list(axes), label="V (mV)", shrink=0.6)
    t = np.arange(T) + 1
    axes[2].plot(t, tr["true_v"][0][:T, 0], "k", lw=0.8, label="detailed")
    axes[2].plot(t, tr["pred_v"][0][:T, 0], "tab:red", lw=0.8, label="surrogate")
    axes[2].set_ylabel("soma V (mV)")
    axes[2].set_xlabel("time (ms)")
    axes[2].legend(frameon=False)
    p1 = folder / "heatmap.png"
    fig.savefig(p1, dpi=100)
    plt.close(fig)
    return [p1]


def plot_region_swarm(per_model: dict, segments, path) -> None:
    """Per-region strip ('swarm') plot of per-segment RMSE for each model (Fig 2, SI Fig 3)."""
    import matplotlib.pyplot as plt  # heavy: only when a figure is drawn

    regions = [r for r in ("basal", "oblique", "trunk", "tuft", "soma") if (segments.region == r).any()]
    fig, axes = plt.subplots(1, len(regions), figsize=(3 * len(regions), 4), sharey=True)
    rng = np.random.default_rng(0)
    for ax, region in zip(np.atleast_1d(axes), regions):
        m = segments.region == region
        for i, (name, rmse) in enumerate(per_model.items()):
            vals = np.asarray(rmse)[m]
            ax.scatter(i + rng.uniform(-0.25, 0.25, len(vals)), vals, s=4, alpha=0.6)
            ax.hlines(np.median(vals), i - 0.35, i + 0.35, color="k")
        ax.set_xticks(range(len(per_model)))
        ax.set_xticklabels(list(per_model), rotation=45, ha="right")
        ax.set_title(region)
    np.atleast_1d(axes)[0].set_ylabel("free-running RMSE per segment (mV)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_training_log(log_csv, folder) -> list:
    """Loss curves (SI Fig 2) and, for MMoE models, diversity over training (SI Fig 1)."""
    import matplotlib.pyplot as plt  # heavy: only when a figure is drawn

    rows = list(csv.DictReader(open(log_csv)))
    if not rows:
        return []
    folder = Path(folder)
    step = [int(r["step"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(step, [float(r["train_loss"]) for r in rows], label="train")
    ax.plot(step, [float(r["val_loss"]) for r in rows], label="validation (free-running)")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (z-scored MSE)")
    ax.legend(frameon=False)
    p = [folder / "loss.png"]
    fig.tight_layout()
    fig.savefig(p[0], dpi=100)
    plt.close(fig)
    if "diversity_score" in rows[0]:
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.5))
        for ax, key in zip(axes, ("determinant", "permanent", "score")):
            ax.plot(step, [float(r[f"diversity_{key}"]) for r in rows])
            ax.set_title(key)
            ax.set_xlabel("step")
        fig.tight_layout()
        p.append(folder / "diversity.png")
        fig.savefig(p[-1], dpi=100)
        plt.close(fig)
    return p


def plot_learning_curve(rows, path) -> None:
    import matplotlib.pyplot as plt  # heavy: only when a figure is drawn

    keys = (("spike_f1_5ms", "spike F1 ±5 ms", 0.5), ("spike_count_r_100ms", "spike-count r (100 ms)", 0.9),
            ("soma_subthreshold_rmse_mv", "soma sub-threshold RMSE (mV)", 2.0),
            ("compartment_rmse_mv_median", "median compartment RMSE (mV)", 5.0))
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.4))
    for ax, (key, label, floor) in zip(axes, keys):
        for name in dict.fromkeys(r["model"] for r in rows):
            pts = [(r["seconds"], r[key]) for r in rows if r["model"] == name and r[key] is not None]
            if pts:
                x, y = zip(*pts)
                ax.plot(x, y, "o-", label=name)
        ax.axhline(floor, color="k", ls=":", lw=1, label="floor")
        ax.set(xscale="log", xlabel="training data (simulated s)", title=label)
    axes[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

