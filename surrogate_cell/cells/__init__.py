"""Detailed cells: morphology (file or synthetic), biophysics, segment table."""
from .hay import HayBiophysics, HayCell, nseg_rule
from .morphology import SyntheticL5PCParams, synthetic_l5pc_swc
from .segments import REGIONS, SegmentTable, section_name

__all__ = ["HayCell", "HayBiophysics", "nseg_rule", "SyntheticL5PCParams", "synthetic_l5pc_swc",
           "SegmentTable", "REGIONS", "section_name"]
