"""Bad input gives one clear error line and a non-zero exit, with no traceback."""
import sys
from pathlib import Path

from tests.helpers import assert_one_error_line, run_cli


def test_missing_morphology(tmp_path):
    proc = run_cli("protocols", "--morphology", tmp_path / "nope.asc", "--json")
    assert_one_error_line(proc, "not found", "nope.asc")


def test_unreadable_morphology(tmp_path):
    bad = tmp_path / "bad.swc"
    bad.write_text("this is not a morphology\n")
    proc = run_cli("protocols", "--morphology", bad, "--json", "--protocols", "EPSP")
    assert_one_error_line(proc, "bad.swc", "could not read")


def test_unknown_format(tmp_path):
    bad = tmp_path / "cell.xyz"
    bad.write_text("1 2 3\n")
    proc = run_cli("protocols", "--morphology", bad, "--json")
    assert_one_error_line(proc, "unknown morphology format")


def test_morphology_without_apical_dendrite(tmp_path):
    swc = tmp_path / "noapic.swc"
    swc.write_text("1 1 0 0 0 5 -1\n2 3 0 -10 0 1 1\n3 3 0 -30 0 1 2\n")
    proc = run_cli("protocols", "--morphology", swc, "--json", "--protocols", "EPSP")
    assert_one_error_line(proc, "no apical dendrite")


def test_unknown_protocol():
    proc = run_cli("protocols", "--json", "--protocols", "BAC,Nope")
    assert_one_error_line(proc, "unknown protocol", "Nope")


def test_no_c_compiler(tmp_path):
    # PATH holds only Python's own folder: nrnivmodl is there, no compiler or make
    env = {"PATH": str(Path(sys.executable).parent), "SURROGATE_CELL_CACHE": str(tmp_path / "cache")}
    proc = run_cli("build-mechanisms", env=env)
    assert_one_error_line(proc, "no C/C++ compiler")
    assert not any((tmp_path / "cache").rglob("*.so"))


def test_help_lists_commands():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in ("build-mechanisms", "protocols"):
        assert name in proc.stdout
        sub = run_cli(name, "--help")
        assert sub.returncode == 0 and "examples:" in sub.stdout
