"""The example network and the ``bench network`` command, run small."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import ROOT, assert_one_error_line, run_cli

EXAMPLE = ROOT / "examples" / "neuron_network.py"


def test_example_network_runs(probe_path, tmp_path):
    out = tmp_path / "net"
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--model", str(probe_path), "--out", str(out),
                           "--cells", "6", "--inh", "2", "--tstop", "40", "--background", "10"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("spikes.npz", "raster.png", "traces.png"):
        assert (out / name).stat().st_size > 0
    spikes = np.load(out / "spikes.npz")
    assert len(spikes["t_ms"]) > 0 and spikes["gid"].max() < 8


def test_example_without_a_model_says_so(tmp_path):
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--model", str(tmp_path / "missing.pt"),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "model file not found" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.bench
def test_bench_network_json(probe_path, tmp_path):
    proc = run_cli("bench", "network", "--model", probe_path, "--cells", "2", "--ms", "60", "--detailed-ms", "5",
                   "--detailed-cells", "1", "--inputs", "20", "--recurrent", "1", "--threads", "1", "--json",
                   timeout=300)
    assert proc.returncode == 0, proc.stderr
    fig = json.loads(proc.stdout)
    forms = fig["results"][0]["forms"]
    assert forms["surrogate_cpu"]["cells"] == 2 and forms["surrogate_cpu"]["torch_threads"] == 1
    assert "1 of 2 cells" in forms["detailed_dt0.025"]["shortened"]
    assert forms["detailed_dt0.1"]["dt_ms"] == 0.1
    assert set(fig["results"][0]["speedup"]) == {f"{d}/{s}" for d in ("detailed_dt0.025", "detailed_dt0.1")
                                                 for s in ("surrogate_cpu", "surrogate_cpu_played")}
    for key in ("model_ms_per_sim_ms", "runner_ms_per_sim_ms", "neuron_ms_per_sim_ms"):
        assert forms["surrogate_cpu"][key] >= 0
    # the same input spikes everywhere; the runner plays them in one form, NEURON delivers them in the others
    delivered = forms["surrogate_cpu"]["input_events"]
    assert delivered > 0 and forms["surrogate_cpu_played"]["input_events"] == delivered
    assert forms["surrogate_cpu_played"]["played_events"] > 0 and forms["surrogate_cpu"]["played_events"] == 0
    assert forms["surrogate_cpu"]["spikes"] > 0  # the probe model fires on every excitatory event
    assert fig["results"][0]["surrogate_spikes_agree"] is True
    # against itself as the baseline: every surrogate form's cost ratio is printed, and equals 1 on the same figures
    base = tmp_path / "base.json"
    base.write_text(proc.stdout)
    from surrogate_cell.cli.bench.network import against_baseline

    same = against_baseline(fig, fig)["2"]
    assert set(same) == {"surrogate_cpu", "surrogate_cpu_played"} and same["surrogate_cpu"]["ratio"] == 1.0
    text = run_cli("bench", "network", "--model", probe_path, "--cells", "2", "--ms", "20", "--inputs", "5",
                   "--recurrent", "1", "--forms", "surrogate_cpu", "--baseline", base, timeout=300)
    assert text.returncode == 0, text.stderr
    assert "surrogate_cpu cost against" in text.stdout and "ms per sim-ms; model part" in text.stdout
    assert_one_error_line(run_cli("bench", "network", "--model", probe_path, "--cells", "2", "--forms",
                                  "surrogate_cpu", "--baseline", base.parent / "missing.json"), "--baseline")


@pytest.mark.bench
def test_bench_network_busy_neighbours(probe_path):
    """--busy N runs each form again beside N busy processes and reports the slowdowns."""
    proc = run_cli("bench", "network", "--model", probe_path, "--cells", "2", "--ms", "40", "--inputs", "20",
                   "--recurrent", "1", "--forms", "surrogate_cpu", "--busy", "1", "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    fig = json.loads(proc.stdout)
    row = fig["results"][0]
    assert fig["busy_neighbours"] == 1 and row["busy_forms"]["surrogate_cpu"]["busy_neighbours"] == 1
    assert row["slowdown"]["surrogate_cpu"] > 0
    assert row["busy_forms"]["surrogate_cpu"]["spikes_digest"] == row["forms"]["surrogate_cpu"]["spikes_digest"]
    text = run_cli("bench", "network", "--model", probe_path, "--cells", "2", "--ms", "20", "--inputs", "5",
                   "--recurrent", "1", "--forms", "surrogate_cpu", "--busy", "1", timeout=300)
    assert "slowdown beside 1 busy processes, surrogate_cpu" in text.stdout


@pytest.mark.bench
def test_bench_network_bad_input(probe_path, tmp_path, hay_segments):
    assert_one_error_line(run_cli("bench", "network", "--model", probe_path, "--cells", "ten"), "--cells")
    assert_one_error_line(run_cli("bench", "network", "--model", tmp_path / "nope.pt"), "model file not found")
    assert_one_error_line(run_cli("bench", "network", "--model", probe_path, "--forms", "quantum"), "unknown forms")
