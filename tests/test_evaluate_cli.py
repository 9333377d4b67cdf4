"""``surrogate-cell evaluate`` on a real (tiny) generated data set, and its refusal of another cell's data."""
import json

import numpy as np
import pytest

from surrogate_cell.cells import HayCell, SyntheticL5PCParams
from tests.helpers import assert_one_error_line, export_untrained, generate_small, run_cli


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return generate_small(tmp_path_factory.mktemp("eval") / "tiny.h5", 0.3, 0.3, seed=11)


def test_evaluate_default_model_json(tiny_data, tmp_path):
    proc = run_cli("evaluate", "--model", _default(), "--data", tiny_data, "--json", "--lfp", "--plot",
                   tmp_path / "figs")
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)
    for key in ("spike_precision", "spike_recall", "spike_f1", "spike_f1_5ms", "spike_auc", "soma_rmse_mv",
                "soma_subthreshold_rmse_mv", "compartment_rmse_mv_median", "compartment_rmse_mv_p95",
                "region_rmse_mv", "rate_error", "spike_count_r_100ms", "nan_or_divergence"):
        assert key in figures
    assert figures["nan_or_divergence"] is False
    assert 0.0 < figures["compartment_rmse_mv_median"] < 30.0
    boot = figures["bootstrap"]
    assert boot["n_simulations"] == 1 and boot["level"] == 0.95  # one simulation: every resample is itself
    assert boot["soma_subthreshold_rmse_mv"] == pytest.approx([figures["soma_subthreshold_rmse_mv"]] * 2)
    assert "less than 120 s swing widely" in proc.stderr
    assert (tmp_path / "figs" / "heatmap.png").is_file()
    assert figures["lfp_contact_y_um"] == list(np.arange(-200.0, 1201.0, 200.0)) and figures["lfp_contact_x_um"] == 50.0
    r, rms = np.array(figures["lfp_r_per_contact"]), np.array(figures["lfp_rms_ratio"])
    assert r.shape == rms.shape == (8,) and np.all(np.abs(r) <= 1.0) and np.all(rms > 0)
    assert figures["lfp_r_min"] == pytest.approx(r.min())
    # several files of one cell are one held-out set: the same file twice doubles the simulations
    twice = run_cli("evaluate", "--model", _default(), "--data", tiny_data, tiny_data, "--json")
    assert twice.returncode == 0, twice.stderr
    doubled = json.loads(twice.stdout)
    assert doubled["bootstrap"]["n_simulations"] == 2 * figures["bootstrap"]["n_simulations"]
    assert doubled["rate_error"] == pytest.approx(figures["rate_error"])


def test_lfp_fidelity_of_the_truth_itself(tiny_data):
    """The LFP of the true voltages against itself: r = 1; and a constant offset on every segment leaves the
    LFP unchanged (membrane currents are axial differences: T has zero row sums)."""
    from surrogate_cell.data import Dataset
    from surrogate_cell.training.evaluate import lfp_fidelity

    ds = Dataset(tiny_data)
    true_v = [ds.window(s, 0, ds.sim_ms)[1] for s in range(ds.n_sims)]
    same = lfp_fidelity({"_traces": {"true_v": true_v, "pred_v": [v + 7.5 for v in true_v]}}, ds.segments)
    np.testing.assert_allclose(same["lfp_r_per_contact"], 1.0, atol=1e-9)
    np.testing.assert_allclose(same["lfp_rms_ratio"], 1.0, atol=1e-6)
    # a wrong dendritic voltage pattern does change it
    noisy = [v + np.random.default_rng(0).normal(0, 5.0, v.shape).astype(np.float32) for v in true_v]
    worse = lfp_fidelity({"_traces": {"true_v": true_v, "pred_v": noisy}}, ds.segments, x_um=100.0)
    assert worse["lfp_r_min"] < 0.9 and worse["lfp_contact_x_um"] == 100.0


def test_evaluate_refuses_another_cells_data(tiny_data, tmp_path):
    other = HayCell(synthetic=SyntheticL5PCParams(n_basal=6))  # another morphology
    path = export_untrained(tmp_path / "other.pt", other.segments, hidden=8, n_groups=4, expert_dim=4,
                            tower_hidden=0)
    proc = run_cli("evaluate", "--model", path, "--data", tiny_data, "--json")
    assert_one_error_line(proc, "of another cell")


def _default():
    """The shipped model of the synthetic cell, which the tiny data are of."""
    from surrogate_cell.model import shipped_model_path

    return shipped_model_path("synthetic")


def test_bootstrap_intervals_resample_simulations():
    """Two simulations with soma errors of 1 and 3 mV: resamples hold (1, 1), (1, 3) or (3, 3), so the 95 %
    interval of the soma RMSE is [1, 3] mV; identical simulations give a point."""
    from surrogate_cell.training.metrics import BOOTSTRAP_FIGURES, bootstrap_intervals

    true = [np.full((200, 3), -70.0), np.full((200, 3), -70.0)]
    pred = [true[0] - 1.0, true[1] - 3.0]
    spikes = [np.array([10.0, 120.0]), np.array([50.0])]
    ci = bootstrap_intervals(true, pred, spikes, [spikes[0] + 1.0, spikes[1] + 4.0], n_boot=400, seed=1)
    assert set(BOOTSTRAP_FIGURES) <= set(ci) and ci["n_simulations"] == 2 and ci["n_boot"] == 400
    assert ci["soma_subthreshold_rmse_mv"] == pytest.approx([1.0, 3.0])
    assert ci["compartment_rmse_mv_median"] == pytest.approx([1.0, 3.0])
    assert ci["spike_f1_5ms"] == pytest.approx([1.0, 1.0]) and ci["rate_error"] == pytest.approx([0.0, 0.0])
    assert ci["spike_f1"][0] == pytest.approx(0.0) and ci["spike_f1"][1] == pytest.approx(1.0)
    same = bootstrap_intervals([true[0]] * 3, [pred[0]] * 3, [spikes[0]] * 3, [spikes[0]] * 3, n_boot=50)
    assert same["soma_subthreshold_rmse_mv"] == pytest.approx([1.0, 1.0])
