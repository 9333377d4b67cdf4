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

A user's own folder of ``.mod`` files (a published cell's ``mod/``) goes
through the same cache, lock and atomic rename: :func:`build_mod_dir`,
:func:`load_mod_dir`, under ``mechanisms/dir-<folder name>-<key>/``.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata, resources
from pathlib import Path

from ._native import import_neuron_quietly
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
    import neuron  # NEURON: only where a simulation is built

    return f"nrn{neuron.__version__}-{platform.machine()}-{source_hash(files)}"


def _find_library(folder: Path) -> Path | None:
    for name in ("libnrnmech.so", "libnrnmech.dylib", ".libs/libnrnmech.so"):
        hits = sorted(folder.glob(f"*/{name}"))
        if hits:
            return hits[0]
    return None


def find_nrnivmodl() -> Path | None:
    """NEURON's ``nrnivmodl`` of the NEURON that this interpreter imports.

    Looked for, in order: next to the running interpreter (a venv's ``bin/``,
    whether or not the venv is activated); among the files that the installed
    ``neuron`` distribution put down (``pip install --user``, say); on PATH.
    The first two come before PATH so that another NEURON's tools, which
    would build a library this NEURON cannot load, are never picked up.
    """
    beside = Path(sys.executable).parent / "nrnivmodl"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    try:
        files = metadata.distribution("neuron").files or []
    except metadata.PackageNotFoundError:
        files = []
    for entry in files:
        if entry.name == "nrnivmodl" and entry.parent.name == "bin" and ".data" not in entry.parts:
            script = Path(str(entry.locate()))
            if script.is_file() and os.access(script, os.X_OK):
                return script
    on_path = shutil.which("nrnivmodl")
    return Path(on_path) if on_path else None


def _check_toolchain() -> Path:
    """Fail early, with the fix, where nrnivmodl cannot work; return nrnivmodl."""
    nrnivmodl = find_nrnivmodl()
    if nrnivmodl is None:
        raise MechanismBuildError(
            f"nrnivmodl not found: not beside {sys.executable}, not in the installed 'neuron' "
            "package and not on PATH; install NEURON 9 into this Python with "
            f"'{sys.executable} -m pip install \"neuron>=9,<10\"'"
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
    return nrnivmodl


def _build_cached(files: list[Path], key: str, what: str, force: bool, verbose: bool) -> Path:
    """Compile ``files`` with nrnivmodl into ``<cache>/mechanisms/<key>`` unless already there.

    The build runs in a private temporary folder renamed into place under a
    file lock, so concurrent callers compile once and all load the same library.

    Parameters
    ----------
    files : list of Path
        The ``.mod`` sources.
    key : str
        Cache folder name; it must change whenever the sources change.
    what : str
        Words for error messages ("the mechanisms", "the mod folder X").
    force, verbose : bool
        Rebuild even if cached; print nrnivmodl's output.

    Returns
    -------
    Path
        The compiled library (``.../<arch>/libnrnmech.so``).
    """
    root = cache_root() / "mechanisms"
    final = root / key
    existing = _find_library(final) if final.is_dir() else None
    if existing is not None and not force:
        return existing
    nrnivmodl = _check_toolchain()
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
        print(f"surrogate_cell: compiling {what} with nrnivmodl into {final} (once; about 15 s)",
              file=sys.stderr, flush=True)
        work = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=root))
        try:
            for path in files:
                shutil.copy2(path, work / path.name)
            proc = subprocess.run(
                [str(nrnivmodl)] + [p.name for p in files],
                cwd=work, capture_output=True, text=True,
            )
            if verbose:
                print(proc.stdout, proc.stderr)
            library = _find_library(work)
            if proc.returncode != 0 or library is None:
                tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
                raise MechanismBuildError(
                    f"nrnivmodl failed (exit {proc.returncode}) while compiling {what}; "
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
    return _build_cached(files, build_key(files), "the mechanisms", force, verbose)


def dir_mod_files(path: str | Path) -> list[Path]:
    """The ``.mod`` files of a user's mechanism folder, sorted by name.

    Raises
    ------
    MechanismBuildError
        The folder is missing or holds no ``.mod`` file.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise MechanismBuildError(f"mod folder not found: {folder}; give a folder of .mod files")
    files = sorted(p for p in folder.iterdir() if p.suffix == ".mod" and p.is_file())
    if not files:
        raise MechanismBuildError(f"no .mod files in {folder}; give the folder that holds the cell's NMODL")
    return files


def dir_build_key(path: str | Path) -> str:
    """Cache key of a user's mod folder: ``dir-<name>-`` + :func:`build_key` of its files."""
    folder = Path(path)
    return f"dir-{folder.resolve().name}-{build_key(dir_mod_files(folder))}"


def build_mod_dir(path: str | Path, force: bool = False, verbose: bool = False) -> Path:
    """Compile a user's folder of ``.mod`` files into the cache if needed.

    Same cache, lock and atomic rename as :func:`build_mechanisms`; the key
    (:func:`dir_build_key`) hashes the files' names and contents, so an edited
    file gives a new build.

    Parameters
    ----------
    path : str or Path
        Folder holding the ``.mod`` files (e.g. the published Hay model's ``mod/``).
    force, verbose : bool
        Rebuild even if cached; print nrnivmodl's output.

    Returns
    -------
    Path
        The compiled library.
    """
    files = dir_mod_files(path)
    return _build_cached(files, dir_build_key(path), f"the mod folder {path}", force, verbose)


def mechanism_names(files: list[Path]) -> list[str]:
    """Names the ``.mod`` files define (``SUFFIX``, ``POINT_PROCESS``, ``ARTIFICIAL_CELL``)."""
    names = []
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in ("SUFFIX", "POINT_PROCESS", "ARTIFICIAL_CELL"):
                names.append(words[1])
    return names


def load_mod_dir(path: str | Path) -> Path | None:
    """Compile (if needed) and load a user's mod folder into this NEURON process.

    NEURON cannot load two libraries that define the same name, nor unload one:
    a folder whose mechanisms are all present already is not loaded again, and
    one that is only partly present is refused.

    Returns
    -------
    Path or None
        The library loaded now, or None where its mechanisms were there already.
    """
    from neuron import h  # NEURON: only where a simulation is built

    names = mechanism_names(dir_mod_files(path))
    present = [n for n in names if hasattr(h, n)]
    if names and len(present) == len(names):
        return None
    if present:
        raise MechanismBuildError(
            f"the mod folder {path} defines {present}, which this process has loaded already "
            "from another library; NEURON cannot load a mechanism twice: rename them or load "
            "only one of the two folders"
        )
    library = build_mod_dir(path)
    if not h.nrn_load_dll(str(library)):
        raise MechanismBuildError(f"NEURON could not load {library} (built from {path})")
    missing = [n for n in names if not hasattr(h, n)]
    if missing:
        raise MechanismBuildError(f"{library} loaded but does not define {missing}")
    return library


def load_mechanisms() -> Path | None:
    """Compile (if needed) and load the mechanisms into this NEURON process.

    Safe to call many times: a process that already has them does nothing.

    Returns
    -------
    Path or None
        The library loaded now, or None where they were loaded already.
    """
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
