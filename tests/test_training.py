"""Training on real (tiny) generated data: the CLI on several files, exact resumption, the learning curve."""
import json

import numpy as np
import pytest
import torch

from surrogate_cell.data import Dataset, DatasetUnion
from surrogate_cell.errors import DataError
from surrogate_cell.model import load
from surrogate_cell.training.model import ModelConfig
from surrogate_cell.training.train import TrainConfig, train
from tests.helpers import assert_one_error_line, generate_small, run_cli

TINY_MODEL = ["--groups", "4", "--hidden", "8", "--expert-dim", "4", "--tower-hidden", "0"]


@pytest.fixture(scope="module")
def two_sets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    return [generate_small(folder / f"d{seed}.h5", 0.6, 0.3, seed=seed) for seed in (21, 22)]


def _train_tiny(two_sets, out, *extra):
    """``train`` of a tiny MH model for 4 steps on ``two_sets`` into ``out`` (the CLI's process)."""
    proc = run_cli("train", "--data", *two_sets, "--arch", "mh", *TINY_MODEL, "--steps", "4", "--eval-every", "2",
                   "--window-ms", "200", "--batch-size", "2", "--threads", "1", "--out", out, "--no-progress", *extra)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def tiny_run(two_sets, tmp_path_factory):
    """A run folder of :func:`_train_tiny`, for the commands that refit a trained model (they only read it)."""
    out = tmp_path_factory.mktemp("tiny") / "run"
    _train_tiny(two_sets, out)
    return out


def _tiny_cfgs(steps=4):
    model = ModelConfig(arch="mh", n_groups=4, hidden=8, expert_dim=4, tower_hidden=0,
                        spike_kernel_ms=5)
    cfg = TrainConfig(window_ms=200, burn_in_ms=50, batch_size=2, max_steps=steps, eval_every=2, threads=1)
    return model, cfg


def test_train_cli_on_two_files_exports_a_spiking_model(two_sets, tmp_path):
    out = tmp_path / "run"
    summary = json.loads(_train_tiny(two_sets, out, "--json").stdout)
    assert summary["steps"] == 4
    model = load(out / "model.pt")
    union = DatasetUnion([Dataset(p) for p in two_sets])
    assert union.n_sims == 4
    assert model.metadata["data_digest"] == union.digest
    assert model.metadata["spike_rule"] == "probability"
    # the exported level is the one the model's own spike mechanism fires at
    assert abs(model.spike_probability - float(torch.sigmoid(model.module.spike_logit_threshold))) < 1e-6
    rows = (out / "log.csv").read_text().splitlines()
    assert len(rows) == 3 and "val_spike_f1_5ms" in rows[0]


def test_interrupted_training_resumes_exactly(two_sets, tmp_path):
    data = DatasetUnion([Dataset(p) for p in two_sets])
    model_cfg, cfg = _tiny_cfgs(steps=4)
    whole = train(data, tmp_path / "whole", model_cfg, cfg, progress=False)
    first = train(data, tmp_path / "split", model_cfg, cfg, progress=False, stop_after_steps=2)
    assert first["stopped"] == "interrupted" and first["steps"] == 2
    second = train(data, tmp_path / "split", model_cfg, cfg, progress=False)
    assert second["steps"] == 4
    a, b = whole["model"].state_dict(), second["model"].state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)


def test_weight_average_resumes_exactly_and_is_what_is_kept(two_sets, tmp_path):
    data = DatasetUnion([Dataset(p) for p in two_sets])
    model_cfg, cfg = _tiny_cfgs(steps=4)
    cfg = TrainConfig(**{**cfg.to_dict(), "ema_decay": 0.5, "patience": 100})
    whole = train(data, tmp_path / "whole", model_cfg, cfg, progress=False)
    train(data, tmp_path / "split", model_cfg, cfg, progress=False, stop_after_steps=2)
    second = train(data, tmp_path / "split", model_cfg, cfg, progress=False)
    for k, v in whole["model"].state_dict().items():
        np.testing.assert_array_equal(v.numpy(), second["model"].state_dict()[k].numpy(), err_msg=k)
    # the kept weights are the average, which lags the live weights of the last checkpoint
    saved = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=False)
    live, shadow = saved["model"], saved["ema"]["shadow"]
    best = torch.load(tmp_path / "whole" / "best.pt", weights_only=True)
    moved = [k for k in shadow if not torch.equal(live[k], shadow[k])]
    assert moved
    if saved["state"]["bad_checks"] == 0:  # the last check was the best: best.pt is that average
        for k in shadow:
            assert torch.equal(best[k], shadow[k]), k
    # without the average, the same seed trains other (live) weights
    plain = train(data, tmp_path / "plain", model_cfg, TrainConfig(**{**cfg.to_dict(), "ema_decay": None}),
                  progress=False)
    assert any(not torch.equal(v, plain["model"].state_dict()[k]) for k, v in whole["model"].state_dict().items())
    proc = run_cli("train", "--data", *two_sets, *TINY_MODEL, "--ema-decay", "1.5", "--window-ms", "200",
                   "--out", tmp_path / "bad")
    assert_one_error_line(proc, "decay must lie in (0, 1)", "--ema-decay")
    assert not (tmp_path / "bad").exists()


def test_learning_curve_cli(two_sets, tmp_path):
    out = tmp_path / "curve"
    proc = run_cli("learning-curve", "--data", two_sets[0], "--heldout", two_sets[1], "--seconds", "0.6",
                   "--minutes", "0.05", "--window-ms", "200", "--groups", "4", "--hidden", "8", "--expert-dim", "4", "--threads", "1",
                   "--out", out, "--json", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["model"] for r in rows] == ["chosen", "plain GRU"]
    assert all(r["seconds"] == 0.6 for r in rows)
    assert (out / "learning_curve.png").stat().st_size > 0 and (out / "learning_curve.md").is_file()


def test_data_union_refuses_mismatches(two_sets, tmp_path):
    sets = [Dataset(p) for p in two_sets]
    with pytest.raises(DataError, match="hold 4"):
        DatasetUnion(sets, max_sims=5)
    assert DatasetUnion(sets, max_sims=3).n_sims == 3
    proc = run_cli("train", "--data", *two_sets, "--data-seconds", "0.3", "--out", tmp_path / "x")
    assert_one_error_line(proc, "fewer than 2 simulations")
    proc = run_cli("train", "--data", *two_sets, "--window-ms", "400", "--out", tmp_path / "y")
    assert_one_error_line(proc, "do not fit simulations of 300 ms")


def test_fine_tuning_starts_from_the_given_weights(two_sets, tmp_path):
    data = DatasetUnion([Dataset(p) for p in two_sets])
    model_cfg, cfg = _tiny_cfgs(steps=2)
    base = train(data, tmp_path / "base", model_cfg, cfg, progress=False)
    # no steps: the fine-tuned model is exactly the run it started from
    zero = TrainConfig(**{**cfg.to_dict(), "max_steps": 0, "init_from": str(tmp_path / "base" / "best.pt")})
    same = train(data, tmp_path / "same", model_cfg, zero, progress=False)
    for k, v in base["model"].state_dict().items():
        np.testing.assert_array_equal(v.numpy(), same["model"].state_dict()[k].numpy(), err_msg=k)
    # two steps with the soma weighted: the weights move, and validation reports the soma's sub-threshold error
    tuned_cfg = TrainConfig(**{**cfg.to_dict(), "soma_loss_weight": 1.0, "init_from": str(tmp_path / "base" / "best.pt")})
    tuned = train(data, tmp_path / "tuned", model_cfg, tuned_cfg, progress=False)
    moved = [k for k, v in base["model"].state_dict().items()
             if not torch.equal(v, tuned["model"].state_dict()[k])]
    assert moved
    header = (tmp_path / "tuned" / "log.csv").read_text().splitlines()[0]
    assert "val_soma_subthreshold_rmse_mv" in header


def test_fine_tuning_refuses_other_weights(two_sets, tmp_path):
    proc = run_cli("train", "--data", *two_sets, *TINY_MODEL, "--init-from", tmp_path / "none.pt", "--window-ms", "200",
                   "--out", tmp_path / "a")
    assert_one_error_line(proc, "no such file", "best.pt")
    assert not (tmp_path / "a").exists()  # nothing half-made
    data = DatasetUnion([Dataset(p) for p in two_sets])
    model_cfg, cfg = _tiny_cfgs(steps=2)
    train(data, tmp_path / "base", model_cfg, cfg, progress=False)
    proc = run_cli("train", "--data", *two_sets, "--groups", "4", "--hidden", "16", "--expert-dim", "4",
                   "--init-from", tmp_path / "base" / "best.pt", "--window-ms", "200", "--out", tmp_path / "b")
    assert_one_error_line(proc, "another model configuration", "same model options")
    assert not (tmp_path / "b").exists()


def test_fit_soma_changes_the_soma_output_only(two_sets, tiny_run, tmp_path):
    from surrogate_cell.training.evaluate import evaluate

    out = tiny_run
    fitted = tmp_path / "fitted.pt"
    proc = run_cli("fit-soma", "--model", out / "model.pt", "--data", *two_sets, "--out", fitted, "--json",
                   "--no-progress", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    a, b = load(out / "model.pt"), load(fitted)
    fit = b.metadata["soma_fit"]
    assert b.metadata["config"]["model"]["soma_fit"] is True
    # ridge least squares: never worse than no correction on the simulations it was fitted on
    assert fit["all_after_mv"] <= fit["all_before_mv"] + 1e-9
    assert summary["ridge"] in (0.1, 1.0, 10.0, 100.0, 1000.0) and summary["val_before_mv"] > 0
    data = DatasetUnion([Dataset(p) for p in two_sets])
    ra, rb = evaluate(a, data), evaluate(b, data)
    for sa, sb in zip(ra["_traces"]["pred_spikes"], rb["_traces"]["pred_spikes"]):
        np.testing.assert_array_equal(sa, sb)  # the spike drive never sees the correction
    va, vb = ra["_traces"]["pred_v"], rb["_traces"]["pred_v"]
    np.testing.assert_allclose(va[..., 1:], vb[..., 1:], atol=1e-4)
    assert np.abs(va[..., 0] - vb[..., 0]).max() > 1e-3
    # bad input: other data, the same file as output, a model fitted already
    other = generate_small(tmp_path / "other.h5", 0.6, 0.3, seed=23)
    for args, phrase in (((out / "model.pt", [other], tmp_path / "x.pt"), "not the training data"),
                         ((out / "model.pt", two_sets, out / "model.pt"), "must differ"),
                         ((fitted, two_sets, tmp_path / "y.pt"), "already has a fitted soma")):
        proc = run_cli("fit-soma", "--model", args[0], "--data", *args[1], "--out", args[2], "--no-progress")
        assert_one_error_line(proc, phrase)
        assert not args[2].exists() or args[2] == out / "model.pt"


def test_fit_spikes_refits_the_history_and_the_threshold(two_sets, tiny_run, tmp_path):
    from surrogate_cell.training.evaluate import evaluate, sims_drive
    from surrogate_cell.training.export import training_model
    from surrogate_cell.training.spike_fit import spike_figures

    out = tiny_run
    fitted = tmp_path / "fitted.pt"
    proc = run_cli("fit-spikes", "--model", out / "model.pt", "--data", *two_sets, "--out", fitted, "--json",
                   "--no-progress", "--threads", "1", "--rounds", "1")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    b = load(fitted)
    fit = b.metadata["spike_history_fit"]["train"]
    # moves are kept only where they raise the objective on the simulations fitted on
    assert fit["after"]["objective"] >= fit["before"]["objective"]
    np.testing.assert_allclose(b.module.w_hist.detach().numpy(), summary["w_hist"], rtol=1e-6)
    assert abs(b.spike_probability - summary["level"]) < 1e-6
    # the batched search counts the spikes that the exported model's own steps give
    data = DatasetUnion([Dataset(p) for p in two_sets])
    train_sims = b.metadata["train_sims"]
    model = training_model(b, data)
    figs = spike_figures(model, sims_drive(model, data, train_sims), model.w_hist.detach()[None], [b.spike_probability])
    stepped = evaluate(b, data, sims=train_sims, n_boot=0)["_traces"]["pred_spikes"]
    assert figs[0]["spikes"] == sum(len(s) for s in stepped)
    for args, phrase in ((("--rounds", "0"), "at least 1"), (("--out", out / "model.pt"), "must differ")):
        dst = tmp_path / "x.pt"
        proc = run_cli("fit-spikes", "--model", out / "model.pt", "--data", *two_sets, "--out", dst,
                       "--no-progress", *args)
        assert_one_error_line(proc, phrase)
        assert not dst.exists()


def test_soma_subthreshold_loss_is_the_figure_it_targets(two_sets, tmp_path):
    """The training term, in mV², is the square of ``soma_subthreshold_rmse_mv``; fine-tuning with it moves
    the weights."""
    from surrogate_cell.training.metrics import soma_subthreshold_rmse_mv
    from surrogate_cell.training.train import soma_subthreshold_sq_err

    data = DatasetUnion([Dataset(p) for p in two_sets])
    model_cfg, cfg = _tiny_cfgs(steps=2)
    base = train(data, tmp_path / "base", model_cfg, cfg, progress=False)
    model = base["model"]
    rng = np.random.default_rng(0)
    true_mV = torch.from_numpy(rng.uniform(-80, 30, (2, 50, model.n_tasks)).astype(np.float32))
    pred_mV = true_mV + torch.from_numpy(rng.normal(0, 4, true_mV.shape).astype(np.float32))
    z = lambda mv: (mv - model.v_mean) / model.v_std  # noqa: E731
    std = float(model.v_std[model.soma_index])
    got = float(soma_subthreshold_sq_err(model, z(pred_mV), z(true_mV)).mean()) ** 0.5 * std
    want = soma_subthreshold_rmse_mv(pred_mV[..., 0].numpy(), true_mV[..., 0].numpy())
    assert want > 1.0 and abs(got - want) < 1e-3 * want
    sub_cfg = TrainConfig(**{**cfg.to_dict(), "soma_subthreshold_loss_weight": 2.0,
                             "init_from": str(tmp_path / "base" / "best.pt")})
    tuned = train(data, tmp_path / "sub", model_cfg, sub_cfg, progress=False)
    assert any(not torch.equal(v, tuned["model"].state_dict()[k]) for k, v in model.state_dict().items())


def test_compare_trains_every_architecture_and_the_paper_reference(two_sets, tmp_path):
    out = tmp_path / "cmp"
    proc = run_cli("compare", "--data", two_sets[0], "--out", out, "--minutes", "0.02", "--steps", "2",
                   "--groups", "4", "--hidden", "8", "--experts", "2", "--expert-dim", "4", "--window-ms", "200",
                   "--threads", "1", "--json", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    names = [r["model"] for r in rows]
    assert names == ["mh", "mh+lbtw", "mmoe", "mmoe+lbtw", "mmoeex", "mmoeex+lbtw", "paper (TCN, teacher-forced)"]
    by = {r["model"]: r for r in rows}
    for r in rows:
        assert np.isfinite(r["val_loss"]) and r["val_loss"] > 0, r
        assert np.isfinite(r["free_running_rmse_mv"]) and r["step_ms_batch1000"] > 0, r
        assert r["teacher_forced"] == (r["model"].startswith("paper")), r
    assert all(by[n]["steps"] == 2 for n in names[:-1])
    # two 8-unit experts cost more parameters than one; the paper's towers (663 × 800 × 10) dwarf all
    assert by["mmoe"]["parameters"] > by["mh"]["parameters"] == by["mh+lbtw"]["parameters"]
    assert by["paper (TCN, teacher-forced)"]["parameters"] > 5_000_000
    table = (out / "compare.md").read_text().splitlines()
    assert table[0].startswith("| model | val loss")
    assert len([ln for ln in table if ln.startswith(("| mh", "| mmoe"))]) == 6
    assert len([ln for ln in table if ln.startswith("| paper")]) == 1
    assert (out / "region_rmse.png").stat().st_size > 0
    assert (out / "mh" / "loss.png").stat().st_size > 0 and not (out / "mh" / "diversity.png").exists()
    assert (out / "mmoe" / "diversity.png").stat().st_size > 0


def test_lfp_tasks_are_the_lfp_of_the_voltages(two_sets, tmp_path):
    """The LFP tasks read the potentials and dipole moment off the voltages exactly as surrogate_cell.lfp does;
    trained with them, the loss and the log carry them and the exported model carries its cell."""
    from surrogate_cell.lfp import NetworkLFP, laminar_probe, vmem_to_imem_for
    from surrogate_cell.training.lfp_tasks import TASK_X_UM, TASK_Y_UM, task_kernels, task_matrix

    data = Dataset(two_sets[0])
    assert data.geometry is not None and data.geometry.n_segments == data.n_segments
    K = task_kernels(data.segments, data.geometry)
    n_y = len(TASK_Y_UM)
    assert K.shape == (2 * n_y + 3, data.n_segments)
    _, v, _ = data.window(0, 0, 100)
    net = NetworkLFP(laminar_probe(TASK_X_UM[1], 0.0, TASK_Y_UM), data.segments,
                     vmem_to_imem_for(data.segments, data.geometry), dipole=True)
    net.add_cell((0.0, 0.0, 0.0))
    np.testing.assert_allclose(v @ K[n_y:2 * n_y].T, net.compute(v[None].astype(np.float64)).T, rtol=1e-9)
    np.testing.assert_allclose(v @ K[-3:].T, net.compute_dipole(v[None].astype(np.float64)).T, rtol=1e-9)
    # each task row in units of its own spread: the true signal has unit std on the voltages it was scaled by
    W = task_matrix(data.segments, data.geometry, v, np.ones(data.n_segments))
    np.testing.assert_allclose((v @ W.T).std(axis=0), 1.0, rtol=1e-6)

    out = tmp_path / "run"
    proc = run_cli("train", "--data", two_sets[0], "--arch", "mh", *TINY_MODEL, "--steps", "2", "--eval-every", "2",
                   "--window-ms", "200", "--batch-size", "2", "--threads", "1", "--lfp-loss-weight", "1",
                   "--out", out, "--json", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    header, row = (out / "log.csv").read_text().splitlines()[:2]
    lfp_loss = float(row.split(",")[header.split(",").index("val_lfp_loss")])
    assert 0.0 < lfp_loss < 1e3
    model = load(out / "model.pt")
    assert model.geometry is not None and model.geometry.n_segments == model.n_segments
    proc = run_cli("evaluate", "--model", out / "model.pt", "--data", two_sets[1], "--lfp", "--json")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout.splitlines()[-1])["lfp_r_per_contact"]) == 8
