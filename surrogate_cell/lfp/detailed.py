"""Ground-truth LFP of detailed NEURON cells from ``i_membrane_`` (fast_imem).

NEURON's ``seg._ref_i_membrane_`` (with ``CVode().use_fast_imem(1)``) is the
total transmembrane current of a segment in nA. During a run a recorder
gathers it for every segment of every cell every ``step_ms`` (one
``PtrVector.gather`` into a Vector, then one matrix-vector product with the
stacked electrode matrices), so nothing per segment is stored.

Sampling: sample k (k = 0, 1, ...) is taken at t = (k + 1) · step_ms, the
current at the end of that integration step -- the same instants at which a
surrogate reports its voltages (end of each 1 ms bin) and NetPyNE samples its
LFP (row k at (k + 1) · recordStep).
"""
from __future__ import annotations

import numpy as np

from .._native import import_neuron_quietly
from ..callbacks import without_gc
from ..cells.segments import section_name
from .electrodes import ElectrodeConfig
from .errors import ElectrodeError, LFPError
from .network import NetworkLFP, Placement, allreduce_sum


def section_geometry(sections) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment start, end (segments × 3, µm) and diameter (segments,) from NEURON's 3-D points.

    Segments are in the order of ``sections``; end points are interpolated
    along each section's 3-D points by arc length, as LFPy and NetPyNE do.

    Raises
    ------
    LFPError
        A section without 3-D points (call ``h.define_shape()`` first).
    """
    starts, ends, diams = [], [], []
    for sec in sections:
        n3d = int(sec.n3d())
        if n3d < 2:
            raise LFPError(f"section {sec.name()} has no 3-D points; call h.define_shape() (NetPyNE: "
                           "sim.net.defineCellShapes()) before computing its LFP")
        arc = np.array([sec.arc3d(i) for i in range(n3d)]) / sec.L
        pts = np.array([[sec.x3d(i), sec.y3d(i), sec.z3d(i)] for i in range(n3d)])
        edges = np.linspace(0.0, 1.0, sec.nseg + 1)
        xyz = np.stack([np.interp(edges, arc, pts[:, k]) for k in range(3)], axis=1)
        starts.append(xyz[:-1])
        ends.append(xyz[1:])
        diams.extend(seg.diam for seg in sec)
    return np.concatenate(starts), np.concatenate(ends), np.asarray(diams, dtype=np.float64)


def _sections_of(cell):
    """The sections of a HayCell (``cell.all``), a NetPyNE CompartCell (``cell.secs``) or a list."""
    if hasattr(cell, "secs") and isinstance(getattr(cell, "secs"), dict):
        return [s["hObj"] for s in cell.secs.values()]
    if hasattr(cell, "all"):
        return list(cell.all)
    try:
        return list(cell)
    except TypeError:
        raise LFPError(f"cannot find the sections of {type(cell).__name__}: give a HayCell, a NetPyNE "
                       "CompartCell or a list of sections") from None


class DetailedLFPRecorder:
    """Record the LFP of detailed cells during a NEURON run.

    Parameters
    ----------
    cells : sequence
        HayCells, NetPyNE CompartCells, or lists of sections (this rank's).
    electrodes : ElectrodeConfig
        Contacts, in the network's coordinates.
    placements : sequence of Placement or None
        Where each cell sits for the LFP (µm, rad). ``None``: where its
        sections are in NEURON (their 3-D points). A placement needs the
        cell's ``segments`` table (HayCell) for the soma centre.
    step_ms : float
        Sampling interval, ms.

    Attributes
    ----------
    matrices : list of ndarray
        Per cell M (contacts × segments), mV per nA.
    n_segments : list of int

    Notes
    -----
    Build it after the cells exist and before ``h.finitialize``; it turns on
    ``CVode().use_fast_imem(1)`` (which must stay on) and registers an ``FInitializeHandler`` that
    schedules the samples, so ``h.run``, ``h.continuerun`` and ``pc.psolve``
    all record. Each ``finitialize`` starts a new recording.
    """

    def __init__(self, cells, electrodes: ElectrodeConfig, placements=None, *, step_ms: float = 1.0):
        if not isinstance(electrodes, ElectrodeConfig):
            raise ElectrodeError(f"electrodes must be an ElectrodeConfig; got {type(electrodes).__name__}")
        if not float(step_ms) > 0:
            raise LFPError(f"step_ms must be positive; got {step_ms}")
        h = import_neuron_quietly()
        self.h = h
        self.electrodes = electrodes
        self.step_ms = float(step_ms)
        cells = list(cells)
        if placements is not None and len(placements) != len(cells):
            raise LFPError(f"{len(placements)} placements for {len(cells)} cells")
        h.CVode().use_fast_imem(1)  # before taking the _ref_i_membrane_ pointers
        self.matrices, self.n_segments, refs = [], [], []
        for i, cell in enumerate(cells):
            secs = _sections_of(cell)
            if electrodes.kind == "soma_as_point" and "soma" not in section_name(secs[0]):
                raise ElectrodeError(f"kind 'soma_as_point' needs the soma as the first section; cell {i} "
                                     f"starts with {section_name(secs[0])}")
            start, end, diam = section_geometry(secs)
            if placements is not None and placements[i] is not None:
                M = self._placed_matrix(cell, secs, placements[i], i)
            else:
                self._check_soma(secs, start, end, diam, i)
                M = electrodes.matrix(start, end, diam)
            self.matrices.append(M)
            self.n_segments.append(M.shape[1])
            refs.extend(seg for sec in secs for seg in sec)
        self._segs = refs
        self._ptr = h.PtrVector(len(refs))
        self._imem = h.Vector(len(refs))
        self._M = np.concatenate(self.matrices, axis=1) if self.matrices else np.zeros((electrodes.n_contacts, 0))
        self._samples: list[np.ndarray] = []
        self._times: list[float] = []
        self._k, self._t0 = 0, 0.0
        self._fih = h.FInitializeHandler(1, self._start)

    def _placed_matrix(self, cell, secs, placement: Placement, index: int) -> np.ndarray:
        segments = getattr(cell, "segments", None)
        if segments is None:
            raise LFPError(f"cell {index}: a placement needs the cell's segment table (a HayCell); "
                           "place NetPyNE cells through their tags instead")
        keys = [(section_name(sec), round(float(seg.x), 9)) for sec in secs for seg in sec]
        if keys != [(str(s), round(float(x), 9)) for s, x in zip(segments.section, segments.x)]:
            raise LFPError(f"cell {index}: its sections are not in segment-table order")
        lfp = NetworkLFP(self.electrodes, segments, np.eye(len(segments)))
        lfp.add_placement(placement)      # checks the soma; K = M @ I = M
        return np.array(lfp.kernels[0])

    def _check_soma(self, secs, start, end, diam, index):
        soma = [i for i, (sec, seg) in enumerate((sec, seg) for sec in secs for seg in sec)
                if "soma" in section_name(sec)]
        if not soma:
            return
        centre = ((start[soma] + end[soma]) / 2).mean(axis=0)
        radius = diam[soma].max() / 2
        dist = np.linalg.norm(self.electrodes.positions_um - centre, axis=1)
        inside = np.flatnonzero(dist < radius)
        if inside.size:
            k = int(inside[0])
            raise ElectrodeError(f"electrode contact {k} at {tuple(np.round(self.electrodes.positions_um[k], 3))} "
                                 f"µm lies inside the soma of cell {index} (centre {tuple(np.round(centre, 3))} "
                                 f"µm, radius {radius:.2f} µm); move the contact or the cell")

    # -- recording -------------------------------------------------------------------
    @without_gc
    def _start(self):
        if self._ptr is None:
            return
        # Pointers are taken at every finitialize: switching fast_imem off and on
        # (NetPyNE's preRun does) frees the i_membrane_ storage they point into.
        if not self.h.CVode().use_fast_imem():
            raise LFPError("CVode().use_fast_imem() was switched off after the LFP recorder was created; "
                           "keep it on (NetPyNE: sim.cfg.use_fast_imem = True)")
        for j, seg in enumerate(self._segs):
            self._ptr.pset(j, seg._ref_i_membrane_)
        self._samples, self._times, self._k, self._t0 = [], [], 0, float(self.h.t)
        self.h.CVode().event(self._t0 + self.step_ms, self._sample)

    @without_gc
    def _sample(self):
        self._ptr.gather(self._imem)
        self._samples.append(self._M @ self._imem.as_numpy())
        self._times.append(self.h.t)
        self._k += 1
        self.h.CVode().event(self._t0 + (self._k + 1) * self.step_ms, self._sample)

    def close(self) -> None:
        """Stop recording: drop the FInitializeHandler and the pointers (the cells can then be freed)."""
        self._fih = None
        self._ptr = None
        self._segs = []

    @property
    def times_ms(self) -> np.ndarray:
        """Sample times, ms: (k + 1) · step_ms."""
        return (np.arange(len(self._samples)) + 1) * self.step_ms

    def lfp_mV(self, *, reduce: bool = False, pc=None) -> np.ndarray:
        """The recorded LFP (contacts, samples), mV; summed over MPI ranks if ``reduce``."""
        out = (np.stack(self._samples, axis=1) if self._samples
               else np.zeros((self.electrodes.n_contacts, 0)))
        return allreduce_sum(out, pc) if reduce else out


def record_detailed_lfp(cells, electrodes: ElectrodeConfig, placements=None, *,
                        step_ms: float = 1.0) -> DetailedLFPRecorder:
    """Set up the ground-truth LFP recording of detailed cells; run NEURON afterwards.

    Returns a :class:`DetailedLFPRecorder`; after ``h.finitialize`` and a run,
    ``recorder.lfp_mV()`` is (contacts, samples) in mV at ``recorder.times_ms``.

    Examples
    --------
    >>> cells = [HayCell()]
    >>> rec = record_detailed_lfp(cells, laminar_probe(50.0, 0.0, np.arange(-200, 1201, 100.0)))
    >>> h.finitialize(-80); h.continuerun(500)
    >>> lfp = rec.lfp_mV()
    """
    return DetailedLFPRecorder(cells, electrodes, placements, step_ms=step_ms)
