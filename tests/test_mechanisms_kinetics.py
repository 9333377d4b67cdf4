"""Kinetics of the sc_* NMODL mechanisms in mod/ (Hay et al. 2011 channel set).

Reference values: the check table of hay2011-kinetics.md, sec. 2.13, plus the
SK z_inf, Ca dynamics, epsp and synapse normalisation checks.
"""
import math
import os

import pytest

neuron = pytest.importorskip("neuron")
from neuron import h  # noqa: E402

MOD_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mod")
VOLTAGES = (-80.0, -60.0, -40.0, -20.0, 0.0, 20.0)
RTOL = 1e-4

# sec. 2.13: mechanism -> {quantity: values at VOLTAGES}
CHECK_TABLE = {
    "NaTa_t": {
        "mInf": (0.00133662, 0.0361611, 0.512595, 0.967192, 0.998791, 0.999957),
        "hInf": (0.9116, 0.268941, 0.0129537, 0.000467957, 1.67014e-05, 5.95816e-07),
        "mTau": (0.0648792, 0.116592, 0.188667, 0.0950044, 0.0488204, 0.0320781),
        "hTau": (1.32752, 1.73886, 0.845842, 0.490341, 0.342061, 0.262521),
    },
    "NaTs2_t": {
        "mInf": (0.00049213, 0.0136141, 0.278964, 0.915578, 0.996721, 0.999883),
        "hInf": (0.965555, 0.499996, 0.0344452, 0.00127102, 4.53979e-05, 1.61959e-06),
        "mTau": (0.0568501, 0.0953054, 0.181265, 0.122756, 0.0576772, 0.0357728),
        "hTau": (1.05107, 1.8814, 1.05107, 0.562985, 0.376246, 0.282209),
    },
    "Nap_Et2": {
        "mInf": (0.00258222, 0.16677, 0.939297, 0.999165, 0.999989, 1.0),
        "hInf": (0.95771, 0.753989, 0.293178, 0.0531511, 0.00753973, 0.00102709),
        "mTau": (0.389275, 0.699551, 1.132, 0.570026, 0.292923, 0.192468),
        "hTau": (1863.51, 2097.66, 1434.63, 1038.0, 755.56, 578.13),
    },
    "K_Tst": {
        "mInf": (0.0245016, 0.0671335, 0.170945, 0.371377, 0.628623, 0.829055),
        "hInf": (0.598688, 0.167982, 0.026597, 0.00368424, 0.000500201, 6.77241e-05),
        "mTau": (0.426612, 0.389629, 0.30737, 0.222122, 0.162455, 0.13177),
        "hTau": (19.0232, 8.81379, 3.21268, 2.71837, 2.70925, 2.70922),
    },
    "K_Pst": {
        "mInf": (0.00317268, 0.0165719, 0.0819106, 0.320821, 0.714362, 0.929781),
        "hInf": (0.810697, 0.41008, 0.101395, 0.0179862, 0.00296419, 0.000482347),
        "mTau": (10.0273, 16.5773, 10.0272, 6.13302, 3.81785, 2.44144),
        "hTau": (339.663, 413.672, 348.314, 235.026, 159.742, 130.542),
    },
    "Ca_LVAst": {
        "mInf": (0.00127102, 0.0344452, 0.5, 0.965555, 0.998729, 0.999955),
        "hInf": (0.173288, 0.00912564, 0.000404481, 1.77786e-05, 7.81148e-07, 3.43213e-08),
        "mTau": (8.46547, 8.42097, 6.64475, 2.01448, 1.69943, 1.69337),
        "hTau": (23.4758, 20.4322, 10.0465, 7.00294, 6.78642, 6.77381),
    },
    "Ca_HVA": {
        "mInf": (2.0254e-06, 0.000789179, 0.167618, 0.925201, 0.992384, 0.998641),
        "hInf": (0.750291, 0.518735, 0.293428, 0.150785, 0.079137, 0.0446619),
        "mTau": (0.792752, 2.5688, 6.93954, 2.02226, 0.667724, 0.38632),
        "hTau": (429.892, 443.396, 374.168, 286.84, 224.584, 189.084),
    },
    "Ih": {
        "mInf": (0.0492233, 0.00662243, 0.00082065, 9.81344e-05, 1.14703e-05, 1.31824e-06),
        "mTau": (55.2301, 31.5354, 17.3346, 9.48012, 5.18129, 2.83158),
    },
    "Im": {
        "mInf": (0.000123395, 0.00669285, 0.268941, 0.952574, 0.999089, 0.999983),
        "mTau": (1.13989, 8.36734, 45.5035, 21.8121, 3.09609, 0.419385),
    },
    "SKv3_1": {
        "mInf": (3.81e-05, 0.000299409, 0.00234869, 0.0181692, 0.12699, 0.533455),
        "mTau": (1.27668, 1.69785, 2.14835, 2.5842, 2.9668, 3.27502),
    },
}

STATE_OF = {"mInf": "m", "hInf": "h"}


@pytest.fixture(scope="session")
def mechanisms():
    """Load the sc_* mechanisms once per session, through the package's own loader."""
    from surrogate_cell.mechanisms import load_mechanisms

    load_mechanisms()
    assert hasattr(h, "sc_NaTa_t")
    h.load_file("stdrun.hoc")
    return h


def _section(*mechs):
    sec = h.Section(name="kin")
    sec.L = sec.diam = 10.0
    sec.nseg = 1
    for mech in mechs:
        sec.insert(mech)
    return sec


@pytest.mark.parametrize("name", sorted(CHECK_TABLE))
def test_steady_states_and_time_constants(mechanisms, name):
    mech = "sc_" + name
    sec = _section(mech)
    seg = sec(0.5)
    for k, v in enumerate(VOLTAGES):
        h.finitialize(v)
        rng = getattr(seg, mech)
        for quantity, values in CHECK_TABLE[name].items():
            got = getattr(rng, quantity)
            assert got == pytest.approx(values[k], rel=RTOL), (mech, quantity, v)
            if quantity in STATE_OF:  # gates start at their steady state
                assert getattr(rng, STATE_OF[quantity]) == got


def test_singularity_guards_are_finite(mechanisms):
    cases = {"sc_NaTa_t": (-38.0, -66.0), "sc_NaTs2_t": (-32.0, -60.0),
             "sc_Nap_Et2": (-38.0, -17.0, -64.4), "sc_Ca_HVA": (-27.0,),
             "sc_Ih": (-154.9,)}
    for mech, vs in cases.items():
        seg = _section(mech)(0.5)
        for v in vs:
            h.finitialize(v)
            rng = getattr(seg, mech)
            for q in ("mInf", "mTau", "hInf", "hTau"):
                if hasattr(rng, q):
                    assert math.isfinite(getattr(rng, q)), (mech, q, v)
    # the analytic limit at the Ih singular point: alpha_m -> 0.076517
    seg = _section("sc_Ih")(0.5)
    h.finitialize(-154.9)
    a = seg.sc_Ih.mInf / seg.sc_Ih.mTau
    assert a == pytest.approx(0.076517, rel=1e-3)


def test_sk_zinf_at_default_cai(mechanisms):
    seg = _section("sc_SK_E2")(0.5)
    h.finitialize(-80)
    assert seg.cai == pytest.approx(5e-5, rel=1e-12)
    assert seg.sc_SK_E2.zInf == pytest.approx(3.26884e-5, rel=RTOL)
    assert seg.sc_SK_E2.z == seg.sc_SK_E2.zInf
    for cai, zinf in ((1e-4, 9.09821e-4), (4.3e-4, 0.5)):
        seg.cai = cai
        h.fadvance()
        assert seg.sc_SK_E2.zInf == pytest.approx(zinf, rel=RTOL)


def test_cadynamics_initial_cai_and_flux(mechanisms):
    h.celsius = 34
    sec = _section("sc_CaDynamics_E2", "sc_Ca_HVA", "sc_Ca_LVAst")
    seg = sec(0.5)
    sec.cm = 1e9  # keep v (almost) fixed
    seg.sc_Ca_HVA.gbar = 0.01
    seg.sc_Ca_LVAst.gbar = 0.01
    cad = seg.sc_CaDynamics_E2
    h.dt = 0.025
    h.finitialize(-20)
    assert seg.cai == 5e-5  # ion default, no INITIAL block
    assert seg.eca == pytest.approx(140.2366, abs=1e-3)  # Nernst, cao = 2 mM
    k = 10000 / (2 * h.FARADAY * cad.depth)
    assert k == pytest.approx(0.5182135, rel=1e-6)
    for _ in range(20):
        c0, v0 = seg.cai, seg.v
        h.fadvance()
        # ica: total Ca current of the segment, from both channels; eca is
        # re-evaluated from cai at the start of each step (Nernst, cao 2 mM)
        ica = seg.ica
        g_total = seg.sc_Ca_HVA.g + seg.sc_Ca_LVAst.g
        assert ica == pytest.approx(g_total * (v0 - h.nernst(c0, seg.cao, 2)), rel=1e-6)
        cinf = cad.minCai - cad.decay * k * cad.gamma * ica
        expect = cinf + (c0 - cinf) * math.exp(-h.dt / cad.decay)
        assert seg.cai == pytest.approx(expect, rel=1e-9)
    assert seg.cai > 5e-5


def test_cadynamics_relaxes_to_mincai(mechanisms):
    seg = _section("sc_CaDynamics_E2")(0.5)
    cad = seg.sc_CaDynamics_E2
    h.dt = 0.025
    h.finitialize(-80)
    h.continuerun(40)
    expect = cad.minCai + (5e-5 - cad.minCai) * math.exp(-h.t / cad.decay)
    assert seg.cai == pytest.approx(expect, rel=1e-9)


def test_epsp_peak(mechanisms):
    sec = _section()
    stim = h.sc_epsp(sec(0.5))
    stim.onset, stim.tau0, stim.tau1, stim.imax = 2.0, 0.5, 5.0, 0.5
    i = h.Vector().record(stim._ref_i)
    t = h.Vector().record(h._ref_t)
    h.dt = 0.025
    h.finitialize(-80)
    h.continuerun(20)
    imin = min(i)
    assert imin == pytest.approx(-stim.imax, rel=5e-3)
    assert imin >= -stim.imax * (1 + 1e-12)  # never beyond the peak
    tpeak = 0.5 * 5 * math.log(0.5 / 5) / (0.5 - 5)
    assert tpeak == pytest.approx(1.2792139, rel=1e-7)
    assert t[int(i.min_ind())] == pytest.approx(stim.onset + tpeak, abs=2 * h.dt)
    assert all(x == 0 for x, tt in zip(i, t) if tt < stim.onset)


def _peak_conductance(mechanisms, syn_name, weight, attr, tstop):
    sec = _section("pas")
    syn = getattr(h, syn_name)(sec(0.5))
    nc = h.NetCon(None, syn)
    nc.weight[0] = weight
    g = h.Vector().record(getattr(syn, "_ref_" + attr))
    fih = h.FInitializeHandler(lambda: nc.event(1.0))
    h.dt = 0.025
    h.finitialize(-70)
    h.continuerun(tstop)
    del fih
    return max(g)


def test_ampanmda_peak(mechanisms):
    assert _peak_conductance(mechanisms, "sc_AMPANMDA", 2.0, "g_AMPA", 15) == \
        pytest.approx(2 * 0.0004, rel=1e-2)
    assert _peak_conductance(mechanisms, "sc_AMPANMDA", 2.0, "g_NMDA", 40) == \
        pytest.approx(2 * 0.0004, rel=1e-2)


def test_ampanmda_events_superpose(mechanisms):
    sec = _section("pas")
    syn = h.sc_AMPANMDA(sec(0.5))
    ncs = [h.NetCon(None, syn) for _ in range(3)]
    for nc in ncs:
        nc.weight[0] = 1.5
    g = h.Vector().record(syn._ref_g_AMPA)
    fih = h.FInitializeHandler(lambda: [nc.event(1.0) for nc in ncs])
    h.dt = 0.025
    h.finitialize(-70)
    h.continuerun(15)
    del fih
    assert max(g) == pytest.approx(3 * 1.5 * 0.0004, rel=1e-2)
    assert syn.mg == 1.0 and syn.e == 0.0


def test_gabaa_peak(mechanisms):
    assert _peak_conductance(mechanisms, "sc_GABAA", 1.0, "g", 30) == \
        pytest.approx(0.001, rel=1e-2)
