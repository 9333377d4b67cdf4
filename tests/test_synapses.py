"""Synaptic conductance binned at 1 ms against NEURON's own mods, event for event.

NEURON integrates each mod's two exponential states exactly (cnexp) at a
fixed dt of 1/64 ms, which is exact in binary, and delivers an event at its
time when that time lies on the grid. Between two steps a state only decays,
so the integral of a state over a step is exact from its value at the step's
end: ∫ S dt = S(t + dt) · τ · (exp(dt/τ) − 1). The bin means of NEURON's
conductance built that way, and its conductance at each whole ms, must equal
:class:`ConductanceBins` to float rounding.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from surrogate_cell.mechanisms import load_mechanisms
from surrogate_cell.synapses import (RECEPTORS, ConductanceBins, Kinetics, SynapseModelError, declare_synapse,
                                     kinetics_of)

DT = 1.0 / 64
T_STOP = 60


def _neuron_run(mod: str, params: dict, states, events):
    """Run one synapse on a passive compartment; returns each (A, B) state pair sampled every dt."""
    from neuron import h

    load_mechanisms()
    h.load_file("stdrun.hoc")
    sec = h.Section(name="syn_test")
    sec.insert("pas")
    syn = getattr(h, mod)(sec(0.5))
    for key, value in params.items():
        if key != "mod":
            setattr(syn, key, value)
    netcon = h.NetCon(None, syn)
    recorded = [(h.Vector().record(getattr(syn, f"_ref_{a}")), h.Vector().record(getattr(syn, f"_ref_{b}")))
                for a, b in states]

    def schedule():
        for t, w in events:
            netcon.weight[0] = w  # one weight for all: the events below share it per run
            netcon.event(t)

    fih = h.FInitializeHandler(schedule)  # noqa: F841 (kept alive for the run)
    h.dt = DT
    h.steps_per_ms = 64
    h.finitialize(-70)
    h.continuerun(T_STOP)
    out = [(np.array(a), np.array(b)) for a, b in recorded]
    return out


def _bins_from_states(A, B, kinetics: Kinetics, scale_nS: float):
    """Bin means (nS) and whole-ms conductance (nS) of g = scale · (B − A) from states sampled every dt."""
    def area(S, tau):
        if tau == 0:
            return np.zeros(len(S) - 1)
        return S[1:] * tau * math.expm1(DT / tau)  # step n → n + 1, from the value at its end

    per_step = area(B, kinetics.tau_decay_ms) - area(A, kinetics.tau_rise_ms)
    means = per_step.reshape(T_STOP, 64).sum(1) * scale_nS  # dt sums to 1 ms
    at_ms = scale_nS * (B[64::64] - A[64::64])
    return means, at_ms


@pytest.mark.parametrize("mod, params, states", [
    ("Exp2Syn", {"tau1": 0.8, "tau2": 5.3, "e": 0.0}, [("A", "B")]),
    ("Exp2Syn", {"tau1": 0.6, "tau2": 8.5, "e": -75.0}, [("A", "B")]),
    ("Exp2Syn", {"tau1": 15.0, "tau2": 150.0, "e": 0.0}, [("A", "B")]),
    ("ExpSyn", {"tau": 2.0, "e": 0.0}, [(None, "g")]),
    ("sc_AMPANMDA", {"tau_r_NMDA": 3.0, "gmax_NMDA": 0.0005}, [("A_AMPA", "B_AMPA"), ("A_NMDA", "B_NMDA")]),
    ("sc_GABAA", {"tau_d": 11.0}, [("A", "B")]),
    ("sc_NMDA", {"tau1": 4.0, "tau2": 90.0}, [("A", "B")]),
])
def test_bin_means_equal_neurons_conductance(mod, params, states):
    rng = np.random.default_rng(3)
    in_uS = mod in ("Exp2Syn", "ExpSyn", "sc_NMDA")  # weights in µS; the project's other mods: multiples of gmax
    weight = 0.0007 if in_uS else 1.5
    times = np.sort(rng.integers(0, 50 * 64, 40)) * DT  # on the dt grid, several in one bin, some on bin edges
    times = np.concatenate([times, [10.0, 10.0, 31.0]])
    components = kinetics_of({"mod": mod, **params})
    assert [c.receptor for c in components] == {"Exp2Syn": [components[0].receptor], "ExpSyn": ["ampa"],
                                                "sc_AMPANMDA": ["ampa", "nmda"], "sc_GABAA": ["gaba_a"],
                                                "sc_NMDA": ["nmda"]}[mod]
    # ExpSyn's one state: read it as a decay state with no rise
    neuron_states = _neuron_run(mod, {"mod": mod, **params}, [(s[0] or s[1], s[1]) for s in states],
                                [(t, weight) for t in times])
    bins = ConductanceBins(components)
    k = np.floor(times).astype(int)
    ours, ours_at = [], []
    for b in range(T_STOP):
        here = k == b
        n = int(here.sum())
        ours.append(bins.step(np.repeat(np.arange(len(components)), n), np.tile(np.full(n, weight),
                                                                                   len(components)),
                              np.tile(times[here] - b, len(components))) if n else bins.step())
        ours_at.append(bins.conductance_nS.copy())
    ours, ours_at = np.array(ours), np.array(ours_at)
    for j, (comp, (A, B)) in enumerate(zip(components, neuron_states)):
        if comp.tau_rise_ms == 0:
            A = np.zeros_like(B)  # ExpSyn: g itself is the decaying state
        # Exp2Syn's, ExpSyn's and sc_NMDA's states are in µS; the project's other mods multiply theirs by gmax (µS)
        per_unit_nS = 1000.0 if in_uS else comp.nS_per_weight
        means, at_ms = _bins_from_states(A, B, comp, per_unit_nS)
        scale = np.abs(means).max()
        assert scale > 0
        np.testing.assert_allclose(ours[:, j], means, rtol=0, atol=1e-9 * scale)
        np.testing.assert_allclose(ours_at[:, j], at_ms, rtol=0, atol=1e-9 * scale)


def test_peak_of_one_event_is_its_weight():
    """Exp2Syn normalisation: one event of weight w µS peaks at w µS (NEURON's factor)."""
    kin = kinetics_of({"mod": "Exp2Syn", "tau1": 0.5, "tau2": 5.0, "e": 0.0})[0]
    t = np.linspace(0, 20, 200001)
    g = kin.nS_per_weight * kin.factor * (np.exp(-t / kin.tau_decay_ms) - np.exp(-t / kin.tau_rise_ms))
    assert g.max() == pytest.approx(1000.0, rel=1e-9)


def test_receptor_classes_follow_the_mod_and_its_reversal():
    cls = lambda **p: [k.receptor for k in kinetics_of({"mod": "Exp2Syn", **p})]  # noqa: E731
    assert cls(tau1=0.1, tau2=5, e=0) == ["ampa"]
    # a slow Exp2Syn has no Mg block: its conductance is AMPA-like, slow kinetics and all
    assert cls(tau1=15, tau2=150, e=0) == ["ampa"]
    assert cls(tau1=0.07, tau2=18.2, e=-80) == ["gaba_a"] == cls(tau1=0.6, tau2=8.5, e=-70)
    # a potassium reversal is GABA_B's
    assert cls(tau1=3.5, tau2=260.9, e=-93) == ["gaba_b"]
    assert [k.receptor for k in kinetics_of({"mod": "sc_NMDA"})] == ["nmda"]
    assert [k.receptor for k in kinetics_of({"mod": "sc_AMPANMDA"})] == ["ampa", "nmda"]
    assert set(RECEPTORS) == {"ampa", "nmda", "gaba_a", "gaba_b"}


def test_out_of_range_names_the_value_and_the_trained_range():
    from surrogate_cell.synapses import out_of_range, trained_ranges

    table = np.array([[[0.1, 3.0, 0.0, 0.5], [2.0, 70.0, 0.0, 0.5], [0.2, 8.0, -80.0, 1.0], [3.0, 200.0, -93.0, 0.0]],
                      [[0.3, 5.0, 0.0, 1.0], [10.0, 150.0, 0.0, 0.0], [0.8, 15.0, -80.0, 2.0], [5.0, 250.0, -93.0,
                                                                                                0.2]]])
    trained = trained_ranges(table)
    assert trained["ampa"] == {"tau_rise_ms": [0.1, 0.3], "tau_decay_ms": [3.0, 5.0], "peak_nS": [0.25, 2.0],
                               "e_mV": 0.0}
    assert trained["nmda"]["tau_decay_ms"] == [70.0, 70.0]  # only where NMDA was present
    inside = kinetics_of({"mod": "Exp2Syn", "tau1": 0.2, "tau2": 4.0, "e": 0.0})
    assert out_of_range(inside, trained) == [] and out_of_range(inside, trained, weight=0.001) == []
    assert out_of_range(kinetics_of({"mod": "ExpSyn", "tau": 4.0, "e": 0.0}), trained) == []  # a jump: in range
    slow = out_of_range(kinetics_of({"mod": "Exp2Syn", "tau1": 0.2, "tau2": 40.0, "e": 0.0}), trained)
    assert slow == ["ampa decay 40 ms (trained 3–5 ms)"]
    assert out_of_range(inside, trained, weight=0.01) == ["ampa peak conductance 10 nS per event (trained "
                                                          "0.25–2 nS)"]
    shifted = out_of_range(kinetics_of({"mod": "Exp2Syn", "tau1": 0.5, "tau2": 10.0, "e": -65.0}), trained)
    assert shifted == ["gaba_a reversal -65 mV (trained -80 mV)"]


def test_an_unknown_mod_is_one_clear_error_until_declared():
    with pytest.raises(SynapseModelError, match=r"synMech 'NMDA_syn'.*'MyNMDA'.*declare_synapse"):
        kinetics_of({"mod": "MyNMDA", "tau1": 15}, "NMDA_syn")
    declare_synapse("MyNMDA", "nmda", tau_rise="tau1", tau_decay="tau2", e=0.0, nS_per_weight=1000.0,
                    defaults={"tau2": 150.0})
    (kin,) = kinetics_of({"mod": "MyNMDA", "tau1": 15}, "NMDA_syn")
    assert (kin.receptor, kin.tau_rise_ms, kin.tau_decay_ms, kin.e_mV) == ("nmda", 15.0, 150.0, 0.0)
    with pytest.raises(SynapseModelError, match="receptor must be one of"):
        declare_synapse("Bad", "glutamate", tau_rise=1, tau_decay=2, e=0, nS_per_weight=1)
    with pytest.raises(SynapseModelError, match="tau_rise_ms < tau_decay_ms"):
        Kinetics("ampa", 5.0, 2.0, 0.0, 1.0)
