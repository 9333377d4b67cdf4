"""``surrogate-cell bench``: performance benchmarks, one sub-command each.

Each benchmark lives in its own module, listed in ``BENCHMARKS``, that
exposes ``register_bench(subparsers, formatter)``; add a module there to add
a benchmark (e.g. ``network``, ``step``).
"""
from __future__ import annotations

import importlib

#: Modules that add a benchmark, in the order ``bench --help`` lists them.
BENCHMARKS = (
    "surrogate_cell.data.bench",
    "surrogate_cell.neuron.bench",
    "surrogate_cell.neuron.lfp_bench",
    "surrogate_cell.training.bench",
)

EXAMPLES = """
examples:
  surrogate-cell bench generate --json
  surrogate-cell bench generate --sims 4 --sim-seconds 2 --morphology cell1.asc
  surrogate-cell bench network --model l5pc.pt --cells 10,100,1000 --json
  surrogate-cell bench lfp --cells 100,1000 --json
  surrogate-cell bench step --json
"""


def register(sub, formatter):
    p = sub.add_parser("bench", help="benchmarks against NEURON or the paper in the same run (generate, network, lfp, step)",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    benches = p.add_subparsers(title="benchmarks", metavar="BENCHMARK")
    for name in BENCHMARKS:
        importlib.import_module(name).register_bench(benches, formatter)

    def no_benchmark(args) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=no_benchmark)
