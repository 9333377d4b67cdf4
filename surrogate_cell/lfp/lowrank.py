"""A reduced-rank population LFP for large networks on CPU.

The full per-step cost of Σ_c K_c V_c is one pass over cells × contacts ×
segments kernel entries, which is memory-bound on CPU (see :mod:`.bench`). The
membrane currents of a cell, I = T V, live mostly in a low-dimensional
subspace. With an orthonormal basis W (segments × r) of that subspace
(:func:`current_basis`, from the currents of a reference simulation),

    LFP ≈ Σ_c (M_c W) (W^T T V_c) = Σ_c R_c a_c,   a_c = P V_c,  P = W^T T,

so a step costs one (cells × segments) @ (segments × r) product, shared by all
cells of the morphology, plus a pass over cells × contacts × r entries. The
approximation error is measured, not assumed: :func:`relative_error`.
"""
from __future__ import annotations

import numpy as np

from .errors import LFPError
from .network import NetworkLFP


def current_basis(V, T, rank: int) -> np.ndarray:
    """Orthonormal basis (segments × rank) of the membrane currents T @ V.

    Parameters
    ----------
    V : array_like, shape (segments, samples)
        Reference voltages, mV (e.g. a detailed simulation at 1 ms).
    T : ndarray, shape (segments, segments)
        Membrane-current transform, µS.
    rank : int
        Number of basis vectors.

    Returns
    -------
    ndarray, shape (segments, rank)
        The leading left singular vectors of the currents (nA).
    """
    V = np.asarray(V, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if V.ndim != 2 or V.shape[0] != T.shape[0]:
        raise LFPError(f"V must be (segments={T.shape[0]}, samples); got {V.shape}")
    if not 1 <= int(rank) <= min(V.shape):
        raise LFPError(f"rank must be between 1 and {min(V.shape)}; got {rank}")
    U, _, _ = np.linalg.svd(T @ V, full_matrices=False)
    return np.ascontiguousarray(U[:, : int(rank)])


class LowRankLFP:
    """Σ_c R_c (P V_c): the population LFP through a current basis W.

    Parameters
    ----------
    lfp : NetworkLFP
        The placed cells (its electrode matrices are reduced).
    W : ndarray, shape (segments, r)
        Orthonormal current basis (:func:`current_basis`).

    Attributes
    ----------
    P : ndarray, shape (r, segments)
        Coefficients per mV of voltage, ``W.T @ T``.
    R : ndarray, shape (cells, contacts, r)
        Reduced kernels, mV per unit coefficient, ``M_c @ W``.
    """

    def __init__(self, lfp: NetworkLFP, W):
        W = np.asarray(W, dtype=np.float64)
        if W.ndim != 2 or W.shape[0] != lfp.n_segments:
            raise LFPError(f"W must be (segments={lfp.n_segments}, r); got {W.shape}")
        self.P = W.T @ lfp.T
        self.R = np.einsum("cks,sr->ckr", lfp.electrode_matrices, W)
        self.n_cells = lfp.n_cells

    def compute(self, V) -> np.ndarray:
        """Approximate network LFP (contacts,) or (contacts, times), mV, from V (cells, [times,] segments)."""
        V = np.asarray(V, dtype=np.float64)
        if V.ndim not in (2, 3) or V.shape[0] != self.n_cells or V.shape[-1] != self.P.shape[1]:
            raise LFPError(f"V must be (cells={self.n_cells}, [times,] segments={self.P.shape[1]}); got {V.shape}")
        a = V @ self.P.T
        return np.einsum("ckr,cr->k", self.R, a) if V.ndim == 2 else np.einsum("ckr,ctr->kt", self.R, a)


def relative_error(approx, exact) -> float:
    """‖approx − exact‖ / ‖exact‖ over all contacts and samples."""
    approx, exact = np.asarray(approx, dtype=np.float64), np.asarray(exact, dtype=np.float64)
    return float(np.linalg.norm(approx - exact) / np.linalg.norm(exact))


def readout_kernels(kernels, A, b) -> tuple[np.ndarray, np.ndarray]:
    """The kernels of a linear voltage readout V = A z + b: K_c A (cells, contacts, r) and Σ_c K_c b (contacts,).

    Parameters
    ----------
    kernels : ndarray, shape (cells, contacts, segments)
        K_c, mV per mV.
    A : ndarray, shape (segments, r)
        mV per unit feature.
    b : ndarray, shape (segments,)
        mV.
    """
    return np.einsum("cks,sr->ckr", kernels, A), np.einsum("cks,s->k", kernels, b)


class ReadoutLFP:
    """Exact population LFP from a surrogate's linear voltage readout V = A z + b.

    When a model's voltages are a linear readout of a small feature vector z
    (r features per cell), Σ_c K_c V_c = Σ_c (K_c A) z_c + Σ_c K_c b exactly,
    so a step touches cells × contacts × r kernel entries instead of
    cells × contacts × segments.

    Parameters
    ----------
    lfp : NetworkLFP
        The placed cells.
    A : ndarray, shape (segments, r)
        Readout weights, mV per unit feature.
    b : ndarray, shape (segments,)
        Readout bias, mV.

    Attributes
    ----------
    R : ndarray, shape (cells, contacts, r)
        ``K_c @ A``, mV per unit feature.
    offset : ndarray, shape (contacts,)
        ``Σ_c K_c @ b``, mV.
    """

    def __init__(self, lfp: NetworkLFP, A, b):
        A = np.asarray(A, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if A.ndim != 2 or A.shape[0] != lfp.n_segments or b.shape != (lfp.n_segments,):
            raise LFPError(f"readout must be A (segments={lfp.n_segments}, r) and b (segments,); got "
                           f"{A.shape} and {b.shape}")
        self.R, self.offset = readout_kernels(lfp.kernels, A, b)
        self.n_cells = lfp.n_cells

    def compute(self, z) -> np.ndarray:
        """Network LFP (contacts,) or (contacts, times), mV, from features z (cells, [times,] r)."""
        z = np.asarray(z, dtype=np.float64)
        if z.ndim not in (2, 3) or z.shape[0] != self.n_cells or z.shape[-1] != self.R.shape[2]:
            raise LFPError(f"z must be (cells={self.n_cells}, [times,] r={self.R.shape[2]}); got {z.shape}")
        if z.ndim == 2:
            return np.einsum("ckr,cr->k", self.R, z) + self.offset
        return np.einsum("ckr,ctr->kt", self.R, z) + self.offset[:, None]
