"""``surrogate-cell evaluate`` on a real (tiny) generated data set, and its refusal of another cell's data."""
import json

import numpy as np
import pytest

from surrogate_cell.cells import HayCell, SyntheticL5PCParams
from surrogate_cell.training.export import export_model
from surrogate_cell.training.model import ModelConfig, Surrogate

from .conftest import assert_one_error_line, generate_small, run_cli


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return generate_small(tmp_path_factory.mktemp("eval") / "tiny.h5", 0.3, 0.3, seed=11)


def test_evaluate_default_model_json(tiny_data, tmp_path):
    proc = run_cli("evaluate", "--model", _default(), "--data", tiny_data, "--json", "--plot", tmp_path / "figs")
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)
    for key in ("spike_precision", "spike_recall", "spike_f1", "spike_f1_5ms", "spike_auc", "soma_rmse_mv",
                "soma_subthreshold_rmse_mv", "compartment_rmse_mv_median", "compartment_rmse_mv_p95",
                "region_rmse_mv", "rate_error", "spike_count_r_100ms", "nan_or_divergence"):
        assert key in figures
    assert figures["nan_or_divergence"] is False
    assert 0.0 < figures["compartment_rmse_mv_median"] < 30.0
    assert (tmp_path / "figs" / "heatmap.png").is_file()


def test_evaluate_refuses_another_cells_data(tiny_data, tmp_path):
    other = HayCell(synthetic=SyntheticL5PCParams(n_basal=6))  # another morphology
    st = other.segments
    dend = np.flatnonzero(~np.isin(st.region, ["soma", "axon"]))
    model = Surrogate(ModelConfig(arch="mh", n_groups=4, hidden=8, expert_dim=4, tower_hidden=0),
                      st.mid_um[dend], st.mid_um[dend], np.zeros(len(st), dtype=int),
                      np.full(len(st), -70.0), np.full(len(st), 5.0))
    path = export_model(model, tmp_path / "other.pt", segments=st, channel_segment=np.concatenate([dend, dend]),
                        channel_kind=np.array(["exc"] * len(dend) + ["inh"] * len(dend)), arch="mh")
    proc = run_cli("evaluate", "--model", path, "--data", tiny_data, "--json")
    assert_one_error_line(proc, "of another cell")


def _default():
    from surrogate_cell.model import default_model_path

    return default_model_path()
