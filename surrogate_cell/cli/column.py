"""A small cortical column as an ordinary NetPyNE specification: the demo's network, and the examples'.

L5 pyramidal cells are the project's detailed :class:`~surrogate_cell.cells.HayCell`,
imported the way NetPyNE users import a cell (``importCellParams`` from a
Python file holding the class, saved as a JSON rule); fast-spiking interneurons
are single compartments with transient Na and Kv3.1 channels. Background
comes from populations of independent Poisson NetStims, each pyramidal cell
drawing ``bkg_exc_per_cell`` excitatory and ``bkg_inh_per_cell`` inhibitory
sources onto random dendritic sites (NetPyNE's ``convergence`` onto the
``apical`` and ``basal`` section lists); the interneurons get NetStim
stimulation (``stimTargetParams``). Pyramidal cells excite each other (apical
tree) and the interneurons, which inhibit the pyramidal cells on the soma, as
basket cells do.

Synapses are written as published specs write them (``ColumnConfig.synapses``):
``exp2syn`` (NEURON's ``Exp2Syn``, weights in µS: a weight w peaks at w µS),
``expsyn`` (``ExpSyn``, likewise) or ``project`` (the HayCell's own
``sc_AMPANMDA`` / ``sc_GABAA``, weight 1 = 0.4 nS AMPA + 0.4 nS NMDA, or
1 nS GABA_A). Connection strengths are given as peak conductances (nS) and
converted into each set's weights. A laminar probe records the LFP.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..mechanisms import load_mechanisms

#: the populations of neurons (the others are background sources)
CELL_POPS = ("L5", "FS")

#: synapse sets: excitatory and inhibitory synMech, and the peak conductance (nS) of a weight of 1
SYNAPSE_SETS = {
    "exp2syn": ({"mod": "Exp2Syn", "tau1": 0.2, "tau2": 3.0, "e": 0.0},
                {"mod": "Exp2Syn", "tau1": 0.5, "tau2": 8.0, "e": -80.0}, 1000.0, 1000.0),
    "expsyn": ({"mod": "ExpSyn", "tau": 3.0, "e": 0.0}, {"mod": "ExpSyn", "tau": 8.0, "e": -80.0}, 1000.0, 1000.0),
    "project": ({"mod": "sc_AMPANMDA"}, {"mod": "sc_GABAA"}, 0.4, 1.0),
}

#: recorded compartments of the pyramidal cells: label → (section of the imported rule, x)
TRACES = {"V_soma": ("soma_0", 0.5), "V_trunk": ("apic_5", 0.5), "V_basal": ("dend_3", 0.5)}


@dataclass
class ColumnConfig:
    """Size, drive and recording of the column (rates in Hz, times in ms, positions in µm)."""

    n_l5: int = 5
    n_fs: int | None = None  # default: n_l5 // 3, at least 1
    duration_ms: float = 500.0
    bkg_rate_hz: float = 50.0  # NetStim onto each interneuron
    bkg_exc_per_cell: tuple = (200, 600)  # excitatory background sources per pyramidal cell, lowest and
    # highest (half apical, half basal): cells get more the further along x they sit, so rates differ by cell
    bkg_inh_per_cell: int = 100  # inhibitory ones
    synapses: str = "exp2syn"  # a key of SYNAPSE_SETS
    exc_peak_nS: float | None = None  # peak AMPA conductance of a background or L5 → L5 event (None: exc_peak)
    inh_peak_nS: float = 1.0  # of a background inhibitory event
    fs_to_l5_peak_nS: float = 0.5  # of a basket-cell event on the soma (2 synapses per connection)
    bkg_exc_rate_hz: float = 6.0  # rate of each background source
    bkg_inh_rate_hz: float = 8.0
    bkg_sources: int = 2000  # size of each background NetStim population (sources are shared between cells)
    seed: int = 1
    lfp_depths_um: tuple = (400.0, 600.0, 800.0, 900.0, 1100.0, 1300.0)  # NetPyNE y (depth); somata at 950–1050 µm
    record_cells: int = 3
    record_step_ms: float = 0.5

    @property
    def exc_peak(self) -> float:
        """The excitatory peak (nS): AMPA-only sets get 2.5 nS, the project's AMPA+NMDA 0.4 nS (each)."""
        if self.exc_peak_nS is not None:
            return float(self.exc_peak_nS)
        return 0.4 if self.synapses == "project" else 2.5

    @property
    def fs_cells(self) -> int:
        return self.n_fs if self.n_fs is not None else max(1, self.n_l5 // 3)


def rule_path(folder: str | Path, geometry=None) -> Path:
    """Where :func:`hay_rule` keeps the rule of ``geometry`` in ``folder`` (named by the cell)."""
    name = "synthetic" if geometry is None else hashlib.sha256(
        json.dumps(geometry.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
    return Path(folder) / f"l5pc_rule_{name}.json"


def hay_rule(folder: str | Path, geometry=None) -> Path:
    """The detailed HayCell as a NetPyNE cell rule (``importCellParams`` of a Python class), saved as JSON.

    ``geometry``: a :class:`~surrogate_cell.cells.CellGeometry` (a model file's ``SurrogateModel.geometry``)
    to build the cell on; None: the synthetic L5PC. The file is named by the cell, and reused.
    """
    folder = Path(folder)
    path = rule_path(folder, geometry)
    if path.is_file():
        return path
    from netpyne import specs  # heavy: only when a rule is built

    load_mechanisms()  # NetPyNE lists NEURON's mechanisms before it imports the cell's file
    folder.mkdir(parents=True, exist_ok=True)
    cell_file = folder / "hay_cell.py"
    cell_file.write_text("from surrogate_cell.cells import HayCell  # the project's detailed L5PC\n")
    net = specs.NetParams()
    net.importCellParams("L5PC", fileName=str(cell_file), cellName="HayCell",
                         cellArgs={} if geometry is None else {"morphology": geometry})
    net.saveCellParamsRule("L5PC", str(path))
    return path


def column_spec(rule: str | Path, cc: ColumnConfig):
    """``(netParams, cfg)`` of the column; the pyramidal rule is ``'L5PC'``."""
    from netpyne import specs  # heavy: only when a spec is built

    net = specs.NetParams()
    net.sizeX, net.sizeY, net.sizeZ = 300, 1400, 300
    net.loadCellParamsRule("L5PC", str(rule))
    # fast-spiking interneuron: transient Na and Kv3.1 (the project's temperature-fixed kinetics;
    # NEURON's hh barely fires at 34 °C)
    net.cellParams["FS"] = {"secs": {"soma": {
        "geom": {"diam": 15, "L": 15, "Ra": 100, "cm": 1},
        "mechs": {"pas": {"g": 1e-4, "e": -70}, "sc_NaTa_t": {"gbar": 0.5}, "sc_SKv3_1": {"gbar": 0.5}},
        "ions": {"na": {"e": 50}, "k": {"e": -85}}}}}
    net.popParams["L5"] = {"cellType": "L5PC", "numCells": cc.n_l5, "yRange": [950, 1050]}
    net.popParams["FS"] = {"cellType": "FS", "numCells": cc.fs_cells, "yRange": [800, 1100]}
    if cc.synapses not in SYNAPSE_SETS:
        raise ValueError(f"ColumnConfig.synapses must be one of {sorted(SYNAPSE_SETS)}, got {cc.synapses!r}")
    exc, inh, exc_unit, inh_unit = SYNAPSE_SETS[cc.synapses]
    net.synMechParams["E"], net.synMechParams["I"] = dict(exc), dict(inh)
    w_exc, w_inh, w_fs = cc.exc_peak / exc_unit, cc.inh_peak_nS / inh_unit, cc.fs_to_l5_peak_nS / inh_unit
    net.synMechParams["exc"] = {"mod": "Exp2Syn", "tau1": 0.1, "tau2": 3.0, "e": 0}  # onto the interneurons
    # independent Poisson background, as in the surrogate's training data
    for pop, rate in (("bkgE", cc.bkg_exc_rate_hz), ("bkgI", cc.bkg_inh_rate_hz)):
        net.popParams[pop] = {"cellModel": "NetStim", "numCells": cc.bkg_sources, "rate": rate, "noise": 1.0,
                              "start": 0.0}
    lo, hi = cc.bkg_exc_per_cell[0] / 2, cc.bkg_exc_per_cell[1] / 2
    for tree in ("apical", "basal"):
        net.connParams[f"bkgE->L5 {tree}"] = {"preConds": {"pop": "bkgE"}, "postConds": {"pop": "L5"},
                                              "convergence": f"round({lo:g} + {hi - lo:g} * post_xnorm)",
                                              "sec": tree, "synsPerConn": 1,
                                              "weight": w_exc, "delay": 1.0, "synMech": "E"}
        net.connParams[f"bkgI->L5 {tree}"] = {"preConds": {"pop": "bkgI"}, "postConds": {"pop": "L5"},
                                              "convergence": cc.bkg_inh_per_cell // 2, "sec": tree, "synsPerConn": 1,
                                              "weight": w_inh, "delay": 1.0, "synMech": "I"}
    net.stimSourceParams["bkg"] = {"type": "NetStim", "rate": cc.bkg_rate_hz, "noise": 1.0}
    net.stimTargetParams["bkg->FS"] = {"source": "bkg", "conds": {"pop": "FS"}, "sec": "soma", "loc": 0.5,
                                        "synsPerConn": 1, "weight": 0.005, "delay": 1, "synMech": "exc"}
    p_l5 = min(0.5, 10.0 / max(1, cc.n_l5))  # about 10 recurrent partners per cell at any size
    net.connParams["L5->L5"] = {"preConds": {"pop": "L5"}, "postConds": {"pop": "L5"}, "probability": p_l5,
                                "sec": "apical", "synsPerConn": 5, "weight": w_exc, "delay": 2.0,
                                "synMech": "E"}
    net.connParams["L5->FS"] = {"preConds": {"pop": "L5"}, "postConds": {"pop": "FS"},
                                "probability": min(0.8, 20.0 / max(1, cc.n_l5)),
                                "sec": "soma", "loc": 0.5, "weight": 0.01, "delay": 1.5, "synMech": "exc"}
    net.connParams["FS->L5"] = {"preConds": {"pop": "FS"}, "postConds": {"pop": "L5"},
                                "probability": min(0.8, 8.0 / cc.fs_cells),
                                "sec": "somatic", "synsPerConn": 2, "weight": w_fs, "delay": 1.5,
                                "synMech": "I"}
    cfg = specs.SimConfig()
    cfg.duration, cfg.dt, cfg.recordStep = float(round(cc.duration_ms)), 0.025, cc.record_step_ms
    cfg.hParams = {"celsius": 34.0, "v_init": -75.0}
    cfg.seeds = {"conn": cc.seed, "stim": cc.seed, "loc": cc.seed, "cell": cc.seed}
    cfg.recordCells = [("L5", list(range(min(cc.n_l5, cc.record_cells)))), ("FS", [0])]
    cfg.recordCellsSpikes = list(CELL_POPS)  # not the background sources
    cfg.recordTraces = {k: {"sec": sec, "loc": x, "var": "v", "conds": {"pop": "L5"}} for k, (sec, x) in TRACES.items()}
    cfg.recordTraces["V_fs"] = {"sec": "soma", "loc": 0.5, "var": "v", "conds": {"pop": "FS"}}
    cfg.recordLFP = [[150.0, y, 150.0] for y in cc.lfp_depths_um]
    cfg.verbose = False
    cfg.progressBar = 0  # NetPyNE's per-rule connection bars (the demo shows its own progress)
    cfg.printPopAvgRates = False
    cfg.printRunTime = False
    cfg.saveJson = cfg.savePickle = False
    cfg.analysis = {}
    return net, cfg
