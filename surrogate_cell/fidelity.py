"""Agreement between two runs of one network: detailed cells against their surrogates.

Plain functions on spike lists and LFP arrays, used by the examples and the
demo to report network fidelity (firing rates per cell and per population,
LFP per electrode).
"""
from __future__ import annotations

import numpy as np


def cell_rates_hz(times_ms, gids, cell_gids, duration_ms: float, skip_ms: float = 0.0) -> np.ndarray:
    """Firing rate (Hz) of each gid in ``cell_gids`` over ``[skip_ms, duration_ms)``."""
    times_ms, gids = np.asarray(times_ms, float), np.asarray(gids)
    cell_gids = np.asarray(cell_gids)
    if duration_ms <= skip_ms:
        raise ValueError(f"duration_ms ({duration_ms}) must exceed skip_ms ({skip_ms})")
    keep = (times_ms >= skip_ms) & (times_ms < duration_ms)
    order = {int(g): i for i, g in enumerate(cell_gids)}
    counts = np.zeros(len(cell_gids))
    for g in gids[keep]:
        i = order.get(int(g))
        if i is not None:
            counts[i] += 1
    return counts / ((duration_ms - skip_ms) / 1000.0)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def population_counts(times_ms, gids, cell_gids, duration_ms: float, skip_ms: float, bin_ms: float) -> np.ndarray:
    """Spikes of the cells ``cell_gids`` in each ``bin_ms`` bin of ``[skip_ms, duration_ms)``."""
    times_ms, gids = np.asarray(times_ms, float), np.asarray(gids)
    keep = np.isin(gids, np.asarray(cell_gids)) & (times_ms >= skip_ms) & (times_ms < duration_ms)
    edges = np.arange(skip_ms, duration_ms + 1e-9, bin_ms)
    return np.histogram(times_ms[keep], bins=edges)[0].astype(float)


def rate_agreement(reference: tuple, candidate: tuple, cell_gids, duration_ms: float,
                   skip_ms: float = 0.0, bin_ms: float = 20.0) -> dict:
    """How well ``candidate`` spikes reproduce ``reference`` spikes, cell by cell.

    Parameters
    ----------
    reference, candidate : (times_ms, gids)
        Spike times (ms) and gids of the two runs (e.g. detailed and surrogate).
    cell_gids : sequence of int
        The cells compared (e.g. one population).
    duration_ms, skip_ms : float
        Rates are counted over ``[skip_ms, duration_ms)`` (skip the start-up transient).
    bin_ms : float
        Bin of the population rate's time course (ms).

    Returns
    -------
    dict
        ``population_rate_hz`` of each run, ``population_rate_error`` (relative,
        ``|cand − ref| / ref``), ``per_cell_rate_r`` (Pearson r of the per-cell
        rates; NaN if either run has the same rate in every cell),
        ``population_rate_r_bins`` (Pearson r of the population's spike counts
        in ``bin_ms`` bins) with ``bin_ms``, ``cells``.
    """
    ref = cell_rates_hz(*reference, cell_gids, duration_ms, skip_ms)
    cand = cell_rates_hz(*candidate, cell_gids, duration_ms, skip_ms)
    ref_pop, cand_pop = float(ref.mean()), float(cand.mean())
    err = abs(cand_pop - ref_pop) / ref_pop if ref_pop > 0 else (0.0 if cand_pop == 0 else float("inf"))
    binned = [population_counts(*run, cell_gids, duration_ms, skip_ms, bin_ms) for run in (reference, candidate)]
    return {"population_rate_hz_reference": ref_pop, "population_rate_hz_candidate": cand_pop,
            "population_rate_error": float(err), "per_cell_rate_r": _pearson(ref, cand),
            "population_rate_r_bins": _pearson(*binned), "bin_ms": float(bin_ms), "cells": len(ref)}


def lowpass(signal: np.ndarray, step_ms: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase ideal low-pass along axis 0: every Fourier component above ``cutoff_hz`` removed."""
    x = np.asarray(signal, float)
    spectrum = np.fft.rfft(x, axis=0)
    freqs_hz = np.fft.rfftfreq(x.shape[0], d=step_ms / 1000.0)
    spectrum[freqs_hz > cutoff_hz] = 0.0
    return np.fft.irfft(spectrum, n=x.shape[0], axis=0)


def lfp_agreement(reference: np.ndarray, candidate: np.ndarray, skip_samples: int = 0, *,
                  step_ms: float | None = None, lowpass_hz: float = 100.0) -> dict:
    """Pearson r of two LFP recordings, electrode by electrode.

    Parameters
    ----------
    reference, candidate : ndarray (time, electrodes)
        Same sampling and electrodes (mV).
    skip_samples : int
        Leading samples left out (start-up transient).
    step_ms : float or None
        Sampling step (ms); given, the r of both signals low-passed at
        ``lowpass_hz`` (:func:`lowpass`) is added.

    Returns
    -------
    dict
        ``per_electrode_r`` (list), ``min_r``, ``rms_ratio`` per electrode
        (candidate RMS over reference RMS, of the mean-removed signals); with
        ``step_ms``, ``per_electrode_r_lowpass``, ``min_r_lowpass`` and ``lowpass_hz``.
    """
    ref, cand = np.asarray(reference, float), np.asarray(candidate, float)
    if ref.shape != cand.shape or ref.ndim != 2:
        raise ValueError(f"LFP arrays must both be (time, electrodes) of one shape, got {ref.shape} and {cand.shape}")
    ref, cand = ref[skip_samples:], cand[skip_samples:]
    rs = [_pearson(ref[:, j], cand[:, j]) for j in range(ref.shape[1])]
    rms = [float((cand[:, j] - cand[:, j].mean()).std() / max((ref[:, j] - ref[:, j].mean()).std(), 1e-300))
           for j in range(ref.shape[1])]
    out = {"per_electrode_r": rs, "min_r": float(np.nanmin(rs)) if rs else float("nan"), "rms_ratio": rms}
    if step_ms is not None:
        lr, lc = lowpass(ref, step_ms, lowpass_hz), lowpass(cand, step_ms, lowpass_hz)
        low = [_pearson(lr[:, j], lc[:, j]) for j in range(ref.shape[1])]
        out.update({"per_electrode_r_lowpass": low, "min_r_lowpass": float(np.nanmin(low)) if low else float("nan"),
                    "lowpass_hz": float(lowpass_hz)})
    return out
