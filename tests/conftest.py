"""Shared fixtures. Tests use the real NEURON with the project's compiled mechanisms."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
HAY_REFERENCE = SHARED / "reference" / "hay2011"


@pytest.fixture(scope="session")
def hay_reference() -> Path:
    """The published Hay model's reference folder in ``../shared`` (skips where absent)."""
    if not (HAY_REFERENCE / "protocols.npz").is_file():
        pytest.skip(f"reference data not found at {HAY_REFERENCE}: ../shared is absent on this machine")
    return HAY_REFERENCE


def run_cli(*args, env=None, timeout=600, cwd=None):
    """Run ``surrogate-cell`` in a subprocess; returns the CompletedProcess (text)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "surrogate_cell.cli", *map(str, args)],
                          capture_output=True, text=True, env=full_env, timeout=timeout, cwd=cwd)


def run_script_result(folder, source: str, timeout=300) -> str:
    """Run ``source`` as a Python script in a subprocess (in ``folder``), for runs whose failure would be an
    abort; it must exit 0 and print a line ``RESULT ...``. Returns the text after the last ``RESULT ``."""
    script = Path(folder) / "run.py"
    script.write_text(source)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=timeout, cwd=folder)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-3000:]
    return lines[-1].split(" ", 1)[1]


def generate_small(path, seconds: float, sim_seconds: float, seed: int):
    """A small real data set on the default cell (one worker, 50 ms settling); returns ``path``."""
    proc = run_cli("generate", "--seconds", seconds, "--sim-seconds", sim_seconds, "--settle-ms", "50",
                   "--workers", "1", "--seed", seed, "--out", path, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return path


def assert_same_spikes(a, b, tol_ms: float = 1e-6):
    """Two spike lists ``[[t_ms, gid], ...]`` hold the same spikes, times equal within ``tol_ms``.

    Runs on different rank counts step the float32 model on batches of other
    sizes, and BLAS rounds a product differently for another batch size, so
    interpolated crossing times may differ in their last bits (about 1e-8 ms),
    never more.
    """
    import numpy as np

    a = np.asarray(sorted(a, key=lambda s: (s[1], s[0])), dtype=np.float64).reshape(-1, 2)
    b = np.asarray(sorted(b, key=lambda s: (s[1], s[0])), dtype=np.float64).reshape(-1, 2)
    assert a.shape == b.shape, f"{len(a)} spikes against {len(b)}"
    np.testing.assert_array_equal(a[:, 1], b[:, 1])
    np.testing.assert_allclose(a[:, 0], b[:, 0], rtol=0, atol=tol_ms)


def assert_one_error_line(proc, *fragments):
    """A failed command: non-zero exit, one 'surrogate-cell: error:' line naming the fragments."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("surrogate-cell: error:")]
    assert len(errors) == 1, proc.stderr
    for frag in fragments:
        assert frag in errors[0], errors[0]
    return errors[0]
