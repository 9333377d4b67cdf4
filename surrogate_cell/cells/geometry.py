"""A cell's geometry as plain data: what a model file carries to rebuild the cell it was trained on.

:class:`CellGeometry` holds, per section in ``all``-list order, its family
(``soma``, ``dend``, ``apic``, ``axon``), its parent and the arc positions of
the connection, ``nseg`` and its 3-D points (x, y, z, diam in µm). It is read
off a built cell after the morphology is processed (axon replaced, ``nseg``
set), so :func:`build_geometry` gives back the same sections, segments and
segment table without the morphology file.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import MorphologyError
from .morphology import ensure_host_template
from .segments import section_name

#: Section families, in the order of the host's section lists (somatic, basal, apical, axonal).
FAMILIES = ("soma", "dend", "apic", "axon")
_LISTS = {"soma": "somatic", "dend": "basal", "apic": "apical", "axon": "axonal"}


def _family(name: str) -> str:
    """``'apic'`` of ``'apic[36]'``."""
    return name.split("[")[0]


@dataclass(frozen=True)
class CellGeometry:
    """Sections, parents, ``nseg`` and 3-D points of one cell.

    Attributes
    ----------
    names : tuple of str
        Section names (``'soma[0]'``, ``'apic[36]'``), in ``all``-list order.
    parent : tuple of int
        Index of each section's parent in ``names``; −1 for the root.
    parent_x : tuple of float
        Arc position on the parent where the section attaches (0–1).
    child_x : tuple of float
        The section's own end that attaches (0 or 1).
    nseg : tuple of int
    points : tuple of ndarray, each (n_i, 4)
        3-D points ``x, y, z, diam`` (µm), as NEURON's ``pt3d`` holds them.
    source : str
        The morphology it was read from (``'cell1.asc'``, ``'synthetic'``), for messages.
    """

    names: tuple
    parent: tuple
    parent_x: tuple
    child_x: tuple
    nseg: tuple
    points: tuple
    source: str = ""

    def __len__(self) -> int:
        return len(self.names)

    @property
    def n_segments(self) -> int:
        return int(sum(self.nseg))

    def to_dict(self) -> dict:
        """JSON-able lists (points rounded to float32 precision, which is how NEURON stores them)."""
        return {"names": list(self.names), "parent": list(self.parent), "parent_x": list(self.parent_x),
                "child_x": list(self.child_x), "nseg": list(self.nseg),
                "points": [np.asarray(p, dtype=np.float32).astype(np.float64).tolist() for p in self.points],
                "source": self.source}

    @classmethod
    def from_dict(cls, d: dict) -> "CellGeometry":
        """The inverse of :meth:`to_dict`; raises :class:`MorphologyError` on an inconsistent entry."""
        try:
            names = tuple(str(n) for n in d["names"])
            parent = tuple(int(p) for p in d["parent"])
            parent_x = tuple(float(x) for x in d["parent_x"])
            child_x = tuple(float(x) for x in d["child_x"])
            nseg = tuple(int(n) for n in d["nseg"])
            points = tuple(np.asarray(p, dtype=np.float64).reshape(-1, 4) for p in d["points"])
        except (KeyError, TypeError, ValueError) as exc:
            raise MorphologyError(f"the cell geometry is incomplete or malformed ({exc!r})") from None
        n = len(names)
        if not all(len(a) == n for a in (parent, parent_x, child_x, nseg, points)):
            raise MorphologyError("the cell geometry's lists differ in length")
        if sum(p < 0 for p in parent) != 1 or any(not -1 <= p < i for i, p in enumerate(parent)):
            raise MorphologyError("the cell geometry needs one root and every parent listed before its child")
        for name in names:
            if _family(name) not in FAMILIES:
                raise MorphologyError(f"section {name!r} of the cell geometry is not one of {FAMILIES}")
        return cls(names, parent, parent_x, child_x, nseg, points, str(d.get("source", "")))


def geometry_of(cell, source: str = "") -> CellGeometry:
    """The :class:`CellGeometry` of a built cell (a :class:`~surrogate_cell.cells.HayCell` or any object with
    ``h`` and the ``somatic``, ``basal``, ``apical``, ``axonal`` section lists)."""
    h = cell.h
    secs = [sec for lst in (cell.somatic, cell.basal, cell.apical, cell.axonal) for sec in lst]
    index = {sec: i for i, sec in enumerate(secs)}
    names, parent, parent_x, child_x, nseg, points = [], [], [], [], [], []
    for sec in secs:
        ref = h.SectionRef(sec=sec)
        if ref.has_parent():
            par = ref.parent
            if par not in index:
                raise MorphologyError(f"section {section_name(sec)} hangs from {section_name(par)}, which is in "
                                      "none of the cell's section lists")
            parent.append(index[par])
            parent_x.append(float(h.parent_connection(sec=sec)))
        else:
            parent.append(-1)
            parent_x.append(0.0)
        child_x.append(float(h.section_orientation(sec=sec)))
        names.append(section_name(sec))
        nseg.append(int(sec.nseg))
        n = int(sec.n3d())
        points.append(np.array([[sec.x3d(i), sec.y3d(i), sec.z3d(i), sec.diam3d(i)] for i in range(n)],
                               dtype=np.float64).reshape(n, 4))
    return CellGeometry(tuple(names), tuple(parent), tuple(parent_x), tuple(child_x), tuple(nseg), tuple(points),
                        source)


def build_geometry(geometry: CellGeometry, h):
    """Sections of ``geometry`` in a new ``SC_CellHost`` (the host :mod:`.morphology` fills from a file).

    Returns
    -------
    hoc object
        The host with ``soma``, ``dend``, ``apic``, ``axon`` and its section lists.
    """
    ensure_host_template(h)
    host = h.SC_CellHost()
    counts = {f: 0 for f in FAMILIES}
    for name in geometry.names:
        counts[_family(name)] += 1
    for family in FAMILIES:
        # the host's arrays are resized in its own context, as Import3d does
        h.execute(f"create {family}[{max(counts[family], 1)}]", host)
        if counts[family] == 0:
            h.execute(f"{family}[0] delete_section()", host)
    secs = [getattr(host, _family(name))[int(name.split("[")[1].rstrip("]"))] for name in geometry.names]
    for name, sec, pts, nseg in zip(geometry.names, secs, geometry.points, geometry.nseg):
        h.pt3dclear(sec=sec)
        for x, y, z, d in pts:
            h.pt3dadd(float(x), float(y), float(z), float(d), sec=sec)
        sec.nseg = int(nseg)
        getattr(host, _LISTS[_family(name)]).append(sec=sec)
    for i, sec in enumerate(secs):
        p = geometry.parent[i]
        if p >= 0:
            sec.connect(secs[p](geometry.parent_x[i]), geometry.child_x[i])
    host.rebuild_all()
    return host
