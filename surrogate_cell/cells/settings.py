"""How a detailed cell is run: the one settings dataclass that data generation and the protocols extend."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..errors import SurrogateCellError


@dataclass(frozen=True)
class RunSettings:
    """Integration settings of a detailed-cell run (Hay et al. 2011: 34 °C, −80 mV, dt 0.025 ms).

    Attributes
    ----------
    dt_ms : float
        Fixed time step (ms), in (0, 1].
    celsius_degC : float
        Temperature (°C).
    v_init_mV : float
        Initial membrane potential (mV).
    spike_threshold_mV : float
        Somatic spikes are upward crossings of this level at ``soma(0.5)`` (mV).
    """

    dt_ms: float = 0.025
    celsius_degC: float = 34.0
    v_init_mV: float = -80.0
    spike_threshold_mV: float = -10.0

    def __post_init__(self):
        if not (math.isfinite(self.dt_ms) and 0 < self.dt_ms <= 1.0):
            raise SurrogateCellError(f"dt must be in (0, 1] ms, got {self.dt_ms}")

    def to_dict(self) -> dict:
        return asdict(self)
