"""``surrogate-cell compare``: MH, MMoE, MMoEEx (each ± LBTW) and the paper's configuration
on the same data and budget, as a Markdown table (DIR/compare.md) and a region swarm plot."""
from __future__ import annotations

import json

from ..data import Dataset

EXAMPLES = """
examples:
  surrogate-cell compare --data data.h5 --out runs/compare --minutes 5
"""


def register(sub, formatter):
    p = sub.add_parser("compare", help="compare MH / MMoE / MMoEEx (± LBTW) and the paper's configuration",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    p.add_argument("--data", required=True, metavar="FILE.h5")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--minutes", type=float, default=5.0, help="training budget per model")
    p.add_argument("--steps", type=int, default=2000, help="step budget per model")
    p.add_argument("--lbtw", type=float, default=0.5, metavar="ALPHA")
    p.add_argument("--groups", type=int, default=8, help="learned input groups per sign")
    p.add_argument("--hidden", type=int, default=64, help="GRU width per expert (MH: of its one expert)")
    p.add_argument("--experts", type=int, default=4)
    p.add_argument("--expert-dim", type=int, default=32)
    p.add_argument("--tower-hidden", type=int, default=0, help="hidden units per tower (0: linear towers)")
    p.add_argument("--window-ms", type=int, default=600)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run, output_folders=("out",))


def run(args) -> int:
    from ..training.compare import compare  # heavy (torch): only when training code runs
    from ..training.model import ModelConfig  # heavy (torch): only when training code runs
    from ..training.train import TrainConfig  # heavy (torch): only when training code runs

    base = ModelConfig(n_groups=args.groups, hidden=args.hidden, n_experts=args.experts, expert_dim=args.expert_dim,
                       tower_hidden=args.tower_hidden, seed=args.seed)
    train_cfg = TrainConfig(window_ms=args.window_ms, seed=args.seed, threads=args.threads)
    result = compare(Dataset(args.data), args.out, minutes_each=args.minutes, steps_each=args.steps,
                     lbtw_alpha=args.lbtw, seed=args.seed, progress=not args.no_progress, base=base,
                     train_cfg=train_cfg)
    print(json.dumps(result["rows"]) if args.json else result["table"])
    return 0
