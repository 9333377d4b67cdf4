"""Synaptic input generator: kinetics, and inhomogeneous Poisson trains for every synapse site.

One simulation's inputs are drawn from a single random stream seeded with the
simulation's own seed (see :func:`sim_seed`), so they depend on nothing but
``(seed, sim_index)`` and the site layout: not on the worker or MPI rank
that draws them, nor on the order in which simulations run.

Every segment (soma and axon included) has two synapse sites: an excitatory
one (AMPA + NMDA) and an inhibitory one (GABA_A + GABA_B). Events are drawn
per site and delivered to its receptors, so the model's input channels are
the four receptor classes of every segment
(:func:`surrogate_cell.synapses.input_channel`).

The recipe, per simulation (all rates are per synapse, in Hz):

1. A regime is drawn (``GeneratorConfig.regimes``): ``background``,
   ``oscillatory``, ``synchronous``, ``strong`` or ``silence``.
   Then the synapses' kinetics (:func:`draw_kinetics`): rise and decay of
   every receptor class (uniform in its ``*_tau_*_ms`` range), the AMPA peak
   conductance per unit weight (log-uniform in ``exc_peak_nS``), the
   NMDA:AMPA peak ratio (uniform in ``nmda_ratio``), the GABA_A peak
   (log-uniform in ``inh_peak_nS``), and GABA_B, present with probability
   ``gaba_b_probability`` at a peak ratio to GABA_A uniform in
   ``gaba_b_ratio``. Reversal potentials are those of
   :data:`surrogate_cell.synapses.REVERSAL_MV`. The rates below are
   multiplied by ``Q_ref / Q`` of their sign, where ``Q`` is the charge
   weight of one event (peak × (decay − rise), NMDA and GABA_B counted at
   ``DRIVE_WEIGHT``) and ``Q_ref`` that of the reference synapses, so that a
   simulation with large, slow synapses gets fewer events, not a saturated
   cell.
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
   ``length_scaled`` (input density per µm of membrane). Inhibitory sites on
   the soma and axon multiply their gain by a factor uniform in
   ``perisomatic_inh_gain`` (basket and chandelier cells target them).
6. Counts per 1 ms bin are Poisson with the channel's rate in that bin; each
   event's time is uniform within its bin.
7. ``synchronous`` adds volleys at Poisson times (``volley_rate_hz``): a
   fraction (``volley_fraction``) of the excitatory channels of the basal tree,
   the apical tree or both fires once each, jittered by a Gaussian of
   ``volley_jitter_ms``.
8. Every event's weight is log-normal with mean 1 and coefficient of variation
   ``weight_cv``, stored as float32; an event of weight w on a receptor gives
   a peak conductance of w times the receptor's ``nS_per_weight``.

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
from ..synapses import RECEPTORS, REVERSAL_MV, ConductanceBins, Kinetics

#: Regimes, in the order their probabilities are listed.
REGIMES = ("background", "oscillatory", "synchronous", "strong", "silence", "network")
#: The generator's kinetic ranges, rise and decay of each receptor class in RECEPTORS order.
KINETIC_RANGES = tuple(f"{r}_tau_{k}_ms" for r in RECEPTORS for k in ("rise", "decay"))
#: Columns of a simulation's kinetics table (one row per receptor class, in RECEPTORS order).
KINETICS_COLUMNS = ("tau_rise_ms", "tau_decay_ms", "e_mV", "nS_per_weight")
#: Weight of the Mg-blocked NMDA and of GABA_B in an event's charge, for the rate compensation.
DRIVE_WEIGHT = {"ampa": 1.0, "nmda": 0.5, "gaba_a": 1.0, "gaba_b": 0.3}
#: The reference synapses the rates were tuned on: AMPA 0.3/3 ms and NMDA 2/70 ms at 0.4 nS each,
#: GABA_A 0.2/8 ms at 1 nS.
_Q_REF = (0.4 * 2.7 + DRIVE_WEIGHT["nmda"] * 0.4 * 68.0, 1.0 * 7.8)


@dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of the input generator. Rates in Hz per synapse, times in ms.

    The defaults are tuned on the synthetic default cell (``HayCell()``) so that
    most simulations fire at 1–20 Hz, some are silent and a few reach ~30 Hz
    (see ``docs/dataset.md`` for the measured distribution).
    """

    exc_rate_hz: tuple = (4.0, 20.0)
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
    # synapse kinetics, drawn per simulation (docs/dataset.md lists the published models they cover)
    ampa_tau_rise_ms: tuple = (0.05, 0.5)
    ampa_tau_decay_ms: tuple = (1.5, 6.0)
    nmda_tau_rise_ms: tuple = (0.3, 15.0)
    nmda_tau_decay_ms: tuple = (40.0, 160.0)
    gaba_a_tau_rise_ms: tuple = (0.05, 1.0)
    gaba_a_tau_decay_ms: tuple = (5.0, 20.0)
    gaba_b_tau_rise_ms: tuple = (2.0, 50.0)
    gaba_b_tau_decay_ms: tuple = (100.0, 300.0)
    exc_peak_nS: tuple = (0.2, 2.0)
    nmda_ratio: tuple = (0.0, 2.0)
    inh_peak_nS: tuple = (0.3, 3.0)
    gaba_b_probability: float = 0.5
    gaba_b_ratio: tuple = (0.05, 0.5)
    perisomatic_inh_gain: tuple = (0.5, 6.0)

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise :class:`~surrogate_cell.errors.DataError` for out-of-range values."""
        for name in ("exc_rate_hz", "ei_ratio", "piece_ms", "strong_factor", "silence_factor",
                     "osc_freq_hz", "osc_depth", "volley_rate_hz", "volley_fraction", "network_exc_sources",
                     "network_inh_sources", "network_exc_rate_hz", "network_inh_rate_hz", "nmda_ratio",
                     "gaba_b_ratio", "perisomatic_inh_gain") + KINETIC_RANGES:
            lo_hi = getattr(self, name)
            if len(lo_hi) != 2 or not (0 <= lo_hi[0] <= lo_hi[1]):
                raise DataError(f"generator parameter {name} must be a range [low, high] with "
                                f"0 <= low <= high, got {list(lo_hi)}")
        for r in ("ampa", "nmda", "gaba_a", "gaba_b"):
            rise, decay = getattr(self, f"{r}_tau_rise_ms"), getattr(self, f"{r}_tau_decay_ms")
            if rise[1] >= decay[0]:
                raise DataError(f"generator parameters {r}_tau_rise_ms {list(rise)} must lie below "
                                f"{r}_tau_decay_ms {list(decay)}")
        if not 0 <= self.gaba_b_probability <= 1:
            raise DataError(f"generator parameter gaba_b_probability must be in [0, 1], got {self.gaba_b_probability}")
        for name in ("exc_rate_hz", "piece_ms", "osc_freq_hz", "network_exc_rate_hz", "network_inh_rate_hz",
                     "exc_peak_nS", "inh_peak_nS") + KINETIC_RANGES[::2]:
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
class SiteLayout:
    """What the generator needs to know of the synapse sites: two per segment, excitatory ones first.

    Site ``s < S`` is the excitatory site of segment-table row ``s``, site
    ``S + s`` its inhibitory one (S segments).

    Attributes
    ----------
    apical : ndarray of bool, shape (S,)
        True where the segment is apical (oblique, trunk, tuft).
    perisomatic : ndarray of bool, shape (S,)
        True where the segment is soma or axon.
    length_um : ndarray, shape (S,)
        Length of each segment (µm).
    """

    apical: np.ndarray
    perisomatic: np.ndarray
    length_um: np.ndarray

    @property
    def n_segments(self) -> int:
        return len(self.apical)

    def __len__(self) -> int:
        return 2 * self.n_segments

    @property
    def inhibitory(self) -> np.ndarray:
        """True for the inhibitory sites, shape (2 S,)."""
        return np.repeat([False, True], self.n_segments)


@dataclass
class SimInputs:
    """One simulation's input events, on the model's input channels, sorted by time then channel.

    Attributes
    ----------
    time_ms : ndarray of float64
        Event times (ms) from the start of the recorded period, in [0, sim_ms).
    channel : ndarray of int32
        Input channel (receptor class and segment, :func:`~surrogate_cell.synapses.input_channel`).
    weight : ndarray of float32
        Event weight: the peak conductance is ``weight`` times the receptor's ``nS_per_weight``.
    kinetics : ndarray of float64, shape (4, 4)
        Per receptor class (rows in RECEPTORS order): :data:`KINETICS_COLUMNS`.
    regime : str
        One of :data:`REGIMES`.
    seed : int
        The simulation's seed (uint64) the events were drawn from.
    """

    time_ms: np.ndarray
    channel: np.ndarray
    weight: np.ndarray
    kinetics: np.ndarray
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


def draw_kinetics(rng, config: GeneratorConfig) -> np.ndarray:
    """One simulation's synapse kinetics (step 1 of the recipe): (4, 4), rows in RECEPTORS order,
    columns :data:`KINETICS_COLUMNS`."""
    out = np.zeros((len(RECEPTORS), len(KINETICS_COLUMNS)))
    for i, r in enumerate(RECEPTORS):
        out[i, 0] = rng.uniform(*getattr(config, f"{r}_tau_rise_ms"))
        out[i, 1] = rng.uniform(*getattr(config, f"{r}_tau_decay_ms"))
        out[i, 2] = REVERSAL_MV[r]
    ampa = _loguniform(rng, *config.exc_peak_nS)
    nmda = ampa * rng.uniform(*config.nmda_ratio)
    gaba_a = _loguniform(rng, *config.inh_peak_nS)
    has_b = rng.random() < config.gaba_b_probability
    gaba_b = gaba_a * rng.uniform(*config.gaba_b_ratio) if has_b else 0.0
    out[:, 3] = (ampa, nmda, gaba_a, gaba_b)
    return out


def kinetics_bounds(config: GeneratorConfig) -> np.ndarray:
    """The extremes of :func:`draw_kinetics` under ``config``: (2, 4, 4), the low and the high table."""
    out = np.zeros((2, len(RECEPTORS), len(KINETICS_COLUMNS)))
    for i, r in enumerate(RECEPTORS):
        for side in (0, 1):
            out[side, i, :3] = (getattr(config, f"{r}_tau_rise_ms")[side], getattr(config, f"{r}_tau_decay_ms")[side],
                                REVERSAL_MV[r])
    for side in (0, 1):
        ampa, gaba_a = config.exc_peak_nS[side], config.inh_peak_nS[side]
        out[side, :, 3] = (ampa, ampa * max(config.nmda_ratio[side], 1e-9), gaba_a,
                           gaba_a * config.gaba_b_ratio[side] if config.gaba_b_probability > 0 else 0.0)
    return out


def drive_factors(kinetics: np.ndarray) -> tuple[float, float]:
    """Rate multipliers ``Q_ref / Q`` of excitation and inhibition for a kinetics table (step 1)."""
    q = [DRIVE_WEIGHT[r] * k[3] * (k[1] - k[0]) for r, k in zip(RECEPTORS, kinetics)]
    return _Q_REF[0] / (q[0] + q[1]), _Q_REF[1] / (q[2] + q[3])


def draw_inputs(config: GeneratorConfig, layout: SiteLayout, sim_ms: int, seed: int) -> SimInputs:
    """Draw one simulation's kinetics and events (see the module docstring for the recipe).

    Parameters
    ----------
    config : GeneratorConfig
    layout : SiteLayout
        The synapse sites.
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
    kinetics = draw_kinetics(rng, config)
    scale = drive_factors(kinetics)
    if regime == "network":
        times, sites = _network_events(rng, config, layout, n_bins, scale)
        bins = np.floor(times).astype(np.int64)
    else:
        times, sites, bins = _profile_events(rng, config, layout, n_bins, regime, scale)
    # k + u with u < 1 can round up to k + 1: keep every event inside its own bin
    upper = np.nextafter(bins + 1.0, -np.inf)
    times = np.minimum(times, upper)
    sigma2 = np.log1p(config.weight_cv ** 2)
    weights = np.exp(rng.normal(-0.5 * sigma2, np.sqrt(sigma2), times.size)).astype(np.float32)
    times, channels, weights = expand_sites(times, sites, weights, kinetics, layout.n_segments)
    order = np.lexsort((channels, times))
    return SimInputs(time_ms=times[order].astype(np.float64), channel=channels[order].astype(np.int32),
                     weight=weights[order], kinetics=kinetics, regime=regime, seed=int(seed))


def expand_sites(times, sites, weights, kinetics, n_segments: int) -> tuple:
    """Site events → receptor-channel events: an excitatory site's event reaches its AMPA and NMDA
    channels, an inhibitory one its GABA_A and GABA_B channels (a receptor of 0 nS is left out)."""
    S = int(n_segments)
    sites = np.asarray(sites, dtype=np.int64)
    inh = sites >= S
    seg = np.where(inh, sites - S, sites)
    first = np.where(inh, 2, 0)  # receptor index of the site's first receptor
    t, c, w = [], [], []
    for extra in (0, 1):
        r = first + extra
        keep = kinetics[r, 3] > 0
        t.append(times[keep])
        c.append((r * S + seg)[keep])
        w.append(weights[keep])
    return np.concatenate(t), np.concatenate(c), np.concatenate(w)


def _network_events(rng, config: GeneratorConfig, layout: SiteLayout, n_bins: int, scale) -> tuple:
    """Event times (ms) and sites of the ``network`` regime: stationary sources on random sites."""
    times, chans = [], []
    for inhibitory, sources, rates in ((False, config.network_exc_sources, config.network_exc_rate_hz),
                                       (True, config.network_inh_sources, config.network_inh_rate_hz)):
        pool = np.flatnonzero(layout.inhibitory == inhibitory)
        n = int(rng.integers(int(sources[0]), int(sources[1]) + 1))
        rate = _loguniform(rng, *rates) * scale[int(inhibitory)]
        if pool.size == 0 or n == 0:
            continue
        per_channel = np.bincount(rng.choice(pool.size, n), minlength=pool.size)
        counts = rng.poisson(per_channel * rate * n_bins / 1000.0)
        chans.append(np.repeat(pool, counts))
        times.append(rng.random(int(counts.sum())) * n_bins)
    if not times:
        return np.zeros(0), np.zeros(0, np.int64)
    return np.concatenate(times), np.concatenate(chans)


def _profile_events(rng, config: GeneratorConfig, layout: SiteLayout, n_bins: int, regime: str,
                    scale) -> tuple:
    """Event times (ms), sites and 1 ms bins of the profile-based regimes (steps 2–7 of the recipe)."""
    rate_e = _loguniform(rng, *config.exc_rate_hz)
    rate_i = rate_e * rng.uniform(*config.ei_ratio)
    rate_e, rate_i = rate_e * scale[0], rate_i * scale[1]
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
    length = np.tile(layout.length_um, 2)
    if config.length_scaled:
        gain = gain * length / layout.length_um[~layout.perisomatic].mean()
    gain[layout.n_segments:][layout.perisomatic] *= rng.uniform(*config.perisomatic_inh_gain)
    tree = np.tile(layout.apical, 2).astype(int)
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
        exc = np.flatnonzero(~layout.inhibitory & ~np.tile(layout.perisomatic, 2))
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


def conductance_bins(inputs: SimInputs, sim_ms: int, n_segments: int, bin_ms: float = 1.0) -> np.ndarray:
    """The model's input: every channel's mean conductance (nS) in each bin, exact for the kinetics.

    ``out[k, c]`` is the mean over ``[k, k + 1) bin_ms`` of channel ``c``'s
    conductance (the unblocked one for NMDA), from all events of
    ``inputs`` (:class:`~surrogate_cell.synapses.ConductanceBins`).

    Returns
    -------
    ndarray of float32, shape (sim_ms / bin_ms, 4 · n_segments)
    """
    S = int(n_segments)
    n_bins = int(round(sim_ms / bin_ms))
    t = np.asarray(inputs.time_ms, dtype=np.float64)
    k = np.floor(t / bin_ms).astype(np.int64)
    if k.size and (k.min() < 0 or k.max() >= n_bins):
        raise DataError(f"event times must lie in [0, {sim_ms}) ms, got {t.min()}..{t.max()}")
    kin = [Kinetics(r, float(row[0]), float(row[1]), float(row[2]), float(row[3]))
           for r, row in zip(RECEPTORS, inputs.kinetics)]
    bins = ConductanceBins([kin[c // S] for c in range(len(RECEPTORS) * S)], bin_ms)
    out = np.empty((n_bins, len(RECEPTORS) * S), dtype=np.float32)
    starts = np.searchsorted(k, np.arange(n_bins + 1))  # events are sorted by time
    channel, weight = np.asarray(inputs.channel, np.int64), np.asarray(inputs.weight, np.float64)
    for b in range(n_bins):
        lo, hi = starts[b], starts[b + 1]
        out[b] = bins.step(channel[lo:hi], weight[lo:hi], t[lo:hi] - b * bin_ms) if hi > lo else bins.step()
    return out
