"""Learning curve: free-running accuracy against simulated seconds of training data.

For each data size the chosen architecture and the plain-GRU baseline
(:func:`~surrogate_cell.training.model.plain_gru_config`) are trained on the
first ``seconds`` of the same data, with the same budget, then evaluated free
from rest on held-out simulations. Writes ``learning_curve.json``,
``learning_curve.md`` and ``learning_curve.png``. Each run keeps its folder
(checkpoints, ``model.pt``, ``row.json``): an interrupted curve resumes.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from ..data import DatasetUnion
from ..errors import SurrogateCellError
from ..model import load
from ..plots.models import plot_learning_curve
from .evaluate import calibrate_spike_probability, evaluate, public_figures
from .export import data_fields, export_model
from .model import ModelConfig, plain_gru_config
from .train import TrainConfig, train

#: figures shown per row (keys of ``evaluate``)
FIGURES = ("rate_error", "spike_count_r_100ms", "spike_f1_5ms", "spike_f1", "soma_subthreshold_rmse_mv",
           "compartment_rmse_mv_median")


def learning_curve(datasets, heldout, out_dir, seconds, chosen: ModelConfig, train_cfg: TrainConfig,
                   progress: bool = True) -> dict:
    """Train and evaluate both models at each size in ``seconds``.

    Parameters
    ----------
    datasets : list of Dataset
        Training data (read in order; the first ``s`` seconds are used).
    heldout : Dataset
        Evaluation data, from seeds never used in training.
    seconds : sequence of float
        Sizes (simulated s).
    chosen : ModelConfig
        The architecture under test.
    train_cfg : TrainConfig
        Budget and settings, the same for every run.

    Returns
    -------
    dict
        ``rows`` (one per model and size) and ``table`` (Markdown).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sim_ms = datasets[0].sim_ms
    rows = []
    for s in sorted(seconds):
        n = int(round(s * 1000.0 / sim_ms))
        if n < 2:
            raise SurrogateCellError(f"{s} s is fewer than 2 simulations of {sim_ms} ms; use larger sizes")
        data = DatasetUnion(datasets, max_sims=n)
        for name, cfg in (("chosen", chosen), ("plain GRU", plain_gru_config(seed=chosen.seed))):
            run = out / f"{name.replace(' ', '_')}_{int(round(s))}s"
            done = run / "row.json"
            if done.is_file():  # finished in an earlier call of the same curve
                rows.append(json.loads(done.read_text()))
                continue
            res = train(data, run, cfg, train_cfg, progress=progress)
            calibrate_spike_probability(res["model"], data, res["val_sims"])
            path = export_model(res["model"], run / "model.pt", arch=cfg.arch,
                                config={"model": cfg.to_dict(), "train": train_cfg.to_dict()}, **data_fields(data))
            figs = public_figures(evaluate(load(path), heldout))
            row = {"model": name, "seconds": n * sim_ms / 1000.0, "steps": res["steps"],
                   "parameters": res["parameters"], **{k: figs[k] for k in FIGURES}}
            rows.append(row)
            done.write_text(json.dumps(row, indent=1))
            (out / "learning_curve.json").write_text(json.dumps(rows, indent=1))  # after every run
    table = _table(rows)
    (out / "learning_curve.md").write_text(table + "\n")
    plot_learning_curve(rows, out / "learning_curve.png")
    return {"rows": rows, "table": table}


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def _table(rows) -> str:
    lines = ["| model | data (s) | rate error | count r (100 ms) | F1 ±5 ms | F1 ±2 ms | soma sub-thr. RMSE (mV) | "
             "median compartment RMSE (mV) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['seconds']:g} | " + " | ".join(_fmt(r[k]) for k in FIGURES) + " |")
    return "\n".join(lines)


def default_budget(minutes: float, seed: int = 0, threads: int = 0) -> TrainConfig:
    """The same budget for every run of the curve (early stopping as usual)."""
    return replace(TrainConfig(seed=seed, threads=threads), max_minutes=minutes, max_steps=10 ** 6)
