"""Detailed cells: morphology (file or synthetic), biophysics, segment table, run settings, the Hay protocols."""
from .hay import HayBiophysics, HayCell
from .morphology import SyntheticL5PCParams, synthetic_l5pc_swc
from .segments import SegmentTable
from .settings import RunSettings

__all__ = ["HayCell", "HayBiophysics", "SegmentTable", "SyntheticL5PCParams", "synthetic_l5pc_swc", "RunSettings"]
