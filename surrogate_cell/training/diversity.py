"""Expert-diversity metrics (Verhellen et al. 2024, SI §1.1).

On a batch, the experts' outputs E_1..E_n are compared pairwise:
D_ij = ||E_i − E_j|| / max_kl ||E_k − E_l||. Reported: the determinant of D,
its permanent (exact, Ryser's formula, O(2^n n)), and the score, mean(D).
"""
from __future__ import annotations

import itertools

import numpy as np
import torch


def distance_matrix(expert_outputs: torch.Tensor) -> np.ndarray:
    """expert_outputs (..., E, D) → normalised distance matrix (E, E)."""
    e = expert_outputs.detach().reshape(-1, expert_outputs.shape[-2], expert_outputs.shape[-1])
    flat = e.permute(1, 0, 2).reshape(e.shape[1], -1).double()
    d = torch.cdist(flat, flat).cpu().numpy()
    m = d.max()
    return d / m if m > 0 else d


def permanent(a: np.ndarray) -> float:
    """Exact permanent by Ryser's formula with Gray-code order, O(2^n n)."""
    a = np.asarray(a, dtype=np.float64)
    n = a.shape[0]
    if n == 0:
        return 1.0
    total = 0.0
    row_sums = np.zeros(n)
    subset = 0
    for k in range(1, 2 ** n):
        # Gray code: flip one column per step
        gray = k ^ (k >> 1)
        changed = gray ^ subset
        j = changed.bit_length() - 1
        if gray & changed:
            row_sums += a[:, j]
        else:
            row_sums -= a[:, j]
        subset = gray
        size = bin(gray).count("1")
        total += (-1) ** size * np.prod(row_sums)
    return float((-1) ** n * total)


def permanent_bruteforce(a: np.ndarray) -> float:
    """Permanent by the definition (n! terms), for tests."""
    n = a.shape[0]
    return float(sum(np.prod([a[i, p[i]] for i in range(n)]) for p in itertools.permutations(range(n))))


def diversity(expert_outputs: torch.Tensor) -> dict:
    """``{'determinant', 'permanent', 'score'}`` of a batch of expert outputs (..., E, D)."""
    d = distance_matrix(expert_outputs)
    return {"determinant": float(np.linalg.det(d)), "permanent": permanent(d), "score": float(d.mean())}
