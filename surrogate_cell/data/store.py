"""Storage: per-simulation part files, the assembled HDF5 data set, its digest.

While a set is generated, every finished simulation is written as one file,
``<out>.parts/sim_<index>.npz``, through a temporary file and ``os.replace``:
a part is there whole or not at all, whenever the process is killed.
``<out>.parts/params.json`` records the parameters the parts belong to and
``cell.npz`` the cell's segment and channel tables. When every part is there,
the HDF5 file is assembled into ``<out>.parts/assembly.h5.tmp`` and renamed onto
``<out>``; then the parts folder is removed. The layout of the HDF5 file is
described in ``docs/dataset.md``.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import DataError
from ..synapses import RECEPTORS
from .format import CHUNK_MS, DATASET_FORMAT, DIGEST_ARRAYS, FORMAT_VERSION, canonical_json, generation_digest, readable
from .inputs import KINETICS_COLUMNS, SimInputs, conductance_bins


def _differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    keys = sorted(set(a) | set(b))
    out = []
    for k in keys:
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _differences(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(f"{prefix}{k}")
    return out


#: Arrays every part file holds (:meth:`PartsDir.write_part`).
PART_ARRAYS = ("voltage_mV", "spike_times_ms", "event_time_ms", "event_channel", "event_weight", "kinetics",
               "regime", "seed", "params_sha256", "cell_digest")


def _damage(path: Path, names) -> str | None:
    """What is wrong with the ``.npz`` file ``path`` (every member's CRC is checked), or None if it is whole."""
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            members = {n[:-4] for n in z.namelist() if n.endswith(".npy")}
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if bad is not None:
        return f"member {bad} fails its checksum"
    missing = [n for n in names if n not in members]
    return f"missing {', '.join(missing)}" if missing else None


def _atomic_savez(path: Path, arrays: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)  # atomic: the part is there whole or not at all


class PartsDir:
    """The folder ``<out>.parts/`` of finished simulations (see the module docstring).

    Parameters
    ----------
    out : Path
        The data set's final path.
    """

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.path = self.out.with_name(self.out.name + ".parts")
        self.manifest = self.path / "params.json"
        self.cell_file = self.path / "cell.npz"
        self.assembly = self.path / "assembly.h5.tmp"
        self._lock = None

    def part(self, index: int) -> Path:
        return self.path / f"sim_{index:06d}.npz"

    # -- set-up (one process: the parent, or MPI rank 0) --------------------------
    def open(self, params: dict) -> None:
        """Create or reopen the folder for ``params``, under an exclusive lock.

        Raises
        ------
        DataError
            The folder belongs to other parameters, another process holds it, or
            it cannot be created.
        """
        try:
            self.path.mkdir(exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot write next to {self.out}: {exc.strerror} ({self.path})") from None
        self._lock = open(self.path / "lock", "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise DataError(f"another 'generate' is writing {self.out} (it holds {self.path / 'lock'}); "
                            "wait for it to finish") from None
        if self.manifest.is_file():
            old = json.loads(self.manifest.read_text())
            if old.get("params") != params:
                diff = ", ".join(_differences(old.get("params", {}), params)) or "format"
                self.release()
                raise DataError(
                    f"{self.path} holds simulations made with different parameters ({diff}); rerun with "
                    f"the parameters it was started with, or remove {self.path} to start afresh")
        else:
            text = json.dumps({"params": params, "params_sha256": generation_digest(params)}, indent=1, sort_keys=True)
            tmp = self.manifest.with_name(".params.json.tmp")
            tmp.write_text(text)
            os.replace(tmp, self.manifest)
        for stale in list(self.path.glob(".*.tmp")) + [self.assembly]:
            stale.unlink(missing_ok=True)  # left by a killed run

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def finished(self, n_sims: int, log=None) -> list[int]:
        """Indices in ``range(n_sims)`` whose part file is there and whole.

        A part that cannot be read back whole (a disk filled, a file truncated
        by hand) is deleted, named through ``log``, and so simulated again.
        """
        done = []
        for i in range(n_sims):
            path = self.part(i)
            if not path.is_file():
                continue
            problem = _damage(path, PART_ARRAYS)
            if problem is None:
                done.append(i)
                continue
            path.unlink()
            if log is not None:
                log(f"discarded the damaged part file {path} ({problem}); simulation {i} runs again")
        return done

    def remove_leftover(self, params: dict) -> None:
        """Remove the folder a run killed after its final rename left behind,
        and only if it belongs to ``params``."""
        if not self.path.is_dir():
            return
        try:
            mine = json.loads(self.manifest.read_text()).get("params") == params
        except (OSError, ValueError):
            mine = not self.has_parts()
        if mine:
            self.remove()

    def has_parts(self) -> bool:
        return self.path.is_dir() and any(self.path.glob("sim_*.npz"))

    def remove(self) -> None:
        self.release()
        shutil.rmtree(self.path, ignore_errors=True)

    # -- writers (any worker or rank) ------------------------------------------------
    def write_cell(self, segments: dict, channels: dict, digest: str, description: dict,
                   geometry: dict | None = None) -> None:
        """Write the cell's tables once (identical content from every writer).

        Raises
        ------
        DataError
            Earlier parts were made with a different cell (files or code changed).
        """
        if self.cell_file.is_file() and _damage(self.cell_file, ("cell_digest", "description")) is not None:
            self.cell_file.unlink(missing_ok=True)  # written again below; the parts carry their own digest
        if self.cell_file.is_file():
            with np.load(self.cell_file) as z:
                earlier = str(z["cell_digest"])
            if earlier != digest:
                raise DataError(f"the cell differs from the one the simulations in {self.path} were made "
                                f"with (segment table digest {earlier[:12]} vs {digest[:12]}); remove "
                                f"{self.path} to start afresh")
            return
        arrays = {f"segments.{k}": v for k, v in segments.items()}
        arrays.update({f"channels.{k}": v for k, v in channels.items()})
        arrays["cell_digest"] = np.array(digest)
        arrays["description"] = np.array(canonical_json(description))
        if geometry is not None:  # the cell's sections and 3-D points (CellGeometry.to_dict), for the model file
            arrays["geometry"] = np.array(json.dumps(geometry))
        _atomic_savez(self.cell_file, arrays)

    def write_part(self, index: int, *, voltage_mV, spike_times_ms, inputs, params_sha256: str,
                   cell_digest: str) -> None:
        """Write simulation ``index`` atomically."""
        _atomic_savez(self.part(index), {
            "voltage_mV": voltage_mV, "spike_times_ms": spike_times_ms,
            "event_time_ms": inputs.time_ms, "event_channel": inputs.channel, "event_weight": inputs.weight,
            "kinetics": np.asarray(inputs.kinetics, dtype=np.float64), "regime": np.array(inputs.regime),
            "seed": np.array(inputs.seed, dtype=np.uint64),
            "params_sha256": np.array(params_sha256), "cell_digest": np.array(cell_digest),
        })

    # -- readers -------------------------------------------------------------------
    def read_cell(self) -> dict:
        if not self.cell_file.is_file():
            raise DataError(f"{self.cell_file} is missing; remove {self.path} and generate again")
        with np.load(self.cell_file) as z:
            return {
                "segments": {k.split(".", 1)[1]: z[k] for k in z.files if k.startswith("segments.")},
                "channels": {k.split(".", 1)[1]: z[k] for k in z.files if k.startswith("channels.")},
                "cell_digest": str(z["cell_digest"]),
                "description": json.loads(str(z["description"])),
                "geometry": str(z["geometry"]) if "geometry" in z.files else None,
            }

    def read_part(self, index: int) -> dict:
        try:
            with np.load(self.part(index)) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError) as exc:
            raise DataError(f"part file {self.part(index)} is unreadable ({exc}); delete it and rerun "
                            "to simulate it again") from None


def existing_status(out: Path, params: dict) -> str:
    """``'absent'`` or ``'complete'`` for the output path.

    Raises
    ------
    DataError
        ``out`` exists but is no data set, or one made with other parameters.
    """
    import h5py  # h5py: only when a data set is read or written

    if not out.exists():
        return "absent"
    if out.is_dir():
        raise DataError(f"output {out} is a folder; give a file name such as data.h5")
    try:
        with h5py.File(out, "r") as f:
            fmt = f.attrs.get("format")
            old = f.attrs.get("params")
            n = int(f.attrs.get("n_simulations", -1))
            shape = f["voltage_mV"].shape if "voltage_mV" in f else None
    except OSError:
        raise DataError(f"{out} exists and is not an HDF5 file; refusing to overwrite it: "
                        "choose another --out or remove it") from None
    if fmt != DATASET_FORMAT or old is None:
        raise DataError(f"{out} exists and is not a surrogate_cell data set; refusing to overwrite it: "
                        "choose another --out or remove it")
    old = json.loads(old)
    if old != params:
        diff = ", ".join(_differences(old, params))
        raise DataError(f"{out} exists and was made with different parameters ({diff}); "
                        "choose another --out or remove it")
    if shape is None or n != params["n_sims"] or shape[0] != n:
        raise DataError(f"{out} exists with these parameters but is incomplete; remove it and generate again")
    return "complete"


def versions() -> dict:
    """Versions of the packages that made the data (no heavy imports)."""
    import h5py  # h5py: only when a data set is read or written

    def dist(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {"neuron": dist("neuron"), "torch": dist("torch"), "numpy": np.__version__,
            "h5py": h5py.__version__, "surrogate_cell": __version__}


def assemble(parts: PartsDir, params: dict, attrs: dict, progress: bool = False) -> None:
    """Assemble every part into the HDF5 file and rename it onto ``parts.out``.

    Parameters
    ----------
    parts : PartsDir
    params : dict
        The generation parameters (stored as the ``params`` attribute).
    attrs : dict
        Further root attributes (``seed``, ``sim_ms``, ``generator``, ...).
    progress : bool
        Show a progress bar.
    """
    import h5py  # h5py: only when a data set is read or written
    from tqdm import tqdm  # progress bars: only for long runs

    n, sim_ms = int(params["n_sims"]), int(params["sim_ms"])
    psha = generation_digest(params)
    cell = parts.read_cell()
    n_seg = len(cell["segments"]["x"])
    n_ch = len(cell["channels"]["segment"])
    chunk_t = min(sim_ms, CHUNK_MS)
    parts.assembly.unlink(missing_ok=True)
    with h5py.File(parts.assembly, "w") as f:
        root = {
            "format": DATASET_FORMAT, "format_version": FORMAT_VERSION, "n_simulations": n, "sim_ms": sim_ms,
            "versions": canonical_json(versions()), "cell_digest": cell["cell_digest"],
            "cell": canonical_json({**cell["description"], "n_segments": n_seg, "n_channels": n_ch}),
            "params": canonical_json(params), "params_sha256": psha,
        }
        root.update(attrs)
        for k, v in root.items():
            f.attrs[k] = v
        for name, arr in cell["segments"].items():
            f.create_dataset(f"segments/{name}", data=arr)
        if cell["geometry"] is not None:  # JSON text: too large for an attribute
            f.create_dataset("cell_geometry", data=cell["geometry"], dtype=h5py.string_dtype())
        for name, arr in cell["channels"].items():
            f.create_dataset(f"channels/{name}", data=arr)
        packed = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
        volt = f.create_dataset("voltage_mV", shape=(n, sim_ms, n_seg), dtype="<f4",
                                chunks=(1, chunk_t, n_seg), **packed)
        inp = f.create_dataset("inputs", shape=(n, sim_ms, n_ch), dtype="<f4",
                               chunks=(1, chunk_t, n_ch), **packed)

        def growing(name, dtype):
            return f.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(1 << 16,), **packed)

        spikes = growing("spikes/times_ms", "<f8")
        ev_t, ev_c, ev_w = growing("events/time_ms", "<f8"), growing("events/channel", "<i4"), \
            growing("events/weight", "<f4")
        spike_off, ev_off = np.zeros(n + 1, dtype=np.int64), np.zeros(n + 1, dtype=np.int64)
        seeds, regimes, rates = np.zeros(n, dtype=np.uint64), [], np.zeros(n)
        kinetics = np.zeros((n, len(RECEPTORS), len(KINETICS_COLUMNS)))
        for i in tqdm(range(n), desc="assembling", unit="sim", disable=not progress):
            p = parts.read_part(i)
            if str(p["params_sha256"]) != psha or str(p["cell_digest"]) != cell["cell_digest"]:
                raise DataError(f"{parts.part(i)} belongs to another generation; remove {parts.path} "
                                "and generate again")
            if p["voltage_mV"].shape != (sim_ms, n_seg):
                raise DataError(f"{parts.part(i)} has voltages of shape {p['voltage_mV'].shape}, "
                                f"expected {(sim_ms, n_seg)}")
            volt[i] = p["voltage_mV"]
            events = SimInputs(p["event_time_ms"], p["event_channel"], p["event_weight"], p["kinetics"],
                               str(p["regime"]), int(p["seed"]))
            inp[i] = conductance_bins(events, sim_ms, n_seg)
            kinetics[i] = p["kinetics"]
            k = p["spike_times_ms"].size
            spikes.resize((spike_off[i] + k,))
            spikes[spike_off[i]:] = p["spike_times_ms"]
            spike_off[i + 1] = spike_off[i] + k
            m = p["event_time_ms"].size
            for ds, key in ((ev_t, "event_time_ms"), (ev_c, "event_channel"), (ev_w, "event_weight")):
                ds.resize((ev_off[i] + m,))
                ds[ev_off[i]:] = p[key]
            ev_off[i + 1] = ev_off[i] + m
            seeds[i] = p["seed"]
            regimes.append(str(p["regime"]))
            rates[i] = p["spike_times_ms"].size / (sim_ms / 1000.0)
        f.create_dataset("spikes/offsets", data=spike_off)
        f.create_dataset("events/offsets", data=ev_off)
        f.create_dataset("sims/seed", data=seeds)
        f.create_dataset("sims/regime", data=np.array(regimes, dtype="S"))
        f.create_dataset("sims/rate_hz", data=rates)
        f.create_dataset("sims/kinetics", data=kinetics)
    with open(parts.assembly, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(parts.assembly, parts.out)  # the data set appears whole or not at all


def _digest_blocks(ds, rows_per_block: int):
    for start in range(0, ds.shape[0], rows_per_block):
        yield ds[start:start + rows_per_block]


def data_digest(path: str | Path) -> str:
    """sha256 (hex) of a data set's array contents, independent of HDF5 metadata,
    chunking and compression.

    Hashes, for each array of :data:`DIGEST_ARRAYS` in order, its name, dtype,
    shape and raw little-endian bytes in C order, reading block by block.
    """
    import h5py  # h5py: only when a data set is read or written

    digest = hashlib.sha256()
    with h5py.File(path, "r") as f:
        names = []
        for name in DIGEST_ARRAYS:
            if name == "segments/*":
                with readable(path, "/segments"):
                    names += [f"segments/{k}" for k in sorted(f["segments"])]
            else:
                names.append(name)
        for name in names:
            if name not in f:
                raise DataError(f"{path} lacks /{name}; it is not a complete surrogate_cell data set")
            ds = f[name]
            dtype = ds.dtype.newbyteorder("<") if ds.dtype.kind in "fiu" else ds.dtype
            digest.update(f"{name}|{dtype.str}|{ds.shape}|".encode())
            if ds.size == 0:
                continue
            row = int(np.prod(ds.shape[1:])) if ds.ndim > 1 else 1
            per_block = max(1, (1 << 22) // max(1, row))
            with readable(path, f"/{name}"):
                for block in _digest_blocks(ds, per_block):
                    digest.update(np.ascontiguousarray(block, dtype=dtype).tobytes())
    return digest.hexdigest()
