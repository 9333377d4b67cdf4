"""What NetPyNE's synapse-placement functions see of a swapped cell: its rule's sections and section lists.

The surrogate places a connection where NetPyNE would place the synapse on
the detailed cell, by running NetPyNE's own placement functions (private
methods of ``CompartCell``) on a :class:`SectionView` of the rule.
"""
from __future__ import annotations

import netpyne
from netpyne.cell.compartCell import CompartCell

from .errors import NetPyNESwapError

#: NetPyNE's placement functions that the surrogate reuses (checked by ``install``).
PLACEMENT_FUNCTIONS = ("_secsAndLocsForSingleSynapse", "_secsAndLocsForMultisynapse", "_distributeSynsUniformly",
                       "_randomSecAndLocFromList")


def check_placement_functions() -> None:
    """Raise :class:`~.errors.NetPyNESwapError` where the installed NetPyNE lacks one of :data:`PLACEMENT_FUNCTIONS`."""
    missing = [f for f in PLACEMENT_FUNCTIONS if not hasattr(CompartCell, f)]
    if missing:
        raise NetPyNESwapError(f"NetPyNE {netpyne.__version__} has no CompartCell.{missing[0]}; surrogate_cell's "
                               "NetPyNE integration was written against NetPyNE 1.1.1's synapse placement")


class SectionView:
    """The parts of a CompartCell that NetPyNE's synapse-placement functions read: gid, secs, secLists."""

    # NetPyNE's own functions (None where this NetPyNE lacks one: check_placement_functions says so at install)
    _secsAndLocsForSingleSynapse = getattr(CompartCell, "_secsAndLocsForSingleSynapse", None)
    _secsAndLocsForMultisynapse = getattr(CompartCell, "_secsAndLocsForMultisynapse", None)
    _distributeSynsUniformly = getattr(CompartCell, "_distributeSynsUniformly", None)
    _randomSecAndLocFromList = getattr(CompartCell, "_randomSecAndLocFromList", None)

    class _Sec:  # stands for a section's hObj where the rule gives no length
        def __init__(self, L):
            self.L = L

    def __init__(self, gid: int, info):
        self.gid = gid
        self.secLists = info.sec_lists
        self.secs = {}
        for name, g in info.secs.items():
            geom = {"L": g["rule_L"]} if g["rule_L"] is not None else {}
            self.secs[name] = {"geom": geom, "hObj": self._Sec(g["L"] if g["L"] is not None else 1.0)}
