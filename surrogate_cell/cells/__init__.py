"""Detailed cells: morphology (file or synthetic), biophysics, segment table, run settings, the Hay protocols."""
from .geometry import CellGeometry
from .hay import HayBiophysics, HayCell
from .morphology import SyntheticL5PCParams, synthetic_l5pc_swc
from .segments import SegmentTable
from .settings import RunSettings

__all__ = ["HayCell", "CellGeometry", "HayBiophysics", "SegmentTable", "SyntheticL5PCParams", "synthetic_l5pc_swc", "RunSettings"]
