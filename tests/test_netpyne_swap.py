"""NetPyNE: swap the detailed L5PC rule for the surrogate with one call and run the spec unchanged.

Every NetPyNE run is a fresh process (tests/helpers.py, run_python). The
probe model (tests/helpers.py) makes voltages predictable: an
excitatory event of weight w lifts its segment and the soma by 80·w mV for the
1 ms bin it lands in.
"""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

from tests.helpers import assert_same_spikes, run_python

PRELUDE = """
import json, sys
import numpy as np
from netpyne import specs, sim
import surrogate_cell.netpyne as scn
from tests.helpers import column, emit
"""


MPI_PRELUDE = """
from surrogate_cell.mechanisms import load_mechanisms
load_mechanisms()          # compiled before MPI starts
from neuron import h
h.nrnmpi_init()            # before NetPyNE's first ParallelContext
"""


def S(body: str) -> str:
    """A NetPyNE script: the common imports plus ``body``."""
    return PRELUDE + textwrap.dedent(body)


def test_swapped_column_runs_with_create_simulate_analyze(rule_json, probe_path, tmp_path):
    """One call swaps a JSON-loaded rule; createSimulateAnalyze runs with traces, raster, trace and rate plots."""
    res = run_python(S("""
        out = sys.argv[3]
        netParams, cfg = column(sys.argv[1], duration=60)
        rule = scn.swap(netParams, "L5PC", sys.argv[2])
        cfg.recordTraces["V_L5"] = {"sec": "soma", "loc": 0.5, "var": "v", "conds": {"pop": "L5"}}
        cfg.recordTraces["V_apic"] = {"sec": "apic_10", "loc": 0.5, "var": "v", "conds": {"pop": "L5"}}
        cfg.analysis = {"plotRaster": {"saveFig": out + "/raster.png", "showFig": False},
                        "plotTraces": {"include": [0, 3], "saveFig": out + "/traces.png", "showFig": False},
                        "plotSpikeHist": {"include": ["L5", "INT"], "saveFig": out + "/rates.png", "showFig": False}}
        sim.createSimulateAnalyze(netParams, cfg)
        d = sim.allSimData
        l5 = [g for g in range(3)]
        print("RESULT " + json.dumps({
            "rule": {k: v for k, v in rule.items() if k != "surrogate"},
            "cells": [type(c).__name__ for c in sim.net.cells],
            "t": len(d["t"]), "V_L5": {k: list(v) for k, v in d["V_L5"].items()},
            "V_soma_INT": sorted(d["V_soma"]), "V_apic": sorted(d["V_apic"]),
            "spikes": [[float(t), int(i)] for t, i in zip(d["spkt"], d["spkid"])],
            "conns_L5": len(sim.net.cells[0].conns)}))
    """), rule_json, probe_path, tmp_path)
    assert res["rule"] == {"cellModel": "sc_Surrogate"}
    assert res["cells"] == ["SurrogatePointCell"] * 3 + ["CompartCell"] * 2
    assert sorted(res["V_L5"]) == ["cell_0", "cell_1", "cell_2"] and res["V_apic"] == ["cell_0", "cell_1", "cell_2"]
    assert res["V_soma_INT"] == ["cell_3", "cell_4"]  # the hh interneurons, recorded by NetPyNE itself
    v = np.array(res["V_L5"]["cell_0"])
    assert v.size == res["t"] == 121  # NetPyNE records 0, 0.5, ..., 60 ms
    # probe soma at whole ms: -70 + 80 * (net conductance, nS, of the synMechs' kinetics in the bin)
    whole = v[::2]
    assert whole.max() > -10.0  # the background drives the soma over threshold
    spikes = np.array(res["spikes"])
    assert set(spikes[:, 1].astype(int)) & {0, 1, 2}, "the surrogates spiked"
    assert np.all(np.diff(spikes[:, 0]) >= 0)
    assert res["conns_L5"] > 0
    figures = sorted(p.name for p in tmp_path.glob("*.png"))
    assert figures == ["raster.png", "rates.png", "traces__gid_0_.png", "traces__gid_3_.png"], figures
    assert all((tmp_path / name).stat().st_size > 1000 for name in figures)


def test_traces_spikes_and_delays_are_the_surrogates(rule_json, probe_path):
    """create/simulate/analyze: traces are the runner's voltages (linear between 1 ms samples), spikes the
    crossing times, delays from surrogates shortened by the 1 ms latency, weight[1] the synapse's code."""
    res = run_python(S("""
        from surrogate_cell.netpyne.rule import model_section_name
        netParams, cfg = column(sys.argv[1], duration=60, record_step=0.25)
        scn.swap(netParams, "L5PC", sys.argv[2])
        cfg.recordTraces["V_apic"] = {"sec": "apic_10", "loc": 0.5, "var": "v", "conds": {"pop": "L5"}}
        sim.create(netParams, cfg)
        cells = scn.surrogate_cells()
        recs = {g: c.record("apic[10]", 0.5) for g, c in cells.items()}
        delays, codes = [], []
        for cell in sim.net.cells:
            for conn in cell.conns:
                if conn["preGid"] in cells:
                    delays.append([conn["delay"], conn["hObj"].delay])
                if cell.gid in cells:
                    mech = dict(netParams.synMechParams[conn["synMech"]])
                    want = cells[cell.gid].synapse(model_section_name(conn["sec"]), conn["loc"], mech).code
                    codes.append([conn["hObj"].weight[1], want])
        sim.simulate()
        sim.analyze()
        d = sim.allSimData
        t = np.array(d["t"])
        err = max(float(np.abs(np.array(d["V_apic"][f"cell_{g}"]) - np.interp(t, r.t, r.v)).max())
                  for g, r in recs.items())
        sur = sorted((float(s), g) for g, c in cells.items() for s in c.spike_times)
        rec = sorted((float(s), int(i)) for s, i in zip(d["spkt"], d["spkid"]) if int(i) in cells)
        print("RESULT " + json.dumps({"err": err, "sur": sur, "rec": rec, "delays": delays, "codes": codes,
                                      "t_last": float(t[-1]), "rec_t_last": float(recs[0].t[-1])}))
    """), rule_json, probe_path)
    assert res["err"] < 1e-9
    assert res["sur"] and res["rec"] == [[t, g] for t, g in res["sur"]]
    assert res["delays"] and all(abs(nominal - 1.0 - actual) < 1e-12 for nominal, actual in res["delays"])
    assert res["codes"] and all(a == b for a, b in res["codes"])


def test_placement_equals_netpyne_detailed(rule_json, probe_path, hay_segments):
    """Every synapse of the swapped cell sits on the segment where NetPyNE puts it on the detailed cell:
    secLists spread by cumulative length, random sections, lists of sections and locs, NetStim inputs."""
    res = run_python(S("""
        from surrogate_cell.mechanisms import load_mechanisms
        load_mechanisms()

        def spec():
            netParams, cfg = column(sys.argv[1], n_pyr=2, n_int=1)
            cp = netParams.connParams
            cp["a"] = {"preConds": {"pop": "INT"}, "postConds": {"pop": "L5"}, "sec": "apical", "synsPerConn": 7,
                       "synMech": "AMPANMDA", "weight": 0.1, "delay": 1.2}
            cp["b"] = {"preConds": {"pop": "INT"}, "postConds": {"pop": "L5"}, "sec": "basal", "synsPerConn": 4,
                       "distributeSynsUniformly": False, "connRandomSecFromList": True, "synMech": "GABAA",
                       "weight": 0.1, "delay": 1.2}
            cp["c"] = {"preConds": {"pop": "INT"}, "postConds": {"pop": "L5"}, "sec": ["apic_3", "apic_20", "dend_5"],
                       "synsPerConn": 3, "loc": [0.1, 0.5, 0.9], "distributeSynsUniformly": False,
                       "connRandomSecFromList": False, "synMech": "inh", "weight": 0.1, "delay": 1.2}
            cp["d"] = {"preConds": {"pop": "INT"}, "postConds": {"pop": "L5"}, "sec": "apical",
                       "connRandomSecFromList": True, "synMech": "exc", "weight": 0.1, "delay": 1.2}
            cp["e"] = {"preConds": {"pop": "INT"}, "postConds": {"pop": "L5"}, "sec": "apic_30", "synsPerConn": 3,
                       "synMech": "AMPANMDA", "weight": 0.1, "delay": 1.2}
            cfg.recordTraces = {}
            return netParams, cfg

        def placed(swapped):
            out = {}
            for cell in sim.net.cells:
                if cell.tags["pop"] != "L5":
                    continue
                rows = []
                for c in cell.conns:
                    row = [str(c["preGid"]), c["sec"], round(float(c["loc"]), 12), c["synMech"]]
                    if swapped:  # the synapse's segment and receptor classes
                        row.append(scn.surrogate_cells()[cell.gid].batch.describe(int(c["hObj"].weight[1])))
                    else:
                        seg = c["hObj"].syn().get_segment()
                        row.append([seg.sec.name().split(".")[-1], seg.x])
                    rows.append(row)
                out[cell.gid] = rows
            return out

        netParams, cfg = spec()
        sim.create(netParams, cfg)
        detailed = placed(False)
        sim.clearAll()
        netParams, cfg = spec()
        scn.swap(netParams, "L5PC", sys.argv[2])
        sim.create(netParams, cfg)
        swapped = placed(True)
        print("RESULT " + json.dumps({"detailed": detailed, "swapped": swapped}))
    """), rule_json, probe_path)
    from surrogate_cell.netpyne.rule import model_section_name

    det, sw = res["detailed"], res["swapped"]
    assert det.keys() == sw.keys() == {"0", "1"}
    n = 0
    for gid in det:
        assert [r[:4] for r in det[gid]] == [r[:4] for r in sw[gid]]  # same sections and locs, in order
        for d, s in zip(det[gid], sw[gid]):
            sec, x = d[4]
            row = hay_segments.index(model_section_name(sec), x)  # the detailed synapse's segment
            receptors = {"GABAA": ["gaba_a"], "inh": ["gaba_a"], "AMPANMDA": ["ampa", "nmda"], "exc": ["ampa"]}[d[3]]
            assert s[4] == [row, receptors], (d, s)
            n += 1
    assert n > 2 * (7 + 4 + 3 + 1 + 3)


def test_hoc_template_rule_swaps_with_one_call(hoc_template, probe_path):
    """A Hay-style hoc template imported with importCellParams swaps with one call and runs."""
    template, swc = hoc_template
    res = run_python(S("""
        from neuron import h
        h.load_file("stdlib.hoc"); h.load_file("import3d.hoc")
        netParams = specs.NetParams()
        rule = netParams.importCellParams("L5", fileName=sys.argv[1], cellName="SCTestL5PC", cellArgs=[sys.argv[2]])
        names = list(rule["secs"])
        netParams.popParams["L5"] = {"cellType": "L5", "numCells": 2}
        netParams.synMechParams["AMPA"] = {"mod": "Exp2Syn", "tau1": 0.2, "tau2": 2.0, "e": 0}
        netParams.stimSourceParams["bkg"] = {"type": "NetStim", "rate": 100, "noise": 1.0}
        netParams.stimTargetParams["bkg->L5"] = {"source": "bkg", "conds": {"pop": "L5"}, "sec": "apical",
                                                  "synsPerConn": 10, "weight": 1.0, "delay": 1, "synMech": "AMPA"}
        netParams.connParams["L5->L5"] = {"preConds": {"pop": "L5"}, "postConds": {"pop": "L5"}, "sec": "dend_4",
                                          "weight": 1.0, "delay": 2, "synMech": "AMPA"}
        scn.swap(netParams, "L5", sys.argv[3])
        cfg = specs.SimConfig()
        cfg.duration = 50
        cfg.recordCells = ["all"]
        cfg.recordTraces = {"V_soma": {"sec": "soma_0", "loc": 0.5, "var": "v"}}
        cfg.verbose = cfg.saveJson = cfg.savePickle = False
        sim.createSimulateAnalyze(netParams, cfg)
        d = sim.allSimData
        print("RESULT " + json.dumps({"names": names[:3] + names[-2:], "n": len(names),
                                      "traces": sorted(d["V_soma"]), "spikes": len(d["spkt"]),
                                      "conns": [len(c.conns) for c in sim.net.cells]}))
    """), template, swc, probe_path)
    assert res["names"] == ["soma_0", "dend_0", "dend_1", "axon_0", "axon_1"] and res["n"] == 119
    assert res["traces"] == ["cell_0", "cell_1"]
    assert res["spikes"] > 0
    assert res["conns"] == [11, 11]  # 10 background synapses + 1 recurrent each


def test_bad_input_is_an_error_before_the_run(rule_json, probe_path, other_probe_path):
    """Unknown section or secList, an unmappable synMech, another morphology, short delays, IClamps,
    non-voltage traces: each a clear error, raised before the simulation starts; synapses on the soma and
    the axon are accepted, and a synMech outside the trained ranges is a warning."""
    res = run_python(S("""
        from surrogate_cell.errors import SurrogateCellError
        out = {}

        def case(name, change=None, swap_model=None, create=True):
            netParams, cfg = column(sys.argv[1], n_pyr=2, n_int=1)
            try:
                if change:
                    change(netParams, cfg)
                scn.swap(netParams, "L5PC", swap_model or sys.argv[2])
                if create:
                    sim.create(netParams, cfg)
                out[name] = "no error"
            except SurrogateCellError as exc:
                out[name] = [type(exc).__name__, str(exc), bool(getattr(sim, "simData", None) and
                                                                  len(sim.simData.get("spkt", [])))]
            if hasattr(sim, "net"):
                sim.clearAll()

        def conn(**kw):
            def change(netParams, cfg):
                netParams.connParams["x"] = {"preConds": {"pop": "INT"}, "postConds": {"pop": "L5"}, "weight": 0.5,
                                             "delay": 2, "synMech": "AMPANMDA", **kw}
            return change

        case("unknown section", conn(sec="apic_999"))
        case("unknown secList", conn(sec="oblique"))
        case("soma synapse", conn(sec="soma_0"))
        case("axon synapse", conn(sec="axon_0"))
        case("no sec", conn())

        def mystery(netParams, cfg):
            netParams.synMechParams["mystery"] = {"mod": "MysterySyn", "tau": 5}
            conn(sec="apical", synMech="mystery")(netParams, cfg)
        case("unmappable synMech", mystery)

        def declared(netParams, cfg):
            from surrogate_cell.synapses import declare_synapse
            declare_synapse("MysterySyn", "ampa", tau_rise=0.2, tau_decay="tau", e=0.0, nS_per_weight=1000.0)
            mystery(netParams, cfg)
        case("declared synMech", declared)

        import warnings
        netParams, cfg = column(sys.argv[1], n_pyr=2, n_int=1)
        netParams.synMechParams["shifted"] = {"mod": "Exp2Syn", "tau1": 0.5, "tau2": 8.0, "e": -60.0}
        conn(sec="somatic", synMech="shifted")(netParams, cfg)
        scn.swap(netParams, "L5PC", sys.argv[2])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sim.create(netParams, cfg)
        out["out of range"] = sorted({str(w.message) for w in caught
                                      if type(w.message).__name__ == "SynapseRangeWarning"})
        sim.clearAll()
        case("another morphology", swap_model=sys.argv[3], create=False)

        def short(netParams, cfg):
            netParams.connParams["L5->INT"]["delay"] = 1.0  # from a surrogate onto a detailed cell
        case("short delay", short)

        def iclamp(netParams, cfg):
            netParams.stimSourceParams["ic"] = {"type": "IClamp", "del": 5, "dur": 10, "amp": 0.5}
            netParams.stimTargetParams["ic->L5"] = {"source": "ic", "conds": {"pop": "L5"}, "sec": "soma_0",
                                                     "loc": 0.5}
        case("IClamp", iclamp)

        def trace(netParams, cfg):
            cfg.recordTraces["ik"] = {"sec": "soma", "loc": 0.5, "var": "ik"}
        case("current trace", trace)
        case("coarse dt", lambda n, c: setattr(c, "dt", 1.3))
        case("unknown rule", lambda n, c: n.cellParams.pop("L5PC") and None, create=False)
        print("RESULT " + json.dumps(out))
    """), rule_json, probe_path, other_probe_path, timeout=180)
    for name, value in res.items():
        print(f"{name}: {value}")
    for name in ("soma synapse", "axon synapse", "declared synMech"):
        assert res[name] == "no error", name
    assert len(res["out of range"]) == 1 and "synapse 'shifted': gaba_a reversal -60 mV (trained -80 mV)" in \
        res["out of range"][0]

    def err(name, cls, *fragments):
        assert res[name] != "no error", name
        kind, msg, ran = res[name]
        assert kind == cls, (name, kind, msg)
        for f in fragments:
            assert f in msg, (name, f, msg)
        assert not ran

    err("unknown section", "SwapSectionError", "'L5PC'", "'apic_999'", "silently use the soma")
    err("unknown secList", "SwapSectionError", "'L5PC'", "'oblique'")
    err("no sec", "SwapSectionError", "no 'sec'", "'L5PC'")
    err("unmappable synMech", "SynMechModelError", "synMech 'mystery'", "'MysterySyn'", "declare_synapse")
    err("another morphology", "SwapMorphologyError", "'L5PC'", "another morphology", "dend_")
    err("short delay", "DelayTooShortError", "surrogate gid", "1.1 ms")
    err("IClamp", "UnsupportedFeatureError", "'IClamp'", "synaptic events only")
    err("current trace", "UnsupportedFeatureError", "'ik'", "conds")
    err("coarse dt", "UnsupportedFeatureError", "cfg.dt = 1.3 ms", "1 ms or less")
    err("unknown rule", "NetPyNESwapError", "'L5PC'")


def test_mpi_two_ranks_equal_one(rule_json, probe_path):
    """mpiexec -n 2 gives the same spikes, surrogate traces and LFP as one process."""
    code = MPI_PRELUDE + S("""
        netParams, cfg = column(sys.argv[1], n_pyr=4, n_int=3, duration=80)
        # brief pulses: the probe's net input falls between events, so it fires on many of them
        netParams.synMechParams["AMPANMDA"] = {"mod": "ExpSyn", "tau": 0.3, "e": 0.0}
        scn.swap(netParams, "L5PC", sys.argv[2])
        cfg.recordTraces["V_L5"] = {"sec": "apic_20", "loc": 0.5, "var": "v", "conds": {"pop": "L5"}}
        cfg.recordLFP = [[50, 900, 20], [50, 1000, 20], [-60, 600, 0]]
        sim.createSimulateAnalyze(netParams, cfg)
        if sim.rank == 0:
            d = sim.allSimData
            emit({
                "nhosts": sim.nhosts,
                "spikes": sorted([float(t), int(i)] for t, i in zip(d["spkt"], d["spkid"])),
                "V_L5": {k: list(v) for k, v in d["V_L5"].items()},
                "V_INT": {k: list(v) for k, v in d["V_soma"].items()},
                "LFP": np.asarray(d["LFP"]).tolist()})
        sim.pc.barrier()
        sim.pc.done()
        h.quit()   # finalizes MPI
    """)
    one = run_python(code, rule_json, probe_path, timeout=150)
    two = run_python(code, rule_json, probe_path, ranks=2, timeout=150)
    assert one["nhosts"] == 1 and two["nhosts"] == 2
    assert len(one["spikes"]) > 5 and {int(i) for _, i in one["spikes"]} & {0, 1, 2, 3}
    assert_same_spikes(two["spikes"], one["spikes"])  # batches of another size: float32 rounding (conftest)
    for key in one["V_L5"]:
        np.testing.assert_allclose(two["V_L5"][key], one["V_L5"][key], rtol=0, atol=1e-4)
    for key in one["V_INT"]:
        np.testing.assert_allclose(two["V_INT"][key], one["V_INT"][key], atol=1e-9)
    lfp1, lfp2 = np.array(one["LFP"]), np.array(two["LFP"])
    assert lfp1.shape == (160, 3)
    # float32 kernels summed per rank: equal to float32 precision of the largest value
    np.testing.assert_allclose(lfp2, lfp1, rtol=0, atol=1e-6 * np.abs(lfp1).max())


def test_played_netstims_give_the_same_run(rule_json, probe_path):
    """SwapConfig(play_netstims=True): the runner replays the background NetStims; spikes and traces are the same."""
    script = S("""
        from surrogate_cell.netpyne import SwapConfig
        from surrogate_cell.neuron import get_runner
        netParams, cfg = column(sys.argv[1], duration=80)
        scn.swap(netParams, "L5PC", sys.argv[2], config=SwapConfig(play_netstims=sys.argv[3] == "played"))
        cfg.recordTraces["V_apic"] = {"sec": "apic_10", "loc": 0.5, "var": "v", "conds": {"pop": "L5"}}
        sim.createSimulateAnalyze(netParams, cfg)
        d = sim.allSimData
        stims = [s["hObj"].number for c in sim.net.cells[:3] for s in c.stims]
        print("RESULT " + json.dumps({"spikes": [[float(t), int(i)] for t, i in zip(d["spkt"], d["spkid"])],
                                      "V": {k: list(v) for k, v in d["V_apic"].items()},
                                      "played": get_runner().stats.played_events, "stims": stims}))
    """)
    delivered = run_python(script, rule_json, probe_path, "neuron")
    played = run_python(script, rule_json, probe_path, "played")
    assert delivered["played"] == 0 and played["played"] > 50
    assert played["stims"] and all(n == 0 for n in played["stims"])  # silenced while the runner plays them
    assert delivered["spikes"] and played["spikes"] == delivered["spikes"]
    for key, trace in delivered["V"].items():
        np.testing.assert_allclose(played["V"][key], trace, atol=1e-6)


def test_played_netstims_under_mpi(rule_json, probe_path):
    """Played NetStims on 2 ranks give the spikes of NEURON-delivered NetStims on 1."""
    code = MPI_PRELUDE + S("""
        from surrogate_cell.netpyne import SwapConfig
        netParams, cfg = column(sys.argv[1], n_pyr=4, n_int=3, duration=80)
        # brief pulses: the probe's net input falls between events, so it fires on many of them
        netParams.synMechParams["AMPANMDA"] = {"mod": "ExpSyn", "tau": 0.3, "e": 0.0}
        scn.swap(netParams, "L5PC", sys.argv[2], config=SwapConfig(play_netstims=sys.argv[3] == "played"))
        sim.createSimulateAnalyze(netParams, cfg)
        if sim.rank == 0:
            d = sim.allSimData
            emit({"nhosts": sim.nhosts, "spikes": sorted([float(t), int(i)] for t, i in zip(d["spkt"], d["spkid"]))})
        sim.pc.barrier()
        sim.pc.done()
        h.quit()   # finalizes MPI
    """)
    one = run_python(code, rule_json, probe_path, "neuron", timeout=150)
    two = run_python(code, rule_json, probe_path, "played", ranks=2, timeout=150)
    assert one["nhosts"] == 1 and two["nhosts"] == 2
    assert len(one["spikes"]) > 5 and {int(i) for _, i in one["spikes"]} & {0, 1, 2, 3}
    assert_same_spikes(two["spikes"], one["spikes"])


def test_played_netstim_populations(probe_path, tmp_path):
    """The column's background NetStim populations (connParams): played into the surrogates, the same spikes
    as NEURON-delivered, on 1 and 2 ranks; the sources keep firing for the interneurons."""
    code = MPI_PRELUDE + S("""
        from surrogate_cell.netpyne import SwapConfig
        from surrogate_cell.cli import column as col
        from surrogate_cell.neuron import get_runner
        rule = col.hay_rule(sys.argv[3])
        netParams, cfg = col.column_spec(rule, col.ColumnConfig(n_l5=4, n_fs=2, duration_ms=120, seed=3,
                                                                 record_step_ms=1.0, lfp_depths_um=()))
        cfg.recordLFP = []
        scn.swap(netParams, "L5PC", sys.argv[2], config=SwapConfig(play_netstims=sys.argv[4] == "played"))
        sim.createSimulateAnalyze(netParams, cfg)
        played = sim.pc.allreduce(float(get_runner().stats.played_events), 1)
        if sim.rank == 0:
            d = sim.allSimData
            emit({"nhosts": sim.nhosts, "played": played,
                  "spikes": sorted([float(t), int(i)] for t, i in zip(d["spkt"], d["spkid"]))})
        sim.pc.barrier()
        sim.pc.done()
        h.quit()   # finalizes MPI
    """)
    rules = tmp_path / "rule"
    delivered = run_python(code, probe_path, probe_path, rules, "neuron", timeout=200)
    played = run_python(code, probe_path, probe_path, rules, "played", timeout=200)
    played2 = run_python(code, probe_path, probe_path, rules, "played", ranks=2, timeout=200)
    assert delivered["played"] == 0 and played["played"] > 100 and played2["played"] > 0
    spikes = delivered["spikes"]
    assert {int(i) for _, i in spikes} & {0, 1, 2, 3} and {int(i) for _, i in spikes} - {0, 1, 2, 3}
    assert played["spikes"] == spikes  # one rank: the same batch, so bit for bit
    assert_same_spikes(played2["spikes"], spikes)


def test_support_section_names():
    """The NetPyNE → model section-name rule (no NetPyNE run)."""
    from surrogate_cell.netpyne.rule import model_section_name

    assert model_section_name("apic_12") == "apic[12]"
    assert model_section_name("soma_0") == "soma[0]"
    assert model_section_name("soma") == "soma[0]"
    assert model_section_name("dend[3]") == "dend[3]"


def test_support_adopt_checks_the_source(probe_path):
    """SurrogateCell(source=...) adopts only an sc_Surrogate, and a gid its creator registered."""
    from neuron import h

    from surrogate_cell.errors import NetworkError
    from surrogate_cell.neuron import SurrogateCell, reset_runner

    reset_runner()
    try:
        with pytest.raises(NetworkError, match="sc_Surrogate"):
            SurrogateCell(probe_path, source=h.NetStim())
        with pytest.raises(NetworkError, match="not registered"):
            SurrogateCell(probe_path, gid=12345, source=h.sc_Surrogate())
        src = h.sc_Surrogate()
        cell = SurrogateCell(probe_path, source=src)
        assert cell.source is src and cell.gid is None
    finally:
        reset_runner()
