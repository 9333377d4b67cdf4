"""A user's own NEURON cell: a hoc template (pas + hh, plus one mechanism from
its own mod folder) with a morphology passed to its constructor, as with the
published Hay files (``L5PCtemplate(morphology_file)``)."""
import json

import h5py
import numpy as np

from surrogate_cell.cells import synthetic_l5pc_swc
from surrogate_cell.mechanisms import build_mod_dir, dir_build_key
from tests.helpers import assert_one_error_line, run_cli

TEMPLATE = r"""
begintemplate SCTestCell
public init, soma, dend, apic, axon, all, somatic, basal, apical, axonal, morph
create soma[1], dend[1], apic[1], axon[1]
objref all, somatic, basal, apical, axonal, this, nl, i3d
strdef morph

proc init() {
    all = new SectionList()  somatic = new SectionList()  basal = new SectionList()
    apical = new SectionList()  axonal = new SectionList()
    morph = $s1
    nl = new Import3d_SWC_read()
    nl.quiet = 1
    nl.input($s1)
    i3d = new Import3d_GUI(nl, 0)
    i3d.instantiate(this)
    forsec all { nseg = 1 + 2 * int(L / 60)  insert pas  g_pas = 5e-5  e_pas = -70  cm = 1  Ra = 100 }
    forsec somatic { insert hh }
    forsec axonal { insert hh }
    forsec basal { insert sctestleak }
    forsec apical { insert sctestleak }
}
endtemplate SCTestCell
"""

MOD = r"""
NEURON {
    SUFFIX sctestleak
    NONSPECIFIC_CURRENT i
    RANGE g, e
}
UNITS { (mA) = (milliamp) (mV) = (millivolt) (S) = (siemens) }
PARAMETER { g = 1e-5 (S/cm2) e = -70 (mV) }
ASSIGNED { v (mV) i (mA/cm2) }
BREAKPOINT { i = g * (v - e) }
"""


def test_template_cell_generates_with_its_own_mod_folder(tmp_path):
    hoc = tmp_path / "sctest.hoc"
    hoc.write_text(TEMPLATE)
    mods = tmp_path / "mod"
    mods.mkdir()
    (mods / "sctestleak.mod").write_text(MOD)
    swc = tmp_path / "cell.swc"
    swc.write_text(synthetic_l5pc_swc())
    out = tmp_path / "t.h5"
    args = ("generate", "--template", hoc, "--template-name", "SCTestCell", "--mod-dir", mods, "--morphology", swc,
            "--seconds", "0.1", "--sim-seconds", "0.05", "--settle-ms", "20", "--workers", "2", "--seed", "3",
            "--no-progress", "--out", out)
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    # compiled into the per-user cache, shared with build_mechanisms' lock and layout
    library = build_mod_dir(mods)
    assert dir_build_key(mods) in str(library) and library.is_file()
    with h5py.File(out, "r") as f:
        cell = json.loads(f.attrs["cell"])
        assert cell["kind"] == "template" and cell["template_name"] == "SCTestCell"
        assert cell["morphology"] == "cell.swc"
        region = f["segments/region"][()].astype(str)
        assert region[0] == "soma" and "axon" in region and {"basal", "tuft"} <= set(region)
        # every receptor class on every segment, soma and axon included
        np.testing.assert_array_equal(f["channels/segment"][()], np.tile(np.arange(len(region)), 4))
        assert cell["n_channels"] == 4 * len(region) == f["inputs"].shape[2]
        v = f["voltage_mV"][()]
        assert v.shape == (2, 50, len(region)) and np.isfinite(v).all()
        assert f["events/time_ms"].size > 0
    again = run_cli(*args)
    assert again.returncode == 0 and "already complete" in again.stdout


def test_template_instantiation_errors(tmp_path):
    hoc = tmp_path / "nolists.hoc"
    hoc.write_text("begintemplate SCBare\npublic soma\ncreate soma\nproc init() { soma { L = 20 diam = 20 } }\n"
                   "endtemplate SCBare\n")
    proc = run_cli("generate", "--template", hoc, "--template-name", "SCBare", "--seconds", "0.05",
                   "--settle-ms", "10", "--workers", "1", "--no-progress", "--out", tmp_path / "x.h5")
    assert proc.returncode == 2
    assert "lacks the section list(s)" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.h5").exists()


def test_hoc_errors_are_one_line(tmp_path):
    """A hoc syntax error, and a template that needs a hoc file not loaded before it: one error line each."""
    bad = tmp_path / "bad.hoc"
    bad.write_text("begintemplate SCBad\nproc init() { x = = 3 }\nendtemplate SCBad\n")
    needs = tmp_path / "needs.hoc"
    needs.write_text("begintemplate SCNeeds\npublic soma\ncreate soma\nobjref helper\n"
                     "proc init() { helper = new SCHelper() }\nendtemplate SCNeeds\n")
    common = ("--seconds", "0.02", "--settle-ms", "10", "--workers", "1", "--no-progress")
    proc = run_cli("generate", "--template", bad, "--template-name", "SCBad", *common, "--out", tmp_path / "a.h5")
    assert_one_error_line(proc, "bad.hoc", "syntax error", "near line 2")
    proc = run_cli("generate", "--template", needs, "--template-name", "SCNeeds", *common, "--out", tmp_path / "b.h5")
    assert_one_error_line(proc, "needs.hoc", "SCHelper is not a template", "--template A.hoc B.hoc")
    assert not list(tmp_path.glob("*.h5*"))


def test_published_hay_model_as_distributed(hay_reference, tmp_path):
    """The published L5PC, its two hoc files given in order with its own mod folder: generate runs on it."""
    pub = hay_reference / "published"
    out = tmp_path / "hay.h5"
    proc = run_cli("generate", "--template", pub / "L5PCbiophys3.hoc", pub / "L5PCtemplate.hoc",
                   "--template-name", "L5PCtemplate", "--mod-dir", pub / "mod", "--morphology",
                   hay_reference / "cell1.asc", "--seconds", "0.02", "--settle-ms", "10", "--workers", "1",
                   "--no-progress", "--out", out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        cell = json.loads(f.attrs["cell"])
        assert cell["template_name"] == "L5PCtemplate" and len(cell["template"]) == 2
        assert f["voltage_mV"].shape == (1, 20, 642)
