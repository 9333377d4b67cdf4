"""The ``surrogate-cell`` command line.

Each command lives in its own module under ``surrogate_cell.commands`` and
exposes ``register(subparsers)``, which adds a parser whose ``func(args)``
runs the command and returns an exit code. Errors a user can cause
(:class:`~surrogate_cell.errors.SurrogateCellError`) are printed as one line,
``surrogate-cell: error: ...``, with exit status 2 and no traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .commands import check_output_paths
from .errors import SurrogateCellError

#: Command modules, in the order ``--help`` lists them.
COMMANDS = (
    "surrogate_cell.commands.demo",
    "surrogate_cell.commands.build_mechanisms",
    "surrogate_cell.commands.protocols",
    "surrogate_cell.commands.generate",
    "surrogate_cell.commands.inspect_data",
    "surrogate_cell.commands.plot_data",
    "surrogate_cell.commands.bench",
    "surrogate_cell.commands.train",
    "surrogate_cell.commands.fit_soma",
    "surrogate_cell.commands.evaluate",
    "surrogate_cell.commands.compare",
    "surrogate_cell.commands.learning_curve",
)


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
    for name in COMMANDS:
        importlib.import_module(name).register(sub, _Formatter)
    return parser


def main(argv=None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
