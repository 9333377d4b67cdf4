"""``surrogate-cell compare``: MH, MMoE, MMoEEx (each ± LBTW) and the paper's configuration
on the same data and budget, as a Markdown table (DIR/compare.md) and a region swarm plot."""
from __future__ import annotations

import json

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
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..data import Dataset
    from ..training.compare import compare

    result = compare(Dataset(args.data), args.out, minutes_each=args.minutes, steps_each=args.steps,
                     lbtw_alpha=args.lbtw, seed=args.seed, progress=not args.no_progress)
    print(json.dumps(result["rows"]) if args.json else result["table"])
    return 0
