"""SurrogateCell in plain NEURON: bin landing, spike timing, recording, run modes, bad input.

All numbers come from the probe model (tests/helpers.py): an
excitatory event of weight w lifts its segment and the soma by 80·w mV for
exactly the bin it lands in; the soma threshold is −10 mV.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from surrogate_cell.errors import (DelayTooShortError, DeviceUnavailableError, InvalidWeightError,
                                   MorphologyMismatchError, NetworkError, RunnerStateError, SurrogateCellError,
                                   UnknownReceptorError, UnknownSectionError)
from tests.helpers import PULSE_EXC, PULSE_INH


def _h():
    from neuron import h

    h.load_file("stdrun.hoc")
    return h


def _run(h, tstop):
    """h.run() to ``tstop`` ms (h.run takes no argument)."""
    h.tstop = tstop
    h.run()


def _stim(h, t, keep):
    ns = h.NetStim()
    ns.start, ns.number, ns.noise = t, 1, 0
    keep.append(ns)
    return ns


def _spike_recorder(h):
    pc = h.ParallelContext()
    tv, iv = h.Vector(), h.Vector()
    pc.spike_record(-1, tv, iv)
    return tv, iv


def test_event_lands_in_its_bin(fresh_runner, probe_path):
    from surrogate_cell.neuron import SurrogateCell, connect

    h = _h()
    cell = SurrogateCell(probe_path)
    keep = []
    connect(_stim(h, 12.0, keep), cell.synapse("apic[10]", 0.5, PULSE_EXC), weight=1.0, delay=0.3)  # t = 12.3
    connect(_stim(h, 17.0, keep), cell.synapse("dend[3]", 0.5, PULSE_INH), weight=0.25, delay=3.0)  # t = 20.0
    connect(_stim(h, 21.9, keep), cell.synapse("dend[3]", 0.5, PULSE_EXC), weight=0.5, delay=0.1)  # t = 22.0 (rounded)
    apic, dend, soma = cell.record("apic[10]", 0.5), cell.record("dend[3]", 0.5), cell.record("soma", 0.5)
    h.dt = 0.025
    h.finitialize(-65)
    h.continuerun(30)
    np.testing.assert_array_equal(apic.t, np.arange(31.0))
    expected_apic = np.full(31, -70.0)
    expected_apic[13] = 10.0  # event at 12.3 ms -> bin 12 -> voltage at t = 13 ms
    np.testing.assert_allclose(apic.v, expected_apic, atol=1e-4)
    expected_dend = np.full(31, -70.0)
    expected_dend[21] = -90.0  # inhibition at exactly 20.0 ms -> bin 20
    expected_dend[23] = -30.0  # 21.9 + 0.1 -> bin 22 despite rounding
    np.testing.assert_allclose(dend.v, expected_dend, atol=1e-4)
    assert soma.v[13] == pytest.approx(10.0) and soma.v[21] == pytest.approx(-90.0)


def test_spike_time_latency_and_compensated_delay(fresh_runner, probe_path):
    from surrogate_cell.neuron import SurrogateCell, connect

    h = _h()
    pc = h.ParallelContext()
    pre, post = SurrogateCell(probe_path, gid=1), SurrogateCell(probe_path, gid=2)
    keep = []
    connect(_stim(h, 12.3, keep), pre.synapse("apic[10]", 0.5, PULSE_EXC), weight=1.0, delay=0.0)
    # an IntFire1 that fires the moment an event of weight 2 arrives shows the arrival time
    probe = h.IntFire1()
    pc.set_gid2node(3, pc.id())
    pc.cell(3, h.NetCon(probe, None))
    connect(pre, probe, weight=2.0, delay=3.0)
    connect(pre, post.synapse("dend[3]", 0.5, PULSE_EXC), weight=0.5, delay=1.7)
    dend = post.record("dend[3]", 0.5)
    tv, iv = _spike_recorder(h)
    h.dt = 0.025
    _run(h, 25)
    # crossing at 12 + 60/80 = 12.75 ms; emitted one model step (1 ms) later
    np.testing.assert_allclose(pre.spike_times, [12.75])
    spikes = dict(zip(np.asarray(iv).astype(int), np.asarray(tv)))
    assert spikes[1] == pytest.approx(13.75, abs=1e-9)
    assert spikes[3] == pytest.approx(12.75 + 3.0, abs=1e-9)  # delay counted from the crossing
    assert pre.outgoing[0].delay == pytest.approx(2.0) and pre.latency_ms == 1.0
    assert dend.v[15] == pytest.approx(-30.0)  # 12.75 + 1.7 = 14.45 -> bin 14 -> t = 15
    assert 2 not in spikes  # weight 0.5 stays below threshold


def test_probability_spike_rule(fresh_runner, probe_path):
    from surrogate_cell.neuron import RunnerConfig, SurrogateCell, connect

    h = _h()
    cell = SurrogateCell(probe_path, config=RunnerConfig(spike_rule="probability"))
    keep = []
    connect(_stim(h, 7.2, keep), cell.synapse("apic[3]", 0.9, PULSE_EXC), weight=1.0, delay=1.0)
    _run(h, 15)
    np.testing.assert_allclose(cell.spike_times, [8.5])  # p goes 0 -> 1 across bin 8, crosses 0.5 midway


def _run_mode_network(h, probe_path):
    from surrogate_cell.neuron import SurrogateCell, connect

    cells = [SurrogateCell(probe_path, gid=10 + i) for i in range(3)]
    keep = []
    for i, c in enumerate(cells):
        for j in range(4):
            ns = h.NetStim()
            ns.start, ns.number, ns.interval, ns.noise = 1.0, 1e9, 3.0, 1.0
            ns.noiseFromRandom123(i, j, 3)
            keep.append(ns)
            connect(ns, c.synapse("apic[%d]" % (5 * j), 0.5, PULSE_EXC), weight=0.45, delay=1.0)
        connect(c, cells[(i + 1) % 3].synapse("dend[2]", 0.5, PULSE_EXC), weight=0.6, delay=2.0)
    rec = cells[0].record("soma")
    return cells, keep, rec


def _run_in_mode(h, probe_path, mode):
    from surrogate_cell.neuron import reset_runner

    reset_runner()
    pc = h.ParallelContext()
    pc.gid_clear()
    cells, keep, rec = _run_mode_network(h, probe_path)
    tv, iv = _spike_recorder(h)
    h.dt = 0.025
    if mode == "run":
        _run(h, 60)
    elif mode == "continuerun":
        h.finitialize(-65)
        h.continuerun(23.5)
        h.continuerun(60)
    elif mode == "psolve":
        pc.set_maxstep(10)
        h.stdinit()
        pc.psolve(30)
        pc.psolve(60)
    else:  # variable step
        h.cvode_active(1)
        try:
            _run(h, 60)
        finally:
            h.cvode_active(0)
    return np.asarray(tv).copy(), np.asarray(iv).copy(), rec.v.copy()


def test_run_modes_agree(fresh_runner, probe_path):
    """h.run, h.continuerun and pc.psolve (in two pieces each) and CVode give the same network."""
    h = _h()
    t_run, id_run, v_run = _run_in_mode(h, probe_path, "run")
    assert len(t_run) > 5 and len(v_run) == 61
    for mode in ("continuerun", "psolve", "cvode"):
        t, ids, v = _run_in_mode(h, probe_path, mode)
        np.testing.assert_allclose(t, t_run, atol=1e-9)
        np.testing.assert_array_equal(ids, id_run)
        np.testing.assert_allclose(v, v_run)


def test_recording_and_reinitialisation(fresh_runner, probe_path):
    from surrogate_cell.neuron import SurrogateCell, connect

    h = _h()
    cell = SurrogateCell(probe_path)
    keep = []
    connect(_stim(h, 4.5, keep), cell.synapse("dend[3]", 0.5, PULSE_EXC), weight=0.25, delay=1.0)
    everything = cell.record_all()
    soma = cell.record("soma")
    for _ in range(2):  # the second run starts from the initial state again
        _run(h, 10)
        assert everything.v.shape == (11, len(cell.model.segments))
        np.testing.assert_allclose(everything.v[:, -1], [-70] * 6 + [-69.75] * 5)  # the state row
        np.testing.assert_allclose(everything.v[:, 0], soma.v)
    vec = soma.vector()
    assert vec.size() == 11 and vec[6] == pytest.approx(-50.0)


def test_untrained_surrogate_plumbing(fresh_runner, untrained_path, hay_segments):
    from surrogate_cell.neuron import Population, connect, get_runner

    h = _h()
    pop = Population(untrained_path, range(5), expect_morphology=hay_segments)
    keep = []
    rng = np.random.default_rng(0)
    for gid, cell in pop.cells.items():
        for j in range(20):
            ns = h.NetStim()
            ns.start, ns.number, ns.interval, ns.noise = 0, 1e9, 5.0, 1.0
            ns.noiseFromRandom123(gid, j, 1)
            keep.append(ns)
            sec = rng.choice(["dend[1]", "apic[4]", "apic[30]"])
            connect(ns, cell.synapse(sec, rng.uniform(), rng.choice(["exc", "inh"])), weight=1.0, delay=1.0)
    recs = [c.record_all() for c in pop.cells.values()]
    _run(h, 20)
    stats = get_runner().stats
    assert stats.ticks == 20 and stats.events > 50
    for r in recs:
        assert r.v.shape == (21, len(hay_segments)) and np.isfinite(r.v).all()


# -- bad input: every one a SurrogateCellError at set-up ---------------------------------------------

def test_bad_targets(fresh_runner, probe_path):
    from surrogate_cell.neuron import SurrogateCell

    cell = SurrogateCell(probe_path)
    with pytest.raises(UnknownSectionError, match="no section 'apic\\[9999\\]'"):
        cell.synapse("apic[9999]", 0.5, PULSE_EXC)
    with pytest.raises(UnknownSectionError, match="no section 'basal\\[0\\]'"):
        cell.synapse("basal", 0.5, PULSE_EXC)
    with pytest.raises(UnknownSectionError, match=r"\[0, 1\]"):
        cell.synapse("apic[1]", 1.5, PULSE_EXC)
    with pytest.raises(UnknownReceptorError, match=r"'kainate'.*declare_synapse"):
        cell.synapse("apic[1]", 0.5, "kainate")
    with pytest.raises(UnknownReceptorError, match="a synapse model must be"):
        cell.synapse("apic[1]", 0.5, 3.0)
    with pytest.raises(UnknownSectionError):
        cell.record("axon[7]", 0.5)
    for name in ("exc", "AMPANMDA", "sc_AMPANMDA"):
        assert cell.synapse("apic[1]", 0.5, name).receptors == ("ampa", "nmda")
    for name in ("inh", "GABAA", "gaba", "sc_GABAA"):
        assert cell.synapse("apic[1]", 0.5, name).receptors == ("gaba_a",)
    exp2 = {"mod": "Exp2Syn", "tau1": 0.5, "tau2": 8.0, "e": -80.0}
    assert cell.synapse("apic[1]", 0.5, exp2).receptors == ("gaba_a",)
    # a synapse per (segment, model): the same one is one code, every other another
    codes = {cell.synapse(sec, 0.5, m).code for sec in ("apic[1]", "soma", "axon[0]") for m in ("exc", exp2)}
    assert len(codes) == 6 and cell.synapse("apic[1]", 0.5, "exc").code in codes
    assert cell.synapse("soma", 0.5, PULSE_INH).segment == 0


@pytest.mark.parametrize("weight", [float("nan"), -0.1, float("inf"), "heavy"])
def test_bad_weight(fresh_runner, probe_path, weight):
    from surrogate_cell.neuron import SurrogateCell, connect

    h = _h()
    cell = SurrogateCell(probe_path)
    with pytest.raises(InvalidWeightError, match="weight"):
        connect(h.NetStim(), cell.synapse("apic[1]", 0.5, PULSE_EXC), weight=weight, delay=1.0)


def test_bad_delays(fresh_runner, probe_path):
    from surrogate_cell.neuron import SurrogateCell, connect, gid_connect

    h = _h()
    a, b = SurrogateCell(probe_path, gid=1), SurrogateCell(probe_path, gid=2)
    target = b.synapse("apic[1]", 0.5, PULSE_EXC)
    for delay in (0.5, 1.0, 1.05):  # latency 1 ms + min NetCon delay 0.1 ms
        with pytest.raises(DelayTooShortError, match="below its minimum 1.1 ms"):
            connect(a, target, weight=1.0, delay=delay)
        with pytest.raises(DelayTooShortError, match="below its minimum"):
            gid_connect(1, target, weight=1.0, delay=delay)
    for delay in (float("nan"), -1.0):
        with pytest.raises(DelayTooShortError, match="finite and >= 0"):
            connect(h.NetStim(), target, weight=1.0, delay=delay)
    assert connect(a, target, weight=1.0, delay=1.1).delay == pytest.approx(0.1)
    assert connect(h.NetStim(), target, weight=1.0, delay=0.0).delay == 0.0  # inputs: delays as given
    with pytest.raises(NetworkError, match="gid 77 does not exist"):
        gid_connect(77, target, weight=1.0, delay=2.0)
    with pytest.raises(NetworkError, match="many inputs"):
        connect(h.NetStim(), b, weight=1.0, delay=1.0)
    with pytest.raises(NetworkError, match="source must be"):
        connect("gid 1", target, weight=1.0, delay=1.0)


def test_morphology_mismatch(fresh_runner, probe_path, hay_segments, tmp_path):
    from dataclasses import replace

    from surrogate_cell.neuron import Population, SurrogateCell

    other = replace(hay_segments, diam_um=hay_segments.diam_um * 1.5)
    with pytest.raises(MorphologyMismatchError, match="trained on another morphology"):
        SurrogateCell(probe_path, expect_morphology=other)
    with pytest.raises(MorphologyMismatchError):
        Population(probe_path, [1, 2], expect_morphology="0" * 64)
    SurrogateCell(probe_path, expect_morphology=hay_segments)  # the right one passes


def test_device_and_config_errors(fresh_runner, probe_path):
    import torch

    from surrogate_cell.neuron import RunnerConfig, SurrogateCell, get_runner

    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailableError, match="no CUDA device"):
            SurrogateCell(probe_path, config=RunnerConfig(device="cuda"))
    with pytest.raises(NetworkError, match="device"):
        get_runner(RunnerConfig(device="tpu"))
    SurrogateCell(probe_path)
    with pytest.raises(RunnerStateError, match="exists already"):
        SurrogateCell(probe_path, config=RunnerConfig(spike_rule="probability"))
    with pytest.raises(NetworkError, match="gid 4 is in use"):
        SurrogateCell(probe_path, gid=4), SurrogateCell(probe_path, gid=4)
    assert issubclass(RunnerStateError, SurrogateCellError)


def test_run_time_misuse_is_reported(fresh_runner, probe_path):
    from surrogate_cell.neuron import SurrogateCell

    h = _h()
    cell = SurrogateCell(probe_path)
    keep = []
    raw = h.NetCon(_stim(h, 2.0, keep), cell.source)  # weight[1] never set: no channel
    raw.weight[0] = 1.0
    with pytest.raises(RuntimeError, match="synapse code 0"):
        _run(h, 5)
    raw.weight[1] = cell.synapse("apic[2]", 0.5, PULSE_EXC).code  # the documented raw form works
    _run(h, 5)
    h.finitialize(-65)
    SurrogateCell(probe_path)
    with pytest.raises(RuntimeError, match="added after finitialize"):
        h.continuerun(3)
    assert not math.isnan(h.t)


@pytest.mark.parametrize("dt", [1.1, 1.3, 2.5])
def test_a_step_longer_than_1_ms_is_refused(fresh_runner, probe_path, dt):
    """h.dt above the surrogates' 1 ms step would skip bins silently; finitialize refuses it, then runs at 1 ms."""
    from surrogate_cell.neuron import SurrogateCell, connect, get_runner

    h = _h()
    cell = SurrogateCell(probe_path)
    keep = []
    connect(_stim(h, 12.3, keep), cell.synapse("apic[10]", 0.5, PULSE_EXC), weight=1.0, delay=0.0)
    h.dt = dt
    with pytest.raises(RuntimeError, match=f"h.dt = {dt:g} ms is longer than the surrogate cells' 1 ms step"):
        h.finitialize(-65)
    h.dt = 1.0
    h.finitialize(-65)
    h.continuerun(100)
    assert get_runner().stats.ticks == 100 and get_runner().stats.events == 1


def test_cuda_matches_cpu(fresh_runner, probe_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("torch sees no CUDA device")
    from surrogate_cell.neuron import RunnerConfig, SurrogateCell, connect, reset_runner

    h = _h()
    results = []
    for device in ("cpu", "cuda"):
        reset_runner()
        cell = SurrogateCell(probe_path, config=RunnerConfig(device=device))
        keep = []
        connect(_stim(h, 12.3, keep), cell.synapse("apic[10]", 0.5, PULSE_EXC), weight=1.0, delay=0.0)
        rec = cell.record("apic[10]", 0.5)
        _run(h, 20)
        results.append((cell.spike_times.copy(), rec.v.copy()))
    np.testing.assert_allclose(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1], atol=1e-4)


def test_synapses_outside_the_training_data_warn(fresh_runner, hay_segments, tmp_path):
    """Kinetics, a reversal or a weight outside what the model was trained on: a warning naming the synapse,
    the value and the trained range; inside them, none."""
    import warnings

    from surrogate_cell.neuron import SurrogateCell, SynapseRangeWarning, connect
    from surrogate_cell.training.export import export_untrained

    h = _h()
    cell = SurrogateCell(export_untrained(tmp_path / "m.pt", hay_segments))  # the default generator's ranges
    with pytest.warns(SynapseRangeWarning, match=r"synapse 'slow': ampa decay 400 ms \(trained 1.5–6 ms\)"):
        cell.synapse("apic[1]", 0.5, {"mod": "Exp2Syn", "tau1": 0.3, "tau2": 400.0, "e": 0.0}, label="slow")
    with pytest.warns(SynapseRangeWarning, match=r"gaba_a reversal -60 mV \(trained -80 mV\)"):
        cell.synapse("soma", 0.5, {"mod": "Exp2Syn", "tau1": 0.5, "tau2": 8.0, "e": -60.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fast = cell.synapse("apic[1]", 0.5, {"mod": "Exp2Syn", "tau1": 0.1, "tau2": 3.0, "e": 0.0})
        connect(h.NetStim(), fast, weight=0.0005, delay=1.0)  # 0.5 nS
        cell.synapse("dend[2]", 0.5, {"mod": "ExpSyn", "tau": 3.0, "e": 0.0})  # a jump counts as a fast rise
    with pytest.warns(SynapseRangeWarning, match=r"ampa peak conductance 50 nS per event \(trained 0.1–4 nS\)"):
        connect(h.NetStim(), fast, weight=0.05, delay=1.0)


def test_somatic_and_axonal_synapses_move_the_soma(fresh_runner):
    """The packaged model in plain NEURON: basket-cell-like GABA_A on the soma hyperpolarises it, AMPA on the
    axon initial segment depolarises it, against the same cell without them."""
    import surrogate_cell
    from surrogate_cell.neuron import SurrogateCell, connect

    h = _h()
    model = surrogate_cell.load()
    cells = [SurrogateCell(model) for _ in range(3)]
    keep = []

    def drive(cell, section, mech, weight, interval_ms):
        ns = h.NetStim()
        ns.start, ns.number, ns.interval, ns.noise = 5.0, 1e9, interval_ms, 0.0
        keep.extend([ns, connect(ns, cell.synapse(section, 0.5, mech), weight=weight, delay=0.0)])

    drive(cells[1], "soma", {"mod": "Exp2Syn", "tau1": 0.5, "tau2": 8.0, "e": -80.0}, 0.002, 5.0)  # 2 nS, 200 Hz
    drive(cells[2], "axon[0]", {"mod": "Exp2Syn", "tau1": 0.2, "tau2": 3.0, "e": 0.0}, 0.002, 10.0)  # 2 nS, 100 Hz
    somas = [c.record("soma", 0.5) for c in cells]
    h.finitialize(-70.0)
    h.continuerun(200.0)
    rest, inhibited, excited = (float(np.mean(r.v[100:])) for r in somas)
    assert inhibited < rest - 0.5, (rest, inhibited)
    assert excited > rest + 0.5, (rest, excited)
