"""Mixed networks: a detailed HayCell drives a surrogate, and a surrogate drives a HayCell."""
from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import PULSE_EXC


@pytest.fixture(scope="module")
def hay():
    from surrogate_cell.cells import HayCell

    return HayCell()


def test_detailed_to_surrogate(fresh_runner, probe_path, hay):
    from neuron import h

    from surrogate_cell.neuron import SurrogateCell, connect

    h.load_file("stdrun.hoc")
    h.celsius = 34
    cell = SurrogateCell(probe_path, expect_morphology=hay)
    clamp = h.IClamp(hay.soma[0](0.5))
    clamp.delay, clamp.dur, clamp.amp = 5.0, 3.0, 2.0
    nc = connect(hay.soma[0](0.5), cell.synapse("apic[10]", 0.5, PULSE_EXC), weight=1.0, delay=2.0, threshold=-10.0)
    hay_spikes = h.Vector()
    nc.record(hay_spikes)
    rec = cell.record("apic[10]", 0.5)
    h.dt = 0.025
    h.tstop = 20
    h.run()
    assert len(hay_spikes) >= 1
    first = hay_spikes[0]
    landing = int(np.floor(first + 2.0))  # the bin the first event lands in
    assert rec.v[landing + 1] >= 10.0 - 1e-4  # the voltage at the end of that bin
    assert np.all(rec.v[: landing + 1] == pytest.approx(-70.0))
    assert cell.spike_times[0] == pytest.approx(landing + 0.75)  # the soma crosses too


def test_surrogate_to_detailed(fresh_runner, probe_path, hay):
    from neuron import h

    from surrogate_cell.neuron import SurrogateCell, connect

    h.load_file("stdrun.hoc")
    h.celsius = 34
    cell = SurrogateCell(probe_path)
    stim = h.NetStim()
    stim.start, stim.number = 12.3, 1
    connect(stim, cell.synapse("dend[3]", 0.5, PULSE_EXC), weight=1.0, delay=0.0)  # crossing at 12.75 ms
    syn = h.sc_AMPANMDA(hay.section("apic[5]")(0.5))
    connect(cell, syn, weight=3.0, delay=4.0)
    g = h.Vector().record(syn._ref_g_AMPA)
    t = h.Vector().record(h._ref_t)
    h.dt = 0.025
    h.tstop = 25
    h.run()
    g, t = np.asarray(g), np.asarray(t)
    onset = t[np.flatnonzero(g > 0)[0]]
    assert 12.75 + 4.0 <= onset <= 12.75 + 4.0 + 2 * h.dt  # arrives at crossing + delay
    assert g.max() == pytest.approx(3.0 * 0.0004, rel=0.05)  # weight 3 -> 3 x 0.4 nS AMPA peak
