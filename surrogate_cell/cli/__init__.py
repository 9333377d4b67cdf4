"""The ``surrogate-cell`` command line.

Each command lives in its own module of this package and exposes
``register(subparsers, formatter)``, which adds a parser whose ``func(args)``
runs the command and returns an exit code; the benchmarks are the
subpackage :mod:`.bench`. Command modules import the heavy libraries (NEURON,
torch, NetPyNE, matplotlib) inside ``run`` only, so that ``--help`` is fast. Errors a user can cause
(:class:`~surrogate_cell.errors.SurrogateCellError`) are printed as one line,
``surrogate-cell: error: ...``, with exit status 2 and no traceback.
"""
from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from ..errors import SurrogateCellError
from . import (bench, build_mechanisms, compare, demo, evaluate, fit_soma, fit_spikes, generate, inspect_data,
               learning_curve, plot_data, protocols, train)
from .paths import check_output_paths

#: Command modules, in the order ``--help`` lists them.
COMMANDS = (demo, build_mechanisms, protocols, generate, inspect_data, plot_data, bench, train, fit_spikes, fit_soma,
            evaluate, compare, learning_curve)


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="surrogate-cell",
        description="Distil a detailed NEURON cell into a fast surrogate and run it in networks.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"surrogate-cell {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub, _Formatter)
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")  # figures go to files; no display is assumed
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        check_output_paths(args)
        return int(args.func(args) or 0)
    except SurrogateCellError as exc:
        print(f"surrogate-cell: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("surrogate-cell: interrupted", file=sys.stderr)
        return 130
