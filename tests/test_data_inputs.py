"""The input generator and the conductance of its events per 1 ms bin (numpy only, no NEURON)."""
import numpy as np
import pytest

from surrogate_cell.data import REGIMES, GeneratorConfig
from surrogate_cell.data.inputs import KINETICS_COLUMNS, SimInputs, SiteLayout, conductance_bins, draw_inputs, sim_seed
from surrogate_cell.errors import DataError
from surrogate_cell.synapses import RECEPTORS, REVERSAL_MV

N_REC = len(RECEPTORS)
#: sha256 of the first 30 default draws (see test_default_draws_did_not_change)
DEFAULT_DRAWS = "e1c903b7ad670ae5ce2443aca2eadea007174089f88b22c1457a490c2f1015a8"


def layout(n_seg=40):
    """n_seg segments: the first a soma, then basal, the second half apical."""
    apical = np.arange(n_seg) >= n_seg // 2
    return SiteLayout(apical=apical, perisomatic=np.arange(n_seg) == 0, length_um=np.linspace(10.0, 40.0, n_seg))


def _kinetics():
    k = np.zeros((N_REC, len(KINETICS_COLUMNS)))
    k[:] = [[0.2, 3.0, 0.0, 0.5], [2.0, 70.0, 0.0, 0.25], [0.5, 8.0, -80.0, 1.0], [5.0, 200.0, -93.0, 0.0]]
    return k


def test_conductance_of_one_event_is_its_exact_bin_mean():
    # an AMPA event at t = 12.3 ms of weight 0.7 on segment 5: Exp2Syn's conductance, averaged over each bin
    k = _kinetics()
    ev = SimInputs(np.array([12.3]), np.array([5], np.int32), np.array([0.7], np.float32), k, "background", 0)
    out = conductance_bins(ev, 40, n_segments=8)
    assert out.shape == (40, N_REC * 8) and out.dtype == np.float32
    tr, td, _, g = k[0]
    tp = tr * td * np.log(td / tr) / (td - tr)
    peak = g * 0.7
    f = 1.0 / (np.exp(-tp / td) - np.exp(-tp / tr))

    def integral(a, b):  # ∫ g(t) dt over [a, b] ms after the event
        prim = lambda t: peak * f * (-td * np.exp(-t / td) + tr * np.exp(-t / tr))  # noqa: E731
        return prim(b) - prim(a)

    assert np.count_nonzero(out[:12]) == 0 and np.count_nonzero(out[:, np.arange(N_REC * 8) != 5]) == 0
    np.testing.assert_allclose(out[12, 5], integral(0.0, 0.7), rtol=1e-6)
    for b in range(13, 40):
        np.testing.assert_allclose(out[b, 5], integral(b - 12.3, b + 1 - 12.3), rtol=1e-5, atol=1e-12)
    with pytest.raises(DataError, match="event times"):
        bad = SimInputs(np.array([40.0]), np.array([0], np.int32), np.array([1.0], np.float32), k, "background", 0)
        conductance_bins(bad, 40, n_segments=8)


def test_site_events_reach_both_receptors_of_their_site():
    cfg, lay = GeneratorConfig(), layout()
    S = lay.n_segments
    for i in range(10):
        ev = draw_inputs(cfg, lay, 300, sim_seed(4, i))
        rec = ev.channel // S
        for r in range(N_REC):
            if ev.kinetics[r, 3] == 0:
                assert not (rec == r).any()
        # an AMPA event has its NMDA twin (same time, segment and weight) where NMDA is present
        if ev.kinetics[1, 3] > 0:
            a = ev.channel[rec == 0] % S, ev.time_ms[rec == 0]
            n = ev.channel[rec == 1] % S, ev.time_ms[rec == 1]
            assert sorted(zip(*a)) == sorted(zip(*n))
        np.testing.assert_array_equal(ev.kinetics[:, 2], [REVERSAL_MV[r] for r in RECEPTORS])
        for j, r in enumerate(RECEPTORS):
            lo, hi = getattr(cfg, f"{r}_tau_decay_ms")
            assert lo <= ev.kinetics[j, 1] <= hi and ev.kinetics[j, 0] < ev.kinetics[j, 1]


def test_same_seed_same_events_and_different_seeds_differ():
    cfg, lay = GeneratorConfig(), layout()
    a = draw_inputs(cfg, lay, 500, sim_seed(3, 7))
    b = draw_inputs(cfg, lay, 500, sim_seed(3, 7))
    c = draw_inputs(cfg, lay, 500, sim_seed(3, 8))
    for key in ("time_ms", "channel", "weight", "kinetics"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert a.regime == b.regime and a.seed == b.seed
    assert len(a) != len(c) or not np.array_equal(a.time_ms, c.time_ms)


def test_sim_seed_is_the_seed_sequence_of_seed_and_index():
    expected = np.random.SeedSequence([5, 11]).generate_state(1, dtype=np.uint64)[0]
    assert sim_seed(5, 11) == int(expected)
    assert sim_seed(5, 11) != sim_seed(11, 5)


def test_events_are_sorted_inside_the_period_and_weights_lognormal():
    cfg, lay = GeneratorConfig(), layout()
    times, weights = [], []
    regimes = set()
    for i in range(60):
        ev = draw_inputs(cfg, lay, 400, sim_seed(0, i))
        regimes.add(ev.regime)
        assert ev.time_ms.dtype == np.float64 and ev.channel.dtype == np.int32 and ev.weight.dtype == np.float32
        assert np.all(np.diff(ev.time_ms) >= 0)
        assert ev.time_ms.min(initial=0) >= 0 and ev.time_ms.max(initial=0) < 400
        assert ev.channel.min(initial=0) >= 0 and ev.channel.max(initial=0) < N_REC * lay.n_segments
        times.append(ev.time_ms)
        weights.append(ev.weight)
    w = np.concatenate(weights).astype(np.float64)  # (an AMPA event and its NMDA twin carry one weight)
    assert abs(w.mean() - 1.0) < 0.02
    assert abs(w.std() / w.mean() - cfg.weight_cv) < 0.03
    assert regimes == set(REGIMES) - {"network"}  # probability 0 by default


def test_default_draws_did_not_change():
    """The draws (and so every data set made with the default generator) are fixed by their seed."""
    import hashlib

    h = hashlib.sha256()
    for i in range(30):
        ev = draw_inputs(GeneratorConfig(), layout(), 500, sim_seed(3, i))
        for a in (ev.time_ms, ev.channel, ev.weight, ev.kinetics):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(ev.regime.encode())
    assert h.hexdigest() == DEFAULT_DRAWS


def test_network_regime_is_stationary_sources_on_few_channels():
    lay = layout(400)
    cfg = GeneratorConfig(regimes={"network": 1.0}, network_exc_sources=(100, 100), network_inh_sources=(20, 20),
                          network_exc_rate_hz=(8.0, 8.0), network_inh_rate_hz=(10.0, 10.0))
    ev = draw_inputs(cfg, lay, 4000, sim_seed(2, 0))
    assert ev.regime == "network"
    from surrogate_cell.data.inputs import drive_factors

    scale = drive_factors(ev.kinetics)
    ampa, gaba_a = ev.channel < 400, (ev.channel >= 800) & (ev.channel < 1200)
    # 100 sources × 8 Hz × 4 s and 20 × 10 Hz × 4 s, times the drive compensation, Poisson
    ne, ni = 3200 * scale[0], 800 * scale[1]
    assert abs(ampa.sum() - ne) < 4 * np.sqrt(ne) and abs(gaba_a.sum() - ni) < 4 * np.sqrt(ni)
    exc = ampa
    # at most 100 of the 400 excitatory sites are used (one or more sources each)
    used = np.unique(ev.channel[exc])
    assert 60 < used.size <= 100
    # stationary: the first and second halves carry the same event count (within Poisson noise)
    first = (ev.time_ms < 2000).sum()
    assert abs(first - len(ev) / 2) < 4 * np.sqrt(len(ev) / 2)
    same = draw_inputs(cfg, lay, 4000, sim_seed(2, 0))
    np.testing.assert_array_equal(ev.time_ms, same.time_ms)
    with pytest.raises(DataError, match="network_exc_sources"):
        GeneratorConfig(network_exc_sources=(10, 5))


def test_regimes_shape_the_rates():
    lay = layout(200)
    only = lambda name: GeneratorConfig(regimes={name: 1.0})  # noqa: E731
    silent = np.mean([len(draw_inputs(only("silence"), lay, 1000, sim_seed(1, i))) for i in range(10)])
    strong = np.mean([len(draw_inputs(only("strong"), lay, 1000, sim_seed(1, i))) for i in range(10)])
    background = np.mean([len(draw_inputs(only("background"), lay, 1000, sim_seed(1, i))) for i in range(10)])
    assert silent < 0.3 * background < strong
    # synchronous volleys: many excitatory events within a few ms
    sync = draw_inputs(GeneratorConfig(regimes={"synchronous": 1.0}, volley_rate_hz=(5.0, 5.0),
                                       volley_fraction=(0.5, 0.5)), lay, 1000, sim_seed(1, 0))
    exc_counts = np.bincount(np.floor(sync.time_ms[sync.channel < 200]).astype(int), minlength=1000)
    in_5ms = np.convolve(exc_counts, np.ones(5), "valid")
    assert in_5ms.max() > 4 * np.median(in_5ms) > 0
    # oscillation: a strong spectral peak of the summed excitatory input
    osc = GeneratorConfig(regimes={"oscillatory": 1.0}, osc_freq_hz=(20.0, 20.0), osc_depth=(1.0, 1.0))
    ev = draw_inputs(osc, lay, 2000, sim_seed(1, 0))
    counts = np.bincount(np.floor(ev.time_ms).astype(int), minlength=2000).astype(float)
    spectrum = np.abs(np.fft.rfft(counts - counts.mean()))
    freqs = np.fft.rfftfreq(2000, d=1e-3)
    assert abs(freqs[np.argmax(spectrum[freqs > 2]) + np.sum(freqs <= 2)] - 20.0) < 1.0


def test_config_round_trip_and_validation():
    cfg = GeneratorConfig(exc_rate_hz=(1.0, 2.0))
    assert GeneratorConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(DataError, match="unknown generator parameter"):
        GeneratorConfig.from_dict({"nope": 1})
    with pytest.raises(DataError, match="sum to 1"):
        GeneratorConfig(regimes={"background": 0.5})
    with pytest.raises(DataError, match="exc_rate_hz"):
        GeneratorConfig(exc_rate_hz=(5.0, 1.0))
    with pytest.raises(DataError, match="nmda_tau_rise_ms"):
        GeneratorConfig(nmda_tau_rise_ms=(1.0, 50.0))
    with pytest.raises(DataError, match="gaba_b_probability"):
        GeneratorConfig(gaba_b_probability=1.5)
