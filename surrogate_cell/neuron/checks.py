"""Checks of the numbers a connection carries: weights and delays."""
from __future__ import annotations

import math

from ..errors import DelayTooShortError, InvalidWeightError


def check_weight(weight) -> float:
    """A finite, non-negative weight (a multiple of the synapse's reference conductance), or
    :class:`~surrogate_cell.errors.InvalidWeightError`."""
    try:
        w = float(weight)
    except (TypeError, ValueError):
        raise InvalidWeightError(f"weight must be a number, got {weight!r}") from None
    if not math.isfinite(w) or w < 0:
        raise InvalidWeightError(f"weight must be finite and >= 0 (a multiple of the synapse's reference "
                                 f"conductance), got {w}")
    return w


def check_delay(delay) -> float:
    """A finite, non-negative delay (ms), or :class:`~surrogate_cell.errors.DelayTooShortError`."""
    try:
        d = float(delay)
    except (TypeError, ValueError):
        raise DelayTooShortError(f"delay must be a number of ms, got {delay!r}") from None
    if not math.isfinite(d) or d < 0:
        raise DelayTooShortError(f"delay must be finite and >= 0 ms, got {d}")
    return d
