"""Electrodes: contact positions and the LFPykit forward models that map currents to potentials.

An :class:`ElectrodeConfig` is a set of contacts and a source model. Given a
cell's placed segments it returns M (contacts × segments), the potential in mV
at each contact per nA of membrane current in each segment, in an infinite
homogeneous medium of conductivity ``sigma_S_m`` (SI §1.3):

    V_e(r) = 1 / (4 π σ) Σ_n I_n / |r − r_n|          ('point')

with the line-source and soma-as-point refinements of LFPykit. The current
dipole moment (for EEG/MEG) is :func:`dipole_matrix`.

Coordinates are those of the cell's morphology (µm): for the project's cells
the apical dendrite points along +y, so a laminar probe runs along y.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ElectrodeError

#: electrode kind → LFPykit ``RecExtElectrode`` method
KINDS = {"point": "pointsource", "line": "linesource", "soma_as_point": "root_as_point"}


def _as_positions(positions, what: str = "positions_um") -> np.ndarray:
    try:
        arr = np.array(positions, dtype=np.float64)
    except (TypeError, ValueError):
        raise ElectrodeError(f"{what} must be numbers of shape (n, 3) in µm; got {type(positions).__name__}") from None
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] == 0:
        raise ElectrodeError(f"{what} must have shape (n, 3) (one x, y, z row per contact, µm); got shape "
                             f"{arr.shape}" + ("; transpose it" if arr.ndim == 2 and arr.shape[0] == 3 else ""))
    if not np.all(np.isfinite(arr)):
        raise ElectrodeError(f"{what} contain NaN or infinite values")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class ElectrodeConfig:
    """Extracellular contacts and their source model.

    Parameters
    ----------
    positions_um : array_like, shape (n, 3)
        Contact centres (x, y, z) in µm, in the network's coordinates.
    kind : {'line', 'point', 'soma_as_point'}
        ``'point'``: every segment a point source at its centre;
        ``'line'``: every segment a line source along its axis;
        ``'soma_as_point'``: the soma (segment 0) a point source, the rest
        line sources (LFPykit's ``root_as_point``).
    sigma_S_m : float
        Extracellular conductivity, S/m (0.3 in the paper).

    Raises
    ------
    ElectrodeError
        Positions not of shape (n, 3) or not finite, an unknown kind, or a
        non-positive conductivity.

    Examples
    --------
    >>> ElectrodeConfig([[50.0, 0.0, 0.0], [50.0, 500.0, 0.0]], kind="line")
    """

    positions_um: np.ndarray
    kind: str = "line"
    sigma_S_m: float = 0.3

    def __post_init__(self):
        object.__setattr__(self, "positions_um", _as_positions(self.positions_um))
        if self.kind not in KINDS:
            raise ElectrodeError(f"unknown electrode kind '{self.kind}'; use one of {', '.join(KINDS)}")
        sigma = float(self.sigma_S_m)
        if not np.isfinite(sigma) or sigma <= 0:
            raise ElectrodeError(f"sigma_S_m must be a positive conductivity in S/m; got {self.sigma_S_m}")
        object.__setattr__(self, "sigma_S_m", sigma)

    @property
    def n_contacts(self) -> int:
        return int(self.positions_um.shape[0])

    def matrix(self, start_um, end_um, diam_um) -> np.ndarray:
        """M (contacts × segments): potential in mV per nA of each segment's membrane current.

        Parameters
        ----------
        start_um, end_um : ndarray, shape (segments, 3)
            Placed segment end points, µm (segment 0 must be the soma for
            ``'soma_as_point'``).
        diam_um : ndarray, shape (segments,)
            Segment diameters, µm; a contact closer to a segment than its
            radius is moved out to the radius (LFPykit's ``r_limit``).
        """
        import lfpykit  # LFPykit: only where its models are built

        geometry = cell_geometry(start_um, end_um, diam_um)
        p = self.positions_um
        model = lfpykit.RecExtElectrode(geometry, sigma=self.sigma_S_m, x=p[:, 0].copy(), y=p[:, 1].copy(),
                                        z=p[:, 2].copy(), method=KINDS[self.kind])
        return np.asarray(model.get_transformation_matrix(), dtype=np.float64)


def cell_geometry(start_um, end_um, diam_um):
    """``lfpykit.CellGeometry`` of segments given by end points (µm) and diameters (µm)."""
    import lfpykit  # LFPykit: only where its models are built

    start, end = np.asarray(start_um, dtype=np.float64), np.asarray(end_um, dtype=np.float64)
    d = np.asarray(diam_um, dtype=np.float64)
    if start.shape != end.shape or start.ndim != 2 or start.shape[1] != 3 or d.shape != (start.shape[0],):
        raise ElectrodeError(f"segment geometry must be start (n, 3), end (n, 3), diam (n,); got "
                             f"{start.shape}, {end.shape}, {d.shape}")
    return lfpykit.CellGeometry(x=np.c_[start[:, 0], end[:, 0]], y=np.c_[start[:, 1], end[:, 1]],
                                z=np.c_[start[:, 2], end[:, 2]], d=d)


def dipole_matrix(start_um, end_um, diam_um) -> np.ndarray:
    """Current dipole moment per membrane current: (3 × segments), nA·µm per nA.

    ``p = dipole_matrix(...) @ I_mem`` is the cell's current dipole moment
    (x, y, z) in nA·µm (LFPykit's ``CurrentDipoleMoment``).
    """
    import lfpykit  # LFPykit: only where its models are built

    return np.asarray(lfpykit.CurrentDipoleMoment(cell_geometry(start_um, end_um, diam_um))
                      .get_transformation_matrix(), dtype=np.float64)


def dipole_potential(p_nA_um, r_um, sigma_S_m: float = 0.3) -> np.ndarray:
    """Far-field potential of a current dipole in an infinite medium, mV.

    ``V = p · r / (4 π σ |r|³)``.

    Parameters
    ----------
    p_nA_um : array_like, shape (3,) or (3, T)
        Current dipole moment, nA·µm.
    r_um : array_like, shape (n, 3)
        Contact positions relative to the dipole, µm.
    sigma_S_m : float
        Conductivity, S/m.

    Returns
    -------
    ndarray, shape (n,) or (n, T)
    """
    r = _as_positions(r_um, "r_um")
    p = np.asarray(p_nA_um, dtype=np.float64)
    dist = np.linalg.norm(r, axis=1)
    if np.any(dist == 0):
        raise ElectrodeError("a contact sits on the dipole itself; the dipole potential is singular there")
    # nA·µm / (S/m · µm²) = 1e-9 A / (1e-6 S) = 1e-3 V = mV
    return (r / dist[:, None] ** 3) @ p / (4 * np.pi * sigma_S_m)


def laminar_probe(x_um: float, z_um: float, y_um, *, kind: str = "line", sigma_S_m: float = 0.3) -> ElectrodeConfig:
    """A straight laminar probe along the apical (y) axis.

    Parameters
    ----------
    x_um, z_um : float
        The probe's position across the layers, µm.
    y_um : array_like, shape (n,)
        Contact positions along the probe (the cell's apical axis), µm.
    kind, sigma_S_m
        As in :class:`ElectrodeConfig`.

    Examples
    --------
    >>> probe = laminar_probe(50.0, 0.0, np.arange(-200.0, 1201.0, 100.0))   # 15 contacts
    """
    y = np.asarray(y_um, dtype=np.float64).ravel()
    if y.size == 0:
        raise ElectrodeError("a laminar probe needs at least one contact position")
    return ElectrodeConfig(np.c_[np.full(y.size, float(x_um)), y, np.full(y.size, float(z_um))], kind, sigma_S_m)


def mea_grid(rows: int, cols: int, pitch_um: float, *, centre_um=(0.0, 0.0, 0.0), normal: str = "z",
             kind: str = "line", sigma_S_m: float = 0.3) -> ElectrodeConfig:
    """A planar multi-electrode array: ``rows × cols`` contacts ``pitch_um`` apart.

    Parameters
    ----------
    rows, cols : int
        Contacts along the plane's first and second axis.
    pitch_um : float
        Centre-to-centre distance, µm.
    centre_um : array_like, shape (3,)
        Centre of the grid, µm.
    normal : {'x', 'y', 'z'}
        Axis perpendicular to the grid plane. The plane's axes are the other
        two in x, y, z order (``normal='z'``: rows along x, columns along y).
    kind, sigma_S_m
        As in :class:`ElectrodeConfig`.

    Returns
    -------
    ElectrodeConfig
        Contacts in row-major order (row index first).
    """
    axes = {"x": (1, 2), "y": (0, 2), "z": (0, 1)}
    if normal not in axes:
        raise ElectrodeError(f"normal must be 'x', 'y' or 'z'; got {normal!r}")
    if int(rows) < 1 or int(cols) < 1 or not float(pitch_um) > 0:
        raise ElectrodeError(f"an MEA grid needs rows, cols >= 1 and pitch_um > 0; got {rows}, {cols}, {pitch_um}")
    a, b = axes[normal]
    ra = (np.arange(int(rows)) - (int(rows) - 1) / 2) * float(pitch_um)
    cb = (np.arange(int(cols)) - (int(cols) - 1) / 2) * float(pitch_um)
    pos = np.zeros((int(rows) * int(cols), 3))
    pos[:, a] = np.repeat(ra, int(cols))
    pos[:, b] = np.tile(cb, int(rows))
    return ElectrodeConfig(pos + np.asarray(centre_um, dtype=np.float64), kind, sigma_S_m)
