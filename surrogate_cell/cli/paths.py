"""One module per ``surrogate-cell`` command (see ``surrogate_cell.cli``).

A command declares the options that name outputs with ``set_defaults``:
``output_folders=("out",)`` for folders it creates, ``output_files=("out",)``
for files it writes. :func:`check_output_paths` checks them all before the
command does any work, so that a bad path is one error line, not a traceback
after minutes of simulation.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import OutputPathError


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _nearest_existing(path: Path) -> Path:
    for folder in (path, *path.parents):
        if folder.exists():
            return folder
    return Path(".")


def check_output_paths(args) -> None:
    """Check the output folders and files that ``args`` name (see the module docstring).

    Raises
    ------
    OutputPathError
        A folder option names an existing file, a file option an existing
        folder, or the path lies under a file or in a folder that cannot be written.
    """
    for kind in ("output_folders", "output_files"):
        for name in getattr(args, kind, ()):
            value = getattr(args, name, None)
            if value is None:
                continue
            path = Path(value)
            flag = _flag(name)
            if kind == "output_folders" and path.exists() and not path.is_dir():
                raise OutputPathError(f"{flag} {path} is an existing file; give a folder (it is created if missing)")
            if kind == "output_files" and path.is_dir():
                raise OutputPathError(f"{flag} {path} is a folder; give a file name")
            base = _nearest_existing(path if kind == "output_folders" else path.parent)
            if not base.is_dir():
                raise OutputPathError(f"{flag} {path} lies under {base}, which is a file; give another path")
            if not os.access(base, os.W_OK | os.X_OK):
                raise OutputPathError(f"{flag} {path}: folder {base} is not writable; give another path")
