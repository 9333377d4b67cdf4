"""``surrogate-cell generate`` on the synthetic cell: determinism across workers
and MPI ranks, resumption after kill -9, and the recording convention.

Tiny sets (3 simulations of 200 ms after 100 ms of settling) keep each test
well under a minute on two cores.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from surrogate_cell.data.inputs import SimInputs, conductance_bins
from surrogate_cell.synapses import RECEPTORS, REVERSAL_MV
from tests.helpers import assert_one_error_line, run_cli

ARGS = ("--seconds", "0.6", "--sim-seconds", "0.2", "--settle-ms", "100", "--seed", "7", "--no-progress")


def digest(path):
    proc = run_cli("inspect", path, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["digest"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted 1-worker run."""
    out = tmp_path_factory.mktemp("ref") / "ref.h5"
    proc = run_cli("generate", *ARGS, "--workers", "1", "--out", out, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["status"] == "generated" and report["n_simulations"] == 3 and report["sim_ms"] == 200
    assert not Path(str(out) + ".parts").exists()
    return out, digest(out)


def test_reference_set_contents(reference):
    path, _ = reference
    with h5py.File(path, "r") as f:
        n_seg, n_ch = f["voltage_mV"].shape[2], f["inputs"].shape[2]
        assert n_ch == 4 * n_seg and n_seg == 663
        # channel r * S + s: receptor class r on segment s, every segment (soma and axon included)
        np.testing.assert_array_equal(f["channels/segment"][()], np.tile(np.arange(n_seg), 4))
        kinds = f["channels/kind"][()].astype("U")
        for r, name in enumerate(RECEPTORS):
            assert set(kinds[r * n_seg:(r + 1) * n_seg]) == {name}
            assert set(f["channels/reversal_mV"][r * n_seg:(r + 1) * n_seg]) == {REVERSAL_MV[name]}
        kinetics = f["sims/kinetics"][()]
        assert kinetics.shape == (3, 4, 4) and len({k.tobytes() for k in kinetics}) == 3  # drawn per simulation
        v = f["voltage_mV"][()]
        assert np.isfinite(v).all() and -100 < v.min() and v.max() < 70
        assert f.attrs["sim_dt_ms"] == 0.025 and f.attrs["celsius"] == 34.0 and f.attrs["settle_ms"] == 100
        off = f["events/offsets"][()]
        for i in range(3):  # stored inputs are the raw events' conductance with the simulation's kinetics
            sl = slice(off[i], off[i + 1])
            events = SimInputs(f["events/time_ms"][sl], f["events/channel"][sl], f["events/weight"][sl],
                               kinetics[i], "", 0)
            np.testing.assert_array_equal(f["inputs"][i], conductance_bins(events, 200, n_seg))
            assert (f["inputs"][i] >= 0).all() and f["inputs"][i][:, :n_seg].max() > 0
        spikes = f["spikes/times_ms"][()]
        assert np.all((spikes >= 0) & (spikes < 200))


def test_two_workers_give_the_same_digest(reference, tmp_path):
    out = tmp_path / "two.h5"
    proc = run_cli("generate", *ARGS, "--workers", "2", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert digest(out) == reference[1]
    again = run_cli("generate", *ARGS, "--workers", "2", "--out", out)
    assert again.returncode == 0 and "already complete" in again.stdout


def _mpiexec():
    exe = shutil.which("mpiexec")
    if exe is None:
        pytest.skip("mpiexec not found (Debian: apt-get install openmpi-bin libopenmpi-dev)")
    flags = []
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    if "Open MPI" in version or "OpenRTE" in version:
        flags = ["--oversubscribe"]
    return [exe, "-n", "2", *flags]


def test_mpiexec_two_ranks_give_the_same_digest(reference, tmp_path):
    cmd = _mpiexec()
    out = tmp_path / "mpi.h5"
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    proc = subprocess.run([*cmd, sys.executable, "-m", "surrogate_cell.cli", "generate", *ARGS, "--out", str(out),
                           "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["mpi_ranks"] == 2
    assert digest(out) == reference[1]


def _children(pid):
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_kill_minus_9_then_rerun_gives_the_same_digest(reference, tmp_path):
    out = tmp_path / "killed.h5"
    parts = Path(str(out) + ".parts")
    cmd = [sys.executable, "-m", "surrogate_cell.cli", "generate", *ARGS, "--workers", "1", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (parts / "sim_000000.npz").exists():
        assert proc.poll() is None, "generate ended before it could be killed"
        assert time.time() < deadline, "no part file appeared"
        time.sleep(0.05)
    workers = [c for c in _children(proc.pid)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # the workers die with their parent (PR_SET_PDEATHSIG)
    deadline = time.time() + 20
    while any(Path(f"/proc/{w}").exists() and "Z" not in Path(f"/proc/{w}/stat").read_text().split()[2]
              for w in workers if Path(f"/proc/{w}/stat").exists()):
        assert time.time() < deadline, "worker processes outlived the killed parent"
        time.sleep(0.1)
    assert not out.exists()  # nothing half-written where the data set belongs
    finished = sorted(p.name for p in parts.glob("sim_*.npz"))
    assert finished and len(finished) < 3
    # a damaged part (truncated, as by a full disk) is named, discarded and simulated again
    damaged = parts / finished[0]
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    rerun = run_cli("generate", *ARGS, "--workers", "1", "--out", out, "--json")
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["simulated_now"] == 3 - len(finished) + 1  # whole finished simulations are not redone
    assert f"discarded the damaged part file {damaged}" in rerun.stderr
    assert "Traceback" not in rerun.stderr
    assert not parts.exists()
    assert digest(out) == reference[1]


def test_recording_convention_on_the_detailed_cell(tmp_path):
    """One event at 12.3 ms (weight 0.7): voltage[11] (t = 12 ms) is untouched, voltage[12] (t = 13 ms) moved."""
    code = r"""
import json, numpy as np
from surrogate_cell.data import CellSpec, SimSettings
from surrogate_cell.data.inputs import SimInputs
from surrogate_cell.data.simulate import Simulator
sim = Simulator(CellSpec(), SimSettings(settle_ms=50))
c = 100  # AMPA on segment-table row 100, a dendritic segment
seg = int(sim.cell.channels.segment[c])
kinetics = np.array([[0.2, 3.0, 0.0, 2.0], [2.0, 70.0, 0.0, 0.0], [0.2, 8.0, -80.0, 1.0], [5.0, 200.0, -93.0, 0.0]])
def run(times, weights):
    ev = SimInputs(time_ms=np.array(times, float), channel=np.full(len(times), c, np.int32),
                   weight=np.array(weights, np.float32), kinetics=kinetics, regime="background", seed=0)
    return sim.run(ev, 30)
quiet = run([], [])
one = run([12.3], [0.7])
again = run([12.3], [0.7])
print(json.dumps({"seg": seg, "quiet": quiet.voltage_mV[:, seg].tolist(), "one": one.voltage_mV[:, seg].tolist(),
                  "again": again.voltage_mV[:, seg].tolist(), "shape": list(one.voltage_mV.shape)}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    quiet, one, again = (np.array(r[k]) for k in ("quiet", "one", "again"))
    assert r["shape"] == [30, 663]
    np.testing.assert_array_equal(one, again)  # a fresh finitialize each run
    np.testing.assert_array_equal(one[:12], quiet[:12])
    assert one[12] - quiet[12] > 0.05  # depolarised by the end of bin 12


def test_generate_dt_and_bench_dt(tmp_path):
    """``--dt-ms`` is the step the data are made with; ``bench dt`` compares steps against a finer reference."""
    out = tmp_path / "coarse.h5"
    proc = run_cli("generate", "--seconds", "0.2", "--settle-ms", "20", "--workers", "1", "--dt-ms", "0.05",
                   "--no-progress", "--out", out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["sim_dt_ms"] == 0.05
        geometry = json.loads(f["cell_geometry"][()].decode())
    assert geometry["source"] == "synthetic" and sum(geometry["nseg"]) == 663
    proc = run_cli("bench", "dt", "--sims", "2", "--sim-seconds", "0.3", "--settle-ms", "20", "--dt-ms", "0.05",
                   "--reference-dt-ms", "0.025", "--seed", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    fig = json.loads(proc.stdout)
    (row,) = fig["steps"]
    assert fig["reference_dt_ms"] == 0.025 and row["dt_ms"] == 0.05
    assert 0.3 < row["cost_vs_reference"] < 0.8  # half the steps
    assert 0.0 <= row["spike_f1_1ms"] <= row["spike_f1_2ms"] <= row["spike_f1_5ms"] <= 1.0
    assert 0.0 < row["soma_subthreshold_rmse_mv"] < 3.0 and 0.0 < row["compartment_rmse_mv_median"] < 3.0
    bad = run_cli("bench", "dt", "--dt-ms", "0.01", "--sims", "1")
    assert_one_error_line(bad, "coarser than the reference")
