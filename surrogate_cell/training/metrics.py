"""Evaluation metrics of a free-running surrogate against the detailed cell (numpy).

Definitions
-----------
* Spike matching: true and predicted spike times are matched one-to-one,
  greedily in time order, within a tolerance (±2 ms and ±5 ms). Precision =
  matched / predicted, recall = matched / true, F1 their harmonic mean.
* ``spike_auc``: ROC AUC of the per-bin spike probability against the bins
  (1 ms) that contain a true somatic spike.
* ``soma_subthreshold_rmse_mv``: RMSE of the somatic voltage with both traces
  clipped at −55 mV from above (Beniaguev et al. 2021; Spieler et al. 2024).
* ``compartment_rmse_mv_*``: per-segment RMSE over time, then median / p95 over
  segments; ``region_rmse_mv`` gives the median per region.
* ``rate_error``: |predicted − true| / true mean firing rate (0 if both are 0).
* ``spike_count_r_100ms``: Pearson r of spike counts in 100 ms bins.
* ``nan_or_divergence``: any non-finite output or voltage outside [−100, +60] mV.

Uncertainty
-----------
:func:`bootstrap_intervals` resamples whole simulations with replacement and
recomputes the figures on each resample: the spread a held-out set of that
many simulations carries. Simulations, not time bins, are the independent
units (each has its own input regime and rates).
"""
from __future__ import annotations

import numpy as np

from ..model import crossing_fractions

SUBTHRESHOLD_CLIP_MV = -55.0
VOLTAGE_BOUNDS_MV = (-100.0, 60.0)


def match_spikes(true_ms: np.ndarray, pred_ms: np.ndarray, tolerance_ms: float) -> int:
    """Number of one-to-one matches within ``tolerance_ms`` (greedy, time order)."""
    true_ms, pred_ms = np.sort(true_ms), np.sort(pred_ms)
    i = j = matched = 0
    while i < len(true_ms) and j < len(pred_ms):
        d = pred_ms[j] - true_ms[i]
        if abs(d) <= tolerance_ms:
            matched += 1
            i += 1
            j += 1
        elif d < 0:
            j += 1
        else:
            i += 1
    return matched


def prf(true_ms, pred_ms, tolerance_ms):
    """(precision, recall, F1) of spike times (ms) at a tolerance (ms)."""
    m = match_spikes(np.asarray(true_ms), np.asarray(pred_ms), tolerance_ms)
    p = m / len(pred_ms) if len(pred_ms) else (1.0 if len(true_ms) == 0 else 0.0)
    r = m / len(true_ms) if len(true_ms) else (1.0 if len(pred_ms) == 0 else 0.0)
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return p, r, f


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by the rank statistic (ties averaged). NaN if one class is absent."""
    scores, labels = np.asarray(scores, float).ravel(), np.asarray(labels, bool).ravel()
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def spike_bins(spike_times_ms, n_bins: int) -> np.ndarray:
    """Boolean (n_bins,): bin k holds a spike time in [k, k+1) ms."""
    out = np.zeros(n_bins, dtype=bool)
    idx = np.floor(np.asarray(spike_times_ms)).astype(int)
    out[idx[(idx >= 0) & (idx < n_bins)]] = True
    return out


def counts_r(true_ms, pred_ms, duration_ms: float, bin_ms: float = 100.0) -> float:
    edges = np.arange(0.0, duration_ms + 1e-9, bin_ms)
    a, _ = np.histogram(true_ms, edges)
    b, _ = np.histogram(pred_ms, edges)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def soma_subthreshold_rmse_mv(pred_mV: np.ndarray, true_mV: np.ndarray) -> float:
    """RMSE (mV) of two somatic traces, both clipped at ``SUBTHRESHOLD_CLIP_MV`` from above."""
    clip = SUBTHRESHOLD_CLIP_MV
    return float(np.sqrt(np.mean((np.minimum(pred_mV, clip) - np.minimum(true_mV, clip)) ** 2)))


def evaluate_traces(true_v: list, pred_v: list, true_spikes: list, pred_spikes: list,
                    spike_prob: list, regions: np.ndarray, soma_row: int = 0) -> dict:
    """All figures over several simulations.

    Parameters
    ----------
    true_v, pred_v : list of ndarray (T_i, N), mV
    true_spikes, pred_spikes : list of ndarray, ms from each simulation's start
    spike_prob : list of ndarray (T_i,)
    regions : ndarray of str (N,)
    """
    tv = np.concatenate(true_v)
    pv = np.concatenate(pred_v)
    finite = bool(np.isfinite(pv).all())
    diverged = (not finite) or pv.min() < VOLTAGE_BOUNDS_MV[0] or pv.max() > VOLTAGE_BOUNDS_MV[1]
    pv_safe = np.nan_to_num(pv, nan=0.0, posinf=1e3, neginf=-1e3)
    per_seg = np.sqrt(np.mean((pv_safe - tv) ** 2, axis=0))
    out = {}
    offsets = np.cumsum([0] + [len(v) for v in true_v])
    t_all = np.concatenate([np.asarray(s) + o for s, o in zip(true_spikes, offsets)]) if true_spikes else np.array([])
    p_all = np.concatenate([np.asarray(s) + o for s, o in zip(pred_spikes, offsets)]) if pred_spikes else np.array([])
    for tol, suffix in ((2.0, ""), (5.0, "_5ms")):
        p, r, f = prf(t_all, p_all, tol)
        out[f"spike_precision{suffix}"], out[f"spike_recall{suffix}"], out[f"spike_f1{suffix}"] = p, r, f
    labels = np.concatenate([spike_bins(s, len(v)) for s, v in zip(true_spikes, true_v)])
    out["spike_auc"] = roc_auc(np.concatenate(spike_prob), labels)
    soma_t, soma_p = tv[:, soma_row], pv_safe[:, soma_row]
    out["soma_rmse_mv"] = float(np.sqrt(np.mean((soma_p - soma_t) ** 2)))
    out["soma_subthreshold_rmse_mv"] = soma_subthreshold_rmse_mv(soma_p, soma_t)
    out["compartment_rmse_mv_median"] = float(np.median(per_seg))
    out["compartment_rmse_mv_p95"] = float(np.percentile(per_seg, 95))
    out["region_rmse_mv"] = {str(r): float(np.median(per_seg[regions == r])) for r in np.unique(regions)}
    duration_s = offsets[-1] / 1000.0
    true_rate, pred_rate = len(t_all) / duration_s, len(p_all) / duration_s
    out["true_rate_hz"], out["pred_rate_hz"] = true_rate, pred_rate
    out["rate_error"] = abs(pred_rate - true_rate) / true_rate if true_rate > 0 else float(pred_rate > 0)
    out["spike_count_r_100ms"] = counts_r(t_all, p_all, float(offsets[-1]))
    out["nan_or_divergence"] = bool(diverged)
    out["per_segment_rmse_mv"] = per_seg
    return out


def upward_crossings(trace: np.ndarray, level: float, initial: float | None = None) -> np.ndarray:
    """Upward crossings of ``level`` by a 1 ms trace, interpolated linearly (ms).

    Sample k is the value at the end of bin k (t = k + 1 ms); ``initial`` is the
    value before sample 0 (the model's rest output, as the NEURON runner takes
    it; None: sample 0 itself, so nothing crosses in bin 0). A crossing between
    samples k − 1 and k lies in [k, k + 1] ms, exactly as the NEURON runner times it.
    """
    v = np.concatenate([[trace[0] if initial is None else initial], trace]).astype(np.float64)
    up, frac = crossing_fractions(v[:-1], v[1:], level)
    return up + frac


#: Figures that :func:`bootstrap_intervals` gives intervals for.
BOOTSTRAP_FIGURES = ("rate_error", "spike_count_r_100ms", "spike_f1_5ms", "spike_f1", "soma_subthreshold_rmse_mv",
                     "compartment_rmse_mv_median")


def _per_simulation(true_v, pred_v, true_spikes, pred_spikes, soma_row: int, bin_ms: float) -> dict:
    """Per-simulation sums from which every figure of :data:`BOOTSTRAP_FIGURES` is rebuilt."""
    clip = SUBTHRESHOLD_CLIP_MV
    rows = {k: [] for k in ("n_true", "n_pred", "m2", "m5", "soma_sse", "seg_sse", "T", "counts_true",
                            "counts_pred")}
    for tv, pv, ts, ps in zip(true_v, pred_v, true_spikes, pred_spikes):
        pv = np.nan_to_num(np.asarray(pv, dtype=np.float64), nan=0.0, posinf=1e3, neginf=-1e3)
        tv = np.asarray(tv, dtype=np.float64)
        ts, ps = np.asarray(ts, dtype=np.float64), np.asarray(ps, dtype=np.float64)
        edges = np.arange(0.0, len(tv) + 1e-9, bin_ms)
        rows["n_true"].append(len(ts))
        rows["n_pred"].append(len(ps))
        rows["m2"].append(match_spikes(ts, ps, 2.0))
        rows["m5"].append(match_spikes(ts, ps, 5.0))
        rows["soma_sse"].append(np.sum((np.minimum(pv[:, soma_row], clip) - np.minimum(tv[:, soma_row], clip)) ** 2))
        rows["seg_sse"].append(np.sum((pv - tv) ** 2, axis=0))
        rows["T"].append(len(tv))
        rows["counts_true"].append(np.histogram(ts, edges)[0])
        rows["counts_pred"].append(np.histogram(ps, edges)[0])
    return rows


def _f1(m, n_true, n_pred):
    p = np.where(n_pred > 0, m / np.maximum(n_pred, 1), np.where(n_true == 0, 1.0, 0.0))
    r = np.where(n_true > 0, m / np.maximum(n_true, 1), np.where(n_pred == 0, 1.0, 0.0))
    return np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-300), 0.0)


def bootstrap_intervals(true_v: list, pred_v: list, true_spikes: list, pred_spikes: list, *, n_boot: int = 1000,
                        level: float = 0.95, seed: int = 0, soma_row: int = 0, bin_ms: float = 100.0) -> dict:
    """Percentile bootstrap intervals over simulations of the figures in :data:`BOOTSTRAP_FIGURES`.

    Parameters
    ----------
    true_v, pred_v : list of ndarray (T_i, N), mV
    true_spikes, pred_spikes : list of ndarray, ms from each simulation's start
    n_boot : int
        Resamples (each: as many simulations as given, drawn with replacement).
    level : float
        Coverage of the interval (0.95: the 2.5th to 97.5th percentile).
    seed : int
        Seed of the resampling (the intervals are reproducible).

    Returns
    -------
    dict
        ``{figure: [low, high]}`` plus ``n_simulations``, ``n_boot`` and
        ``level``. A figure undefined in a resample (a count r without
        spikes) is left out of that resample's percentile.
    """
    per = _per_simulation(true_v, pred_v, true_spikes, pred_spikes, soma_row, bin_ms)
    n = len(per["T"])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(n_boot, n))
    weight = np.stack([np.bincount(row, minlength=n) for row in picks]).astype(np.float64)  # (n_boot, sims)
    total = lambda key: weight @ np.asarray(per[key], dtype=np.float64)  # noqa: E731
    T = total("T")
    n_true, n_pred = total("n_true"), total("n_pred")
    figures = {
        "rate_error": np.where(n_true > 0, np.abs(n_pred - n_true) / np.maximum(n_true, 1), (n_pred > 0) * 1.0),
        "spike_f1_5ms": _f1(total("m5"), n_true, n_pred),
        "spike_f1": _f1(total("m2"), n_true, n_pred),
        "soma_subthreshold_rmse_mv": np.sqrt(total("soma_sse") / T),
        "compartment_rmse_mv_median": np.median(np.sqrt((weight @ np.stack(per["seg_sse"])) / T[:, None]), axis=1),
    }
    r = np.full(n_boot, np.nan)
    for b, row in enumerate(picks):  # Pearson r of the pooled 100 ms counts
        a = np.concatenate([per["counts_true"][i] for i in row])
        c = np.concatenate([per["counts_pred"][i] for i in row])
        if a.std() > 0 and c.std() > 0:
            r[b] = np.corrcoef(a, c)[0, 1]
    figures["spike_count_r_100ms"] = r
    tail = 100.0 * (1.0 - level) / 2.0
    out = {}
    for name in BOOTSTRAP_FIGURES:
        values = figures[name][np.isfinite(figures[name])]
        out[name] = ([float(np.percentile(values, tail)), float(np.percentile(values, 100.0 - tail))]
                     if values.size else None)
    out.update({"n_simulations": n, "n_boot": int(n_boot), "level": float(level)})
    return out
