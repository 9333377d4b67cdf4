"""``surrogate-cell train``: train a streaming multi-task surrogate on a generated data set.

Trains MH, MMoE or MMoEEx on free-running windows, with checkpoints every
``--eval-every`` steps: rerun the same command after an interruption and it
resumes where it stopped. Writes DIR/model.pt (TorchScript, see
docs/model-format.md), DIR/log.csv, DIR/loss.png (and diversity.png).
"""
from __future__ import annotations

import json
from pathlib import Path

from ..data import Dataset, DatasetUnion
from ..errors import SurrogateCellError
from ..plots.models import plot_training_log

EXAMPLES = """
examples:
  surrogate-cell train --data data.h5 --arch mmoe --out runs/mmoe
  surrogate-cell train --data data.h5 --arch mh --lbtw 0.5 --minutes 10 --out runs/mh_lbtw
  surrogate-cell train --data a.h5 b.h5 --data-seconds 200 --arch mh --out runs/mh_200s
  surrogate-cell train --data a.h5 b.h5 --init-from runs/mh/best.pt --soma-loss-weight 1 --lr 1e-3 --out runs/mh_ft
  surrogate-cell train --data a.h5 b.h5 --ema-decay 0.998 --out runs/mh_ema
"""


def register(sub, formatter):
    p = sub.add_parser("train", help="train a surrogate (MH, MMoE, MMoEEx) on a data set",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    p.add_argument("--data", required=True, nargs="+", metavar="FILE.h5",
                   help="data set(s) from 'surrogate-cell generate', of one cell")
    p.add_argument("--data-seconds", type=float, default=None, metavar="S",
                   help="use only the first S simulated seconds of the data (learning curves)")
    p.add_argument("--arch", choices=("mh", "mmoe", "mmoeex"), default="mh", help="architecture")
    p.add_argument("--lbtw", type=float, default=None, metavar="ALPHA", help="loss-balanced task weighting exponent")
    p.add_argument("--out", required=True, metavar="DIR", help="run folder (checkpoints, log, model.pt)")
    p.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget")
    p.add_argument("--steps", type=int, default=3000, help="maximum training steps (batches)")
    p.add_argument("--eval-every", type=int, default=100, help="steps between validation and checkpoint")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--window-ms", type=int, default=600)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--groups", type=int, default=8, help="learned input groups per sign")
    p.add_argument("--hidden", type=int, default=128, help="GRU width per expert")
    p.add_argument("--experts", type=int, default=4)
    p.add_argument("--expert-dim", type=int, default=32, help="expert output width read by the towers")
    p.add_argument("--tower-hidden", type=int, default=0, help="hidden units per tower (0: linear towers)")
    p.add_argument("--spike-kernel-ms", type=int, default=24,
                   help="length of the learned spike-triggered voltage waveform (ms)")
    p.add_argument("--soma-loss-weight", type=float, default=0.0, metavar="W",
                   help="extra weight of the soma's voltage error (1: as much as all other segments together)")
    p.add_argument("--soma-subthreshold-loss-weight", type=float, default=0.0, metavar="W",
                   help="extra weight of the soma's sub-threshold error (both traces clipped at -55 mV, as the "
                        "soma_subthreshold_rmse_mv figure; 1: as much as all segments together)")
    p.add_argument("--lfp-loss-weight", type=float, default=0.0, metavar="W",
                   help="weight of the LFP tasks: potentials at two laminar probes and the current dipole moment "
                        "as read-outs of the voltages, each in units of its spread (1: as much as all segments "
                        "together); needs data that carry their cell (training/lfp_tasks.py)")
    p.add_argument("--init-from", default=None, metavar="FILE.pt",
                   help="start from another run's weights (its best.pt or checkpoint.pt; same model options)")
    p.add_argument("--warm-start", default=None, metavar="FILE.pt",
                   help="start from every weight of a run (best.pt) or an exported model whose name and shape match "
                        "(e.g. a model of another input layout); the others start fresh")
    p.add_argument("--ema-decay", type=float, default=None, metavar="D",
                   help="validate, keep and export an exponential moving average of the weights (e.g. 0.998); "
                        "it smooths the noise of small batches")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run, output_folders=("out",))


def run(args) -> int:
    from ..training.evaluate import calibrate_spike_probability  # heavy (torch): only when training code runs
    from ..training.export import data_fields, export_model  # heavy (torch): only when training code runs
    from ..training.model import ModelConfig  # heavy (torch): only when training code runs
    from ..training.train import TrainConfig, train  # heavy (torch): only when training code runs

    if args.lbtw is not None and not 0.0 <= args.lbtw <= 1.0:
        raise SurrogateCellError(f"--lbtw must lie in [0, 1], got {args.lbtw}")
    sets = [Dataset(p) for p in args.data]
    max_sims = None
    if args.data_seconds is not None:
        max_sims = int(round(args.data_seconds * 1000.0 / sets[0].sim_ms))
        if max_sims < 2:
            raise SurrogateCellError(f"--data-seconds {args.data_seconds} leaves fewer than 2 simulations of "
                                     f"{sets[0].sim_ms} ms (one is needed for validation); give more seconds")
    dataset = DatasetUnion(sets, max_sims)
    model_cfg = ModelConfig(arch=args.arch, n_groups=args.groups, hidden=args.hidden, n_experts=args.experts,
                            expert_dim=args.expert_dim, tower_hidden=args.tower_hidden, seed=args.seed,
                            spike_kernel_ms=args.spike_kernel_ms, local_path=False,
                            soma_glm=False)
    cfg = TrainConfig(max_minutes=args.minutes, max_steps=args.steps, eval_every=args.eval_every,
                      batch_size=args.batch_size, window_ms=args.window_ms, lr=args.lr,
                      lbtw_alpha=args.lbtw, seed=args.seed, threads=args.threads,
                      soma_loss_weight=args.soma_loss_weight,
                      soma_subthreshold_loss_weight=args.soma_subthreshold_loss_weight, init_from=args.init_from,
                      lfp_loss_weight=args.lfp_loss_weight,
                      warm_start=args.warm_start,
                      ema_decay=args.ema_decay)
    result = train(dataset, args.out, model_cfg, cfg, progress=not args.no_progress)
    out = Path(args.out)
    calib = calibrate_spike_probability(result["model"], dataset,
                                        result["val_sims"] if len(result["val_sims"]) else result["train_sims"])
    path = export_model(result["model"], out / "model.pt", arch=args.arch,
                        config={"model": model_cfg.to_dict(), "train": cfg.to_dict()}, **data_fields(dataset),
                        extra={"spike_calibration": calib,
                               "train_sims": [int(s) for s in result["train_sims"]],
                               "val_sims": [int(s) for s in result["val_sims"]]})
    plot_training_log(out / "log.csv", out)
    summary = {"model": str(path), "arch": args.arch, "lbtw": args.lbtw, "steps": result["steps"],
               "best_val_loss": result["best_val"], "stopped": result["stopped"],
               "parameters": result["parameters"]}
    print(json.dumps(summary) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 0
