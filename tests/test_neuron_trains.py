"""play_spikes: input trains played by the runner equal the same events delivered by NEURON."""
from __future__ import annotations

import numpy as np
import pytest

from surrogate_cell.errors import DelayTooShortError, InvalidWeightError, NetworkError
from tests.test_neuron_support import fresh_runner, hay_segments, probe_path  # noqa: F401 (fixtures)


def _h():
    from neuron import h

    h.load_file("stdrun.hoc")
    return h


def _inputs(model, n_inputs: int, seed: int):
    """(section, x, kind, spike times, weight, delay) of random Poisson inputs on the model's channels."""
    from surrogate_cell.neuron import poisson_times

    seg = model.segments
    rng = np.random.default_rng(seed)
    out = []
    for j, ch in enumerate(rng.choice(model.n_channels, n_inputs, replace=False)):
        row = model.channel_segment[ch]
        kind = str(model.channel_kind[ch])
        times = poisson_times(40.0 if kind == "exc" else 20.0, 300.0, np.random.default_rng((seed, j)))
        out.append((str(seg.section[row]), float(seg.x[row]), kind, times, 1.5 if kind == "exc" else 1.0,
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
    """The packaged model, 120 Poisson inputs: same spikes and voltages whichever way the events come."""
    from surrogate_cell.model import default_model_path, load

    path = default_model_path()
    inputs = _inputs(load(path), 120, seed=3)
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
    play_spikes(cell.synapse("apic[10]", 0.5, "exc"), [12.0, 4.5], weight=1.0, delay=0.3)  # bins 12 and 4
    play_spikes(cell.synapse("dend[3]", 0.5, "exc"), [21.9], weight=0.5, delay=0.1)  # 22.0 after rounding
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
    target = cell.synapse("dend[3]", 0.5, "exc")
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
