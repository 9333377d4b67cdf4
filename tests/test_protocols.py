"""Hay 2011 validation protocols: the published morphology against the published
traces, and the Hay signatures on the synthetic default morphology."""
import json

import numpy as np
import pytest

from surrogate_cell.cells.protocols import PROTOCOLS, run_protocols, spike_times
from tests.helpers import run_cli

PUBLISHED_STEP_COUNTS = {"step_0.619": 20, "step_0.793": 25, "step_1.507": 36}


@pytest.fixture(scope="module")
def cell1_traces(hay_reference):
    return run_protocols(hay_reference / "cell1.asc", workers=2, progress=False)


@pytest.fixture(scope="module")
def synthetic_traces(tmp_path_factory):
    # through the CLI, as a user runs it
    folder = tmp_path_factory.mktemp("synthetic")
    out = folder / "traces.npz"
    proc = run_cli("protocols", "--out", out, "--json", "--plot", folder / "plots", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    data = np.load(out)
    traces = {k: data[k] for k in data.files}
    traces["_json"] = json.loads(proc.stdout)
    traces["_plots"] = sorted(p.name for p in (folder / "plots").glob("*.png"))
    return traces


def test_cell1_reproduces_published_spikes(cell1_traces, hay_reference):
    ref = np.load(hay_reference / "protocols.npz")
    for name in PROTOCOLS:
        ours, theirs = cell1_traces[f"{name}/spike_times"], ref[f"{name}/spike_times"]
        assert len(ours) == len(theirs), name
        if len(theirs):
            assert np.abs(ours - theirs).max() <= 1.0, name


def test_cell1_bac_all_segments_rmse(cell1_traces, hay_reference):
    ref = np.load(hay_reference / "protocols.npz")
    for name in ("BAC", "BAP"):
        ours, theirs = cell1_traces[f"{name}/all_segments"], ref[f"{name}/all_segments"]
        assert ours.shape == theirs.shape == (642, 6000)
        rmse = float(np.sqrt(np.mean((ours.astype(float) - theirs) ** 2)))
        assert rmse <= 1.0, (name, rmse)


def test_cell1_keys_and_sampling_match_reference(cell1_traces, hay_reference):
    ref = np.load(hay_reference / "protocols.npz")
    assert set(cell1_traces) == set(ref.files)
    for key in ref.files:
        assert cell1_traces[key].shape == ref[key].shape, key
        assert cell1_traces[key].dtype == ref[key].dtype, key


def test_synthetic_hay_signatures(synthetic_traces):
    spikes = synthetic_traces["_json"]["spike_times_ms"]
    assert len(spikes["BAP"]) == 1
    assert len(spikes["EPSP"]) == 0
    assert len(spikes["BAC"]) >= 2
    assert synthetic_traces["BAC/apic620"].max() > -10.0  # dendritic Ca spike
    counts = [len(spikes[k]) for k in PUBLISHED_STEP_COUNTS]
    assert counts == sorted(counts) and len(set(counts)) == 3
    for name, published in PUBLISHED_STEP_COUNTS.items():
        assert abs(len(spikes[name]) - published) <= 0.3 * published, (name, len(spikes[name]))
    assert synthetic_traces["_plots"] == sorted(f"{n}.png" for n in PROTOCOLS)


def test_spike_times_helper():
    traces = {"BAP/spike_times": np.array([297.9]), "BAP/soma": np.zeros(3)}
    assert spike_times(traces) == {"BAP": [297.9]}
