"""The spike mechanism's threshold and refractoriness, chosen on free runs.

A trained :class:`~surrogate_cell.training.model.Surrogate` fires where its
spike logit, ``drive + history · w_hist``, crosses a threshold upwards. The
drive does not depend on the model's own spikes (the GRU never sees them), so
once it is computed over some simulations, the spike mechanism alone can be
run for many thresholds and history weights at once, as one batch.

Training sets ``w_hist`` with the *true* spike history fed in (teacher
forcing). Running free, a model trained so tends to fire again 5–10 ms after
its own spikes where the cell does not: the drive stays high after a spike,
and only ``w_hist`` holds the logit down. :func:`fit_spike_history` moves
each history weight in turn, with the threshold re-chosen for every candidate,
and keeps what raises its objective on the simulations given: F1 at ±5 ms,
minus the relative rate error (the threshold calibration's objective), minus
the difference between the predicted and the true fractions of inter-spike
intervals under 10 ms (the doublets).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .metrics import prf, upward_crossings

#: Thresholds tried, as spike probabilities.
DEFAULT_LEVELS = np.concatenate([[0.02, 0.03, 0.05, 0.07], np.round(np.arange(0.1, 0.96, 0.05), 2)])
#: Moves tried for each history weight, per round (logit units per unit of the history trace).
HISTORY_STEPS = (-4.0, -2.0, -1.0, -0.5, 0.5, 1.0)
#: Inter-spike intervals shorter than this (ms) count as the doublets that the history fit removes.
SHORT_ISI_MS = 10.0


@dataclass(frozen=True)
class Drive:
    """The input-driven spike drive of some simulations and the spike mechanism's state at their start.

    ``drive`` (B, T) logit; ``hist0`` (B, n_hist), ``prev0`` (B,); ``true_spikes``: per row, spike times (ms);
    ``p_rest``: the spike probability of one input-free step from rest, the value before the first bin (as
    the evaluation and the NEURON runner take it).
    """

    drive: torch.Tensor
    hist0: torch.Tensor
    prev0: torch.Tensor
    true_spikes: list
    p_rest: float = 0.0


@torch.no_grad()
def rest_probability(model) -> float:
    """The spike probability after one input-free step from rest."""
    return float(model.step(torch.zeros(1, model.n_exc + model.n_inh), model.init_state(1))[1][0])


@torch.no_grad()
def input_drive(model, x: torch.Tensor, chunk: int = 8) -> torch.Tensor:
    """The spike drive (B, T) of a training model over ``x`` (B, T, C) from rest, ``chunk`` simulations at a
    time (:meth:`~.model.Surrogate.drive`'s)."""
    was_training = model.training
    model.eval()
    parts = [model.drive(xs, model.init_state(xs.shape[0]))[1] for xs in torch.split(x, chunk)]
    model.train(was_training)
    return torch.cat(parts)


@torch.no_grad()
def spike_drive(model, drive: torch.Tensor, true_spikes) -> Drive:
    """:class:`Drive` of a spike drive (B, T) from rest (:func:`input_drive`) and each row's true spikes (ms)."""
    _, _, hist0, _, prev0 = model._split(model.init_state(drive.shape[0]))
    return Drive(drive, hist0, prev0, [np.asarray(t, dtype=np.float64) for t in true_spikes],
                 rest_probability(model))


@torch.no_grad()
def spike_figures(model, d: Drive, w_hist: torch.Tensor, levels) -> list[dict]:
    """Free-running spike figures of each candidate history weight vector at each threshold.

    Parameters
    ----------
    w_hist : Tensor (candidates, n_hist)
    levels : sequence of float
        Thresholds as spike probabilities.

    Returns
    -------
    list of dict
        Per (candidate, level), candidate-major: ``candidate``, ``level``, ``spikes`` (predicted), ``f1_5ms``,
        ``rate_error``, ``objective`` (F1 minus rate error, the threshold's), ``short_isi_fraction`` and
        ``true_short_isi_fraction`` (of the predicted and the true inter-spike intervals, those under
        :data:`SHORT_ISI_MS`), and ``fit_objective``: the objective minus the difference of those fractions
        (the history fit's).
    """
    levels = [float(v) for v in levels]
    n_cand, n_lev = w_hist.shape[0], len(levels)
    B = d.drive.shape[0]
    copies = n_cand * n_lev  # row (c * L + l) * B + b
    thr = torch.logit(torch.tensor(levels, dtype=d.drive.dtype)).repeat_interleave(B).repeat(n_cand)
    _, logit, _, _, _ = model.spike_loop(d.drive.repeat(copies, 1), d.hist0.repeat(copies, 1), d.prev0.repeat(copies),
                                         w_hist.to(d.drive.dtype).repeat_interleave(n_lev * B, 0), thr)
    prob = torch.sigmoid(logit).numpy()
    true = d.true_spikes
    n_true = sum(len(t) for t in true)
    offset = 1e6  # rows laid end to end, far apart, for one matching over all of them
    true_all = np.concatenate([t + i * offset for i, t in enumerate(true)] + [np.zeros(0)])
    true_short = short_isi_fraction(true)
    out = []
    for c in range(n_cand):
        for j, level in enumerate(levels):
            rows = prob[(c * n_lev + j) * B:(c * n_lev + j + 1) * B]
            pred = [upward_crossings(p, level, d.p_rest) for p in rows]
            n_pred = sum(len(p) for p in pred)
            f1 = prf(true_all, np.concatenate([p + i * offset for i, p in enumerate(pred)] + [np.zeros(0)]), 5.0)[2]
            rate_err = abs(n_pred - n_true) / max(n_true, 1)
            short = short_isi_fraction(pred)
            out.append({"candidate": c, "level": level, "spikes": int(n_pred), "f1_5ms": float(f1),
                        "rate_error": float(rate_err), "objective": float(f1 - rate_err),
                        "short_isi_fraction": short, "true_short_isi_fraction": true_short,
                        "fit_objective": float(f1 - rate_err - abs(short - true_short))})
    return out


def short_isi_fraction(spikes, below_ms: float = SHORT_ISI_MS) -> float:
    """Of the inter-spike intervals of ``spikes`` (one array of times per simulation, ms), the fraction under
    ``below_ms`` (0 without intervals)."""
    isi = np.concatenate([np.diff(np.sort(p)) for p in spikes] + [np.zeros(0)])
    return float(np.mean(isi < below_ms)) if isi.size else 0.0


def figures_at(model, d: Drive, level: float) -> dict:
    """:func:`spike_figures` of the model's own history weights at one threshold ``level``."""
    fig = spike_figures(model, d, model.w_hist.detach()[None], [level])[0]
    fig.pop("candidate")
    return fig


def _set(model, w_hist: torch.Tensor, level: float) -> None:
    with torch.no_grad():
        model.w_hist.copy_(w_hist)
        model.spike_logit_threshold.fill_(float(np.log(level / (1 - level))))


def choose_level(model, d: Drive, levels=None) -> dict:
    """Set the model's threshold to the level of ``levels`` with the best objective on ``d``; its figures."""
    figs = spike_figures(model, d, model.w_hist.detach()[None], DEFAULT_LEVELS if levels is None else levels)
    best = max(figs, key=lambda f: f["objective"])  # the first of equal ones: the lowest level
    _set(model, model.w_hist.detach(), best["level"])
    return {k: v for k, v in best.items() if k != "candidate"}


def fit_spike_history(model, d: Drive, levels=None, steps=HISTORY_STEPS, rounds: int = 2, progress=None) -> dict:
    """Fit ``w_hist`` and the threshold of a training model on the free runs of ``d``.

    Each round tries every move of ``steps`` on each history weight in turn
    (with every threshold of ``levels``) and keeps the best candidate where it
    raises the objective. The model is left with the result.

    Returns
    -------
    dict
        ``before`` and ``after``: the figures at the best threshold of the
        starting and of the fitted weights; ``w_hist_before``, ``w_hist``.
    """
    levels = DEFAULT_LEVELS if levels is None else levels
    w = model.w_hist.detach().clone()
    w_before = w.tolist()
    start = max(spike_figures(model, d, w[None], levels), key=lambda f: f["fit_objective"])
    best = start
    for r in range(rounds):
        for i in range(w.numel()):
            cands = w.repeat(len(steps), 1)
            cands[:, i] += torch.tensor(steps, dtype=w.dtype)
            top = max(spike_figures(model, d, cands, levels), key=lambda f: f["fit_objective"])
            if top["fit_objective"] > best["fit_objective"] + 1e-4:  # not for a spike or two
                w, best = cands[top["candidate"]].clone(), top
            if progress:
                progress(f"round {r + 1}, history weight {i + 1}/{w.numel()}: {best['fit_objective']:.4f}")
    _set(model, w, best["level"])
    strip = ("candidate",)
    return {"before": {k: v for k, v in start.items() if k not in strip},
            "after": {k: v for k, v in best.items() if k not in strip},
            "w_hist_before": w_before, "w_hist": w.tolist()}
