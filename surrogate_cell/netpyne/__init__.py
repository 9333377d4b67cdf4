"""Surrogate cells in NetPyNE: swap a detailed cell rule for the surrogate with one call.

>>> from netpyne import sim, specs
>>> import surrogate_cell.netpyne as scn
>>> netParams.loadCellParamsRule("L5PC", "l5pc_rule.json")     # or importCellParams(...), as usual
>>> scn.swap(netParams, "L5PC", "l5pc.pt")                      # the rest of the spec is unchanged
>>> sim.createSimulateAnalyze(netParams, cfg)

See ``docs/netpyne.md`` for the hooks (``sim.PointCell``, ``sim.setupRecording``,
``sim.gatherData``), synapse placement, spikes, traces, LFP and MPI.

Importing this package loads the project's NMODL mechanisms into NEURON
(compiling them into the cache on first use). NetPyNE's ``importCellParams``
lists the mechanisms NEURON has *before* it imports a cell's file, so a rule
of the project's ``HayCell`` can be imported only after they are loaded:
import this package first.
"""
from ..mechanisms import load_mechanisms
from .errors import NetPyNESwapError, SwapMorphologyError, SwapSectionError, SynMechModelError, UnsupportedFeatureError
from .hooks import install, uninstall
from .rule import SwapConfig
from .state import current
from .swap import swap

load_mechanisms()  # before any importCellParams of HayCell (see the module docstring)


def surrogate_cells() -> dict:
    """``{gid: SurrogateCell}`` of this rank in the current NetPyNE network."""
    return dict(current().cells)


__all__ = ["swap", "SwapConfig", "install", "uninstall", "surrogate_cells", "NetPyNESwapError", "SwapSectionError",
           "SynMechModelError", "SwapMorphologyError", "UnsupportedFeatureError"]
