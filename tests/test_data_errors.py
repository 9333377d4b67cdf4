"""Bad input to ``generate``: one clear error line, exit 2, nothing overwritten or lost."""
import hashlib
import json
from pathlib import Path

import h5py
import pytest

from surrogate_cell.data.store import PartsDir
from tests.helpers import assert_one_error_line, run_cli

TINY = ("--seconds", "0.05", "--sim-seconds", "0.05", "--settle-ms", "10", "--workers", "1", "--no-progress")


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def assert_nothing_written(out):
    assert not Path(out).exists()
    assert not Path(str(out) + ".parts").exists()


def test_unknown_morphology(tmp_path):
    out = tmp_path / "d.h5"
    proc = run_cli("generate", *TINY, "--morphology", tmp_path / "nope.asc", "--out", out)
    assert proc.returncode == 2
    assert_one_error_line(proc, "not found", "nope.asc")
    assert_nothing_written(out)
    odd = tmp_path / "cell.xyz"
    odd.write_text("1 2 3\n")
    proc = run_cli("generate", *TINY, "--morphology", odd, "--out", out)
    assert_one_error_line(proc, "unknown morphology format")
    assert_nothing_written(out)


def test_unreadable_morphology_fails_in_the_worker_with_one_line(tmp_path):
    bad = tmp_path / "bad.swc"
    bad.write_text("this is not a morphology\n")
    out = tmp_path / "d.h5"
    proc = run_cli("generate", *TINY, "--morphology", bad, "--out", out)
    assert proc.returncode == 2
    assert_one_error_line(proc, "bad.swc", "could not read")
    assert_nothing_written(out)


@pytest.mark.parametrize("flag,value", [("--seconds", "0"), ("--seconds", "-1"), ("--sim-seconds", "0"),
                                        ("--sim-seconds", "-0.5"), ("--seconds", "0.0001")])
def test_zero_or_negative_duration(tmp_path, flag, value):
    out = tmp_path / "d.h5"
    args = {"--seconds": "0.05", "--sim-seconds": "0.05", flag: value}
    proc = run_cli("generate", "--seconds", args["--seconds"], "--sim-seconds", args["--sim-seconds"],
                   "--out", out, "--no-progress")
    assert proc.returncode == 2
    assert_one_error_line(proc, flag)
    assert_nothing_written(out)


def test_total_that_is_no_multiple_of_a_simulation(tmp_path):
    """1.5 s in 1 s simulations would record 2 s: refused, naming what it would do."""
    out = tmp_path / "d.h5"
    proc = run_cli("generate", "--seconds", "1.5", "--sim-seconds", "1", "--out", out, "--no-progress")
    assert proc.returncode == 2
    assert_one_error_line(proc, "--seconds 1.5", "record 2 s")
    assert_nothing_written(out)


def test_unwritable_output_path(tmp_path):
    proc = run_cli("generate", *TINY, "--out", tmp_path / "missing" / "d.h5")
    assert proc.returncode == 2
    assert_one_error_line(proc, "does not exist")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    proc = run_cli("generate", *TINY, "--out", a_file / "d.h5")
    assert_one_error_line(proc, "cannot write")
    proc = run_cli("generate", *TINY, "--out", tmp_path)
    assert_one_error_line(proc, "is a folder")


def test_read_only_folder(tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root can write into read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        proc = run_cli("generate", *TINY, "--out", folder / "d.h5")
        assert_one_error_line(proc, "not writable")
    finally:
        folder.chmod(0o755)


def test_existing_output_with_other_parameters_is_left_alone(tmp_path):
    out = tmp_path / "d.h5"
    first = run_cli("generate", *TINY, "--seed", "1", "--out", out)
    assert first.returncode == 0, first.stderr
    before, mtime = sha(out), out.stat().st_mtime_ns
    proc = run_cli("generate", *TINY, "--seed", "2", "--out", out)
    assert proc.returncode == 2
    assert_one_error_line(proc, "different parameters", "seed")
    assert sha(out) == before and out.stat().st_mtime_ns == mtime
    assert not Path(str(out) + ".parts").exists()
    # the same parameters and a complete file: nothing to do, exit 0
    same = run_cli("generate", *TINY, "--seed", "1", "--workers", "2", "--out", out, "--json")
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["status"] == "already complete"
    assert sha(out) == before
    # a run killed between the final rename and the clean-up leaves its parts: they go
    with h5py.File(out, "r") as f:
        params = json.loads(f.attrs["params"])
    leftover = PartsDir(out)
    leftover.open(params)
    leftover.release()
    assert run_cli("generate", *TINY, "--seed", "1", "--out", out).returncode == 0
    assert not leftover.path.exists() and sha(out) == before


def test_existing_foreign_file_is_not_overwritten(tmp_path):
    out = tmp_path / "notes.h5"
    out.write_text("precious")
    proc = run_cli("generate", *TINY, "--out", out)
    assert_one_error_line(proc, "refusing to overwrite")
    assert out.read_text() == "precious"


def test_parts_of_other_parameters_are_kept(tmp_path):
    out = tmp_path / "d.h5"
    parts = PartsDir(out)
    parts.open({"some": "other run"})
    parts.release()
    (parts.path / "sim_000000.npz").write_bytes(b"an earlier run's work")
    proc = run_cli("generate", *TINY, "--out", out)
    assert_one_error_line(proc, "different parameters", ".parts")
    assert (parts.path / "sim_000000.npz").read_bytes() == b"an earlier run's work"
    assert not out.exists()


def test_template_argument_errors(tmp_path):
    out = tmp_path / "d.h5"
    proc = run_cli("generate", *TINY, "--template", tmp_path / "none.hoc", "--template-name", "X", "--out", out)
    assert_one_error_line(proc, "template file not found")
    hoc = tmp_path / "cell.hoc"
    hoc.write_text("// empty\n")
    proc = run_cli("generate", *TINY, "--template", hoc, "--out", out)
    assert_one_error_line(proc, "--template-name")
    proc = run_cli("generate", *TINY, "--template-name", "X", "--out", out)
    assert_one_error_line(proc, "--template")
    proc = run_cli("generate", *TINY, "--template", hoc, "--template-name", "X", "--mod-dir", tmp_path / "nomod",
                   "--out", out)
    assert_one_error_line(proc, "mod folder not found")
    proc = run_cli("generate", *TINY, "--template", hoc, "--template-name", "Nope", "--out", out)
    assert_one_error_line(proc, "no template called 'Nope'")
    assert_nothing_written(out)


def test_bad_worker_count(tmp_path):
    proc = run_cli("generate", "--seconds", "0.05", "--workers", "0", "--out", tmp_path / "d.h5")
    assert_one_error_line(proc, "--workers")
