"""Input spike trains played by the runner: known input events that never enter NEURON's queue.

Background input is most of a network's events. Given to a surrogate through
a NEURON spike source (NetStim, a NetCon's ``event``), every input costs
NEURON a few µs of event-queue work (about 3–5 µs here with 10⁵ sources
pending), which is as much as the model's own step in a 1000-cell network.
When the times are known before the run (a replayed recording, a Poisson
train drawn in numpy), :func:`play_spikes` hands them to the process's
runner instead: it adds each event to its 1 ms bin exactly as it would an
event delivered by NEURON at the same time (same binning, same tolerance),
so the cell's voltages and spikes are the same either way (a test checks
this), at the cost of a ``searchsorted`` per step.

The trains are part of the network's structure: give them before
``finitialize``; the run plays the events delivered at or after its start
(t0, a whole ms). Under MPI, play trains on the rank that holds the cell.

:func:`play_netstim` does the same for an existing ``NetStim``: the runner
replays, spike for spike, what the NetStim would have sent
(:mod:`~surrogate_cell.neuron.netstim`), drawn at each ``finitialize`` up to
``h.tstop``, and the NetStim itself is silenced.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import NetworkError
from .cell import SynapseTarget
from .checks import check_delay, check_weight


class PlayedTrain:
    """A spike train played into one synaptic input of a surrogate cell.

    Attributes
    ----------
    target : SynapseTarget
    weight : float
        Multiple of the reference conductance (as :func:`~surrogate_cell.neuron.connect`).
    delivery_ms : ndarray
        Delivery times (ms): spike times + delay, sorted.
    """

    def __init__(self, target: SynapseTarget, delivery_ms: np.ndarray, weight: float):
        self.target = target
        self.weight = weight
        self.delivery_ms = delivery_ms

    def __len__(self) -> int:
        return len(self.delivery_ms)

    def __repr__(self):
        return (f"PlayedTrain({self.target.cell.label} {self.target.section}({self.target.x:g}) "
                f"{self.target.kind}, {len(self)} events, weight {self.weight:g})")


def _checked(what: str, target, weight, delay) -> tuple:
    """(weight, delay in ms) of an input played into ``target``, each checked as :func:`connect` checks it."""
    if not isinstance(target, SynapseTarget):
        raise NetworkError(f"{what} needs a surrogate's synapse, cell.synapse(section, x, kind), got "
                           f"{type(target).__name__}; for a detailed cell's synapse use a NEURON spike source")
    return check_weight(weight), check_delay(delay)


def play_spikes(target: SynapseTarget, times_ms, weight: float = 1.0, delay: float = 1.0) -> PlayedTrain:
    """Deliver the spikes at ``times_ms`` to ``target`` after ``delay``, without NEURON events.

    The same input as ``connect(source, target, weight, delay)`` from a
    source that fires at ``times_ms`` (a NetStim or a vector player).

    Parameters
    ----------
    target : SynapseTarget
        ``cell.synapse(section, x, kind)`` of a surrogate cell.
    times_ms : array_like
        Presynaptic spike times (ms), finite and >= 0, in any order.
    weight : float
        Multiple of the detailed synapse's reference conductance.
    delay : float
        Delay (ms) from each spike to its delivery.

    Returns
    -------
    PlayedTrain
        Also kept by the runner until it is closed.

    Raises
    ------
    NetworkError
        A target that is not a surrogate's synapse; times that are not a
        1-D array of finite values >= 0.
    InvalidWeightError, DelayTooShortError
        As for :func:`~surrogate_cell.neuron.connect`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> play_spikes(cell.synapse("dend[3]", 0.5, "exc"), poisson_times(5.0, 1000.0, rng), weight=1.0)
    """
    w, d = _checked("play_spikes", target, weight, delay)
    try:
        times = np.array(times_ms, dtype=np.float64)
    except (TypeError, ValueError):
        raise NetworkError("times_ms must be an array of spike times (ms)") from None
    if times.ndim != 1:
        raise NetworkError(f"times_ms must be 1-D (one train), got shape {times.shape}")
    if times.size and not (np.isfinite(times).all() and times.min() >= 0):
        raise NetworkError("times_ms must be finite and >= 0 ms")
    train = PlayedTrain(target, np.sort(times) + d, w)
    target.cell.runner.add_played(train)
    return train


class PlayedNetStim(PlayedTrain):
    """A NetStim's spike train played into a surrogate's synapse; redrawn at each ``finitialize``.

    Attributes
    ----------
    netstim : hoc NetStim
        Silenced (``number = 0``); its interval, start, noise and number as
        they were when first played are in ``params``; its Random123 ids are
        read at each ``finitialize``.
    delay_ms : float
    """

    def __init__(self, target: SynapseTarget, netstim, params: tuple, weight: float, delay_ms: float):
        super().__init__(target, np.empty(0), weight)
        self.netstim = netstim
        self.key = netstim.hname()
        self.params = params
        self.delay_ms = delay_ms


def play_netstim(netstim, target: SynapseTarget, weight: float = 1.0, delay: float = 1.0, *,
                 silence: bool = True) -> PlayedNetStim:
    """Play ``netstim``'s spikes into ``target`` with the runner, as ``connect(netstim, target, weight, delay)`` would.

    The runner computes the NetStim's spike times itself at each
    ``finitialize`` (NEURON's NetStim and Random123 reproduced bit for bit,
    up to ``h.tstop``) and the NetStim is silenced (``number = 0``), so
    NEURON makes no events for it. With ``silence=False`` the NetStim keeps
    firing in NEURON for its other targets (a shared source, e.g. a NetPyNE
    NetStim population); only this target is played. Its interval, start, noise and number
    are read now (later changes are not seen); its ``noiseFromRandom123``
    stream when each run starts. The same NetStim may be played into several
    targets. A run past the ``h.tstop`` of its ``finitialize`` is an error.
    A NetStim that is itself switched on or off by events cannot be played.

    Raises
    ------
    NetworkError
        ``netstim`` is no NetStim, or ``target`` no surrogate synapse.
    InvalidWeightError, DelayTooShortError
    """
    w, d = _checked("play_netstim", target, weight, delay)
    hname = getattr(netstim, "hname", lambda: "")()
    if hname.split("[")[0] != "NetStim":
        raise NetworkError(f"play_netstim needs an h.NetStim, got {netstim!r}")
    runner = target.cell.runner
    params = runner.events.netstim_params(netstim, silence)
    train = PlayedNetStim(target, netstim, params, w, d)
    runner.add_played(train)
    return train


def poisson_times(rate_hz: float, stop_ms: float, rng: np.random.Generator, start_ms: float = 0.0) -> np.ndarray:
    """Spike times (ms) of a Poisson process of ``rate_hz`` on [start_ms, stop_ms), sorted.

    Intervals are drawn in fixed blocks, so a longer ``stop_ms`` extends the
    same train (a 100 ms train is the prefix of a 1000 ms one). Draw each
    train from its own generator (e.g. ``np.random.default_rng((seed, gid,
    input))``) so that it does not depend on the order of drawing, the
    network's size or the number of MPI ranks.
    """
    if not (math.isfinite(rate_hz) and rate_hz >= 0):
        raise NetworkError(f"rate_hz must be finite and >= 0, got {rate_hz}")
    if not (math.isfinite(start_ms) and math.isfinite(stop_ms) and 0 <= start_ms <= stop_ms):
        raise NetworkError(f"need 0 <= start_ms <= stop_ms (finite), got {start_ms}, {stop_ms}")
    if rate_hz == 0:
        return np.empty(0)
    mean_isi = 1000.0 / rate_hz
    blocks, t = [], start_ms
    while t < stop_ms:
        block = t + np.cumsum(rng.exponential(mean_isi, _POISSON_BLOCK))
        blocks.append(block)
        t = block[-1]
    times = np.concatenate(blocks)
    return times[times < stop_ms]


_POISSON_BLOCK = 64  # intervals drawn at a time (fixed: trains of different lengths share their prefix)
