"""Fixtures of the tests. The tests use the real NEURON with the project's compiled mechanisms.

Helpers (functions, models, scripts) are in ``helpers.py``.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import HAY_REFERENCE, HOC_TEMPLATE, RULE_SCRIPT, export_probe, export_untrained, run_python


@pytest.fixture(scope="session")
def hay_reference() -> Path:
    """The published Hay model's reference folder in ``../shared`` (skips where absent)."""
    if not (HAY_REFERENCE / "protocols.npz").is_file():
        pytest.skip(f"reference data not found at {HAY_REFERENCE}: ../shared is absent on this machine")
    return HAY_REFERENCE


@pytest.fixture(scope="session")
def hay_segments():
    from surrogate_cell.cells import HayCell

    return HayCell().segments


@pytest.fixture(scope="session")
def probe_path(tmp_path_factory, hay_segments):
    return export_probe(tmp_path_factory.mktemp("models") / "probe.pt", hay_segments)


@pytest.fixture(scope="session")
def untrained_path(tmp_path_factory, hay_segments):
    return export_untrained(tmp_path_factory.mktemp("models") / "untrained.pt", hay_segments)


@pytest.fixture
def fresh_runner():
    """A clean runner per test; NEURON objects of earlier tests are released."""
    from neuron import h

    from surrogate_cell.neuron import reset_runner

    reset_runner()
    h.ParallelContext().gid_clear()
    yield
    reset_runner()
    h.ParallelContext().gid_clear()


@pytest.fixture(scope="session")
def rule_json(tmp_path_factory) -> Path:
    """The detailed HayCell imported into NetPyNE from a Python file (importCellParams), saved as JSON."""
    out = tmp_path_factory.mktemp("netpyne_rule")
    run_python(RULE_SCRIPT, out, cwd=out)
    return out / "l5pc_rule.json"


@pytest.fixture(scope="session")
def hoc_template(tmp_path_factory) -> tuple[Path, Path]:
    """(template file, SWC morphology): the synthetic L5PC through a Hay-style hoc template."""
    from surrogate_cell.cells import synthetic_l5pc_swc

    out = tmp_path_factory.mktemp("netpyne_hoc")
    (out / "SCTestL5PC.hoc").write_text(HOC_TEMPLATE)
    (out / "synthetic_l5pc.swc").write_text(synthetic_l5pc_swc())
    return out / "SCTestL5PC.hoc", out / "synthetic_l5pc.swc"


@pytest.fixture(scope="session")
def other_probe_path(tmp_path_factory):
    """A probe model of another morphology (the synthetic L5PC with 5 basal trees)."""
    from surrogate_cell.cells import HayCell, SyntheticL5PCParams

    segments = HayCell(synthetic=SyntheticL5PCParams(n_basal=5)).segments
    return export_probe(tmp_path_factory.mktemp("models") / "other.pt", segments)
