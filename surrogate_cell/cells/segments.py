"""The segment table: one row per segment, with region, path distance and geometry.

Regions (``SegmentTable.region``), by rule:

* ``soma``, ``axon``, ``basal``: the ``somatic``, ``axonal`` and ``basal`` lists.
* Apical sections are split at the *nexus* (main bifurcation). From ``apic[0]``
  the *main path* follows, at every branch point, the child whose subtree has
  the largest total length. The nexus is the first branch point on the main
  path where the second-largest child subtree is at least
  ``NEXUS_SUBTREE_RATIO`` (0.25) of the largest one.
* ``trunk``: main-path sections up to and including the one ending at the nexus.
* ``oblique``: every section of a subtree that leaves the trunk before the nexus.
* ``tuft``: every section beyond the nexus.

If no branch point qualifies, the whole main path is trunk and everything else
oblique.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields

import numpy as np

from ..errors import SurrogateCellError

NEXUS_SUBTREE_RATIO = 0.25
REGIONS = ("soma", "axon", "basal", "oblique", "trunk", "tuft")


def section_name(sec) -> str:
    """``'apic[36]'`` for a section called ``SC_CellHost[0].apic[36]``."""
    return sec.name().split(".")[-1]


@dataclass
class SegmentTable:
    """Every segment of a cell, in ``all``-list order (soma, basal, apical, axon).

    Attributes
    ----------
    section : ndarray of str, shape (n,)
        Section name, e.g. ``'apic[36]'``.
    x : ndarray, shape (n,)
        Arc position of the segment centre in its section (0–1).
    region : ndarray of str, shape (n,)
        One of ``REGIONS`` (see the module docstring for the rule).
    dist_um : ndarray, shape (n,)
        Path distance from ``soma(0.5)`` to the segment centre, µm.
    start_um, mid_um, end_um : ndarray, shape (n, 3)
        3-D coordinates of the segment's proximal end, centre and distal end, µm.
    diam_um : ndarray, shape (n,)
        Segment diameter (NEURON's ``seg.diam``), µm.
    length_um : ndarray, shape (n,)
        Segment length, µm.
    area_um2 : ndarray, shape (n,)
        Membrane area, µm².
    """

    section: np.ndarray
    x: np.ndarray
    region: np.ndarray
    dist_um: np.ndarray
    start_um: np.ndarray
    mid_um: np.ndarray
    end_um: np.ndarray
    diam_um: np.ndarray
    length_um: np.ndarray
    area_um2: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def section_rows(self, section: str) -> np.ndarray:
        """Rows of ``section``'s segments, in order (empty where there is no such section)."""
        lookup = self.__dict__.get("_rows_by_section")
        if lookup is None or lookup[0] is not self.section:  # built once per section array
            names, inverse = np.unique(self.section, return_inverse=True)
            order = np.argsort(inverse, kind="stable")
            bounds = np.searchsorted(inverse[order], np.arange(len(names) + 1))
            lookup = (self.section, {str(n): order[bounds[i]:bounds[i + 1]] for i, n in enumerate(names)})
            self.__dict__["_rows_by_section"] = lookup
        return lookup[1].get(section, np.empty(0, dtype=np.int64))

    def index(self, section: str, x: float) -> int:
        """Row of the segment of ``section`` that contains arc position ``x``."""
        rows = self.section_rows(section)
        if rows.size == 0:
            raise SurrogateCellError(f"no section '{section}' in the segment table")
        nseg = rows.size
        k = min(int(x * nseg), nseg - 1)
        return int(rows[k])

    def digest(self) -> str:
        """sha256 of the names, positions and regions (µm rounded to 1e-4): identifies a cell."""
        h = hashlib.sha256()
        for key in ("section", "region"):
            h.update("\0".join(map(str, getattr(self, key))).encode())
        for key in ("x", "dist_um", "mid_um", "diam_um"):
            h.update(np.round(np.asarray(getattr(self, key), dtype=np.float64), 4).tobytes())
        return h.hexdigest()

    def to_dict(self) -> dict:
        """Plain arrays (strings as UTF-8 bytes), for HDF5 or ``np.savez``."""
        out = {}
        for f in fields(self):
            a = getattr(self, f.name)
            out[f.name] = a.astype("S") if a.dtype.kind == "U" else a
        return out

    @classmethod
    def from_dict(cls, d) -> "SegmentTable":
        kw = {}
        for f in fields(cls):
            a = np.asarray(d[f.name])
            kw[f.name] = a.astype("U") if a.dtype.kind == "S" else a
        return cls(**kw)


def _interp_points(sec, xs):
    n = int(sec.n3d())
    arc = np.array([sec.arc3d(i) for i in range(n)])
    pts = np.array([[sec.x3d(i), sec.y3d(i), sec.z3d(i)] for i in range(n)])
    L = arc[-1] if arc[-1] > 0 else 1.0
    return np.stack([np.interp(np.asarray(xs) * L, arc, pts[:, k]) for k in range(3)], axis=1)


def apical_regions(cell) -> dict:
    """Map apical section name → ``'trunk'``, ``'oblique'`` or ``'tuft'``."""
    h = cell.h
    apic = cell.apic
    children = {section_name(s): [c for c in h.SectionRef(sec=s).child] for s in apic}
    subtree = {}

    def total(sec):
        name = section_name(sec)
        if name not in subtree:
            subtree[name] = sec.L + sum(total(c) for c in children[name])
        return subtree[name]

    for s in apic:
        total(s)
    regions = {}
    trunk, sec, nexus_found = [], apic[0], False
    while True:
        trunk.append(sec)
        kids = sorted(children[section_name(sec)], key=total, reverse=True)
        if not kids:
            break
        if len(kids) >= 2 and total(kids[1]) >= NEXUS_SUBTREE_RATIO * total(kids[0]):
            nexus_found = True
            break
        sec = kids[0]

    def mark(sec, region):
        regions[section_name(sec)] = region
        for c in children[section_name(sec)]:
            mark(c, region)

    trunk_names = {section_name(s) for s in trunk}
    for s in trunk:
        regions[section_name(s)] = "trunk"
        for c in children[section_name(s)]:
            if section_name(c) in trunk_names:
                continue
            mark(c, "tuft" if (nexus_found and s is trunk[-1]) else "oblique")
    return regions


def segment_table(cell) -> SegmentTable:
    """Build the :class:`SegmentTable` of a :class:`~surrogate_cell.cells.HayCell`."""
    h = cell.h
    apical = apical_regions(cell)
    origin = cell.soma[0](0.5)
    cols = {k: [] for k in ("section", "x", "region", "dist_um", "start_um", "mid_um", "end_um",
                            "diam_um", "length_um", "area_um2")}
    lists = (("soma", cell.somatic), ("basal", cell.basal), ("apical", cell.apical), ("axon", cell.axonal))
    for kind, seclist in lists:
        for sec in seclist:
            name = section_name(sec)
            n = sec.nseg
            edges = np.linspace(0.0, 1.0, n + 1)
            centres = (edges[:-1] + edges[1:]) / 2
            ends = _interp_points(sec, edges)
            mids = _interp_points(sec, centres)
            for i, seg in enumerate(sec):
                cols["section"].append(name)
                cols["x"].append(seg.x)
                cols["region"].append(apical[name] if kind == "apical" else kind)
                cols["dist_um"].append(h.distance(origin, seg))
                cols["start_um"].append(ends[i])
                cols["mid_um"].append(mids[i])
                cols["end_um"].append(ends[i + 1])
                cols["diam_um"].append(seg.diam)
                cols["length_um"].append(sec.L / n)
                cols["area_um2"].append(seg.area())
    return SegmentTable(
        section=np.array(cols["section"]), x=np.array(cols["x"]), region=np.array(cols["region"]),
        dist_um=np.array(cols["dist_um"]), start_um=np.array(cols["start_um"]),
        mid_um=np.array(cols["mid_um"]), end_um=np.array(cols["end_um"]),
        diam_um=np.array(cols["diam_um"]), length_um=np.array(cols["length_um"]),
        area_um2=np.array(cols["area_um2"]),
    )
