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
from .errors import (NetPyNESwapError, SwapMorphologyError, SwapSectionError, SynMechKindError,
                     UnsupportedFeatureError)
from .rule import CELL_MODEL, EXC_REVERSAL_MIN_MV, SwapConfig, decide_kind, model_section_name, swap

load_mechanisms()  # before any importCellParams of HayCell (see the module docstring)


def install() -> None:
    """Install the NetPyNE hooks (``swap`` does it); see :mod:`surrogate_cell.netpyne.hooks`."""
    from .hooks import install as _install

    _install()


def uninstall() -> None:
    """Restore NetPyNE's own ``sim.PointCell``, ``sim.setupRecording`` and ``sim.gatherData``."""
    from .hooks import uninstall as _uninstall

    _uninstall()


def surrogate_cells() -> dict:
    """``{gid: SurrogateCell}`` of this rank in the current NetPyNE network."""
    from .hooks import _state

    return dict(_state().cells)


__all__ = ["swap", "SwapConfig", "install", "uninstall", "surrogate_cells", "model_section_name", "decide_kind",
           "CELL_MODEL", "EXC_REVERSAL_MIN_MV", "NetPyNESwapError", "SwapSectionError", "SynMechKindError",
           "SwapMorphologyError", "UnsupportedFeatureError"]
