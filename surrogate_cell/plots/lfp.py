"""Figures of the network LFP from plain arrays (paper Fig 1D, SI Fig 4).

Both functions take arrays in mV and ms and return a matplotlib Figure; they
save nothing and need no simulation objects.
"""
from __future__ import annotations

import numpy as np

from ..lfp.errors import LFPError


def _pyplot():
    import matplotlib.pyplot as plt  # heavy: only when a figure is drawn; the caller's backend stays

    return plt


def plot_lfp_comparison(t_ms, truth_mV, prediction_mV, *, contacts=None, labels=None, scale_uV=None,
                        title: str = "LFP: detailed (ground truth) vs surrogate"):
    """Ground-truth and predicted LFP traces at several contacts, stacked.

    Parameters
    ----------
    t_ms : array_like, shape (samples,)
        Sample times, ms.
    truth_mV, prediction_mV : array_like, shape (contacts, samples)
        LFP of the detailed cells and of the surrogates, mV.
    contacts : sequence of int or None
        Which contacts to draw (default: all, at most 16 evenly spread).
    labels : sequence of str or None
        One label per drawn contact (default: ``'contact k'``).
    scale_uV : float or None
        Vertical spacing of the traces, µV (default: 1.2 × the largest
        peak-to-peak of the truth).

    Returns
    -------
    matplotlib.figure.Figure
    """
    t = np.asarray(t_ms, dtype=np.float64)
    truth = np.atleast_2d(np.asarray(truth_mV, dtype=np.float64))
    pred = np.atleast_2d(np.asarray(prediction_mV, dtype=np.float64))
    if truth.shape != pred.shape or truth.shape[1] != t.size:
        raise LFPError(f"truth {truth.shape} and prediction {pred.shape} must both be (contacts, {t.size})")
    if contacts is None:
        contacts = np.unique(np.linspace(0, truth.shape[0] - 1, min(16, truth.shape[0])).round().astype(int))
    contacts = list(contacts)
    labels = list(labels) if labels is not None else [f"contact {k}" for k in contacts]
    if len(labels) != len(contacts):
        raise LFPError(f"{len(labels)} labels for {len(contacts)} contacts")
    tr, pr = truth[contacts] * 1e3, pred[contacts] * 1e3  # µV
    spacing = scale_uV if scale_uV is not None else 1.2 * max(float(np.ptp(tr, axis=1).max()), 1e-12)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.6 * len(contacts)))
    for i, (a, b) in enumerate(zip(tr, pr)):
        off = -i * spacing
        ax.plot(t, a - a.mean() + off, color="k", lw=1.0, label="detailed" if i == 0 else None)
        ax.plot(t, b - a.mean() + off, color="tab:red", lw=0.8, ls="--", label="surrogate" if i == 0 else None)
    ax.set_yticks([-i * spacing for i in range(len(contacts))])
    ax.set_yticklabels(labels)
    ax.set_xlabel("time (ms)")
    ax.set_title(f"{title}  (trace spacing {spacing:.3g} µV)")
    ax.legend(loc="upper right", frameon=False)
    fig.tight_layout()
    return fig


def plot_laminar_lfp(t_ms, y_um, lfp_mV, *, title: str = "laminar LFP", ax=None, cmap: str = "RdBu_r"):
    """Heat map of a laminar probe's LFP: contacts (depth) × time.

    Parameters
    ----------
    t_ms : array_like, shape (samples,)
    y_um : array_like, shape (contacts,)
        Contact positions along the probe, µm (drawn with larger y up).
    lfp_mV : array_like, shape (contacts, samples)
    ax : matplotlib Axes or None

    Returns
    -------
    matplotlib.figure.Figure
        Colour scale symmetric about 0, in µV.
    """
    t = np.asarray(t_ms, dtype=np.float64)
    y = np.asarray(y_um, dtype=np.float64)
    v = np.asarray(lfp_mV, dtype=np.float64) * 1e3
    if v.shape != (y.size, t.size):
        raise LFPError(f"lfp_mV must be (contacts={y.size}, samples={t.size}); got {v.shape}")
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4))
    else:
        fig = ax.figure
    lim = max(float(np.abs(v).max()), 1e-12)
    order = np.argsort(y)
    mesh = ax.pcolormesh(t, y[order], v[order], cmap=cmap, vmin=-lim, vmax=lim, shading="nearest")
    fig.colorbar(mesh, ax=ax, label="LFP (µV)")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("y (µm)")
    ax.set_title(title)
    return fig
