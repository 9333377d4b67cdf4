"""The detailed Hay et al. (2011) layer-5 pyramidal cell with ``L5PCbiophys3``.

Hay E, Hill S, Schürmann F, Markram H, Segev I (2011) Models of neocortical
layer 5b pyramidal cells capturing a wide range of dendritic and perisomatic
active properties. PLoS Comput Biol 7(7): e1002107. ModelDB 139653.

The biophysics are the published parameter values applied to the project's
own ``sc_``-prefixed mechanisms (``mod/``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from .._native import import_neuron_quietly
from ..errors import SurrogateCellError
from ..mechanisms import load_mechanisms
from .geometry import CellGeometry, build_geometry, geometry_of
from .morphology import SyntheticL5PCParams, import_morphology, synthetic_l5pc
from .segments import SegmentTable, section_name, segment_table


@dataclass(frozen=True)
class HayBiophysics:
    """``L5PCbiophys3`` (Hay et al. 2011, Fig. 4 model). Conductances in S/cm²."""

    cm_soma_uF_cm2: float = 1.0
    cm_dend_uF_cm2: float = 2.0
    Ra_ohm_cm: float = 100.0
    e_pas_mV: float = -90.0
    ek_mV: float = -85.0
    ena_mV: float = 50.0
    g_pas: dict = field(default_factory=lambda: {
        "somatic": 3.38e-5, "apical": 5.89e-5, "basal": 4.67e-5, "axonal": 3.25e-5})
    soma: dict = field(default_factory=lambda: {
        "sc_Ca_LVAst": 0.00343, "sc_Ca_HVA": 0.000992, "sc_SKv3_1": 0.693, "sc_SK_E2": 0.0441,
        "sc_K_Tst": 0.0812, "sc_K_Pst": 0.00223, "sc_Nap_Et2": 0.00172, "sc_NaTa_t": 2.04,
        "sc_Ih": 0.0002})
    soma_ca_decay_ms: float = 460.0
    soma_ca_gamma: float = 0.000501
    apical: dict = field(default_factory=lambda: {
        "sc_SK_E2": 0.0012, "sc_SKv3_1": 0.000261, "sc_NaTa_t": 0.0213, "sc_Im": 0.0000675})
    apical_ca_decay_ms: float = 122.0
    apical_ca_gamma: float = 0.000509
    basal_Ih: float = 0.0002
    # apical distributions (distance d from apic[0](0) in µm; L_max the longest apical path)
    Ih_base: float = 0.0002            # g = base * (-0.8696 + 2.0870 * exp(3.6161 * d / L_max))
    Ih_exp: tuple = (-0.8696, 3.6161, 2.0870)
    hot_zone_um: tuple = (685.0, 885.0)  # strict bounds
    Ca_LVAst_hot: float = 0.0187
    Ca_LVAst_cold_factor: float = 0.01
    Ca_HVA_hot: float = 0.000555
    Ca_HVA_cold_factor: float = 0.1


def nseg_rule(length_um: float) -> int:
    """Hay's template rule: ``1 + 2 * floor(L / 40 µm)``, always odd."""
    return 1 + 2 * int(length_um // 40.0)


class HayCell:
    """The Hay 2011 L5PC on a reconstructed or the synthetic morphology.

    Parameters
    ----------
    morphology : str, Path, CellGeometry or None
        A Neurolucida ``.asc`` or SWC ``.swc`` file read with NEURON's Import3d,
        a :class:`~surrogate_cell.cells.CellGeometry` (e.g. a model file's
        ``SurrogateModel.geometry``: the cell it was trained on, no file needed),
        or None for the built-in synthetic L5PC.
    biophysics : HayBiophysics
        Parameter set; the default is ``L5PCbiophys3``.
    synthetic : SyntheticL5PCParams
        Geometry of the synthetic morphology (used where ``morphology`` is None).

    Attributes
    ----------
    soma, dend, apic, axon : list of nrn.Section
        Sections by family, indexed as in the hoc template (``cell.apic[36]``).
    all, somatic, basal, apical, axonal : h.SectionList
    segments : SegmentTable
        One row per segment, in the order soma, basal, apical, axon.

    Examples
    --------
    >>> cell = HayCell()                       # synthetic default
    >>> cell.segments.region[:3]
    """

    def __init__(self, morphology: str | Path | CellGeometry | None = None, *,
                 biophysics: HayBiophysics = HayBiophysics(),
                 synthetic: SyntheticL5PCParams = SyntheticL5PCParams()):
        h = import_neuron_quietly()
        load_mechanisms()
        self.h = h
        self.biophysics = biophysics
        if isinstance(morphology, CellGeometry):  # already processed: nseg set, axon replaced
            self.morphology = morphology.source or "geometry"
            self.host = build_geometry(morphology, h)
        else:
            self.morphology = str(morphology) if morphology is not None else "synthetic"
            self.host = import_morphology(morphology, h) if morphology is not None else synthetic_l5pc(h, synthetic)
            for sec in self.host.all:
                sec.nseg = nseg_rule(sec.L)
            soma = self.host.soma[0]
            centre = _point_at(soma, 0.5)
            self.host.replace_axon(*centre)
        self._insert_biophysics()
        self.segments: SegmentTable = segment_table(self)

    # -- sections, as NEURON users know them ---------------------------------
    @property
    def soma(self):
        return list(self.host.somatic)

    @property
    def dend(self):
        return list(self.host.basal)

    @property
    def apic(self):
        return list(self.host.apical)

    @property
    def axon(self):
        return list(self.host.axonal)

    @property
    def all(self):
        return self.host.all

    @property
    def somatic(self):
        return self.host.somatic

    @property
    def basal(self):
        return self.host.basal

    @property
    def apical(self):
        return self.host.apical

    @property
    def axonal(self):
        return self.host.axonal

    def section(self, name: str):
        """The section called ``name`` (``'soma[0]'``, ``'apic[36]'``, ``'soma'`` for ``soma[0]``)."""
        key = name if "[" in name else f"{name}[0]"
        for sec in self.host.all:
            if section_name(sec) == key:
                return sec
        raise SurrogateCellError(f"cell has no section '{name}'; sections are soma[0], dend[i], apic[i], axon[i]")

    def geometry(self) -> CellGeometry:
        """This cell's :class:`~surrogate_cell.cells.CellGeometry` (what a model file carries)."""
        return geometry_of(self, Path(self.morphology).name)

    def __repr__(self):
        return f"HayCell(morphology={self.morphology!r}, segments={len(self.segments)})"

    # -- biophysics ------------------------------------------------------------
    def _insert_biophysics(self):
        b, h = self.biophysics, self.h
        for name, seclist in (("somatic", self.somatic), ("apical", self.apical),
                              ("basal", self.basal), ("axonal", self.axonal)):
            for sec in seclist:
                sec.insert("pas")
                sec.Ra = b.Ra_ohm_cm
                sec.cm = b.cm_soma_uF_cm2 if name in ("somatic", "axonal") else b.cm_dend_uF_cm2
                for seg in sec:
                    seg.pas.g = b.g_pas[name]
                    seg.pas.e = b.e_pas_mV
        for sec in self.somatic:
            self._insert_channels(sec, b.soma, b.soma_ca_decay_ms, b.soma_ca_gamma)
        for sec in self.basal:
            sec.insert("sc_Ih")
            for seg in sec:
                seg.sc_Ih.gbar = b.basal_Ih
        lmax = self.apical_max_path_um()
        self.L_max_um = lmax
        origin = self.apic[0](0)
        for sec in self.apical:
            self._insert_channels(sec, b.apical, b.apical_ca_decay_ms, b.apical_ca_gamma)
            for mech in ("sc_Ih", "sc_Ca_LVAst", "sc_Ca_HVA"):
                sec.insert(mech)
            n = sec.nseg
            for i, seg in enumerate(sec):
                # Hay's distribution routine evaluates the last segment at the section's
                # distal end (x = 1), not at its centre; reproduce that.
                x = 1.0 if i == n - 1 else seg.x
                d = h.distance(origin, sec(x)) if x < 1.0 else h.distance(origin, sec(1.0))
                c0, k, c1 = b.Ih_exp
                seg.sc_Ih.gbar = round(b.Ih_base * (c0 + c1 * math.exp(k * d / lmax)), 10)
                hot = b.hot_zone_um[0] < d < b.hot_zone_um[1]
                seg.sc_Ca_LVAst.gbar = round(b.Ca_LVAst_hot * (1.0 if hot else b.Ca_LVAst_cold_factor), 10)
                seg.sc_Ca_HVA.gbar = round(b.Ca_HVA_hot * (1.0 if hot else b.Ca_HVA_cold_factor), 10)

    def _insert_channels(self, sec, gbars, ca_decay, ca_gamma):
        for mech in gbars:
            sec.insert(mech)
        sec.insert("sc_CaDynamics_E2")
        sec.ek = self.biophysics.ek_mV
        sec.ena = self.biophysics.ena_mV
        for seg in sec:
            for mech, g in gbars.items():
                getattr(seg, mech).gbar = g
            seg.sc_CaDynamics_E2.decay = ca_decay
            seg.sc_CaDynamics_E2.gamma = ca_gamma

    def apical_max_path_um(self) -> float:
        """Longest path from ``apic[0](0)`` to the distal end of an apical terminal (µm)."""
        h = self.h
        origin = self.apic[0](0)
        best = 0.0
        for sec in self.apical:
            if len(h.SectionRef(sec=sec).child) == 0:
                best = max(best, h.distance(origin, sec(1.0)))
        return best

    # -- sites -----------------------------------------------------------------
    def locate_sites(self, family: str, distance_um: float):
        """Candidate (section, x) at ``distance_um`` along a family (Hay's ``locateSites``).

        Distances are measured from ``apic[0](0)`` for ``'apic'``/``'dend'`` and from
        ``axon[0](1)`` for ``'axon'``; ``x`` interpolates linearly in arc length.
        """
        h = self.h
        secs = {"apic": self.apic, "dend": self.dend, "axon": self.axon}[family]
        origin = self.axon[0](1) if family == "axon" else self.apic[0](0) if family == "apic" else self.soma[0](0.5)
        out = []
        for sec in secs:
            a, b = h.distance(origin, sec(0)), h.distance(origin, sec(1))
            d0, d1 = min(a, b), max(a, b)
            if d0 <= distance_um <= d1:
                out.append((sec, (distance_um - d0) / (d1 - d0) if d1 > d0 else 0.5))
        return out

    def site(self, family: str, distance_um: float):
        """The candidate of :meth:`locate_sites` with the largest diameter, as ``(section, x)``."""
        best, best_diam = None, -1.0
        for sec, x in self.locate_sites(family, distance_um):
            if sec(x).diam > best_diam:  # strict: the earlier candidate wins ties
                best, best_diam = (sec, x), sec(x).diam
        if best is None:
            raise SurrogateCellError(f"no {family} location at {distance_um} µm on {self.morphology}")
        return best


def _point_at(sec, x):
    """3-D point (µm) at arc position ``x`` of a section with 3-D points."""
    n = int(sec.n3d())
    arc = [sec.arc3d(i) for i in range(n)]
    target = x * arc[-1]
    for i in range(1, n):
        if arc[i] >= target:
            f = 0.0 if arc[i] == arc[i - 1] else (target - arc[i - 1]) / (arc[i] - arc[i - 1])
            return tuple(getattr(sec, c)(i - 1) + f * (getattr(sec, c)(i) - getattr(sec, c)(i - 1))
                         for c in ("x3d", "y3d", "z3d"))
    return (sec.x3d(n - 1), sec.y3d(n - 1), sec.z3d(n - 1))
