"""Synaptic input generator: inhomogeneous Poisson trains for every input channel.

One simulation's inputs are drawn from a single random stream seeded with the
simulation's own seed (see :func:`sim_seed`), so they depend on nothing but
``(seed, sim_index)`` and the channel layout: not on the worker or MPI rank
that draws them, nor on the order in which simulations run.

The recipe, per simulation (all rates are per synapse, in Hz):

1. A regime is drawn (``GeneratorConfig.regimes``): ``background``,
   ``oscillatory``, ``synchronous``, ``strong`` or ``silence``.
2. A mean excitatory rate ``r_E`` (log-uniform in ``exc_rate_hz``) and an E/I
   ratio ``q`` (uniform in ``ei_ratio``) give the inhibitory mean ``r_I = q r_E``.
   ``strong`` multiplies ``r_E`` by ``f`` and ``r_I`` by ``f**strong_inh_exponent``
   (``f`` uniform in ``strong_factor``); ``silence`` multiplies both by a factor
   uniform in ``silence_factor``.
3. Four rate profiles, drawn independently (basal E, basal I, apical E,
   apical I): piecewise constant with pieces lasting ``piece_ms`` (uniform),
   each piece's level ``U(1 - piece_spread, 1 + piece_spread)`` times the mean,
   then smoothed with a Gaussian of ``smooth_ms``.
4. ``oscillatory`` multiplies the profiles by ``1 + a sin(2π f t + φ)``
   (``f`` log-uniform in ``osc_freq_hz``, ``a`` uniform in ``osc_depth``);
   inhibition lags by ``osc_inh_lag_ms``.
5. Every channel has a gain, log-normal with mean 1 (``gain_sigma``), times
   its segment's length over the mean dendritic segment length when
   ``length_scaled`` (input density per µm of dendrite).
6. Counts per 1 ms bin are Poisson with the channel's rate in that bin; each
   event's time is uniform within its bin.
7. ``synchronous`` adds volleys at Poisson times (``volley_rate_hz``): a
   fraction (``volley_fraction``) of the excitatory channels of the basal tree,
   the apical tree or both fires once each, jittered by a Gaussian of
   ``volley_jitter_ms``.
8. Every event's weight is log-normal with mean 1 and coefficient of variation
   ``weight_cv``, stored as float32 (the value NEURON receives).

The ``network`` regime (probability 0 by default) replaces steps 2–7 with
the background a cell gets in a network model: ``n_E`` excitatory and ``n_I``
inhibitory sources (uniform integers in ``network_exc_sources`` and
``network_inh_sources``), each a stationary Poisson train at one rate per
simulation (log-uniform in ``network_exc_rate_hz`` and
``network_inh_rate_hz``), each onto a channel of its kind drawn uniformly
(several sources may share a channel; most channels get none). That is the
input of ``surrogate-cell bench network``, and close to the NetPyNE column's
background (``surrogate_cell.cli.column``, which puts each source at the
middle of a random section): few channels, each busy, no slow rate profiles.

Times are in ms from the start of the recorded period.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from ..errors import DataError

#: Regimes, in the order their probabilities are listed.
REGIMES = ("background", "oscillatory", "synchronous", "strong", "silence", "network")


@dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of the input generator. Rates in Hz per synapse, times in ms.

    The defaults are tuned on the synthetic default cell (``HayCell()``) so that
    most simulations fire at 1–20 Hz, some are silent and a few reach ~30 Hz
    (see ``docs/dataset.md`` for the measured distribution).
    """

    exc_rate_hz: tuple = (2.0, 10.0)
    ei_ratio: tuple = (0.3, 1.5)
    piece_ms: tuple = (25.0, 450.0)
    piece_spread: float = 1.0
    smooth_ms: float = 10.0
    gain_sigma: float = 0.5
    length_scaled: bool = True
    weight_cv: float = 0.3
    regimes: dict = field(default_factory=lambda: {
        "background": 0.45, "oscillatory": 0.2, "synchronous": 0.15, "strong": 0.1, "silence": 0.1})
    strong_factor: tuple = (1.5, 3.5)
    strong_inh_exponent: float = 0.5
    silence_factor: tuple = (0.0, 0.2)
    osc_freq_hz: tuple = (4.0, 40.0)
    osc_depth: tuple = (0.3, 1.0)
    osc_inh_lag_ms: float = 3.0
    volley_rate_hz: tuple = (1.0, 5.0)
    volley_fraction: tuple = (0.05, 0.25)
    volley_jitter_ms: float = 2.0
    network_exc_sources: tuple = (200, 1000)
    network_inh_sources: tuple = (50, 300)
    network_exc_rate_hz: tuple = (2.0, 10.0)
    network_inh_rate_hz: tuple = (5.0, 15.0)

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise :class:`~surrogate_cell.errors.DataError` for out-of-range values."""
        for name in ("exc_rate_hz", "ei_ratio", "piece_ms", "strong_factor", "silence_factor",
                     "osc_freq_hz", "osc_depth", "volley_rate_hz", "volley_fraction", "network_exc_sources",
                     "network_inh_sources", "network_exc_rate_hz", "network_inh_rate_hz"):
            lo_hi = getattr(self, name)
            if len(lo_hi) != 2 or not (0 <= lo_hi[0] <= lo_hi[1]):
                raise DataError(f"generator parameter {name} must be a range [low, high] with "
                                f"0 <= low <= high, got {list(lo_hi)}")
        for name in ("exc_rate_hz", "piece_ms", "osc_freq_hz", "network_exc_rate_hz", "network_inh_rate_hz"):
            if getattr(self, name)[0] <= 0:
                raise DataError(f"generator parameter {name} must be positive, got {list(getattr(self, name))}")
        if not 0 <= self.piece_spread <= 1:
            raise DataError(f"generator parameter piece_spread must be in [0, 1], got {self.piece_spread}")
        if self.osc_depth[1] > 1 or self.volley_fraction[1] > 1:
            raise DataError("generator parameters osc_depth and volley_fraction must not exceed 1")
        for name in ("smooth_ms", "gain_sigma", "weight_cv", "osc_inh_lag_ms", "volley_jitter_ms",
                     "strong_inh_exponent"):
            if getattr(self, name) < 0:
                raise DataError(f"generator parameter {name} must be >= 0, got {getattr(self, name)}")
        unknown = set(self.regimes) - set(REGIMES)
        if unknown:
            raise DataError(f"unknown regime(s) {sorted(unknown)} in the generator; choose from {list(REGIMES)}")
        probs = [self.regimes.get(r, 0.0) for r in REGIMES]
        if min(probs) < 0 or abs(sum(probs) - 1.0) > 1e-9:
            raise DataError(f"regime probabilities must be >= 0 and sum to 1, got {self.regimes}")

    def to_dict(self) -> dict:
        """Plain JSON-able values (tuples become lists)."""
        out = asdict(self)
        return json.loads(json.dumps(out))

    @classmethod
    def from_dict(cls, d: dict) -> "GeneratorConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`DataError`."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise DataError(f"unknown generator parameter(s) {sorted(unknown)}; known: {sorted(names)}")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**kw)


@dataclass(frozen=True)
class ChannelLayout:
    """What the generator needs to know of each input channel.

    Attributes
    ----------
    inhibitory : ndarray of bool, shape (n_channels,)
        True for GABA_A channels.
    apical : ndarray of bool, shape (n_channels,)
        True where the channel's segment is apical (oblique, trunk, tuft).
    length_um : ndarray, shape (n_channels,)
        Length of the channel's segment (µm).
    """

    inhibitory: np.ndarray
    apical: np.ndarray
    length_um: np.ndarray

    def __len__(self) -> int:
        return len(self.inhibitory)


@dataclass
class SimInputs:
    """One simulation's input events, sorted by time then channel.

    Attributes
    ----------
    time_ms : ndarray of float64
        Event times (ms) from the start of the recorded period, in [0, sim_ms).
    channel : ndarray of int32
        Input channel of each event.
    weight : ndarray of float32
        Event weight (1 = the synapse's nominal peak conductance).
    regime : str
        One of :data:`REGIMES`.
    seed : int
        The simulation's seed (uint64) the events were drawn from.
    """

    time_ms: np.ndarray
    channel: np.ndarray
    weight: np.ndarray
    regime: str
    seed: int

    def __len__(self) -> int:
        return len(self.time_ms)


def sim_seed(seed: int, sim_index: int) -> int:
    """The uint64 seed of simulation ``sim_index`` of a set seeded with ``seed``.

    Derived with ``np.random.SeedSequence([seed, sim_index])``; stored per
    simulation in the data set (``/sims/seed``), it alone reproduces the inputs.
    """
    return int(np.random.SeedSequence([int(seed), int(sim_index)]).generate_state(1, dtype=np.uint64)[0])


def _loguniform(rng, lo, hi):
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if hi > lo else float(lo)


def _profile(rng, n_bins: int, config: GeneratorConfig) -> np.ndarray:
    """Piecewise-constant levels (mean 1) over ``n_bins`` 1-ms bins, Gaussian-smoothed."""
    levels = np.empty(n_bins)
    start = 0
    while start < n_bins:
        length = max(1, int(round(rng.uniform(*config.piece_ms))))
        levels[start:start + length] = rng.uniform(1.0 - config.piece_spread, 1.0 + config.piece_spread)
        start += length
    if config.smooth_ms > 0:
        half = int(np.ceil(3 * config.smooth_ms))
        x = np.arange(-half, half + 1)
        kernel = np.exp(-0.5 * (x / config.smooth_ms) ** 2)
        kernel /= kernel.sum()
        # pad with the edge values so the ends are not pulled towards zero
        padded = np.pad(levels, half, mode="edge")
        levels = np.convolve(padded, kernel, mode="valid")
    return levels


def draw_inputs(config: GeneratorConfig, layout: ChannelLayout, sim_ms: int, seed: int) -> SimInputs:
    """Draw one simulation's events (see the module docstring for the recipe).

    Parameters
    ----------
    config : GeneratorConfig
    layout : ChannelLayout
        The input channels (excitatory first, then inhibitory, by convention).
    sim_ms : int
        Length of the recorded period (ms).
    seed : int
        The simulation's seed, e.g. :func:`sim_seed` ``(set_seed, index)``.

    Returns
    -------
    SimInputs
    """
    rng = np.random.default_rng(seed)
    n_bins = int(sim_ms)
    names = list(REGIMES)
    probs = np.array([config.regimes.get(r, 0.0) for r in names])
    # a regime of probability 0 listed last leaves the draw of the others unchanged (same data, same seed)
    regime = names[int(rng.choice(len(names), p=probs / probs.sum()))]
    if regime == "network":
        times, chans = _network_events(rng, config, layout, n_bins)
        bins = np.floor(times).astype(np.int64)
    else:
        times, chans, bins = _profile_events(rng, config, layout, n_bins, regime)
    # k + u with u < 1 can round up to k + 1: keep every event inside its own bin
    upper = np.nextafter(bins + 1.0, -np.inf)
    times = np.minimum(times, upper)
    sigma2 = np.log1p(config.weight_cv ** 2)
    weights = np.exp(rng.normal(-0.5 * sigma2, np.sqrt(sigma2), times.size)).astype(np.float32)
    order = np.lexsort((chans, times))
    return SimInputs(time_ms=times[order].astype(np.float64), channel=chans[order].astype(np.int32),
                     weight=weights[order], regime=regime, seed=int(seed))


def _network_events(rng, config: GeneratorConfig, layout: ChannelLayout, n_bins: int) -> tuple:
    """Event times (ms) and channels of the ``network`` regime: stationary sources on random channels."""
    times, chans = [], []
    for inhibitory, sources, rates in ((False, config.network_exc_sources, config.network_exc_rate_hz),
                                       (True, config.network_inh_sources, config.network_inh_rate_hz)):
        pool = np.flatnonzero(layout.inhibitory == inhibitory)
        n = int(rng.integers(int(sources[0]), int(sources[1]) + 1))
        rate = _loguniform(rng, *rates)
        if pool.size == 0 or n == 0:
            continue
        per_channel = np.bincount(rng.choice(pool.size, n), minlength=pool.size)
        counts = rng.poisson(per_channel * rate * n_bins / 1000.0)
        chans.append(np.repeat(pool, counts))
        times.append(rng.random(int(counts.sum())) * n_bins)
    if not times:
        return np.zeros(0), np.zeros(0, np.int64)
    return np.concatenate(times), np.concatenate(chans)


def _profile_events(rng, config: GeneratorConfig, layout: ChannelLayout, n_bins: int, regime: str) -> tuple:
    """Event times (ms), channels and 1 ms bins of the profile-based regimes (steps 2–7 of the recipe)."""
    rate_e = _loguniform(rng, *config.exc_rate_hz)
    rate_i = rate_e * rng.uniform(*config.ei_ratio)
    if regime == "strong":
        f = rng.uniform(*config.strong_factor)
        rate_e, rate_i = rate_e * f, rate_i * f ** config.strong_inh_exponent
    elif regime == "silence":
        f = rng.uniform(*config.silence_factor)
        rate_e, rate_i = rate_e * f, rate_i * f

    # profiles[tree, kind]: tree 0 basal / 1 apical, kind 0 exc / 1 inh (Hz)
    profiles = np.empty((2, 2, n_bins))
    for tree in (0, 1):
        for kind, mean in ((0, rate_e), (1, rate_i)):
            profiles[tree, kind] = mean * _profile(rng, n_bins, config)
    if regime == "oscillatory":
        freq = _loguniform(rng, *config.osc_freq_hz)
        depth = rng.uniform(*config.osc_depth)
        phase = rng.uniform(0, 2 * np.pi)
        t = np.arange(n_bins) + 0.5  # bin centres, ms
        profiles[:, 0] *= 1 + depth * np.sin(2 * np.pi * freq * t / 1000 + phase)
        profiles[:, 1] *= 1 + depth * np.sin(2 * np.pi * freq * (t - config.osc_inh_lag_ms) / 1000 + phase)

    n_ch = len(layout)
    gain = np.exp(rng.normal(-0.5 * config.gain_sigma ** 2, config.gain_sigma, n_ch))  # mean 1
    if config.length_scaled:
        gain = gain * layout.length_um / layout.length_um[~layout.inhibitory].mean()
    tree = layout.apical.astype(int)
    kind = layout.inhibitory.astype(int)
    lam = profiles[tree, kind].T * (gain * 1e-3)  # expected events per 1-ms bin, (n_bins, n_ch)
    counts = rng.poisson(lam)
    bins, chans = np.nonzero(counts)
    reps = counts[bins, chans]
    bins = np.repeat(bins, reps)
    chans = np.repeat(chans, reps)
    times = bins + rng.random(bins.size)

    if regime == "synchronous":
        vrate = rng.uniform(*config.volley_rate_hz)
        n_volleys = rng.poisson(vrate * n_bins / 1000)
        exc = np.flatnonzero(~layout.inhibitory)
        vt, vc = [times], [chans]
        for _ in range(n_volleys):
            t0 = rng.uniform(0, n_bins)
            target = rng.integers(3)  # 0 basal, 1 apical, 2 both
            pool = exc if target == 2 else exc[layout.apical[exc] == bool(target)]
            frac = rng.uniform(*config.volley_fraction)
            members = pool[rng.random(pool.size) < frac]
            tv = t0 + rng.normal(0.0, config.volley_jitter_ms, members.size)
            keep = (tv >= 0) & (tv < n_bins)
            vt.append(tv[keep])
            vc.append(members[keep])
        times, chans = np.concatenate(vt), np.concatenate(vc)
        bins = np.floor(times).astype(np.int64)
    return times, chans, bins


def bin_events(time_ms: np.ndarray, channel: np.ndarray, weight: np.ndarray, sim_ms: int,
               n_channels: int, bin_ms: float = 1.0) -> np.ndarray:
    """Summed event weights per channel and bin: ``out[k, c]`` = sum over events of
    channel ``c`` with ``k <= t / bin_ms < k + 1``.

    Parameters
    ----------
    time_ms, channel, weight : ndarray
        Events (ms from the start of the recorded period).
    sim_ms : int
        Length of the recorded period (ms).
    n_channels : int
    bin_ms : float

    Returns
    -------
    ndarray of float32, shape (sim_ms / bin_ms, n_channels)
    """
    n_bins = int(round(sim_ms / bin_ms))
    k = np.floor(np.asarray(time_ms) / bin_ms).astype(np.int64)
    if k.size and (k.min() < 0 or k.max() >= n_bins):
        raise DataError(f"event times must lie in [0, {sim_ms}) ms, got {time_ms.min()}..{time_ms.max()}")
    acc = np.zeros(n_bins * n_channels)
    # summed in float64 in event order (deterministic), stored as float32
    np.add.at(acc, k * n_channels + np.asarray(channel, dtype=np.int64), np.asarray(weight, dtype=np.float64))
    return acc.reshape(n_bins, n_channels).astype(np.float32)
