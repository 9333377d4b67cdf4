"""Membrane currents from membrane voltages: the matrix T with I_mem = T @ V_mem.

For a cell with passive axial coupling between segments (NEURON's cable
equation), the transmembrane current of every segment is the net axial current
flowing into it,

    I_n = sum_m g_nm (V_m - V_n),

so I_mem (nA) = T (µS) @ V_mem (mV), with T depending only on the geometry,
the axial resistivity Ra and the segmentation (nseg) -- not on cm or on any
channel. One T serves every cell of a morphology; it is cached in memory keyed
by :meth:`SegmentTable.digest`.

Two independent routes build T, and they agree to machine precision on the
project's cells (``tests/test_lfp_exactness.py``):

* ``method="lfpy"``: ``LFPy.Cell(morphology=<the cell's SectionList>)`` and its
  ``get_transformation_matrix_vmem_to_imem()``, the route of the paper (SI §1.3).
* ``method="neuron"``: the axial conductances ``1 / seg.ri()`` of NEURON's own
  tree, with the zero-area section-end nodes eliminated exactly (a Schur
  complement). No LFPy involved; no side effect on the simulation.

``T @ V`` equals NEURON's ``i_membrane_`` (fast_imem, nA) at every fixed time
step, except at segments carrying an electrode current (``IClamp``, ``SEClamp``):
``i_membrane_`` there also contains the electrode's current, which has no
axial counterpart. Synaptic currents (``NONSPECIFIC_CURRENT``) are membrane
currents and are captured exactly -- as long as the point process sits inside
a segment: one placed at x = 0 or 1 of a section is on a zero-area end node,
whose current no segment's ``i_membrane_`` reports and which T, built on
zero-current end nodes, spreads over the neighbouring segments.
"""
from __future__ import annotations

import numpy as np

from .._native import import_neuron_quietly
from ..cells import HayCell
from ..cells.segments import SegmentTable, section_name
from .errors import TransformError

METHODS = ("lfpy", "neuron")

_CACHE: dict[str, np.ndarray] = {}


def _segment_keys(sections) -> list[tuple[str, float]]:
    """(section name, segment centre x) of every segment, in the list's order."""
    return [(section_name(sec), round(float(seg.x), 9)) for sec in sections for seg in sec]


def _table_permutation(cell_keys, segments: SegmentTable) -> np.ndarray:
    """Indices into ``cell_keys`` that put them in the segment table's row order."""
    table_keys = [(str(s), round(float(x), 9)) for s, x in zip(segments.section, segments.x)]
    where = {k: i for i, k in enumerate(cell_keys)}
    if len(where) != len(cell_keys) or len(table_keys) != len(cell_keys) or any(k not in where for k in table_keys):
        missing = [k for k in table_keys if k not in where][:3]
        raise TransformError(
            f"the cell's segments ({len(cell_keys)}) do not match its segment table ({len(table_keys)} rows"
            + (f"; e.g. no segment {missing[0][0]}({missing[0][1]})" if missing else "")
            + "); build T from the cell the table was made from")
    return np.array([where[k] for k in table_keys], dtype=np.int64)


def _sections_and_table(cell):
    try:
        return cell.all, cell.segments
    except AttributeError:
        raise TransformError(f"{type(cell).__name__} is not a cell: expected an object with an 'all' "
                             "SectionList and a 'segments' SegmentTable (e.g. surrogate_cell.cells.HayCell)") from None


def vmem_to_imem_lfpy(cell) -> np.ndarray:
    """T from LFPy, rows and columns in the cell's segment-table order.

    Parameters
    ----------
    cell : HayCell
        An instantiated cell (``cell.all`` SectionList, ``cell.segments``).

    Returns
    -------
    ndarray, shape (segments, segments)
        T in µS (nA per mV): ``I_mem [nA] = T @ V_mem [mV]``.

    Notes
    -----
    ``LFPy.Cell`` is built on the cell's own sections (``nsegs_method=None``,
    ``Ra=None``, ``cm=None``: nothing of the cell is changed), but its
    constructor calls ``h.define_shape()`` and ``h.finitialize()``: build T
    before a simulation starts, never during one.
    """
    import LFPy  # LFPy: only on this route to T

    sections, table = _sections_and_table(cell)
    keys = _segment_keys(sections)
    lcell = LFPy.Cell(morphology=sections, nsegs_method=None, delete_sections=False, Ra=None, cm=None,
                      passive=False, v_init=-70.0)
    try:
        if lcell.totnsegs != len(keys):
            raise TransformError(f"LFPy counted {lcell.totnsegs} segments, NEURON {len(keys)}")
        T = np.asarray(lcell.get_transformation_matrix_vmem_to_imem(), dtype=np.float64)
    finally:
        lcell.strip_hoc_objects()
    perm = _table_permutation(keys, table)
    return np.ascontiguousarray(T[np.ix_(perm, perm)])


def vmem_to_imem_neuron(cell) -> np.ndarray:
    """T from NEURON's axial resistances, rows and columns in segment-table order.

    Every segment centre is a node; section ends are zero-area nodes (no
    membrane current). Neighbouring nodes are joined by the conductance
    ``1 / seg.ri()`` (µS; ``ri`` in MΩ), and the end nodes are eliminated
    exactly: with the graph Laplacian ``L`` split into segment (s) and end (e)
    nodes, ``T = -(L_ss - L_se L_ee^-1 L_es)``.

    Parameters
    ----------
    cell : HayCell
        An instantiated cell (``cell.all`` SectionList, ``cell.segments``).

    Returns
    -------
    ndarray, shape (segments, segments)
        T in µS (nA per mV).

    Raises
    ------
    TransformError
        A section attached by its 1-end (orientation 1), which this
        construction does not handle.
    """
    h = import_neuron_quietly()
    sections, table = _sections_and_table(cell)
    secs = list(sections)
    index = {}
    n_seg = 0
    for sec in secs:
        index[sec] = list(range(n_seg, n_seg + sec.nseg))
        n_seg += sec.nseg
        if h.section_orientation(sec=sec) != 0.0:
            raise TransformError(f"section {section_name(sec)} is attached by its 1-end; "
                                 "use method='lfpy' or reorient the morphology")
    node = n_seg
    end1, end0 = {}, {}
    for sec in secs:
        end1[sec] = node
        node += 1
    for sec in secs:
        if sec.parentseg() is None:
            end0[sec] = node
            node += 1

    def attach(sec):
        """Node a section's 0-end is joined to."""
        ps = sec.parentseg()
        if ps is None:
            return end0[sec]
        psec, px = ps.sec, float(ps.x)
        if psec not in index:
            raise TransformError(f"section {section_name(sec)} hangs from {section_name(psec)}, "
                                 "which is not part of the cell")
        if px >= 1.0:
            return end1[psec]
        if px <= 0.0:
            return attach(psec)
        return index[psec][min(int(px * psec.nseg), psec.nseg - 1)]

    L = np.zeros((node, node))

    def join(a, b, ri_megohm):
        g = 1.0 / ri_megohm
        L[a, a] += g
        L[b, b] += g
        L[a, b] -= g
        L[b, a] -= g

    for sec in secs:
        prev = attach(sec)
        for i, seg in enumerate(sec):
            join(index[sec][i], prev, seg.ri())
            prev = index[sec][i]
        join(end1[sec], prev, sec(1.0).ri())
    s, e = slice(0, n_seg), slice(n_seg, node)
    T = -(L[s, s] - L[s, e] @ np.linalg.solve(L[e, e], L[e, s]))
    perm = _table_permutation(_segment_keys(secs), table)
    return np.ascontiguousarray(T[np.ix_(perm, perm)])


def vmem_to_imem(cell, method: str = "lfpy", *, cache: bool = True) -> np.ndarray:
    """T of a cell's morphology, cached per morphology.

    Parameters
    ----------
    cell : HayCell
        An instantiated cell.
    method : {'lfpy', 'neuron'}
        Which route builds T (see the module docstring); both agree.
    cache : bool
        Reuse (and store) T under ``cell.segments.digest()``.

    Returns
    -------
    ndarray, shape (segments, segments)
        T in µS (nA per mV), rows in segment-table order. Read-only when cached.

    Examples
    --------
    >>> from surrogate_cell.cells import HayCell
    >>> cell = HayCell()
    >>> T = vmem_to_imem(cell)            # I_mem [nA] = T @ V [mV]
    """
    if method not in METHODS:
        raise TransformError(f"unknown method '{method}' for T; use one of {', '.join(METHODS)}")
    key = cell.segments.digest() if cache else None
    if key is not None and key in _CACHE:
        return _CACHE[key]
    T = vmem_to_imem_lfpy(cell) if method == "lfpy" else vmem_to_imem_neuron(cell)
    if key is not None:
        T.setflags(write=False)
        _CACHE[key] = T
    return T


def vmem_to_imem_for(segments: SegmentTable, morphology=None, method: str = "lfpy") -> np.ndarray:
    """T for a segment table (e.g. ``SurrogateModel.segments``), cached by its digest.

    On a cache miss a :class:`~surrogate_cell.cells.HayCell` is built on
    ``morphology`` (None: the synthetic L5PC) and must reproduce the table
    exactly; it is discarded afterwards. A model file's own geometry
    (``SurrogateModel.geometry``) needs no morphology file.

    Parameters
    ----------
    segments : SegmentTable
        The table whose row order T must follow.
    morphology : str, Path, CellGeometry or None
        The morphology the table was made from.
    method : {'lfpy', 'neuron'}

    Raises
    ------
    TransformError
        The cell built on ``morphology`` has another segment table.
    """
    key = segments.digest()
    if key in _CACHE:
        return _CACHE[key]

    cell = HayCell(morphology)
    if cell.segments.digest() != key:
        raise TransformError(
            f"the segment table ({len(segments)} rows) was not made from morphology "
            f"{getattr(morphology, 'source', morphology) if morphology is not None else 'synthetic'} (that cell has {len(cell.segments)} "
            "segments and another digest); pass the morphology the model was trained on")
    T = vmem_to_imem(cell, method)
    del cell
    return T


def clear_cache() -> None:
    """Forget every cached T."""
    _CACHE.clear()
