"""examples/netpyne_column.py runs end to end, small (detailed and swapped, one figure)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from tests.helpers import ROOT

EXAMPLE = ROOT / "examples" / "netpyne_column.py"


def test_netpyne_column_example_runs(probe_path, tmp_path):
    out = tmp_path / "column"
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--model", str(probe_path), "--out", str(out),
                           "--cells", "2", "--inh", "1", "--duration-ms", "30", "--skip-ms", "10"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert len(list(out.glob("l5pc_rule_*.json"))) == 1
    for name in ("detailed.npz", "surrogate.npz", "comparison.png", "fidelity.json",
                 "lfp_comparison.png", "lfp_laminar.png"):
        assert (out / name).stat().st_size > 0, name
    report = json.loads((out / "fidelity.json").read_text())
    assert report["L5"]["cells"] == 2 and report["FS"]["cells"] == 1
    assert len(report["lfp"]["per_electrode_r"]) == 6
    det, sur = np.load(out / "detailed.npz"), np.load(out / "surrogate.npz")
    assert det["lfp"].shape == sur["lfp"].shape == (60, 6)
    assert det["V_soma/cell_0"].shape == sur["V_soma/cell_0"].shape == det["t"].shape
    assert len(sur["spkt"]) > 0


def test_netpyne_column_example_bad_model(tmp_path):
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--model", str(tmp_path / "missing.pt"), "--out",
                           str(tmp_path / "o"), "--cells", "1", "--duration-ms", "10"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 2
    assert "netpyne_column: error: model file not found" in proc.stderr and "Traceback" not in proc.stderr
