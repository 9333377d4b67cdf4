"""The inputs of one 1 ms bin: events NEURON delivered to the surrogates, and played events.

:class:`BinnedEvents` hands the runner, at each tick t = k, the events of bin
[k − 1, k) as ``(cell id, channel code, weight, t)`` records:

* NEURON-delivered events are drained from the C buffer the ``sc_Surrogate``
  cells share (one call, cost proportional to the events, not the
  connections). An event delivered at t belongs to bin ``floor(t)`` within
  ``bin_tolerance_ms``; one for a later bin waits; one whose bin is already
  computed (a delay shorter than dt) is added to the current bin, counted,
  and warned about once.
* Played events (:func:`~surrogate_cell.neuron.play_spikes`,
  :func:`~surrogate_cell.neuron.play_netstim`) never enter NEURON's queue:
  they are sorted once at ``finitialize`` and merged bin by bin. Played
  NetStims are drawn to ``h.tstop`` then, spike for spike as NEURON would
  send them (:mod:`.netstim`), and the NetStims themselves are silenced.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..errors import NetworkError, RunnerStateError
from .netstim import netstim_trains


def draw_netstim_trains(trains, stop_ms: float, global_index: int) -> None:
    """Set each played NetStim's deliveries: its NetStim's spikes before ``stop_ms``, streams as set now.

    Each NetStim is drawn once, however many targets it is played into, and
    all in one vectorised pass (:func:`~.netstim.netstim_trains`).
    """
    first = {}
    for tr in trains:
        first.setdefault(tr.key, tr)
    params = [tr.params for tr in first.values()]
    ids = [tuple(int(i) for i in tr.netstim.ranvar.get_ids()) for tr in first.values()]
    spikes = dict(zip(first, netstim_trains(params, ids, stop_ms, global_index)))
    for tr in trains:
        tr.delivery_ms = spikes[tr.key] + tr.delay_ms


class BinnedEvents:
    """The event side of the runner: drained and played events, by 1 ms bin.

    Parameters
    ----------
    h : hoc interpreter
    bin_tolerance_ms : float
        An event at ``k - bin_tolerance_ms`` or later counts into bin k.
    """

    def __init__(self, h, bin_tolerance_ms: float):
        self.h = h
        self.tolerance = bin_tolerance_ms
        self._drain_cell = h.sc_Surrogate()  # drain() is a method of any instance
        self._buffer = h.Vector(4096)
        self._pending = np.zeros((0, 4))
        self.played: list = []  # PlayedTrain and PlayedNetStim objects
        self._played_events = np.zeros((0, 4))  # their (cell, code, w, t) records sorted by t, at start()
        self._played_pos = 0
        self.horizon_ms = math.inf  # played NetStims are drawn to h.tstop at start()
        self._netstims: dict = {}  # hname -> (NetStim, (interval, start, noise, number) as first read, silenced?)

    # -- played inputs -------------------------------------------------------------
    def netstim_params(self, netstim, silence: bool = True) -> tuple:
        """(interval, start, noise, number) of a NetStim, read once; with ``silence`` the NetStim is then
        silenced (number 0) until :meth:`restore_netstims`. A NetStim is silenced or not, for all its targets."""
        key = netstim.hname()
        if key not in self._netstims:
            self._netstims[key] = (netstim, (float(netstim.interval), float(netstim.start), float(netstim.noise),
                                             float(netstim.number)), bool(silence))
            if silence:
                netstim.number = 0  # NEURON sends nothing; the runner plays its spikes
        elif self._netstims[key][2] != bool(silence):
            raise NetworkError(f"{key} is played {'silenced' if self._netstims[key][2] else 'unsilenced'} already; "
                               "play a NetStim the same way into all its targets")
        return self._netstims[key][1]

    def restore_netstims(self) -> None:
        """The silenced NetStims send their own spikes again."""
        for netstim, params, silenced in self._netstims.values():
            if silenced:
                netstim.number = params[3]
        self._netstims = {}
        self.played, self._played_events = [], np.zeros((0, 4))

    # -- the run -------------------------------------------------------------------
    def start(self, k0: int) -> None:
        """Sort every played event into (cell, code, w, t) records; skip those before the run's start k0."""
        self._pending = np.zeros((0, 4))
        self._buffer.resize(max(int(self._buffer.size()), 4096))
        netstims = [tr for tr in self.played if getattr(tr, "netstim", None) is not None]
        self.horizon_ms = math.inf
        if netstims:
            if k0 != 0:
                raise RunnerStateError(f"played NetStims replay a run from t = 0; this one starts at t = {k0} ms")
            self.horizon_ms = float(self.h.tstop)
            draw_netstim_trains(netstims, self.horizon_ms, int(self.h.Random().Random123_globalindex()))
        trains = [tr for tr in self.played if len(tr)]
        counts = np.array([len(tr) for tr in trains], dtype=np.int64)
        ev = np.empty((int(counts.sum()), 4))
        if trains:  # one pass per column, not per train (a network may play 10^5 trains)
            ev[:, 0] = np.repeat([float(tr.target.cell.source.cellid) for tr in trains], counts)
            ev[:, 1] = np.repeat([float(tr.target.code) for tr in trains], counts)
            ev[:, 2] = np.repeat([tr.weight for tr in trains], counts)
            ev[:, 3] = np.concatenate([tr.delivery_ms for tr in trains])
        ev = ev[np.argsort(ev[:, 3], kind="stable")]
        self._played_events = ev
        self._played_pos = int(np.searchsorted(ev[:, 3], k0 - self.tolerance, side="left"))

    def take(self, k: int, stats) -> np.ndarray:
        """The events of bin [k − 1, k) as (cell id, code, weight, t) rows, in one canonical order.

        ``stats`` (:class:`~surrogate_cell.neuron.RunStats`) counts late,
        played and all events.
        """
        if k > self.horizon_ms + 1e-9:
            raise RunnerStateError(f"played NetStims were drawn up to h.tstop = {self.horizon_ms:g} ms at "
                                   f"finitialize, and the run went on to {k} ms: set h.tstop to the run's end before "
                                   "finitialize (NetPyNE sets it from cfg.duration)")
        n = int(self._drain_cell.drain(self._buffer))
        events = self._buffer.as_numpy()[: 4 * n].reshape(n, 4)
        if self._pending.shape[0]:
            events = np.concatenate([self._pending, events])
        if events.shape[0]:
            bins = np.floor(events[:, 3] + self.tolerance)
            now = bins <= k - 1
            late = int(np.count_nonzero(bins < k - 1))
            if late:
                if not stats.late_events:
                    warnings.warn(f"events reached surrogate cells after their 1 ms bin had been computed "
                                  f"(t = {self.h.t:.3f} ms; a connection delay shorter than dt?); they are added "
                                  "to the current bin and counted in runner.stats.late_events",
                                  RuntimeWarning, stacklevel=1)
                stats.late_events += late
            self._pending = events[~now].copy()
            events = events[now]
        if self._played_pos < self._played_events.shape[0]:  # played events of this bin: t < k - tolerance
            end = int(np.searchsorted(self._played_events[:, 3], k - self.tolerance, side="left"))
            if end > self._played_pos:
                events = np.concatenate([events, self._played_events[self._played_pos:end]])
                stats.played_events += end - self._played_pos
                self._played_pos = end
        stats.events += events.shape[0]
        if events.shape[0] > 1:
            # a bin's float32 sums must not depend on the order its events arrived in (NEURON's queue, played
            # trains, ranks): add them in one canonical order, by cell, synapse code, weight and time (cell and
            # code, whole numbers below 2**31, as one key: a sort key fewer)
            cell_code = (events[:, 0].astype(np.int64) << 32) + events[:, 1].astype(np.int64)
            events = events[np.lexsort((events[:, 3], events[:, 2], cell_code))]
        return events
