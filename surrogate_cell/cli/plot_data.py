"""``surrogate-cell plot-data``: figures of a generated data set (PNG).

firing_rates.png (per-simulation somatic rate, by regime),
voltage_distributions.png (membrane potential by region) and traces.png
(the quietest, a median and the busiest simulation).
"""
from __future__ import annotations

from ..errors import DataError
from ..plots.data import plot_dataset

EXAMPLES = """
examples:
  surrogate-cell plot-data data.h5 --out plots/
"""


def register(sub, formatter):
    p = sub.add_parser("plot-data", help="plot a data set's firing rates, voltage distributions and traces",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    p.add_argument("path", metavar="DATA.h5", help="a data set written by 'surrogate-cell generate'")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the PNG files")
    p.add_argument("--traces", type=int, default=3, help="simulations shown in traces.png")
    p.set_defaults(func=run, output_folders=("out",))


def run(args) -> int:
    if args.traces < 1:
        raise DataError(f"--traces must be at least 1, got {args.traces}")
    for path in plot_dataset(args.path, args.out, n_traces=args.traces):
        print(path)
    return 0
