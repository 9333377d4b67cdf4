"""Train MH, MMoE and MMoEEx (each with and without LBTW) and the paper's
published configuration on the same data and budget; write a Markdown table."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..model import load
from ..plots.models import plot_region_swarm, plot_training_log
from .evaluate import evaluate, public_figures
from .export import data_fields, export_model
from .metrics import evaluate_traces, upward_crossings
from .model import ModelConfig, count_parameters
from .reference import PaperTCN
from .train import TrainConfig, split_sims, train, validate, validation_batch, voltage_normalisation


def step_cost_ms(step_fn, batch: int, repeats: int = 5) -> float:
    """Median wall time (ms) of one call of ``step_fn(batch)`` after a warm-up call."""
    step_fn(batch)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step_fn(batch)
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def streaming_step_fn(model):
    n_in = model.n_exc + model.n_inh

    @torch.no_grad()
    def fn(batch):
        model.step(torch.zeros(batch, n_in), model.init_state(batch))

    return fn


def train_reference(dataset, out: Path, cfg: TrainConfig, minutes: float, window: int = 100,
                    progress: bool = True) -> dict:
    """Teacher-forced training of :class:`PaperTCN` (the paper's protocol)."""
    from tqdm import tqdm  # progress bars: only for long runs

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train_sims, val_sims = split_sims(dataset.n_sims, cfg.val_fraction)
    mean, std = voltage_normalisation(dataset, train_sims)
    mean_t, std_t = torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32)
    model = PaperTCN(len(dataset.channel_segment), len(dataset.segments), window=window)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def batch(sims, n):
        xs, vs, ys = [], [], []
        for _ in range(n):
            s = int(rng.choice(sims))
            t = int(rng.integers(window, dataset.sim_ms - 1))
            x, v, _ = dataset.window(s, t - window, window + 1)
            xs.append(x[:window]), vs.append(v[:window]), ys.append(v[window])
        z = lambda a: (torch.from_numpy(np.stack(a)).float() - mean_t) / std_t
        return torch.from_numpy(np.stack(xs)).float(), z(vs), z(ys)

    t0, step, val_loss = time.time(), 0, float("nan")
    bar = tqdm(desc="train paper TCN (teacher-forced)", disable=not progress, unit="batch")
    while time.time() - t0 < minutes * 60:
        x, v, y = batch(train_sims, 16)
        loss = ((model(x, v) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        bar.update()
    bar.close()
    with torch.no_grad():
        x, v, y = batch(val_sims if len(val_sims) else train_sims, 64)
        val_loss = float(((model(x, v) - y) ** 2).mean())
    return {"model": model, "val_loss": val_loss, "steps": step, "mean": mean_t, "std": std_t,
            "val_sims": val_sims}


@torch.no_grad()
def free_run_reference(ref: dict, dataset, sims, length_ms: int, window: int = 100):
    """Autoregressive rollout of ``sims`` together: the window holds the model's own past predictions
    (from the true voltage at t = 0, as at rest).

    Returns lists (one entry per simulation) of true voltages (T, N), predicted voltages (T, N) mV and
    true spike times (ms).
    """
    model, mean, std = ref["model"], ref["mean"], ref["std"]
    windows = [dataset.window(int(s), 0, length_ms) for s in sims]
    x = torch.from_numpy(np.stack([w[0] for w in windows])).float()  # (B, T, C)
    v0 = torch.from_numpy(np.stack([w[1][0] for w in windows])).float()  # (B, N)
    past = ((v0 - mean) / std)[:, None].repeat(1, window, 1)
    xin = torch.cat([torch.zeros(len(sims), window, x.shape[2]), x], dim=1)
    preds = torch.empty(len(sims), length_ms, v0.shape[1])
    for t in range(length_ms):
        nxt = model(xin[:, t + 1: t + 1 + window], past)
        preds[:, t] = nxt
        past = torch.cat([past[:, 1:], nxt[:, None]], dim=1)
    v_pred = (preds * std + mean).numpy()
    return [w[1] for w in windows], list(v_pred), [np.asarray(w[2]) for w in windows]


def compare(dataset, out_dir, minutes_each: float = 5.0, steps_each: int = 2000, lbtw_alpha: float = 0.5,
            seed: int = 0, ref_rollout_ms: int | None = None, progress: bool = True, base: ModelConfig | None = None,
            train_cfg: TrainConfig | None = None) -> dict:
    """Run the comparison; returns the rows and writes ``compare.md`` and ``compare.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = base or ModelConfig(seed=seed)
    train_cfg = train_cfg or TrainConfig(seed=seed)
    train_cfg = replace(train_cfg, max_minutes=minutes_each, max_steps=steps_each, patience=10 ** 6)
    rows, per_model = [], {}

    for arch in ("mh", "mmoe", "mmoeex"):
        for alpha in (None, lbtw_alpha):
            name = arch + ("+lbtw" if alpha is not None else "")
            run_dir = out / name.replace("+", "_")
            res = train(dataset, run_dir, replace(base, arch=arch), replace(train_cfg, lbtw_alpha=alpha),
                        progress=progress)
            path = export_model(res["model"], run_dir / "model.pt", arch=arch, **data_fields(dataset))
            plot_training_log(run_dir / "log.csv", run_dir)
            figs = evaluate(load(path), dataset, sims=res["val_sims"])
            per_model[name] = figs["per_segment_rmse_mv"]
            pub = public_figures(figs)
            # the voltage part of the validation loss, comparable with the reference row
            val = validate(res["model"], validation_batch(dataset, res["val_sims"], train_cfg), train_cfg)
            rows.append({"model": name, "val_loss": val["val_voltage_loss"],
                         "free_running_rmse_mv": pub["compartment_rmse_mv_median"],
                         "spike_f1": pub["spike_f1"], "spike_f1_5ms": pub["spike_f1_5ms"],
                         "parameters": res["parameters"],
                         "step_ms_batch1000": step_cost_ms(streaming_step_fn(res["model"]), 1000),
                         "teacher_forced": False, "steps": res["steps"]})
    ref = train_reference(dataset, out / "paper", train_cfg, minutes_each, progress=progress)
    # the same validation simulations as the streaming rows, whole unless ref_rollout_ms cuts them
    sims = ref["val_sims"] if len(ref["val_sims"]) else [0]
    length = dataset.sim_ms if ref_rollout_ms is None else min(ref_rollout_ms, dataset.sim_ms)
    v_true, v_pred, spikes = free_run_reference(ref, dataset, sims, length)
    figs = evaluate_traces(v_true, v_pred, spikes, [upward_crossings(v[:, 0], -10.0) for v in v_pred],
                           [np.zeros(len(v)) for v in v_true], dataset.segments.region)
    C, N = len(dataset.channel_segment), len(dataset.segments)
    ref_fn = lambda b: ref["model"](torch.zeros(b, 100, C), torch.zeros(b, 100, N))
    with torch.no_grad():
        ref_ms_10 = step_cost_ms(ref_fn, 10, repeats=3)
    rows.append({"model": "paper (TCN, teacher-forced)", "val_loss": ref["val_loss"],
                 "free_running_rmse_mv": figs["compartment_rmse_mv_median"], "spike_f1": figs["spike_f1"],
                 "spike_f1_5ms": figs["spike_f1_5ms"], "parameters": count_parameters(ref["model"]),
                 "step_ms_batch1000": ref_ms_10 * 100.0, "teacher_forced": True, "steps": ref["steps"],
                 "note": f"its step cost measured at batch 10 and scaled ×100; free-running (its own predictions "
                         f"fed back) on {len(sims)} validation simulations of {length} ms, as the other rows"})
    per_model["paper"] = figs["per_segment_rmse_mv"]
    plot_region_swarm(per_model, dataset.segments, out / "region_rmse.png")
    lines = ["| model | val loss | free-running RMSE (mV, median seg.) | spike F1 ±2 ms | F1 ±5 ms | parameters | "
             "step at batch 1000 (ms) | training steps |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['val_loss']:.3f} | {r['free_running_rmse_mv']:.2f} | {r['spike_f1']:.2f} | "
                     f"{r['spike_f1_5ms']:.2f} | {r['parameters']:,} | {r['step_ms_batch1000']:.1f} | {r['steps']} |")
    lines += ["", "Validation loss: z-scored MSE on validation windows; free-running from rest for the "
              "streaming models, teacher-forced one step ahead for the paper's configuration. "
              f"Budget per model: {minutes_each} min or {steps_each} steps on this machine. "
              + rows[-1]["note"] + "."]
    (out / "compare.md").write_text("\n".join(lines) + "\n")
    (out / "compare.json").write_text(json.dumps(rows, indent=1))
    return {"rows": rows, "table": "\n".join(lines)}
