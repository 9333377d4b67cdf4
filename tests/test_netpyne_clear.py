"""With the hooks installed, ``sim.clearAll`` frees a detailed network recorded with ``cfg.recordLFP``.

The detailed cells' LFP recorder holds their segments; left alive, they would
be integrated in every later network of the process (e.g. the swapped run after
the detailed one in the column example), at the detailed cells' full cost.
"""
from __future__ import annotations

from tests.helpers import run_script_result

SCRIPT = r'''
from netpyne import specs, sim
from neuron import h
import surrogate_cell.netpyne as scn

scn.install()
net = specs.NetParams()
net.cellParams["S"] = {"secs": {
    "soma": {"geom": {"diam": 18.8, "L": 18.8, "Ra": 123.0}, "mechs": {"hh": {}}},
    "dend": {"geom": {"diam": 3.0, "L": 200.0, "Ra": 150.0}, "topol": {"parentSec": "soma", "parentX": 1.0,
             "childX": 0}, "mechs": {"pas": {"g": 1e-4, "e": -70}}}}}
net.popParams["A"] = {"cellType": "S", "numCells": 3}
cfg = specs.SimConfig()
cfg.duration, cfg.verbose, cfg.printRunTime, cfg.printPopAvgRates = 20, False, False, False
cfg.saveJson = cfg.savePickle = False
cfg.recordLFP = [[50.0, 100.0, 50.0], [50.0, 400.0, 50.0]]
sim.createSimulateAnalyze(net, cfg)
n_run = len(list(h.allsec()))
lfp_shape = list(sim.allSimData["LFP"].shape)
sim.clearAll()
print("RESULT", n_run, len(list(h.allsec())), lfp_shape)
'''


def test_clear_all_frees_detailed_cells_recorded_for_lfp(tmp_path):
    n_run, n_after, shape = run_script_result(tmp_path, SCRIPT).split(" ", 2)
    assert int(n_run) == 6 and int(n_after) == 0
    assert shape == "[200, 2]"  # 20 ms at NetPyNE's default recordStep 0.1 ms, 2 contacts
