"""Garbage collection never runs inside NEURON's integrator through our callbacks.

NEURON 9 aborts the process when Python frees an unreachable NEURON object (a
cell of an earlier network held in a reference cycle) while ``finitialize`` or
``fadvance`` is on the stack. The script below leaves cyclic garbage holding
sections before each run and makes the collector run at every allocation once
the run starts (without the guard in ``surrogate_cell.callbacks`` this aborted
at finitialize); it runs in a subprocess because a failure is an abort.
"""
from __future__ import annotations

from tests.helpers import run_script_result

SCRIPT = r'''
import gc
from neuron import h
from surrogate_cell.model import shipped_model_path
from surrogate_cell.neuron import SurrogateCell, connect, reset_runner

h.load_file("stdrun.hoc")


class OldCell:
    def __init__(self):
        self.soma = h.Section(name="old_soma", cell=self)
        self.dend = h.Section(name="old_dend", cell=self)
        self.dend.connect(self.soma(1))
        self.me = self  # a reference cycle: only the collector frees it


spikes = []
for trial in range(3):
    reset_runner()
    gc.disable()  # keep the garbage until the run is on the stack
    OldCell(); OldCell()
    cell = SurrogateCell(shipped_model_path("synthetic"))
    stim = h.NetStim()
    stim.start, stim.number, stim.interval, stim.noise = 2.0, 40, 1.0, 0
    nc = connect(stim, cell.synapse("dend[0]", 0.5, "exc"), weight=1.0, delay=1.0)
    gc.set_threshold(1, 1, 1)
    gc.enable()
    h.finitialize(-70)
    h.continuerun(60)
    gc.set_threshold(700, 10, 10)
    spikes.append(len(cell.spike_times))
    del cell, stim, nc
print("RESULT", spikes)
'''


def test_collection_during_runs_does_not_abort_neuron(tmp_path):
    counts = eval(run_script_result(tmp_path, SCRIPT))
    assert len(counts) == 3 and counts[0] == counts[1] == counts[2]  # each run starts from the same state
