"""``surrogate-cell bench``: performance benchmarks, one sub-command each.

Every benchmark of the project lives in this package, one module each, that
exposes ``register_bench(subparsers, formatter)``; add a module to
``BENCHMARKS`` to add a benchmark. Each prints its figures against NEURON (or
the paper's model) measured in the same run, and ``--json``.
"""
from __future__ import annotations

from . import dt, generate, lfp, lfp_step, network, step

#: Benchmark modules, in the order ``bench --help`` lists them.
BENCHMARKS = (generate, dt, network, lfp, lfp_step, step)

EXAMPLES = """
examples:
  surrogate-cell bench generate --json
  surrogate-cell bench generate --sims 4 --sim-seconds 2 --morphology cell1.asc
  surrogate-cell bench dt --morphology cell1.asc --dt-ms 0.025 0.05
  surrogate-cell bench network --model l5pc.pt --cells 10,100,1000 --json
  surrogate-cell bench lfp --cells 100,1000 --json
  surrogate-cell bench step --json
"""


def register(sub, formatter):
    p = sub.add_parser("bench", help="benchmarks against NEURON or the paper in the same run (generate, dt, network, lfp, step)",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    benches = p.add_subparsers(title="benchmarks", metavar="BENCHMARK")
    for module in BENCHMARKS:
        module.register_bench(benches, formatter)

    def no_benchmark(args) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=no_benchmark)
