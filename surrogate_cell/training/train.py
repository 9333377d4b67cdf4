"""Training of the streaming surrogates, resumable and deterministic.

The models take no true voltage as input: every training window is a
free-running rollout from the model's own state (after a burn-in without
loss), so what is trained is what runs as a cell.
"""
from __future__ import annotations

import csv
import json
import math
import os
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import SurrogateCellError
from .diversity import diversity
from .evaluate import choose_spike_threshold
from .lfp_tasks import task_matrix
from .metrics import SUBTHRESHOLD_CLIP_MV, soma_subthreshold_rmse_mv
from .model import ModelConfig, Surrogate, count_parameters
from .weights import load_matching, load_weights_file, read_weights

REGION_INDEX = {"soma": 0, "axon": 1, "basal": 2, "oblique": 3, "trunk": 4, "tuft": 5}


@dataclass
class TrainConfig:
    """How to train (times in ms of simulated data unless stated)."""

    window_ms: int = 600  # loss part plus burn-in
    burn_in_ms: int = 150  # windows from mid-simulation run this long without loss first, from the rest state
    start_fraction_at_rest: float = 0.25  # windows that start at a simulation's start (true rest)
    batch_size: int = 8
    lr: float = 3e-3
    weight_decay: float = 1e-5
    max_steps: int = 3000
    max_minutes: float = 30.0  # wall-clock budget
    eval_every: int = 100  # steps between validation, checkpoint and log row
    patience: int = 6  # validation checks without improvement before stopping
    lr_patience: int = 2  # validation checks without improvement before the learning rate is halved
    spike_loss_weight: float = 0.2
    spike_pos_weight: float = 10.0
    near_spike_weight: float = 3.0  # voltage-loss weight within ±5 ms of a somatic spike
    soma_loss_weight: float = 0.0  # extra weight of the soma's voltage error (1: as much as all segments together)
    # extra weight of the soma's sub-threshold error (both traces clipped at -55 mV, as soma_subthreshold_rmse_mv),
    # not raised near spikes: the full soma error is dominated by spike waveforms
    soma_subthreshold_loss_weight: float = 0.0
    spike_balance: float = 0.5  # share of windows chosen to contain a somatic spike
    lbtw_alpha: float | None = None  # loss-balanced task weighting exponent (None: off)
    lbtw_epoch_steps: int = 100  # L_t(0) is re-taken at the first batch of each such epoch
    val_fraction: float = 0.15
    seed: int = 0
    threads: int = 0  # 0: leave torch's default
    init_from: str | None = None  # weights (best.pt or checkpoint.pt of a run of the same model) to start from
    # a warm start: every weight of this run or model file whose name and shape match (another input layout)
    warm_start: str | None = None
    # exponential moving average of the weights (Polyak averaging; None: off). Validation, best.pt and the
    # exported model then use the average, which smooths the noise of small batches
    ema_decay: float | None = None
    # weight of the LFP tasks (extracellular potentials and dipole moment, training/lfp_tasks.py): their mean
    # squared error, each in units of its own spread, beside the voltage loss (1: as much as all segments)
    lfp_loss_weight: float = 0.0

    def to_dict(self):
        return asdict(self)


class WindowSampler:
    """Random training windows from a data set (deterministic given a numpy Generator)."""

    def __init__(self, dataset, sims, cfg: TrainConfig):
        self.ds, self.sims, self.cfg = dataset, np.asarray(sims), cfg
        self.T = dataset.sim_ms
        self.spikes = {int(s): np.asarray(dataset.spike_times(int(s))) for s in self.sims}

    def sample(self, rng: np.random.Generator):
        cfg, L = self.cfg, self.cfg.window_ms
        xs, vs, ss, starts = [], [], [], []
        for _ in range(cfg.batch_size):
            sim = int(rng.choice(self.sims))
            sp = self.spikes[sim]
            u = rng.random()
            if u < cfg.start_fraction_at_rest:
                start = 0
            elif u < cfg.start_fraction_at_rest + (1 - cfg.start_fraction_at_rest) * cfg.spike_balance and len(sp):
                t = float(rng.choice(sp))
                lo = int(max(0, t - L + 20))
                hi = int(min(self.T - L, max(lo, t - cfg.burn_in_ms - 20)))
                start = int(rng.integers(lo, hi + 1)) if hi >= lo else max(0, min(self.T - L, lo))
            else:
                start = int(rng.integers(0, self.T - L + 1))
            x, v, s = self.ds.window(sim, start, L)
            xs.append(x), vs.append(v), ss.append(s)
            starts.append(start)
        return (torch.from_numpy(np.stack(xs)).float(), torch.from_numpy(np.stack(vs)).float(), ss, starts)


def spike_targets(spike_lists, T: int) -> torch.Tensor:
    y = torch.zeros(len(spike_lists), T)
    for b, s in enumerate(spike_lists):
        k = np.floor(np.asarray(s)).astype(int)
        k = k[(k >= 0) & (k < T)]
        y[b, k] = 1.0
    return y


def near_spike_mask(y: torch.Tensor, half_width: int = 5) -> torch.Tensor:
    k = 2 * half_width + 1
    return torch.nn.functional.max_pool1d(y[:, None], k, stride=1, padding=half_width)[:, 0]


def voltage_sample(dataset, sims, max_sims: int = 20) -> np.ndarray:
    """Every 5th ms of the voltages (mV, (time, segments)) of the first ``max_sims`` of ``sims``."""
    acc = []
    for s in list(sims)[:max_sims]:
        _, v, _ = dataset.window(int(s), 0, dataset.sim_ms)
        acc.append(v[::5])
    return np.concatenate(acc)


def voltage_normalisation(dataset, sims, max_sims: int = 20):
    """Per-segment mean and std (mV) over some training simulations."""
    v = voltage_sample(dataset, sims, max_sims)
    return v.mean(0), np.maximum(v.std(0), 0.5)


def build_model(dataset, model_cfg: ModelConfig, v_mean, v_std) -> Surrogate:
    seg = dataset.segments
    ch_seg, kind = dataset.channel_segment, np.asarray(dataset.channel_kind)
    excitatory = np.isin(kind, ("ampa", "nmda"))
    n_exc = int(excitatory.sum())
    if not (excitatory[:n_exc].all() and not excitatory[n_exc:].any()):
        raise SurrogateCellError("data set channels must list all excitatory channels (AMPA, NMDA) before the "
                                 "inhibitory ones (GABA_A, GABA_B)")
    exc, inh = ch_seg[:n_exc], ch_seg[n_exc:]
    groups = np.array([REGION_INDEX.get(str(r), 0) for r in seg.region])
    return Surrogate(model_cfg, seg.mid_um[exc], seg.mid_um[inh], groups, v_mean, v_std,
                     local_rows=local_rows(seg, exc, inh) if model_cfg.local_path else None)


def local_rows(segments, exc_rows: np.ndarray, inh_rows: np.ndarray):
    """``(exc_rows, inh_rows, row_section)`` for the local path: sections that carry synapses get an index."""
    with_syn = np.zeros(len(segments), bool)
    with_syn[exc_rows] = with_syn[inh_rows] = True
    names = sorted(set(segments.section[with_syn].tolist()))
    index = {n: i for i, n in enumerate(names)}
    row_section = np.array([index.get(str(n), -1) for n in segments.section], dtype=np.int64)
    return np.asarray(exc_rows, np.int64), np.asarray(inh_rows, np.int64), row_section


def split_sims(n_sims: int, val_fraction: float):
    n_val = max(1, int(round(n_sims * val_fraction))) if n_sims > 1 else 0
    sims = np.arange(n_sims)
    return sims[: n_sims - n_val], sims[n_sims - n_val:]


def _atomic_torch_save(obj, path: Path):
    tmp = path.with_name(path.name + ".part")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(dataset, out_dir, model_cfg: ModelConfig, cfg: TrainConfig, progress: bool = True,
          stop_after_steps: int | None = None) -> dict:
    """Train (or resume) a surrogate on ``dataset`` into ``out_dir``.

    Writes ``config.json``, ``checkpoint.pt`` (every ``eval_every`` steps; a
    killed run resumes from it with nothing lost), ``best.pt`` (the best
    validation state), and ``log.csv``.

    Returns
    -------
    dict
        ``{'model': Surrogate (best), 'best_val': float, 'steps': int, 'stopped': str}``
    """
    from tqdm import tqdm  # progress bars: only for long runs

    if not 0 <= cfg.burn_in_ms < cfg.window_ms <= dataset.sim_ms:
        raise SurrogateCellError(f"training windows of {cfg.window_ms} ms with a {cfg.burn_in_ms} ms burn-in do not fit "
                                 f"simulations of {dataset.sim_ms} ms; choose burn-in < window <= {dataset.sim_ms} ms "
                                 "(--window-ms)")
    if cfg.ema_decay is not None and not 0.0 < cfg.ema_decay < 1.0:
        raise SurrogateCellError(f"the weight average's decay must lie in (0, 1), got {cfg.ema_decay} (--ema-decay)")
    out = Path(out_dir)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    run_spec = {"model": model_cfg.to_dict(), "train": cfg.to_dict(), "data_digest": dataset.digest}
    spec_path = out / "config.json"
    if spec_path.exists():
        old = json.loads(spec_path.read_text())
        if json.loads(json.dumps(run_spec)) != old:
            raise SurrogateCellError(f"{out} holds a training run with other settings or data; "
                                     "choose another --out or delete that folder")

    train_sims, val_sims = split_sims(dataset.n_sims, cfg.val_fraction)
    v_mean, v_std = voltage_normalisation(dataset, train_sims)
    lfp_w = None
    if cfg.lfp_loss_weight:
        lfp_w = torch.from_numpy(task_matrix(dataset.segments, dataset.geometry, voltage_sample(dataset, train_sims),
                                             v_std)).float()
    torch.manual_seed(cfg.seed)
    model = build_model(dataset, model_cfg, v_mean, v_std)
    ckpt = out / "checkpoint.pt"
    if cfg.init_from is not None and not ckpt.exists():
        load_weights_file(model, cfg.init_from)
    if cfg.warm_start is not None and not ckpt.exists():
        copied, fresh = load_matching(model, read_weights(cfg.warm_start, "--warm-start"))
        if progress:
            print(f"warm start from {cfg.warm_start}: {len(copied)} tensors copied; new: {', '.join(fresh)}")
    if not spec_path.exists():
        out.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(json.dumps(run_spec, indent=1))
    ema = WeightAverage(model, cfg.ema_decay) if cfg.ema_decay else None
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                           weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=cfg.lr_patience)
    rng = np.random.default_rng(cfg.seed)
    state = {"step": 0, "best_val": math.inf, "bad_checks": 0, "lbtw_ref": None, "elapsed_s": 0.0}
    if ckpt.exists():
        saved = torch.load(ckpt, weights_only=False)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        sched.load_state_dict(saved["scheduler"])
        rng.bit_generator.state = saved["rng"]
        torch.set_rng_state(saved["torch_rng"])
        state = saved["state"]
        if ema is not None:
            ema.load_state_dict(saved["ema"])
    log_path = out / "log.csv"
    _truncate_log(log_path, state["step"])
    sampler = WindowSampler(dataset, train_sims, cfg)
    val_batch = validation_batch(dataset, val_sims if len(val_sims) else train_sims, cfg)
    n_tasks = model.n_tasks
    started = time.time() - state["elapsed_s"]
    bar = tqdm(total=cfg.max_steps, initial=state["step"], desc=f"train {model_cfg.arch}", disable=not progress,
               unit="batch")
    stopped = "max_steps"
    steps_this_call = 0
    while state["step"] < cfg.max_steps:
        model.train()
        x, v, spikes, starts = sampler.sample(rng)
        vz = (v - model.v_mean) / model.v_std
        y = spike_targets(spikes, x.shape[1])
        # spike history teacher-forced with the true spikes; everything else free-running
        pred_v, logit, _, _ = model(x, model.init_state(x.shape[0]), y)
        # windows from mid-simulation burn in from the rest state; those starting at rest count from t = 0
        counted = torch.ones_like(y)
        counted[torch.as_tensor(starts) > 0, : cfg.burn_in_ms] = 0.0
        w_time = (1.0 + (cfg.near_spike_weight - 1.0) * near_spike_mask(y)) * counted
        err = (pred_v - vz) ** 2 * w_time[:, :, None]
        task_loss = err.sum(dim=(0, 1)) / counted.sum()  # (N,)
        if cfg.lbtw_alpha is not None:
            if state["step"] % cfg.lbtw_epoch_steps == 0 or state["lbtw_ref"] is None:
                state["lbtw_ref"] = task_loss.detach().clone()
            weights = (task_loss.detach() / state["lbtw_ref"]).clamp(min=1e-6) ** cfg.lbtw_alpha
            weights = weights * n_tasks / weights.sum()
            v_loss = (weights * task_loss).mean()
        else:
            v_loss = task_loss.mean()
        if cfg.soma_loss_weight:
            v_loss = v_loss + cfg.soma_loss_weight * task_loss[model.soma_index]
        if cfg.soma_subthreshold_loss_weight:
            sub = soma_subthreshold_sq_err(model, pred_v, vz)
            v_loss = v_loss + cfg.soma_subthreshold_loss_weight * (sub * counted).sum() / counted.sum()
        if lfp_w is not None:
            v_loss = v_loss + cfg.lfp_loss_weight * lfp_sq_err(pred_v, vz, lfp_w, counted)
        s_loss = (torch.nn.functional.binary_cross_entropy_with_logits(
            logit, y, pos_weight=torch.tensor(cfg.spike_pos_weight), reduction="none") * counted).sum() / counted.sum()
        loss = v_loss + cfg.spike_loss_weight * s_loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if ema is not None:
            ema.update(model)
        state["step"] += 1
        steps_this_call += 1
        bar.update()
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if state["step"] % cfg.eval_every == 0 or state["step"] == cfg.max_steps:
            with (ema.applied(model) if ema is not None else nullcontext()):
                val = validate(model, val_batch, cfg, lfp_w)
                improved = val["val_loss"] < state["best_val"]
                if improved:
                    _atomic_torch_save(model.state_dict(), out / "best.pt")
            state["elapsed_s"] = time.time() - started
            sched.step(val["val_loss"])
            if improved:
                state["best_val"], state["bad_checks"] = val["val_loss"], 0
            else:
                state["bad_checks"] += 1
            row = {"step": state["step"], "elapsed_s": round(state["elapsed_s"], 2), "train_loss": loss.item(),
                   "train_voltage_loss": v_loss.item(), "train_spike_loss": s_loss.item(),
                   "lr": opt.param_groups[0]["lr"], **val}
            _append_log(log_path, row)
            _atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                                "scheduler": sched.state_dict(),
                                "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                                "state": state, "ema": ema.state_dict() if ema is not None else None}, ckpt)
            if state["bad_checks"] >= cfg.patience:
                stopped = "early_stopping"
                break
            if state["elapsed_s"] > cfg.max_minutes * 60:
                stopped = "time_budget"
                break
        if stop_after_steps is not None and steps_this_call >= stop_after_steps:
            stopped = "interrupted"
            break
    bar.close()
    if (out / "best.pt").exists():
        model.load_state_dict(torch.load(out / "best.pt", weights_only=True))
    return {"model": model, "best_val": state["best_val"], "steps": state["step"], "stopped": stopped,
            "parameters": count_parameters(model), "train_sims": train_sims, "val_sims": val_sims}


class WeightAverage:
    """Exponential moving average of a model's parameters.

    ``decay`` is the weight of the old average per step, so the average spans
    about ``1 / (1 - decay)`` steps. It starts from the initial weights, which
    is what a fine-tune wants (from scratch, they fade within a few such
    spans). Buffers are not averaged: the spike level that validation chooses
    for the averaged weights stays in the model.
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.shadow = {k: p.detach().clone() for k, p in model.named_parameters()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        for k, p in model.named_parameters():
            self.shadow[k].mul_(self.decay).add_(p.detach(), alpha=1.0 - self.decay)

    @contextmanager
    def applied(self, model: torch.nn.Module):
        """Within the block the model holds the averaged parameters; its own come back after."""
        live = {k: p.detach().clone() for k, p in model.named_parameters()}
        model.load_state_dict(self.shadow, strict=False)
        try:
            yield model
        finally:
            model.load_state_dict(live, strict=False)

    def state_dict(self) -> dict:
        return {"shadow": self.shadow}  # the decay comes from the run's config, which a resume must match

    def load_state_dict(self, saved: dict) -> None:
        self.shadow = saved["shadow"]


def validation_batch(dataset, sims, cfg: TrainConfig):
    """Fixed validation windows: each validation simulation from its start (rest)."""
    L = min(dataset.sim_ms, 2000)
    xs, vs, ss = [], [], []
    for s in list(sims)[:8]:
        x, v, sp = dataset.window(int(s), 0, L)
        xs.append(x), vs.append(v), ss.append(sp)
    return torch.from_numpy(np.stack(xs)).float(), torch.from_numpy(np.stack(vs)).float(), ss


def soma_subthreshold_sq_err(model: Surrogate, pred_z: torch.Tensor, true_z: torch.Tensor) -> torch.Tensor:
    """Squared soma error (z units², (B, T)) with both traces clipped at ``SUBTHRESHOLD_CLIP_MV`` from above."""
    soma = model.soma_index
    clip = (SUBTHRESHOLD_CLIP_MV - model.v_mean[soma]) / model.v_std[soma]
    return (torch.clamp(pred_z[..., soma], max=clip) - torch.clamp(true_z[..., soma], max=clip)) ** 2


def lfp_sq_err(pred_z: torch.Tensor, true_z: torch.Tensor, lfp_w: torch.Tensor, counted: torch.Tensor):
    """Mean squared error of the LFP tasks (each in units of its spread) over the counted steps."""
    e = ((pred_z - true_z) @ lfp_w.T) ** 2  # (B, T, tasks)
    return (e.mean(dim=2) * counted).sum() / counted.sum()


@torch.no_grad()
def validate(model: Surrogate, batch, cfg: TrainConfig, lfp_w: torch.Tensor | None = None) -> dict:
    """Free-running validation from rest with the spike threshold re-chosen on the batch.

    ``val_loss`` = z-scored voltage MSE + (1 − spike F1 at ±5 ms) + relative
    rate error: voltage, timing and rate all count for the best model; with
    ``lfp_w`` (the LFP tasks' read-out) also their weighted error.
    """
    model.eval()
    x, v, spikes = batch
    state = model.init_state(x.shape[0])
    parts = model.drive(x, state)  # the GRU runs once for the threshold choice and the figures
    calib = choose_spike_threshold(model, x, spikes, drive=parts[1])
    pred_v, logit, experts, _ = model.finish(*parts, state)
    vz = (v - model.v_mean) / model.v_std
    sq_err = (pred_v - vz) ** 2
    v_loss = float(sq_err.mean())
    soma = model.soma_index
    soma_loss = float(sq_err[..., soma].mean())
    pred_mV = model.to_mV(pred_v)
    sub_rmse_mv = soma_subthreshold_rmse_mv(pred_mV[..., soma].numpy(), v[..., soma].numpy())
    sub_loss = (sub_rmse_mv / float(model.v_std[soma])) ** 2  # the training term's mean, in z units²
    lfp_loss = float(lfp_sq_err(pred_v, vz, lfp_w, torch.ones(vz.shape[:2]))) if lfp_w is not None else 0.0
    out = {"val_loss": v_loss + cfg.soma_loss_weight * soma_loss + cfg.soma_subthreshold_loss_weight * sub_loss
           + cfg.lfp_loss_weight * lfp_loss + (1.0 - calib["f1_5ms"]) + calib["rate_error"],
           "val_lfp_loss": lfp_loss,
           "val_voltage_loss": v_loss,
           "val_soma_subthreshold_rmse_mv": sub_rmse_mv,
           "val_rmse_mv": float(((pred_mV - v) ** 2).mean().sqrt()),
           "val_spike_f1_5ms": calib["f1_5ms"], "val_rate_error": calib["rate_error"],
           "val_spike_level": calib["level"]}
    if model.n_experts > 1:
        out.update({f"diversity_{k}": val for k, val in diversity(experts[:, ::10]).items()})
    return out


def _append_log(path: Path, row: dict):
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def _truncate_log(path: Path, step: int):
    """Drop log rows written after the checkpoint a resumed run starts from."""
    if not path.exists():
        return
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    keep = [r for r in rows if int(r["step"]) <= step]
    if len(keep) != len(rows):
        with open(path, "w", newline="") as fh:
            if keep:
                writer = csv.DictWriter(fh, fieldnames=list(keep[0]))
                writer.writeheader()
                writer.writerows(keep)
