"""What NetPyNE's synapse-placement functions see of a swapped cell: its rule's sections and section lists.

The surrogate places a connection where NetPyNE would place the synapse on
the detailed cell, by running NetPyNE's own placement functions (private
methods of ``CompartCell``) on a :class:`SectionView` of the rule.
"""
from __future__ import annotations

from netpyne.cell.compartCell import CompartCell

#: NetPyNE's placement functions that the surrogate reuses (checked by ``install``).
PLACEMENT_FUNCTIONS = ("_secsAndLocsForSingleSynapse", "_secsAndLocsForMultisynapse", "_distributeSynsUniformly",
                       "_randomSecAndLocFromList")


class SectionView:
    """The parts of a CompartCell that NetPyNE's synapse-placement functions read: gid, secs, secLists."""

    _secsAndLocsForSingleSynapse = CompartCell._secsAndLocsForSingleSynapse
    _secsAndLocsForMultisynapse = CompartCell._secsAndLocsForMultisynapse
    _distributeSynsUniformly = CompartCell._distributeSynsUniformly
    _randomSecAndLocFromList = CompartCell._randomSecAndLocFromList

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
