"""A least-squares read-out of the somatic voltage, fitted after training (``surrogate-cell fit-soma``).

Why: the soma is one task of 663, yet its sub-threshold voltage is what users
compare first. Gradient training spreads the GRU's capacity over all segments;
a ridge regression of the soma's remaining error on what the model already
computes, run free from rest on the training simulations, corrects it at
almost no cost per step (one dot product over the state).

Inputs of the read-out, per 1 ms bin (all of the model's own making, none of
the true voltage): the GRU's hidden units, the expert outputs, the grouped
input traces, the local path's traces summed per section and trace kind, the
own-spike history traces and the last ``spike_kernel_ms`` own spikes, and a
constant. Its target is the soma's sub-threshold error (truth − prediction,
both clipped at −55 mV as in :func:`~.metrics.soma_subthreshold_rmse_mv`),
in the model's z units.

The correction is added to the soma's *output* voltage only: the spike drive
does not see it, so spike times, rates and every other segment are unchanged.
Its input-driven part goes into ``soma_fit_w``, ``soma_fit_slots`` and
``soma_fit_b``; its spike-dependent part into the soma's rows of
``spike_kernel`` and ``w_hist_v``.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import SurrogateCellError
from .metrics import SUBTHRESHOLD_CLIP_MV

RIDGES = (0.1, 1.0, 10.0, 100.0, 1000.0)


@torch.no_grad()
def design(model, x: torch.Tensor) -> tuple:
    """Free-running read-out inputs over windows from rest.

    Parameters
    ----------
    model : Surrogate (training form), without a fitted soma read-out
    x : Tensor (B, T, C), input per channel and 1 ms bin

    Returns
    -------
    X : ndarray (B·T, n_design), float64
    soma_mV : ndarray (B·T,), the model's somatic voltage (mV)
    """
    model.eval()
    B, T = x.shape[0], x.shape[1]
    state = model.init_state(B)
    v, drive, e, core, fit_core, fit_local = model.drive_parts(x, state)
    _, _, hist0, last0, prev0 = model._split(state)
    spikes, _, hist, _, _ = model.spike_loop(drive, hist0, prev0)
    # the model's own spikes fed back as given: the same as its free run, without a second spike loop
    out, _, _, _ = model.finish(v, drive, e, core, state, spikes)
    soma_mV = model.to_mV(out)[..., model.soma_index]
    lags = model.spike_window(spikes, last0)[0].flip(-1)  # lags[b, t, k]: own spike at bin t − k
    parts = [fit_core]
    if model.local_path:
        parts.append(model.local.slot_sums(fit_local))
    parts += [hist, lags, torch.ones(B, T, 1)]
    X = torch.cat(parts, dim=-1).reshape(B * T, -1)
    return X.double().numpy(), soma_mV.reshape(-1).numpy()


def _target(model, soma_mV: np.ndarray, true_mV: np.ndarray) -> np.ndarray:
    clip = SUBTHRESHOLD_CLIP_MV
    std = float(model.v_std[model.soma_index])
    return (np.minimum(true_mV, clip) - np.minimum(soma_mV, clip)) / std


def normal_equations(model, dataset, sims, chunk: int = 8, progress=None) -> tuple:
    """X'X, X'y, y'y and the bin count of the read-out over whole simulations ``sims`` of ``dataset``."""
    A = b = None
    yy, n = 0.0, 0
    for i in range(0, len(sims), chunk):
        wins = [dataset.window(int(s), 0, dataset.sim_ms) for s in sims[i:i + chunk]]
        X, soma = design(model, torch.from_numpy(np.stack([w[0] for w in wins])).float())
        y = _target(model, soma, np.concatenate([w[1][:, model.soma_index] for w in wins]))
        if A is None:
            A, b = np.zeros((X.shape[1],) * 2), np.zeros(X.shape[1])
        A += X.T @ X
        b += X.T @ y
        yy += float(y @ y)
        n += len(y)
        if progress is not None:
            progress.update(len(wins))
    return A, b, yy, n


def solve(A: np.ndarray, b: np.ndarray, ridge: float) -> np.ndarray:
    """Ridge solution of (A + ridge·I) w = b, the constant column unpenalised."""
    penalty = ridge * np.eye(len(b))
    penalty[-1, -1] = 0.0
    return np.linalg.solve(A + penalty, b)


def install(model, w: np.ndarray) -> None:
    """Put the read-out ``w`` (z units per design column) into ``model``'s parameters; switch it on."""
    n_core = model.n_fit_core
    K, H = model.kernel_len, model.n_hist
    w = torch.as_tensor(w, dtype=torch.float32)
    soma = model.soma_index
    with torch.no_grad():
        model.soma_fit_w.copy_(w[:n_core])
        i = n_core
        if model.local_path:
            model.soma_fit_slots.copy_(w[i:i + model.local.n_slots])
            i += model.local.n_slots
        model.w_hist_v[soma] += w[i:i + H]
        model.spike_kernel[soma] += w[i + H:i + H + K]
        model.soma_fit_b.fill_(float(w[i + H + K]))
    model.soma_fit = True


def fit_soma(model, dataset, train_sims, val_sims, ridges=RIDGES, progress: bool = True) -> dict:
    """Fit the soma read-out of ``model`` (training form) and switch it on.

    The ridge is chosen by fitting on ``train_sims`` and scoring on
    ``val_sims``; the installed read-out is then fitted with that ridge on
    both (all of the model's training data).

    Returns
    -------
    dict
        ``ridge``; the soma's sub-threshold RMSE (mV) on the validation
        simulations before (``val_before_mv``) and after a fit on the training
        simulations only (``val_after_mv``, out of sample); on all simulations
        before and after the installed fit (``all_before_mv``, ``all_after_mv``,
        in sample). Figures from the normal equations, ignoring the re-clipping
        of corrected values above −55 mV.
    """
    from tqdm import tqdm  # progress bars: only for long runs

    if model.soma_fit:
        raise SurrogateCellError("this model already has a fitted soma read-out; fit the model it was made from")
    if len(val_sims) == 0:
        raise SurrogateCellError("fit-soma needs validation simulations to choose the ridge; the data set has none")
    bar = tqdm(total=len(train_sims) + len(val_sims), desc="fit-soma: free runs", unit="sim", disable=not progress)
    train = normal_equations(model, dataset, train_sims, progress=bar)
    val = normal_equations(model, dataset, val_sims, progress=bar)
    bar.close()
    both = tuple(t + v for t, v in zip(train, val))
    std = float(model.v_std[model.soma_index])

    def rmse(w, eq):  # of the residual y − Xw, mV
        A, b, yy, n = eq
        return float(np.sqrt(max(yy - 2 * w @ b + w @ A @ w, 0.0) / n) * std)

    scores = {float(r): rmse(solve(train[0], train[1], r), val) for r in ridges}
    ridge = min(scores, key=scores.get)
    w = solve(both[0], both[1], ridge)
    install(model, w)
    zero = np.zeros(len(w))
    return {"ridge": ridge, "val_rmse_mv_by_ridge": scores, "val_before_mv": rmse(zero, val),
            "val_after_mv": scores[ridge], "all_before_mv": rmse(zero, both), "all_after_mv": rmse(w, both),
            "bins": both[3], "design_columns": len(w)}
