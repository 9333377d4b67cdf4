"""Compile and load the project's NMODL mechanisms.

The ``.mod`` files ship with the package (``surrogate_cell._mod``, the
top-level ``mod/`` folder in a source checkout). They are compiled with
NEURON's ``nrnivmodl`` on first use into a per-user cache::

    $SURROGATE_CELL_CACHE            (if set), else
    $XDG_CACHE_HOME/surrogate_cell   (if set), else
    ~/.cache/surrogate_cell

under ``mechanisms/nrn<NEURON version>-<machine>-<source hash>/``. Nothing is
written into site-packages or the working directory. The build happens in a
private temporary folder that is renamed into place under a file lock, so
many processes (an MPI job's ranks, say) may start at once: one compiles, the
others wait and then load the same library.

Every mechanism name carries the prefix ``sc_`` so that the published Hay
mechanisms can be loaded into the same process without a name clash.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from .errors import MechanismBuildError

#: A mechanism that every build defines; its presence in ``h`` means loaded.
SENTINEL_MECHANISM = "sc_NaTa_t"


def mod_files() -> list[Path]:
    """The shipped ``.mod`` sources, sorted by name."""
    folder = resources.files("surrogate_cell._mod")
    files = sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".mod"))
    if not files:
        raise MechanismBuildError(
            "no .mod files found in the installed package; reinstall surrogate-cell "
            "(pip install --force-reinstall surrogate-cell)"
        )
    return files


def source_hash(files: list[Path] | None = None) -> str:
    """sha256 over the names and contents of the ``.mod`` sources (hex, 16 chars)."""
    digest = hashlib.sha256()
    for path in files or mod_files():
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    """The per-user cache folder (see the module docstring)."""
    if os.environ.get("SURROGATE_CELL_CACHE"):
        return Path(os.environ["SURROGATE_CELL_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "surrogate_cell"
    return Path.home() / ".cache" / "surrogate_cell"


def build_key(files: list[Path] | None = None) -> str:
    """Cache key: NEURON version, machine architecture and source hash."""
    import neuron

    return f"nrn{neuron.__version__}-{platform.machine()}-{source_hash(files)}"


def _find_library(folder: Path) -> Path | None:
    for name in ("libnrnmech.so", "libnrnmech.dylib", ".libs/libnrnmech.so"):
        hits = sorted(folder.glob(f"*/{name}"))
        if hits:
            return hits[0]
    return None


def _check_toolchain() -> None:
    """Fail early, with the fix, where nrnivmodl cannot work."""
    if shutil.which("nrnivmodl") is None:
        raise MechanismBuildError(
            "nrnivmodl not found on PATH; install NEURON 9 with 'pip install \"neuron>=9,<10\"' "
            "and make sure its scripts folder is on PATH"
        )
    compilers = [os.environ.get("CXX", ""), "c++", "g++", "clang++"]
    if not any(c and shutil.which(c) for c in compilers):
        raise MechanismBuildError(
            "no C/C++ compiler found (looked for $CXX, c++, g++, clang++); NEURON needs one "
            "to compile the mechanisms: install it (Debian/Ubuntu: apt-get install g++ make) "
            "or set CXX"
        )
    if shutil.which("make") is None:
        raise MechanismBuildError(
            "'make' not found; NEURON's nrnivmodl needs it: install it "
            "(Debian/Ubuntu: apt-get install make)"
        )


def build_mechanisms(force: bool = False, verbose: bool = False) -> Path:
    """Compile the mechanisms into the cache if needed.

    Parameters
    ----------
    force : bool
        Rebuild even if a library for this key is cached.
    verbose : bool
        Print nrnivmodl's output.

    Returns
    -------
    Path
        The compiled library (``.../<arch>/libnrnmech.so``).
    """
    files = mod_files()
    root = cache_root() / "mechanisms"
    final = root / build_key(files)
    existing = _find_library(final) if final.is_dir() else None
    if existing is not None and not force:
        return existing
    _check_toolchain()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MechanismBuildError(
            f"cannot create the mechanism cache {root}: {exc.strerror}; "
            "set SURROGATE_CELL_CACHE to a writable folder"
        ) from None
    with open(root / f"{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; others wait here
        existing = _find_library(final) if final.is_dir() else None
        if existing is not None and not force:
            return existing
        work = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=root))
        try:
            for path in files:
                shutil.copy2(path, work / path.name)
            proc = subprocess.run(
                ["nrnivmodl"] + [p.name for p in files],
                cwd=work, capture_output=True, text=True,
            )
            if verbose:
                print(proc.stdout, proc.stderr)
            library = _find_library(work)
            if proc.returncode != 0 or library is None:
                tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
                raise MechanismBuildError(
                    f"nrnivmodl failed (exit {proc.returncode}) while compiling the mechanisms; "
                    f"its last lines:\n{tail}"
                )
            if final.exists():
                shutil.rmtree(final)
            os.rename(work, final)  # atomic: readers see the whole build or none
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    library = _find_library(final)
    assert library is not None
    return library


def load_mechanisms() -> Path | None:
    """Compile (if needed) and load the mechanisms into this NEURON process.

    Safe to call many times: a process that already has them does nothing.

    Returns
    -------
    Path or None
        The library loaded now, or None where they were loaded already.
    """
    from ._native import import_neuron_quietly

    h = import_neuron_quietly()
    if hasattr(h, SENTINEL_MECHANISM):
        return None
    library = build_mechanisms()
    if not h.nrn_load_dll(str(library)):
        raise MechanismBuildError(
            f"NEURON could not load {library}; remove the cache folder {library.parent.parent} "
            "and run 'surrogate-cell build-mechanisms'"
        )
    if not hasattr(h, SENTINEL_MECHANISM):
        raise MechanismBuildError(f"{library} loaded but does not define {SENTINEL_MECHANISM}")
    return library
