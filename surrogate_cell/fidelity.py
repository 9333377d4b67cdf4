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


def rate_agreement(reference: tuple, candidate: tuple, cell_gids, duration_ms: float,
                   skip_ms: float = 0.0) -> dict:
    """How well ``candidate`` spikes reproduce ``reference`` spikes, cell by cell.

    Parameters
    ----------
    reference, candidate : (times_ms, gids)
        Spike times (ms) and gids of the two runs (e.g. detailed and surrogate).
    cell_gids : sequence of int
        The cells compared (e.g. one population).
    duration_ms, skip_ms : float
        Rates are counted over ``[skip_ms, duration_ms)`` (skip the start-up transient).

    Returns
    -------
    dict
        ``population_rate_hz`` of each run, ``population_rate_error`` (relative,
        ``|cand − ref| / ref``), ``per_cell_rate_r`` (Pearson r of the per-cell
        rates; NaN if either run has the same rate in every cell), ``cells``.
    """
    ref = cell_rates_hz(*reference, cell_gids, duration_ms, skip_ms)
    cand = cell_rates_hz(*candidate, cell_gids, duration_ms, skip_ms)
    ref_pop, cand_pop = float(ref.mean()), float(cand.mean())
    err = abs(cand_pop - ref_pop) / ref_pop if ref_pop > 0 else (0.0 if cand_pop == 0 else float("inf"))
    return {"population_rate_hz_reference": ref_pop, "population_rate_hz_candidate": cand_pop,
            "population_rate_error": float(err), "per_cell_rate_r": _pearson(ref, cand), "cells": len(ref)}


def lfp_agreement(reference: np.ndarray, candidate: np.ndarray, skip_samples: int = 0) -> dict:
    """Pearson r of two LFP recordings, electrode by electrode.

    Parameters
    ----------
    reference, candidate : ndarray (time, electrodes)
        Same sampling and electrodes (mV).
    skip_samples : int
        Leading samples left out (start-up transient).

    Returns
    -------
    dict
        ``per_electrode_r`` (list), ``min_r``, ``rms_ratio`` per electrode
        (candidate RMS over reference RMS, of the mean-removed signals).
    """
    ref, cand = np.asarray(reference, float), np.asarray(candidate, float)
    if ref.shape != cand.shape or ref.ndim != 2:
        raise ValueError(f"LFP arrays must both be (time, electrodes) of one shape, got {ref.shape} and {cand.shape}")
    ref, cand = ref[skip_samples:], cand[skip_samples:]
    rs = [_pearson(ref[:, j], cand[:, j]) for j in range(ref.shape[1])]
    rms = [float((cand[:, j] - cand[:, j].mean()).std() / max((ref[:, j] - ref[:, j].mean()).std(), 1e-300))
           for j in range(ref.shape[1])]
    return {"per_electrode_r": rs, "min_r": float(np.nanmin(rs)) if rs else float("nan"), "rms_ratio": rms}
