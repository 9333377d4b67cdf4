"""Free-running evaluation of an exported surrogate on held-out simulations.

The model starts from rest (``init_state``) at each simulation's start and
advances with ``step`` only; no true voltage is ever fed in.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import SurrogateCellError
from ..fidelity import lfp_agreement
from ..lfp import NetworkLFP, laminar_probe, vmem_to_imem_for
from ..model import SurrogateModel
from .metrics import bootstrap_intervals, evaluate_traces, upward_crossings
from .spike_fit import Drive, choose_level, input_drive, spike_drive


def check_compatible(model: SurrogateModel, dataset) -> None:
    """Raise unless ``dataset`` was made on the model's cell with the model's channels."""
    if dataset.segments.digest() != model.cell_digest:
        raise SurrogateCellError(
            f"data set {dataset.path} is of another cell than model {model.path} "
            f"({len(dataset.segments)} vs {model.n_segments} segments, or other geometry); "
            "evaluate on data generated for the model's morphology")
    if len(dataset.channel_segment) != model.n_channels or not np.array_equal(dataset.channel_segment,
                                                                              model.channel_segment):
        raise SurrogateCellError(f"data set {dataset.path} has other input channels than model {model.path}")


@torch.no_grad()
def free_run(model: SurrogateModel, inputs: np.ndarray, batch_first: bool = True):
    """Run ``model`` from rest over ``inputs`` (B, T, C) with ``step``.

    Returns voltage (B, T, N) mV and spike probability (B, T).
    """
    x = torch.as_tensor(inputs, dtype=torch.float32)
    B, T, _ = x.shape
    state = model.init_state(B)
    vs = np.empty((B, T, model.n_segments), dtype=np.float32)
    ps = np.empty((B, T), dtype=np.float32)
    for t in range(T):
        v, p, state = model.step(x[:, t], state)
        vs[:, t] = v.numpy()
        ps[:, t] = p.numpy()
    return vs, ps


@torch.no_grad()
def rest_output(model: SurrogateModel):
    """Voltage (N,) mV and spike probability of one input-free step from rest: the values before
    the first bin, as the NEURON runner takes them."""
    v, p, _ = model.step(torch.zeros(1, model.n_channels), model.init_state(1))
    return v[0].numpy(), float(p[0])


def evaluate(model: SurrogateModel, dataset, sims=None, max_ms: int | None = None, n_boot: int = 1000) -> dict:
    """Free-running figures (see :mod:`surrogate_cell.training.metrics`) on ``sims`` of ``dataset``.

    ``bootstrap`` holds each headline figure's 95 % interval over ``n_boot``
    resamples of the simulations (:func:`~surrogate_cell.training.metrics.bootstrap_intervals`;
    0: none).
    """
    check_compatible(model, dataset)
    sims = list(range(dataset.n_sims)) if sims is None else list(sims)
    T = dataset.sim_ms if max_ms is None else min(max_ms, dataset.sim_ms)
    windows = [dataset.window(int(s), 0, T) for s in sims]
    x = np.stack([w[0] for w in windows])
    v_pred, prob = free_run(model, x)
    v_rest, p_rest = rest_output(model)
    true_v = [w[1] for w in windows]
    true_sp = [np.asarray(w[2]) for w in windows]
    if spike_rule(model) == "probability":
        pred_sp = [upward_crossings(p, model.spike_probability, p_rest) for p in prob]
    else:
        pred_sp = [upward_crossings(v[:, 0], model.spike_threshold_mV, v_rest[0]) for v in v_pred]
    out = evaluate_traces(true_v, list(v_pred), true_sp, pred_sp, list(prob), dataset.segments.region)
    out["simulated_s"] = len(sims) * T / 1000.0
    if n_boot > 0:
        out["bootstrap"] = bootstrap_intervals(true_v, list(v_pred), true_sp, pred_sp, n_boot=n_boot)
    out["_traces"] = {"true_v": true_v, "pred_v": v_pred, "prob": prob, "true_spikes": true_sp,
                      "pred_spikes": pred_sp}
    return out


#: The single-cell LFP probe of :func:`lfp_fidelity`: contacts along the apical axis (y, µm from the soma).
LFP_CONTACT_Y_UM = tuple(float(y) for y in np.arange(-200.0, 1201.0, 200.0))


def lfp_fidelity(result: dict, segments, *, x_um: float = 50.0, y_um=LFP_CONTACT_Y_UM, morphology=None) -> dict:
    """Single-cell LFP from the predicted voltages against the LFP from the true ones, same inputs.

    The cell sits unrotated with its soma at the origin; a laminar line probe
    runs parallel to its apical (y) axis at ``x_um``. Both LFPs are K @ V with
    K = M T (``surrogate_cell.lfp``; σ = 0.3 S/m) on the 1 ms voltages of
    :func:`evaluate`'s free runs, so the figure isolates the model's own
    spatial and temporal errors from a network's (no recurrent divergence).

    Parameters
    ----------
    result : dict
        From :func:`evaluate` (its ``_traces``).
    segments : SegmentTable
        The model's cell.
    x_um : float
        Lateral distance of the probe from the soma's centre (µm).
    y_um : sequence of float
        Contact heights (µm).
    morphology : str, Path, CellGeometry or None
        The morphology the segments come from (e.g. ``SurrogateModel.geometry``; None: the synthetic L5PC).

    Returns
    -------
    dict
        ``lfp_r_per_contact`` (Pearson r, pooled over the simulations),
        ``lfp_r_min``, ``lfp_rms_ratio`` (predicted over true, per contact),
        ``lfp_contact_y_um``, ``lfp_contact_x_um``.
    """
    y = np.asarray(y_um, dtype=np.float64)
    net = NetworkLFP(laminar_probe(x_um=float(x_um), z_um=0.0, y_um=y), segments,
                     vmem_to_imem_for(segments, morphology))
    net.add_cell((0.0, 0.0, 0.0))
    traces = result["_traces"]

    def lfp(voltages):  # (contacts, time) per simulation, concatenated in time
        return np.concatenate([net.compute(np.asarray(v, dtype=np.float64)[None]) for v in voltages], axis=1)

    agreement = lfp_agreement(lfp(traces["true_v"]).T, lfp(traces["pred_v"]).T)
    return {"lfp_r_per_contact": agreement["per_electrode_r"], "lfp_r_min": agreement["min_r"],
            "lfp_rms_ratio": agreement["rms_ratio"], "lfp_contact_y_um": y.tolist(), "lfp_contact_x_um": float(x_um)}


@torch.no_grad()
def choose_spike_threshold(model, x: torch.Tensor, true_spikes, levels=None, drive=None) -> dict:
    """Set the spike threshold of a training :class:`~surrogate_cell.training.model.Surrogate`.

    Runs the model free from rest over ``x`` (B, T, C) once, then its spike
    mechanism (which feeds on its own spikes) at each probability level, and
    keeps the level that maximises F1 at ±5 ms minus the relative rate error,
    so that the surrogate fires at the right rate with the best timing.
    ``true_spikes`` lists each row's spike times (ms). The model is left with
    the chosen threshold. ``drive``: the model's :meth:`drive` spike drive over ``x`` from rest,
    where the caller has it already.
    """
    d = spike_drive(model, input_drive(model, x) if drive is None else drive, true_spikes)
    return choose_level(model, d, levels)


def sims_drive(model, dataset, sims, chunk: int = 8) -> Drive:
    """:func:`~.spike_fit.spike_drive` over whole simulations ``sims`` of ``dataset``, read ``chunk`` at a time
    (a 5 s simulation's inputs are about 50 MB)."""
    drives, spikes = [], []
    for i in range(0, len(sims), chunk):
        windows = [dataset.window(int(s), 0, dataset.sim_ms) for s in sims[i:i + chunk]]
        drives.append(input_drive(model, torch.from_numpy(np.stack([w[0] for w in windows])).float(), chunk))
        spikes += [w[2] for w in windows]
    return spike_drive(model, torch.cat(drives), spikes)


def calibrate_spike_probability(model, dataset, sims, levels=None) -> dict:
    """:func:`choose_spike_threshold` on whole simulations ``sims`` of ``dataset``."""
    return choose_level(model, sims_drive(model, dataset, sims), levels)


def spike_rule(model: SurrogateModel) -> str:
    """How the model's spikes are read: ``'probability'`` or ``'threshold'`` (metadata ``spike_rule``)."""
    return model.metadata.get("spike_rule", "threshold")


def public_figures(result: dict) -> dict:
    """The JSON-able figures of :func:`evaluate` (drops traces and per-segment arrays; NaN → None)."""
    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        return None if isinstance(v, float) and v != v else v

    return {k: clean(v) for k, v in result.items() if not k.startswith("_") and k != "per_segment_rmse_mv"}


