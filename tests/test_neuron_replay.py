"""A SurrogateCell driven in NEURON by a data set's own events reproduces the model's free run exactly.

The events of one generated simulation (time, channel, weight) are replayed
through NetStims and NetCons onto ``cell.synapse(section, x, kinetics)`` with
the simulation's own kinetics; the recorded voltages and the spikes equal
``free_run`` of the packaged model on the set's stored conductances, so the
free-running evaluation figures carry over to the cell in NEURON unchanged
(the runner's grouped conductance states are exact).
"""
from __future__ import annotations

import numpy as np
import pytest

from surrogate_cell.data import Dataset
from surrogate_cell.model import load, shipped_model_path
from surrogate_cell.synapses import RECEPTORS, Kinetics
from surrogate_cell.training.evaluate import free_run, rest_output
from surrogate_cell.training.metrics import upward_crossings
from tests.helpers import generate_small


@pytest.fixture(scope="module")
def replay_data(tmp_path_factory):
    # seed 0 draws the "strong" input regime for its first simulation: the cell fires
    return generate_small(tmp_path_factory.mktemp("replay") / "replay.h5", 0.4, 0.4, seed=0)


def test_replayed_events_reproduce_the_free_run(fresh_runner, replay_data):
    from neuron import h

    from surrogate_cell.neuron import SurrogateCell, connect

    h.load_file("stdrun.hoc")
    ds = Dataset(replay_data)
    model = load(shipped_model_path("synthetic"))  # the data are of the synthetic cell
    seg = model.segments
    cell = SurrogateCell(model)
    times, channels, weights = ds.events(0)
    kinetics = [Kinetics(r, *map(float, row)) for r, row in zip(RECEPTORS, ds.kinetics[0])]
    keep = []
    for t, c, w in zip(times, channels, weights):
        row, receptor = model.channel_segment[c], model.channel_kind[c]
        ns = h.NetStim()  # one event at exactly t
        ns.start, ns.number, ns.noise = float(t), 1, 0
        target = cell.synapse(str(seg.section[row]), float(seg.x[row]), kinetics[RECEPTORS.index(receptor)])
        keep += [ns, connect(ns, target, weight=float(w), delay=0.0)]
    soma, tuft = cell.record("soma", 0.5), cell.record_all()
    h.dt = 0.025
    h.finitialize(-70.0)
    h.continuerun(float(ds.sim_ms))

    x, _, _ = ds.window(0, 0, ds.sim_ms)
    v_free, p_free = free_run(model, x[None])
    # recording sample k is the voltage at t = k ms; the free run's row k is the end of bin k (t = k + 1)
    np.testing.assert_allclose(soma.v[1:], v_free[0, :, 0], atol=1e-3)
    np.testing.assert_allclose(tuft.v[1:], v_free[0], atol=1e-3)
    expected = upward_crossings(p_free[0], model.spike_probability, rest_output(model)[1])
    assert len(expected) > 0, "the replayed simulation should make the model fire"
    # the runner's conductance is float64, the data set's float32: crossing times agree to about 1e-5 ms
    np.testing.assert_allclose(cell.spike_times, expected, atol=1e-4)
