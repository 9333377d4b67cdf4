"""play_spikes: input trains played by the runner equal the same events delivered by NEURON."""
from __future__ import annotations

import numpy as np
import pytest

from surrogate_cell.errors import DelayTooShortError, InvalidWeightError, NetworkError
from tests.helpers import PULSE_EXC


def _h():
    from neuron import h

    h.load_file("stdrun.hoc")
    return h


def _inputs(model, n_inputs: int, seed: int):
    """(section, x, kind, spike times, weight, delay) of random Poisson inputs: 'exc' (AMPA+NMDA) or 'inh'
    synapses on random segments."""
    from surrogate_cell.neuron import poisson_times

    seg = model.segments
    rng = np.random.default_rng(seed)
    out = []
    for j, ch in enumerate(rng.choice(model.n_channels, n_inputs, replace=False)):
        row = model.channel_segment[ch]
        kind = "exc" if model.channel_kind[ch] in ("ampa", "nmda") else "inh"
        times = poisson_times(40.0 if kind == "exc" else 20.0, 300.0, np.random.default_rng((seed, j)))
        out.append((str(seg.section[row]), float(seg.x[row]), kind, times, 3.0 if kind == "exc" else 1.0,
                    float(rng.uniform(0.1, 3.0))))
    return out


def _run(model_path, inputs, played: bool):
    """Soma voltage (mV, every 1 ms), spike times (ms) and runner stats of one cell given ``inputs``."""
    from surrogate_cell.neuron import SurrogateCell, connect, get_runner, play_spikes, reset_runner

    h = _h()
    reset_runner()
    h.ParallelContext().gid_clear()
    cell = SurrogateCell(model_path, gid=0)
    keep = []
    for section, x, kind, times, w, d in inputs:
        target = cell.synapse(section, x, kind)
        if played:
            play_spikes(target, times, weight=w, delay=d)
        else:  # NEURON delivers each event: NetCon.event at spike + delay, scheduled at finitialize
            nc = connect(None, target, weight=w, delay=d)
            keep.append((nc, times + d))
    fih = h.FInitializeHandler(lambda: [nc.event(float(t)) for nc, ts in keep for t in ts])
    soma = cell.record("soma", 0.5)
    h.dt = 0.025
    h.finitialize(-65)
    h.continuerun(300)
    stats = get_runner().stats
    del fih
    return soma.v.copy(), cell.spike_times.copy(), stats


def test_played_trains_equal_neuron_events(fresh_runner):
    """The packaged model, 200 Poisson inputs: same spikes and voltages whichever way the events come."""
    from surrogate_cell.model import load, shipped_model_path

    path = shipped_model_path("synthetic")
    inputs = _inputs(load(path), 200, seed=3)
    n_events = sum(int(np.count_nonzero(times + d < 300.0)) for _, _, _, times, _, d in inputs)  # bins 0..299
    v_neuron, spikes_neuron, s_neuron = _run(path, inputs, played=False)
    v_played, spikes_played, s_played = _run(path, inputs, played=True)
    assert s_neuron.events == s_played.events == n_events
    assert s_played.played_events == n_events and s_neuron.played_events == 0
    assert spikes_neuron.size >= 3, "the inputs should make the cell fire"
    np.testing.assert_array_equal(spikes_played, spikes_neuron)
    np.testing.assert_allclose(v_played, v_neuron, atol=1e-4)


def test_played_event_lands_in_its_bin(fresh_runner, probe_path):
    """Probe model: an event lifts its segment by 80·w mV in exactly its bin, rounding included."""
    from surrogate_cell.neuron import SurrogateCell, play_spikes

    h = _h()
    cell = SurrogateCell(probe_path)
    play_spikes(cell.synapse("apic[10]", 0.5, PULSE_EXC), [12.0, 4.5], weight=1.0, delay=0.3)  # bins 12 and 4
    play_spikes(cell.synapse("dend[3]", 0.5, PULSE_EXC), [21.9], weight=0.5, delay=0.1)  # 22.0 after rounding
    apic, dend = cell.record("apic[10]", 0.5), cell.record("dend[3]", 0.5)
    h.dt = 0.025
    h.finitialize(-65)
    h.continuerun(30)
    expected = np.full(31, -70.0)
    expected[[5, 13]] = 10.0
    np.testing.assert_allclose(apic.v, expected, atol=1e-4)
    expected = np.full(31, -70.0)
    expected[23] = -30.0
    np.testing.assert_allclose(dend.v, expected, atol=1e-4)
    # a second run plays the same trains again
    h.finitialize(-65)
    h.continuerun(30)
    np.testing.assert_allclose(apic.v[13], 10.0, atol=1e-4)


def test_play_spikes_bad_input(fresh_runner, probe_path):
    from surrogate_cell.neuron import SurrogateCell, play_spikes

    h = _h()
    cell = SurrogateCell(probe_path)
    target = cell.synapse("dend[3]", 0.5, PULSE_EXC)
    with pytest.raises(NetworkError, match="surrogate's synapse"):
        play_spikes(cell, [1.0])
    with pytest.raises(NetworkError, match="1-D"):
        play_spikes(target, [[1.0, 2.0]])
    with pytest.raises(NetworkError, match=">= 0"):
        play_spikes(target, [1.0, -2.0])
    with pytest.raises(NetworkError, match="finite"):
        play_spikes(target, [np.nan])
    with pytest.raises(InvalidWeightError):
        play_spikes(target, [1.0], weight=float("nan"))
    with pytest.raises(DelayTooShortError):
        play_spikes(target, [1.0], delay=-1.0)
    h.finitialize(-65)
    play_spikes(target, [5.0])  # added after finitialize: the run refuses to go on without a new one
    with pytest.raises(RuntimeError, match="played trains were added after finitialize"):  # NEURON wraps it
        h.continuerun(3)


def _netstim_run(model_path, specs, played: bool, tstop: float = 300.0, runs: int = 1):
    """Soma voltage and spike times of one cell driven by NetStims (connected, or played by the runner)."""
    from surrogate_cell.neuron import SurrogateCell, connect, play_netstim, reset_runner

    h = _h()
    reset_runner()
    h.ParallelContext().gid_clear()
    cell = SurrogateCell(model_path, gid=0)
    stims = []
    for (section, x, kind, ids, interval, noise, start, w, d) in specs:
        ns = h.NetStim()
        ns.interval, ns.noise, ns.start, ns.number = interval, noise, start, 1e9
        ns.noiseFromRandom123(*ids)
        stims.append(ns)
        (play_netstim if played else connect)(ns, cell.synapse(section, x, kind), weight=w, delay=d)
    soma = cell.record("soma", 0.5)
    out = []
    for _ in range(runs):
        h.tstop = tstop
        h.run()
        out.append((soma.v.copy(), cell.spike_times.copy()))
    return out, stims


def test_played_netstims_equal_neuron_netstims(fresh_runner):
    """NetStims replayed by the runner (Random123 reproduced) give the spikes NEURON's NetStims give."""
    from surrogate_cell.model import load, shipped_model_path
    from surrogate_cell.neuron import get_runner

    path = shipped_model_path("synthetic")
    model = load(path)
    rng = np.random.default_rng(5)
    specs = []
    for j, ch in enumerate(rng.choice(model.n_channels, 160, replace=False)):
        row = model.channel_segment[ch]
        kind = "exc" if model.channel_kind[ch] in ("ampa", "nmda") else "inh"
        specs.append((str(model.segments.section[row]), float(model.segments.x[row]), kind, (j, 17, 3),
                      15.0 if kind == "exc" else 50.0, float(rng.choice([1.0, 0.6])), float(rng.uniform(0, 20)),
                      1.5 if kind == "exc" else 1.0, float(rng.uniform(0.1, 2.0))))
    (neuron_run,), neuron_stims = _netstim_run(path, specs, played=False)
    for ns in neuron_stims:  # their NetCons outlive that runner's cells: keep them quiet
        ns.number = 0
    played_runs, stims = _netstim_run(path, specs, played=True, runs=2)
    assert get_runner().stats.played_events > 500
    assert all(ns.number == 0 for ns in stims)  # silenced while played
    assert neuron_run[1].size >= 3
    for v, spikes in played_runs:  # the second run redraws the same streams
        np.testing.assert_array_equal(spikes, neuron_run[1])
        np.testing.assert_allclose(v, neuron_run[0], atol=1e-4)
    h = _h()
    with pytest.raises(RuntimeError, match="drawn up to h.tstop = 300"):
        h.continuerun(320)  # past the tstop the trains were drawn to
    from surrogate_cell.neuron import reset_runner

    reset_runner()
    assert all(ns.number == 1e9 for ns in stims)  # a closed runner gives the NetStims back


def test_netstim_replica_is_exact():
    """netstim_spike_times equals NEURON's NetStim for several streams, noises, starts, numbers, global index."""
    from surrogate_cell.neuron.netstim import netstim_spike_times

    h = _h()
    rng = np.random.default_rng(11)
    cases, keep = [], []
    h.Random().Random123_globalindex(3)
    try:
        for i in range(24):
            case = (tuple(int(v) for v in rng.integers(0, 2 ** 31, 3)), float(rng.choice([1.0, 0.0, 0.4])),
                    float(rng.choice([0.0, 7.3, -1.0])), float(rng.choice([1e9, 4, 2.5])), float(rng.uniform(1, 60)))
            ns = h.NetStim()
            ns.noiseFromRandom123(*case[0])
            ns.noise, ns.start, ns.number, ns.interval = case[1:]
            vec = h.Vector()
            nc = h.NetCon(ns, None)
            nc.record(vec)
            cases.append(case)
            keep.append((ns, nc, vec))
        h.finitialize(-65)
        h.continuerun(1000)
        total = 0
        for (ids, noise, start, number, interval), (_, _, vec) in zip(cases, keep):
            neuron_times = np.asarray(vec)
            neuron_times = neuron_times[neuron_times < 1000]
            mine = netstim_spike_times(interval, start, noise, number, 1000.0, ids, global_index=3)
            np.testing.assert_array_equal(mine, neuron_times)
            total += mine.size
        assert total > 200
    finally:
        h.Random().Random123_globalindex(0)
