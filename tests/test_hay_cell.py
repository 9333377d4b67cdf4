"""The detailed Hay 2011 cell: morphology handling, segment table, regions."""
import hashlib
import json

import numpy as np
import pytest

from surrogate_cell.cells import HayCell, synthetic_l5pc_swc
from surrogate_cell.cells.hay import nseg_rule
from surrogate_cell.cells.segments import REGIONS


@pytest.fixture(scope="module")
def cell1(hay_reference):
    return HayCell(hay_reference / "cell1.asc")


@pytest.fixture(scope="module")
def synthetic():
    return HayCell()


def test_nseg_rule():
    assert [nseg_rule(L) for L in (10.0, 39.9, 40.0, 79.9, 80.0, 530.0)] == [1, 1, 3, 3, 5, 27]


def test_cell1_matches_published_template(cell1, hay_reference):
    ref = json.loads((hay_reference / "segments.json").read_text())
    rows = ref["segments"]
    st = cell1.segments
    assert len(st) == 642 == len(rows)
    assert list(st.section) == [r["section"] for r in rows]
    np.testing.assert_allclose(st.x, [r["x"] for r in rows], atol=1e-5)
    np.testing.assert_allclose(st.dist_um, [r["dist"] for r in rows], atol=1e-3)
    np.testing.assert_allclose(st.diam_um, [r["diam"] for r in rows], atol=1e-3)
    xyz = np.array([r["xyz"] for r in rows], dtype=float)
    has = ~np.isnan(xyz[:, 0])
    np.testing.assert_allclose(st.mid_um[has], xyz[has], atol=1e-3)
    assert abs(st.area_um2.sum() - 31192.17) < 0.1
    assert abs(cell1.L_max_um - 1300.5335) < 1e-3
    # the published sites: largest-diameter candidate at 620 and 400 µm
    for key, dist in (("apic620", 620.0), ("apic400", 400.0)):
        sec, x = cell1.site("apic", dist)
        name, ref_x = ref["sites"][key]
        assert sec.name().endswith(name) and abs(x - ref_x) < 1e-9


def test_cell1_biophysics_distributions(cell1):
    # Ih at the distal end of the longest path and the Ca hot zone (kinetics notes §5.2)
    apic = {s.name().split(".")[-1]: s for s in cell1.apic}
    hot = apic["apic[51]"](0.5)
    assert hot.sc_Ca_LVAst.gbar == pytest.approx(0.0187)
    assert hot.sc_Ca_HVA.gbar == pytest.approx(0.000555)
    # the last segment of apic[50] takes the section's distal-end value (688.7 µm, inside the zone)
    assert apic["apic[50]"](0.99).sc_Ca_LVAst.gbar == pytest.approx(0.0187)
    assert apic["apic[50]"](0.01).sc_Ca_LVAst.gbar == pytest.approx(0.000187)
    assert cell1.soma[0](0.5).sc_NaTa_t.gbar == 2.04
    assert cell1.axon[0].L == 30 and cell1.axon[0].diam == 1 and len(cell1.axon) == 2
    assert not hasattr(cell1.axon[0](0.5), "sc_NaTa_t")


def test_regions_cover_every_segment(cell1, synthetic):
    for cell in (cell1, synthetic):
        regions = set(cell.segments.region)
        assert regions == set(REGIONS), regions
        st = cell.segments
        # trunk reaches the nexus; tuft lies beyond every trunk segment
        assert st.dist_um[st.region == "tuft"].min() > st.dist_um[st.region == "trunk"].min()
        assert st.dist_um[st.region == "trunk"].max() > 500


def test_synthetic_morphology_is_deterministic(synthetic):
    a, b = synthetic_l5pc_swc(), synthetic_l5pc_swc()
    assert hashlib.sha256(a.encode()).hexdigest() == hashlib.sha256(b.encode()).hexdigest()
    again = HayCell()
    np.testing.assert_array_equal(again.segments.mid_um, synthetic.segments.mid_um)
    names = {s.name().split(".")[-1].split("[")[0] for s in synthetic.all}
    assert names == {"soma", "dend", "apic", "axon"}
    assert len(synthetic.dend) >= 7 * 3 and len(synthetic.apic) > 20


def test_section_lookup(synthetic):
    assert synthetic.section("soma") is not None
    assert synthetic.segments.index("apic[3]", 0.99) > synthetic.segments.index("apic[3]", 0.0) or \
        synthetic.apic[3].nseg == 1
    with pytest.raises(Exception, match="no section 'apic\\[9999\\]'"):
        synthetic.section("apic[9999]")


def test_import_order_torch_then_neuron():
    import subprocess
    import sys

    for first, second in (("torch", "neuron"), ("neuron", "torch")):
        code = (f"import {first}, {second}\nfrom surrogate_cell.cells import HayCell\n"
                "c = HayCell()\nimport torch\nprint(len(c.segments), torch.ones(2).sum().item())")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split()[-2:] == [str(len(HayCell().segments)), "2.0"]
