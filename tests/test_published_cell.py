"""The published Hay L5PC (``cell1.asc``, ``L5PCbiophys3``): its geometry in a model file, and the swap of
the published template and of ``HayCell("cell1.asc")`` with one call each, with the files as distributed
(``../shared/reference/hay2011``)."""
from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from tests.helpers import export_probe, run_python


@pytest.fixture(scope="module")
def published(hay_reference, tmp_path_factory):
    """(reference folder, probe model of cell1.asc carrying its geometry, that geometry)."""
    from surrogate_cell.cells import HayCell

    cell = HayCell(hay_reference / "cell1.asc")
    geometry = cell.geometry()
    path = export_probe(tmp_path_factory.mktemp("published") / "probe_cell1.pt", cell.segments, geometry)
    return hay_reference, path, geometry


def test_geometry_rebuilds_the_cell_without_its_file(published):
    """The geometry a model file carries gives back the same 196 sections and 642 segments, and the same
    voltages under the same stimulus."""
    from neuron import h

    from surrogate_cell.cells import CellGeometry, HayCell
    from surrogate_cell.model import load

    ref, path, geometry = published
    model = load(path)
    assert model.geometry.source == "cell1.asc" and len(model.geometry) == 196
    assert model.geometry.n_segments == model.n_segments == 642
    original = HayCell(ref / "cell1.asc")
    rebuilt = HayCell(CellGeometry.from_dict(json.loads(json.dumps(model.geometry.to_dict()))))
    assert rebuilt.segments.digest() == original.segments.digest() == model.cell_digest
    np.testing.assert_array_equal(rebuilt.segments.area_um2, original.segments.area_um2)
    h.load_file("stdrun.hoc")
    traces = []
    for cell in (original, rebuilt):
        stim = h.IClamp(cell.soma[0](0.5))
        stim.delay, stim.dur, stim.amp = 5.0, 20.0, 1.5
        v = h.Vector().record(cell.apic[36](0.5)._ref_v)
        h.dt, h.celsius = 0.025, 34.0
        h.finitialize(-80.0)
        h.continuerun(30.0)
        traces.append(v.as_numpy().copy())
        stim = None
    assert traces[0].max() > -40.0  # the somatic current reaches the apical dendrite
    np.testing.assert_array_equal(traces[0], traces[1])


def test_geometry_errors_name_the_problem():
    from surrogate_cell.cells import CellGeometry
    from surrogate_cell.errors import MorphologyError

    good = {"names": ["soma[0]", "dend[0]"], "parent": [-1, 0], "parent_x": [0.0, 0.5], "child_x": [0.0, 0.0],
            "nseg": [1, 3], "points": [[[0, 0, 0, 10], [0, 10, 0, 10]], [[0, 5, 0, 2], [50, 5, 0, 2]]]}
    assert CellGeometry.from_dict(good).n_segments == 4
    with pytest.raises(MorphologyError, match="one root"):
        CellGeometry.from_dict({**good, "parent": [-1, -1]})
    with pytest.raises(MorphologyError, match="differ in length"):
        CellGeometry.from_dict({**good, "nseg": [1]})
    with pytest.raises(MorphologyError, match="'spine\\[0\\]'"):
        CellGeometry.from_dict({**good, "names": ["soma[0]", "spine[0]"]})


SWAP_AND_RUN = """
import json, sys
from surrogate_cell.mechanisms import load_mechanisms, load_mod_dir
from neuron import h
from netpyne import specs, sim
import surrogate_cell.netpyne as scn
from surrogate_cell.neuron import get_runner

ref, model, how = sys.argv[1], sys.argv[2], sys.argv[3]
load_mechanisms()
netParams = specs.NetParams()
if how == "template":                 # the published files, as a user has them
    load_mod_dir(ref + "/published/mod")
    h.load_file("import3d.hoc")
    h.load_file(ref + "/published/L5PCbiophys3.hoc")
    netParams.importCellParams("L5PC", fileName=ref + "/published/L5PCtemplate.hoc", cellName="L5PCtemplate",
                               cellArgs=[ref + "/cell1.asc"])
else:                                 # the project's HayCell on the same morphology
    open("hay_cell.py", "w").write("from surrogate_cell.cells import HayCell\\n")
    netParams.importCellParams("L5PC", fileName="hay_cell.py", cellName="HayCell",
                               cellArgs={"morphology": ref + "/cell1.asc"})
n_secs = len(netParams.cellParams["L5PC"]["secs"])
netParams.popParams["L5"] = {"cellType": "L5PC", "numCells": 2}
netParams.cellParams["PV"] = {"secs": {"soma": {"geom": {"diam": 15, "L": 15, "Ra": 100, "cm": 1},
                                                "mechs": {"hh": {}}}}}
netParams.popParams["PV"] = {"cellType": "PV", "numCells": 1}
netParams.synMechParams["AMPA"] = {"mod": "Exp2Syn", "tau1": 0.2, "tau2": 2.0, "e": 0}
netParams.synMechParams["GABA"] = {"mod": "Exp2Syn", "tau1": 0.5, "tau2": 8.0, "e": -80}
netParams.stimSourceParams["bkg"] = {"type": "NetStim", "rate": 100, "noise": 1.0}
netParams.stimTargetParams["bkg->L5"] = {"source": "bkg", "conds": {"pop": "L5"}, "sec": "apical",
                                          "synsPerConn": 10, "weight": 0.004, "delay": 1, "synMech": "AMPA"}
netParams.stimTargetParams["bkg->PV"] = {"source": "bkg", "conds": {"pop": "PV"}, "sec": "soma",
                                          "weight": 0.05, "delay": 1, "synMech": "AMPA"}
netParams.connParams["PV->L5"] = {"preConds": {"pop": "PV"}, "postConds": {"pop": "L5"}, "sec": "soma_0",
                                  "weight": 0.001, "delay": 1, "synMech": "GABA"}
scn.swap(netParams, "L5PC", model)
cfg = specs.SimConfig()
cfg.duration, cfg.dt = 40, 0.025
cfg.recordCells = ["all"]
cfg.recordTraces = {"V_soma": {"sec": "soma_0", "loc": 0.5, "var": "v", "conds": {"pop": "L5"}}}
cfg.verbose = cfg.saveJson = cfg.savePickle = False
sim.createSimulateAnalyze(netParams, cfg)
d = sim.allSimData
print("RESULT " + json.dumps({"n_secs": n_secs, "cells": [type(c).__name__ for c in sim.net.cells],
                              "traces": sorted(d["V_soma"]), "spikes": len(d["spkt"]),
                              "events": int(get_runner().stats.events),
                              "v_max": max(max(v) for v in d["V_soma"].values())}))
"""


@pytest.mark.parametrize("how", ["template", "haycell"])
def test_published_rules_swap_with_one_call_and_run(published, how, tmp_path):
    """The published template (importCellParams of L5PCtemplate.hoc with cell1.asc and its own mods) and
    HayCell("cell1.asc") each swap for a model of cell1.asc with one call, with somatic basket inhibition."""
    ref, path, _ = published
    res = run_python(textwrap.dedent(SWAP_AND_RUN), ref, path, how, timeout=300, cwd=tmp_path)
    assert res["n_secs"] == 196
    assert res["cells"][:2] == ["SurrogatePointCell"] * 2 and res["traces"] == ["cell_0", "cell_1"]
    assert res["events"] > 20  # background and basket-cell events reached the surrogates
    assert res["spikes"] > 0 and res["v_max"] > -60.0
