"""Morphologies: read a reconstruction with NEURON's Import3d, or build the
project's synthetic L5PC.

Both routes end in the same place: an instance of a small hoc template whose
sections are named as NEURON users know them (``soma``, ``dend``, ``apic``,
``axon``) and whose section lists are ``somatic``, ``basal``, ``apical``,
``axonal`` and ``all``. The synthetic morphology is written as SWC text and
read through Import3d too, so one code path serves both.
"""
from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .._native import captured_native_output
from ..errors import MorphologyError

READERS = {".asc": "Import3d_Neurolucida3", ".swc": "Import3d_SWC_read"}

# A host for one cell's sections. Import3d fills soma/dend/apic/axon and the
# section lists; ``replace_axon`` performs the published axon replacement.
_HOST_TEMPLATE = r"""
begintemplate SC_CellHost
public soma, dend, apic, axon, all, somatic, basal, apical, axonal, replace_axon, rebuild_all
create soma[1], dend[1], apic[1], axon[1]
objref all, somatic, basal, apical, axonal, this

proc init() {
    all = new SectionList()
    somatic = new SectionList()
    basal = new SectionList()
    apical = new SectionList()
    axonal = new SectionList()
}

proc rebuild_all() {
    all = new SectionList()
    forsec somatic all.append()
    forsec basal all.append()
    forsec apical all.append()
    forsec axonal all.append()
}

// Two 30 um x 1 um passive stubs at soma(0.5), pointing along -y from the
// soma's centre ($1, $2, $3 in um), as in Hay et al. 2011.
proc replace_axon() { local x0, y0, z0
    x0 = $1  y0 = $2  z0 = $3
    forsec axonal delete_section()
    create axon[2]
    axonal = new SectionList()
    axon[0] { L = 30  diam = 1  nseg = 1  axonal.append() }
    axon[1] { L = 30  diam = 1  nseg = 1  axonal.append() }
    axon[0] { pt3dclear()  pt3dadd(x0, y0, z0, 1)  pt3dadd(x0, y0 - 30, z0, 1) }
    axon[1] { pt3dclear()  pt3dadd(x0, y0 - 30, z0, 1)  pt3dadd(x0, y0 - 60, z0, 1) }
    soma[0] connect axon[0](0), 0.5
    axon[0] connect axon[1](0), 1
    rebuild_all()
}
endtemplate SC_CellHost
"""


def ensure_host_template(h) -> None:
    if not hasattr(h, "SC_CellHost"):
        h.load_file("stdlib.hoc")
        h.load_file("import3d.hoc")
        h(_HOST_TEMPLATE)


def import_morphology(path: str | Path, h):
    """Read a reconstruction into a new ``SC_CellHost``.

    Parameters
    ----------
    path : str or Path
        Neurolucida ASCII (``.asc``) or SWC (``.swc``) file, coordinates in µm.
    h : hoc interpreter
        ``neuron.h``.

    Returns
    -------
    hoc object
        The host with its sections and section lists filled.

    Raises
    ------
    MorphologyError
        Missing, unreadable, of an unknown format, or without a soma or an
        apical dendrite.
    """
    path = Path(path)
    if not path.is_file():
        raise MorphologyError(f"morphology file not found: {path}; give the path of a .asc or .swc file")
    reader_name = READERS.get(path.suffix.lower())
    if reader_name is None:
        raise MorphologyError(
            f"unknown morphology format '{path.suffix}' for {path}; use Neurolucida .asc or SWC .swc"
        )
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise MorphologyError(f"cannot read morphology {path}: {exc.strerror}") from None
    ensure_host_template(h)
    host = h.SC_CellHost()
    reader = getattr(h, reader_name)()
    try:
        reader.quiet = 1
    except (LookupError, AttributeError):
        pass
    failed = None
    with captured_native_output() as printed:
        try:
            reader.input(str(path))
            importer = h.Import3d_GUI(reader, False)
            importer.instantiate(host)
        except (RuntimeError, LookupError) as exc:
            failed = exc
    said = [ln.strip() for ln in printed[0].splitlines() if ln.strip()]
    if failed is not None:
        first = said[0] if said else str(failed)
        raise MorphologyError(f"NEURON's Import3d could not read {path} ({first}); check that it is a valid "
                              f"{path.suffix} morphology") from None
    n_soma = sum(1 for _ in host.somatic)
    n_apic = sum(1 for _ in host.apical)
    if n_soma == 0:
        detail = f" (Import3d said: {said[0]})" if said else ""
        raise MorphologyError(f"morphology {path} has no soma{detail}; a soma contour or soma points "
                              "are required")
    if n_apic == 0:
        raise MorphologyError(
            f"morphology {path} has no apical dendrite (no 'Apical' tree / SWC type 4); "
            "the Hay L5PC biophysics need one"
        )
    return host


@dataclass(frozen=True)
class SyntheticL5PCParams:
    """Geometry of the built-in synthetic L5PC (lengths and diameters in µm).

    Values are chosen to resemble a rat thick-tufted layer-5 pyramidal cell
    (Hay et al. 2011, cell1; Larkum et al. 1999): a trunk reaching the main
    bifurcation near 630 µm (cell1: 627 µm), so that the Ca hot zone (685–885 µm)
    lies in the proximal tuft, obliques off the proximal trunk, a tuft out to
    about 1300 µm and seven basal trees.
    """

    soma_radius_um: float = 9.5
    trunk_length_um: float = 630.0
    trunk_diam_start_um: float = 3.2
    trunk_diam_end_um: float = 2.6
    oblique_origins_um: tuple = tuple(30.0 + 45.0 * k for k in range(13))  # 30 … 570 µm
    oblique_lengths_um: tuple = (50.0, 130.0)  # primary, each daughter
    oblique_diams_um: tuple = (1.0, 0.7)
    tuft_lengths_um: tuple = (220.0, 220.0, 220.0)  # per generation after the nexus
    tuft_diams_um: tuple = (2.0, 1.2, 0.7)
    n_basal: int = 7
    basal_lengths_um: tuple = (30.0, 70.0, 140.0)
    basal_diams_um: tuple = (1.6, 1.0, 0.6)
    step_um: float = 10.0  # spacing of 3-D points


def _unit(v):
    n = math.sqrt(sum(c * c for c in v))
    return tuple(c / n for c in v)


def _rotate_towards(direction, angle_rad, azimuth_rad):
    """A unit vector at ``angle_rad`` from ``direction``, turned by ``azimuth_rad`` about it."""
    d = _unit(direction)
    helper = (1.0, 0.0, 0.0) if abs(d[0]) < 0.9 else (0.0, 0.0, 1.0)
    # orthonormal basis (d, e1, e2)
    e1 = _unit((helper[1] * d[2] - helper[2] * d[1], helper[2] * d[0] - helper[0] * d[2],
                helper[0] * d[1] - helper[1] * d[0]))
    e2 = (d[1] * e1[2] - d[2] * e1[1], d[2] * e1[0] - d[0] * e1[2], d[0] * e1[1] - d[1] * e1[0])
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    ca, sa = math.cos(azimuth_rad), math.sin(azimuth_rad)
    return _unit(tuple(c * d[i] + s * (ca * e1[i] + sa * e2[i]) for i in range(3)))


class _SWCWriter:
    def __init__(self):
        self.rows = []

    def add(self, kind, xyz, diam, parent):
        self.rows.append((len(self.rows) + 1, kind, *xyz, diam / 2.0, parent))
        return len(self.rows)

    def cable(self, kind, start_id, start_xyz, direction, length, d0, d1, step):
        """Points along a straight cable; returns (last id, end point)."""
        n = max(1, int(math.ceil(length / step)))
        pid, xyz = start_id, start_xyz
        for i in range(1, n + 1):
            f = i / n
            xyz = tuple(start_xyz[k] + direction[k] * length * f for k in range(3))
            pid = self.add(kind, xyz, d0 + (d1 - d0) * f, pid)
        return pid, xyz

    def text(self):
        lines = ["# synthetic L5PC generated by surrogate_cell (deterministic)"]
        lines += ["%d %d %.4f %.4f %.4f %.4f %d" % r for r in self.rows]
        return "\n".join(lines) + "\n"


def synthetic_l5pc_swc(params: SyntheticL5PCParams = SyntheticL5PCParams()) -> str:
    """SWC text of the synthetic L5PC. The apical axis is +y; the soma is at the origin."""
    p = params
    w = _SWCWriter()
    r = p.soma_radius_um
    # three-point soma (NeuroMorpho convention): a cylinder of length and diameter 2r
    soma = w.add(1, (0.0, 0.0, 0.0), 2 * r, -1)
    w.add(1, (0.0, -r, 0.0), 2 * r, soma)
    w.add(1, (0.0, r, 0.0), 2 * r, soma)
    w.add(2, (0.0, -r - 10.0, 0.0), 1.0, soma)  # axon stub, replaced by the biophysics

    # apical trunk along +y with obliques
    up = (0.0, 1.0, 0.0)
    pid, xyz, done = soma, (0.0, 0.0, 0.0), 0.0
    origins = sorted(p.oblique_origins_um)
    marks = origins + [p.trunk_length_um]
    diam_at = lambda s: p.trunk_diam_start_um + (p.trunk_diam_end_um - p.trunk_diam_start_um) * s / p.trunk_length_um
    for k, mark in enumerate(marks):
        pid, xyz = w.cable(4, pid, xyz, up, mark - done, diam_at(done), diam_at(mark), p.step_um)
        done = mark
        if k < len(origins):
            az = 2.39996 * k  # golden angle: obliques spread around the trunk
            d_obl = _rotate_towards(up, math.radians(65), az)
            oid, oxyz = w.cable(4, pid, xyz, d_obl, p.oblique_lengths_um[0], p.oblique_diams_um[0],
                                p.oblique_diams_um[0], p.step_um)
            for sign in (-1, 1):
                d2 = _rotate_towards(d_obl, math.radians(30), az + sign * math.pi / 2)
                w.cable(4, oid, oxyz, d2, p.oblique_lengths_um[1], p.oblique_diams_um[1],
                        p.oblique_diams_um[1] * 0.7, p.step_um)

    # tuft: repeated bifurcation beyond the nexus
    def tuft(parent, start, direction, gen, az):
        if gen == len(p.tuft_lengths_um):
            return
        for sign in (-1, 1):
            d = _rotate_towards(direction, math.radians(25 if gen else 35), az + (0 if sign > 0 else math.pi))
            d0 = p.tuft_diams_um[gen]
            d1 = p.tuft_diams_um[gen + 1] if gen + 1 < len(p.tuft_diams_um) else d0 * 0.7
            tid, txyz = w.cable(4, parent, start, d, p.tuft_lengths_um[gen], d0, d1, p.step_um)
            tuft(tid, txyz, d, gen + 1, az + math.pi / 2)

    tuft(pid, xyz, up, 0, 0.0)

    # basal trees: primaries spread around the lower hemisphere
    def basal(parent, start, direction, gen, az):
        d0 = p.basal_diams_um[gen]
        d1 = p.basal_diams_um[gen + 1] if gen + 1 < len(p.basal_diams_um) else d0 * 0.7
        bid, bxyz = w.cable(3, parent, start, direction, p.basal_lengths_um[gen], d0, d1, p.step_um)
        if gen + 1 < len(p.basal_lengths_um):
            for sign in (-1, 1):
                d = _rotate_towards(direction, math.radians(30), az + sign * math.pi / 2)
                basal(bid, bxyz, d, gen + 1, az + math.pi / 2)

    for k in range(p.n_basal):
        az = 2 * math.pi * k / p.n_basal
        direction = _rotate_towards((0.0, -1.0, 0.0), math.radians(70), az)
        start = tuple(r * c for c in direction)
        basal(soma, start, direction, 0, az)
    return w.text()


def synthetic_l5pc(h, params: SyntheticL5PCParams = SyntheticL5PCParams()):
    """Build the synthetic L5PC in a new ``SC_CellHost`` (through Import3d)."""
    with tempfile.TemporaryDirectory(prefix="sc_morph_") as tmp:
        path = Path(tmp) / "synthetic_l5pc.swc"
        path.write_text(synthetic_l5pc_swc(params))
        return import_morphology(path, h)
