"""Read a generated data set lazily: windows and streaming batches.

Nothing is loaded into memory beyond the small tables (segments, channels,
spike times, per-simulation metadata); voltages and inputs are read window by
window from the HDF5 file.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from ..cells.geometry import CellGeometry
from ..cells.segments import SegmentTable
from ..errors import DataError
from .cellspec import ChannelTable
from .format import DATASET_FORMAT, FORMAT_VERSION, readable
from .store import data_digest


class WindowBatch(NamedTuple):
    """A batch of windows from :meth:`Dataset.iter_windows`.

    Attributes
    ----------
    inputs : ndarray of float32, shape (batch, length_ms, n_channels)
        Mean conductance (nS) of every input channel per 1 ms bin.
    voltage : ndarray of float32, shape (batch, length_ms, n_segments)
        ``voltage[b, k]``: v (mV) at the end of bin ``k``.
    spikes : ndarray of uint8, shape (batch, length_ms)
        Somatic spikes per 1 ms bin.
    sim : ndarray of int64, shape (batch,)
    start_ms : ndarray of int64, shape (batch,)
        Window start within its simulation (ms).
    """

    inputs: np.ndarray
    voltage: np.ndarray
    spikes: np.ndarray
    sim: np.ndarray
    start_ms: np.ndarray


class Dataset:
    """A data set written by ``surrogate-cell generate`` (layout: ``docs/dataset.md``).

    Parameters
    ----------
    path : str or Path
        The HDF5 file.
    cache_mb : float
        HDF5 chunk cache per dataset (MiB); neighbouring windows reuse chunks.

    Attributes
    ----------
    segments : SegmentTable
    channels : ChannelTable
    geometry : CellGeometry or None
        The cell's sections and 3-D points (None in sets written before the data stored it).
    n_sims, sim_ms, n_segments, n_channels : int
    attrs : dict
        Root attributes (JSON ones decoded: ``generator``, ``cell``, ``versions``, ``params``).
    cell_digest : str
    rate_hz : ndarray
        Somatic firing rate of every simulation (Hz).
    regime : ndarray of str
        Input regime of every simulation.
    kinetics : ndarray, shape (n_sims, 4, 4)
        Every simulation's synapse kinetics: per receptor class (RECEPTORS order)
        tau_rise_ms, tau_decay_ms, e_mV, nS_per_weight.

    Examples
    --------
    >>> ds = Dataset("data.h5")
    >>> inputs, voltage, spikes = ds.window(0, 100, 200)
    >>> for batch in ds.iter_windows(100, batch_size=32, spike_balance=0.3):
    ...     pass
    """

    def __init__(self, path: str | Path, cache_mb: float = 64.0):
        import h5py  # h5py: only when a data set is read or written

        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"data set not found: {self.path}")
        try:
            self._f = h5py.File(self.path, "r", rdcc_nbytes=int(cache_mb * 2 ** 20), rdcc_nslots=10007)
        except OSError:
            raise DataError(f"{self.path} is not an HDF5 file") from None
        try:
            self._open_tables()
        except BaseException:
            self._f.close()
            raise

    def _open_tables(self) -> None:
        a = self._f.attrs
        if a.get("format") != DATASET_FORMAT:
            raise DataError(f"{self.path} is not a surrogate_cell data set (format attribute missing)")
        version = a.get("format_version")
        if version is None or np.ndim(version) or int(version) != FORMAT_VERSION:
            raise DataError(f"{self.path} has format_version {version}; this reader understands "
                            f"{FORMAT_VERSION}: generate the data set again with this version")
        with readable(self.path, "a table or attribute"):
            self._read_tables(a)

    def _read_tables(self, a) -> None:
        self.attrs = {k: (json.loads(v) if k in ("generator", "cell", "versions", "params") else v)
                      for k, v in a.items()}
        self.segments = SegmentTable.from_dict({k: self._f["segments"][k][()] for k in self._f["segments"]})
        self.channels = ChannelTable.from_dict({k: self._f["channels"][k][()] for k in self._f["channels"]})
        self.n_sims = int(a["n_simulations"])
        self.sim_ms = int(a["sim_ms"])
        self.n_segments = len(self.segments)
        self.n_channels = len(self.channels)
        self.cell_digest = str(a["cell_digest"])
        self._voltage = self._f["voltage_mV"]
        self._inputs = self._f["inputs"]
        self._spike_times = self._f["spikes/times_ms"][()]
        self._spike_off = self._f["spikes/offsets"][()]
        self.rate_hz = self._f["sims/rate_hz"][()]
        self.regime = self._f["sims/regime"][()].astype("U")
        self.seeds = self._f["sims/seed"][()]
        self.kinetics = self._f["sims/kinetics"][()]
        self.geometry = (CellGeometry.from_dict(json.loads(self._f["cell_geometry"][()].decode()))
                         if "cell_geometry" in self._f else None)

    # -- small pieces -----------------------------------------------------------------
    def __len__(self) -> int:
        return self.n_sims

    def __repr__(self) -> str:
        return (f"Dataset({str(self.path)!r}, sims={self.n_sims}, sim_ms={self.sim_ms}, "
                f"segments={self.n_segments}, channels={self.n_channels})")

    def close(self) -> None:
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _check_sim(self, sim: int) -> int:
        if not 0 <= int(sim) < self.n_sims:
            raise DataError(f"simulation {sim} out of range 0..{self.n_sims - 1}")
        return int(sim)

    @property
    def channel_segment(self) -> np.ndarray:
        """Segment-table row of each input channel."""
        return self.channels.segment

    @property
    def channel_kind(self) -> np.ndarray:
        """The receptor class of each input channel (``'ampa'``, ``'nmda'``, ``'gaba_a'``, ``'gaba_b'``)."""
        return self.channels.kind

    @property
    def digest(self) -> str:
        """Content digest of the file (as ``surrogate-cell inspect`` prints it); computed once."""
        if getattr(self, "_digest", None) is None:
            self._digest = data_digest(self.path)
        return self._digest

    def spike_times(self, sim: int) -> np.ndarray:
        """Somatic spike times of simulation ``sim`` (ms from its recorded start)."""
        sim = self._check_sim(sim)
        return self._spike_times[self._spike_off[sim]:self._spike_off[sim + 1]]

    def events(self, sim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw events of simulation ``sim``: ``(time_ms, channel, weight)``; its synapses' kinetics are
        ``kinetics[sim]`` ((4, 4): per receptor class, tau_rise_ms, tau_decay_ms, e_mV, nS_per_weight)."""
        sim = self._check_sim(sim)
        with readable(self.path, f"the events of simulation {sim}"):
            off = self._f["events/offsets"]
            a, b = int(off[sim]), int(off[sim + 1])
            ev = self._f["events"]
            return ev["time_ms"][a:b], ev["channel"][a:b], ev["weight"][a:b]

    # -- windows ------------------------------------------------------------------------
    def window(self, sim: int, start_ms: int, length_ms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One window of one simulation.

        Parameters
        ----------
        sim : int
        start_ms, length_ms : int
            Whole ms; ``0 <= start_ms`` and ``start_ms + length_ms <= sim_ms``.

        Returns
        -------
        inputs : ndarray of float32, shape (length_ms, n_channels)
        voltage : ndarray of float32, shape (length_ms, n_segments)
        spike_times : ndarray of float64
            Somatic spikes in ``[start_ms, start_ms + length_ms)``, in ms from the
            window start.
        """
        sim = self._check_sim(sim)
        start_ms, length_ms = int(start_ms), int(length_ms)
        if length_ms < 1 or start_ms < 0 or start_ms + length_ms > self.sim_ms:
            raise DataError(f"window [{start_ms}, {start_ms + length_ms}) ms is outside 0..{self.sim_ms} ms")
        sl = slice(start_ms, start_ms + length_ms)
        spikes = self.spike_times(sim)
        inside = spikes[(spikes >= start_ms) & (spikes < start_ms + length_ms)] - start_ms
        with readable(self.path, f"simulation {sim}"):
            return self._inputs[sim, sl], self._voltage[sim, sl], inside

    def iter_windows(self, length_ms: int, sims=None, batch_size: int = 32, seed: int = 0,
                     spike_balance: float = 0.0, n_windows: int | None = None,
                     drop_last: bool = False) -> Iterator[WindowBatch]:
        """Stream batches of windows without loading the file into memory.

        Windows start on a grid of ``length_ms`` (non-overlapping) in every
        simulation of ``sims``, shuffled with ``seed``. With ``spike_balance = p``
        each window is, with probability ``p``, replaced by one that contains a
        somatic spike: a spike is picked at random and the window placed at a
        random offset around it. This over-represents the rare spiking windows.

        Parameters
        ----------
        length_ms : int
            Window length (ms).
        sims : sequence of int or None
            Simulations to draw from (default all), e.g. a training split.
        batch_size : int
        seed : int
            Seed of the shuffling and the spike windows.
        spike_balance : float
            Probability in [0, 1] that a window is a spike window.
        n_windows : int or None
            Windows to yield in total (default: the size of the grid).
        drop_last : bool
            Drop a last, smaller batch.

        Yields
        ------
        WindowBatch
        """
        length_ms = int(length_ms)
        if not 1 <= length_ms <= self.sim_ms:
            raise DataError(f"window length must be 1..{self.sim_ms} ms, got {length_ms}")
        if batch_size < 1:
            raise DataError(f"batch_size must be >= 1, got {batch_size}")
        if not 0.0 <= spike_balance <= 1.0:
            raise DataError(f"spike_balance must be in [0, 1], got {spike_balance}")
        sims = np.arange(self.n_sims) if sims is None else np.array([self._check_sim(s) for s in sims])
        if sims.size == 0:
            raise DataError("no simulations to draw windows from")
        rng = np.random.default_rng(seed)
        per_sim = self.sim_ms // length_ms
        grid = np.stack(np.meshgrid(sims, np.arange(per_sim) * length_ms, indexing="ij"), -1).reshape(-1, 2)
        grid = grid[rng.permutation(len(grid))]
        total = len(grid) if n_windows is None else int(n_windows)
        spike_sim, spike_t = self._spikes_of(sims)
        for first in range(0, total, batch_size):
            count = min(batch_size, total - first)
            if count < batch_size and drop_last:
                return
            picks = grid[np.arange(first, first + count) % len(grid)].copy()
            if spike_balance > 0 and spike_t.size:
                swap = rng.random(count) < spike_balance
                chosen = rng.integers(spike_t.size, size=int(swap.sum()))
                k = np.floor(spike_t[chosen]).astype(np.int64)
                lo = np.maximum(0, k - length_ms + 1)
                hi = np.minimum(k, self.sim_ms - length_ms)
                picks[swap, 0] = spike_sim[chosen]
                picks[swap, 1] = lo + (rng.random(chosen.size) * (hi - lo + 1)).astype(np.int64)
            yield self._read_batch(picks, length_ms)

    def _spikes_of(self, sims) -> tuple[np.ndarray, np.ndarray]:
        counts = np.diff(self._spike_off)[sims]
        owners = np.repeat(sims, counts)
        times = np.concatenate([self.spike_times(s) for s in sims]) if len(sims) else np.empty(0)
        return owners, times

    def _read_batch(self, picks: np.ndarray, length_ms: int) -> WindowBatch:
        b = len(picks)
        inputs = np.empty((b, length_ms, self.n_channels), dtype=np.float32)
        voltage = np.empty((b, length_ms, self.n_segments), dtype=np.float32)
        spikes = np.zeros((b, length_ms), dtype=np.uint8)
        for j in np.lexsort((picks[:, 1], picks[:, 0])):  # file order: chunks are reused from the cache
            sim, start = int(picks[j, 0]), int(picks[j, 1])
            sl = slice(start, start + length_ms)
            with readable(self.path, f"simulation {sim}"):
                self._inputs.read_direct(inputs, np.s_[sim, sl], np.s_[j])
                self._voltage.read_direct(voltage, np.s_[sim, sl], np.s_[j])
            t = self.spike_times(sim)
            k = np.floor(t[(t >= start) & (t < start + length_ms)]).astype(np.int64) - start
            np.add.at(spikes[j], k, 1)
        return WindowBatch(inputs, voltage, spikes, picks[:, 0].astype(np.int64), picks[:, 1].astype(np.int64))


class DatasetUnion:
    """Several data sets of one cell read as one (simulations numbered in order).

    Parameters
    ----------
    datasets : list of Dataset
        Same cell, input channels and simulation length.
    max_sims : int or None
        Keep only the first ``max_sims`` simulations (for learning curves).

    Raises
    ------
    DataError
        If the sets are of different cells, channels or simulation lengths.
    """

    def __init__(self, datasets, max_sims: int | None = None):
        if not datasets:
            raise DataError("no data set given")
        first = datasets[0]
        for ds in datasets[1:]:
            # the segment table's own digest (the stored attribute's definition changed once)
            if (ds.segments.digest() != first.segments.digest()
                    or not np.array_equal(ds.channel_segment, first.channel_segment)):
                raise DataError(f"{ds.path} is of another cell or has other input channels than {first.path}; "
                                "train on data sets generated for one cell")
            if ds.sim_ms != first.sim_ms:
                raise DataError(f"{ds.path} has {ds.sim_ms} ms simulations, {first.path} {first.sim_ms} ms; "
                                "generate both with the same --sim-seconds")
        self.datasets = list(datasets)
        self._index = [(d, s) for d, ds in enumerate(self.datasets) for s in range(ds.n_sims)]
        if max_sims is not None:
            if max_sims < 1:
                raise DataError(f"at least one simulation is needed, got max_sims={max_sims}")
            if max_sims > len(self._index):
                raise DataError(f"{max_sims} simulations asked for, the data sets hold {len(self._index)}; "
                                "generate more data or ask for fewer seconds")
            self._index = self._index[:max_sims]
        self.path = first.path if len(datasets) == 1 else Path("+".join(str(d.path) for d in datasets))
        self.segments, self.channels, self.geometry = first.segments, first.channels, first.geometry
        self.sim_ms, self.n_sims = first.sim_ms, len(self._index)
        self.n_segments, self.n_channels, self.cell_digest = first.n_segments, first.n_channels, first.cell_digest
        self.rate_hz = np.array([self.datasets[d].rate_hz[s] for d, s in self._index])
        self.kinetics = np.array([self.datasets[d].kinetics[s] for d, s in self._index]).reshape(-1, *first.kinetics.shape[1:])

    channel_segment = Dataset.channel_segment
    channel_kind = Dataset.channel_kind

    def __len__(self) -> int:
        return self.n_sims

    @property
    def digest(self) -> str:
        """One file's digest; for several (or a subset), a digest of their digests and the simulations used."""
        if len(self.datasets) == 1 and self.n_sims == self.datasets[0].n_sims:
            return self.datasets[0].digest

        h = hashlib.sha256()
        for ds in self.datasets:
            h.update(ds.digest.encode())
        h.update(str(self.n_sims).encode())
        return h.hexdigest()

    def _locate(self, sim: int):
        if not 0 <= int(sim) < self.n_sims:
            raise DataError(f"simulation {sim} out of range 0..{self.n_sims - 1}")
        d, s = self._index[int(sim)]
        return self.datasets[d], s

    def spike_times(self, sim: int) -> np.ndarray:
        ds, s = self._locate(sim)
        return ds.spike_times(s)

    def window(self, sim: int, start_ms: int, length_ms: int):
        """As :meth:`Dataset.window`."""
        ds, s = self._locate(sim)
        return ds.window(s, start_ms, length_ms)


def summary(path: str | Path, digest: bool = True) -> dict:
    """What ``surrogate-cell inspect`` reports: sizes, spike count, rates and the digest.

    Raises
    ------
    DataError
        ``path`` is missing or not a data set.
    """
    with Dataset(path) as ds, readable(path, "a table"):
        rates = ds.rate_hz
        out = {
            "path": str(path),
            "format_version": int(ds.attrs["format_version"]),
            "n_simulations": ds.n_sims,
            "sim_ms": ds.sim_ms,
            "simulated_seconds": ds.n_sims * ds.sim_ms / 1000.0,
            "n_segments": ds.n_segments,
            "n_channels": ds.n_channels,
            "n_somatic_spikes": int(ds._spike_off[-1]),
            "n_events": int(ds._f["events/offsets"][-1]),
            "rate_hz": {"mean": float(rates.mean()), "median": float(np.median(rates)),
                        "min": float(rates.min()), "max": float(rates.max())},
            "regimes": {str(r): int((ds.regime == r).sum()) for r in sorted(set(ds.regime))},
            "seed": int(ds.attrs["seed"]),
            "cell": ds.attrs["cell"],
            "cell_digest": ds.cell_digest,
        }
    if digest:
        out["digest"] = data_digest(path)
    return out
