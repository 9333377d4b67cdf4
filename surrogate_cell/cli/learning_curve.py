"""``surrogate-cell learning-curve``: accuracy against simulated seconds of training data.

Trains the chosen architecture and a plain GRU baseline on the first S
seconds of the data for each S in --seconds, with the same budget, and
evaluates each free-running on held-out data (seeds never used in training).
Writes DIR/learning_curve.{json,md,png}; every run keeps its own folder, so
an interrupted curve resumes where it stopped.
"""
from __future__ import annotations

import json
from dataclasses import replace

from ..data import Dataset
from ..errors import SurrogateCellError

EXAMPLES = """
examples:
  surrogate-cell learning-curve --data train.h5 more.h5 --heldout heldout.h5 \\
      --seconds 50,100,200,400 --minutes 8 --out runs/curve
"""


def register(sub, formatter):
    p = sub.add_parser("learning-curve", help="accuracy against seconds of training data (chosen vs plain GRU)",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    p.add_argument("--data", required=True, nargs="+", metavar="FILE.h5", help="training data set(s), one cell")
    p.add_argument("--heldout", required=True, metavar="FILE.h5", help="evaluation data (other seeds)")
    p.add_argument("--seconds", required=True, help="comma-separated data sizes (simulated s), e.g. 50,100,200,400")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--minutes", type=float, default=8.0, help="training budget per run")
    p.add_argument("--window-ms", type=int, default=600, help="training window (ms)")
    p.add_argument("--arch", choices=("mh", "mmoe", "mmoeex"), default="mh", help="the chosen architecture")
    p.add_argument("--groups", type=int, default=8)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--expert-dim", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run, output_folders=("out",))


def run(args) -> int:
    from ..training.learning_curve import default_budget, learning_curve  # heavy (torch): only when training code runs
    from ..training.model import ModelConfig  # heavy (torch): only when training code runs

    try:
        seconds = [float(s) for s in args.seconds.split(",") if s.strip()]
    except ValueError:
        raise SurrogateCellError(f"--seconds must be comma-separated numbers, got {args.seconds!r}") from None
    if not seconds or min(seconds) <= 0:
        raise SurrogateCellError(f"--seconds needs positive sizes, got {args.seconds!r}")
    chosen = ModelConfig(arch=args.arch, n_groups=args.groups, hidden=args.hidden, expert_dim=args.expert_dim,
                         tower_hidden=0, seed=args.seed)
    result = learning_curve([Dataset(p) for p in args.data], Dataset(args.heldout), args.out, seconds, chosen,
                            replace(default_budget(args.minutes, args.seed, args.threads), window_ms=args.window_ms,
                                    burn_in_ms=min(150, args.window_ms // 4)),
                            progress=not args.no_progress)
    print(json.dumps(result["rows"]) if args.json else result["table"])
    return 0
