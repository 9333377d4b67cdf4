"""Network LFP of a population of cells of one morphology: Σ_c K_c V_c.

Per cell c placed in the network, K_c = M_c T (contacts × segments, mV per mV),
M_c the electrode matrix of the placed cell (:mod:`.electrodes`) and T the
morphology's membrane-current transform (:mod:`.transform`). For a batch of
voltages V (cells × segments, mV) one step of the network LFP is

    LFP (contacts,) [mV] = Σ_c K_c @ V_c = einsum('cks,cs->k', K, V).

Placement follows LFPy: :class:`Placement` rotates a cell about its soma centre
(``Cell.set_rotation(x, y, z)``, radians, right-handed, applied in
``rotation_order``) and moves the soma centre to ``position_um``
(``Cell.set_pos``). ``anchor='origin'`` instead adds ``position_um`` to the
morphology's own coordinates after rotating about the morphology origin, which
is how NetPyNE places cells that carry 3-D points (see :mod:`.netpyne`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._native import import_neuron_quietly
from ..cells.segments import SegmentTable
from .electrodes import ElectrodeConfig, dipole_matrix
from .errors import ElectrodeError, LFPError

ANCHORS = ("soma", "origin")


def _rotation(axis: str, angle: float) -> np.ndarray:
    """Right-handed active rotation by ``angle`` (rad) about ``axis``, for column vectors."""
    c, s = np.cos(angle), np.sin(angle)
    if axis == "x":
        return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    if axis == "y":
        return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def soma_centre(segments: SegmentTable) -> np.ndarray:
    """Soma centre (µm) as LFPy defines it: the mean of the soma segments' end-point means."""
    rows = segments.region == "soma"
    if not np.any(rows):
        raise LFPError("the segment table has no soma rows; cannot place the cell")
    return ((segments.start_um[rows] + segments.end_um[rows]) / 2).mean(axis=0)


def soma_radius(segments: SegmentTable) -> float:
    """Largest soma segment radius, µm."""
    return float(segments.diam_um[segments.region == "soma"].max() / 2)


@dataclass(frozen=True)
class Placement:
    """Where a cell sits in the network.

    Parameters
    ----------
    position_um : array_like, shape (3,)
        ``anchor='soma'``: the soma centre's position (LFPy ``set_pos``);
        ``anchor='origin'``: the offset added to the morphology's coordinates
        (NetPyNE's ``pt3d + (x, y, z)``), µm.
    rotation_rad : array_like, shape (3,)
        Angles about the x, y and z axes, radians (LFPy ``set_rotation``).
    rotation_order : str
        Order in which the three rotations are applied, e.g. ``'xyz'``.
    anchor : {'soma', 'origin'}
        Rotation centre and meaning of ``position_um`` (see above).
    """

    position_um: tuple = (0.0, 0.0, 0.0)
    rotation_rad: tuple = (0.0, 0.0, 0.0)
    rotation_order: str = "xyz"
    anchor: str = "soma"

    def __post_init__(self):
        for name in ("position_um", "rotation_rad"):
            v = np.asarray(getattr(self, name), dtype=np.float64)
            if v.shape != (3,) or not np.all(np.isfinite(v)):
                raise LFPError(f"{name} must be three finite numbers (x, y, z); got {getattr(self, name)!r}")
            object.__setattr__(self, name, tuple(float(a) for a in v))
        if sorted(self.rotation_order) != ["x", "y", "z"]:
            raise LFPError(f"rotation_order must be a permutation of 'xyz'; got {self.rotation_order!r}")
        if self.anchor not in ANCHORS:
            raise LFPError(f"anchor must be one of {ANCHORS}; got {self.anchor!r}")

    def rotation_matrix(self) -> np.ndarray:
        """The combined rotation R (3 × 3): a point p becomes R @ p (about the anchor)."""
        R = np.eye(3)
        angles = dict(zip("xyz", self.rotation_rad))
        for axis in self.rotation_order:
            R = _rotation(axis, angles[axis]) @ R
        return R

    def apply(self, points_um, segments: SegmentTable) -> np.ndarray:
        """Place points (n, 3) of a cell whose segment table is ``segments``; µm."""
        p = np.asarray(points_um, dtype=np.float64)
        R = self.rotation_matrix()
        if self.anchor == "soma":
            centre = soma_centre(segments)
            return (p - centre) @ R.T + np.asarray(self.position_um)
        return p @ R.T + np.asarray(self.position_um)


class NetworkLFP:
    """LFP kernels of a population of cells sharing one morphology.

    Parameters
    ----------
    electrodes : ElectrodeConfig
        Contacts, source model and conductivity.
    segments : SegmentTable
        The morphology's segments (e.g. ``SurrogateModel.segments``); rows =
        the voltage columns that :meth:`compute` receives.
    T : ndarray, shape (segments, segments)
        Membrane-current transform in µS (:func:`.transform.vmem_to_imem`).
    dipole : bool
        Also build current-dipole kernels (:meth:`compute_dipole`, EEG/MEG).

    Examples
    --------
    >>> lfp = NetworkLFP(laminar_probe(100.0, 0.0, np.arange(-200, 1201, 100.0)), cell.segments, T)
    >>> c0 = lfp.add_cell((0.0, 0.0, 0.0))
    >>> c1 = lfp.add_cell((300.0, 0.0, 0.0), rotation_rad=(0.0, np.pi / 2, 0.0))
    >>> lfp.compute(V)          # V (2, segments) mV  ->  (contacts,) mV
    """

    def __init__(self, electrodes: ElectrodeConfig, segments: SegmentTable, T, *, dipole: bool = False):
        if not isinstance(electrodes, ElectrodeConfig):
            raise ElectrodeError(f"electrodes must be an ElectrodeConfig; got {type(electrodes).__name__}")
        T = np.asarray(T, dtype=np.float64)
        n = len(segments)
        if T.shape != (n, n):
            raise LFPError(f"T has shape {T.shape}; the segment table needs ({n}, {n})")
        if electrodes.kind == "soma_as_point" and segments.region[0] != "soma":
            raise ElectrodeError("kind 'soma_as_point' needs the soma as segment 0; this table starts with "
                                 f"{segments.region[0]!r}")
        self.electrodes = electrodes
        self.segments = segments
        self.T = T
        self.dipole = bool(dipole)
        self.placements: list[Placement] = []
        self._M: list[np.ndarray] = []
        self._K: list[np.ndarray] = []
        self._P: list[np.ndarray] = []
        self._stack = None
        self._pstack = None

    # -- cells ---------------------------------------------------------------------
    def add_cell(self, position_um=(0.0, 0.0, 0.0), rotation_rad=(0.0, 0.0, 0.0), *,
                 rotation_order: str = "xyz", anchor: str = "soma") -> int:
        """Place a cell; returns its index (its row in the ``V`` given to :meth:`compute`).

        Parameters are those of :class:`Placement` (µm, radians).

        Raises
        ------
        ElectrodeError
            A contact lies inside the placed cell's soma (closer to the soma
            centre than the soma radius).
        """
        return self.add_placement(Placement(position_um, rotation_rad, rotation_order, anchor))

    def add_placement(self, placement: Placement) -> int:
        """Add a cell at ``placement``; returns its index. See :meth:`add_cell`."""
        start, end = self.placed_segments(placement)
        self._check_soma(placement, len(self.placements))
        M = self.electrodes.matrix(start, end, self.segments.diam_um)
        self._M.append(M)
        self._K.append(M @ self.T)
        if self.dipole:
            self._P.append(dipole_matrix(start, end, self.segments.diam_um) @ self.T)
        self.placements.append(placement)
        self._stack = self._pstack = None
        return len(self.placements) - 1

    def placed_segments(self, placement: Placement) -> tuple[np.ndarray, np.ndarray]:
        """Segment start and end points (segments × 3, µm) of a cell at ``placement``."""
        return (placement.apply(self.segments.start_um, self.segments),
                placement.apply(self.segments.end_um, self.segments))

    def _check_soma(self, placement: Placement, index: int) -> None:
        centre = placement.apply(soma_centre(self.segments)[None, :], self.segments)[0]
        radius = soma_radius(self.segments)
        dist = np.linalg.norm(self.electrodes.positions_um - centre, axis=1)
        inside = np.flatnonzero(dist < radius)
        if inside.size:
            k = int(inside[0])
            raise ElectrodeError(
                f"electrode contact {k} at {tuple(np.round(self.electrodes.positions_um[k], 3))} µm lies inside "
                f"the soma of cell {index} (centre {tuple(np.round(centre, 3))} µm, radius {radius:.2f} µm, "
                f"distance {dist[k]:.2f} µm); move the contact or the cell")

    # -- kernels -------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        return len(self.placements)

    @property
    def n_contacts(self) -> int:
        return self.electrodes.n_contacts

    @property
    def n_segments(self) -> int:
        return len(self.segments)

    @property
    def kernels(self) -> np.ndarray:
        """K, shape (cells, contacts, segments): mV at each contact per mV of each segment."""
        if self._stack is None:
            self._stack = (np.stack(self._K) if self._K
                           else np.zeros((0, self.n_contacts, self.n_segments)))
            self._stack.setflags(write=False)
        return self._stack

    @property
    def electrode_matrices(self) -> np.ndarray:
        """M, shape (cells, contacts, segments): mV at each contact per nA of membrane current."""
        return np.stack(self._M) if self._M else np.zeros((0, self.n_contacts, self.n_segments))

    @property
    def dipole_kernels(self) -> np.ndarray:
        """Shape (cells, 3, segments): current dipole moment (nA·µm) per mV of each segment."""
        if not self.dipole:
            raise LFPError("this NetworkLFP was built without dipole=True")
        if self._pstack is None:
            self._pstack = np.stack(self._P) if self._P else np.zeros((0, 3, self.n_segments))
            self._pstack.setflags(write=False)
        return self._pstack

    # -- evaluation ----------------------------------------------------------------
    def _check_V(self, V) -> np.ndarray:
        V = np.asarray(V, dtype=np.float64)
        if V.ndim not in (2, 3) or V.shape[0] != self.n_cells or V.shape[-1] != self.n_segments:
            raise LFPError(f"V must have shape (cells={self.n_cells}, segments={self.n_segments}) or "
                           f"(cells, times, segments); got {V.shape}")
        return V

    def compute(self, V) -> np.ndarray:
        """Network LFP, mV.

        Parameters
        ----------
        V : array_like, shape (cells, segments) or (cells, times, segments)
            Membrane voltages in mV, row c for the cell of index c.

        Returns
        -------
        ndarray, shape (contacts,) or (contacts, times)
        """
        V = self._check_V(V)
        if V.ndim == 2:
            return np.einsum("cks,cs->k", self.kernels, V)
        return np.einsum("cks,cts->kt", self.kernels, V)

    def compute_dipole(self, V) -> np.ndarray:
        """Summed current dipole moment of the population, nA·µm: (3,) or (3, times)."""
        V = self._check_V(V)
        if V.ndim == 2:
            return np.einsum("cks,cs->k", self.dipole_kernels, V)
        return np.einsum("cks,cts->kt", self.dipole_kernels, V)

    def currents(self, V) -> np.ndarray:
        """Membrane currents T @ V (nA), same shape as ``V``."""
        V = self._check_V(V)
        return V @ self.T.T


def allreduce_sum(array, pc=None) -> np.ndarray:
    """Element-wise sum of ``array`` over all MPI ranks (NEURON's ParallelContext).

    Call it once at the end of a run, on every rank (it is collective); with
    one rank it returns a copy. ``pc`` is the network's ``h.ParallelContext()``
    (created if None).
    """
    a = np.ascontiguousarray(array, dtype=np.float64)
    h = import_neuron_quietly()
    pc = pc if pc is not None else h.ParallelContext()
    if int(pc.nhost()) == 1:
        return a.copy()
    vec = h.Vector(a.ravel())
    pc.allreduce(vec, 1)
    return np.array(vec.as_numpy()).reshape(a.shape)
