"""Streaming surrogates: window forward equals unrolled steps, export, loading checks."""
import json
import zipfile

import numpy as np
import pytest
import torch

from surrogate_cell.cells import HayCell
from surrogate_cell.errors import SurrogateCellError
from surrogate_cell.model import load
from surrogate_cell.training.diversity import diversity, permanent, permanent_bruteforce
from surrogate_cell.training.export import export_model
from surrogate_cell.training.model import ModelConfig, Surrogate, mmoeex_gate_mask
from surrogate_cell.training.train import REGION_INDEX, local_rows
from tests.helpers import WIDE_RANGES

ARCHS = ("mh", "mmoe", "mmoeex")


@pytest.fixture(scope="module")
def cell():
    return HayCell()


def _config(arch, tower_hidden=4, **kw):
    kw.setdefault("local_path", True)
    kw.setdefault("soma_glm", True)
    return ModelConfig(arch=arch, n_groups=8, hidden=16, n_experts=3, expert_dim=8, tower_hidden=tower_hidden,
                       spike_kernel_ms=6, **kw)


def _model(cell, arch, tower_hidden=4, **kw):
    st = cell.segments
    dend = np.flatnonzero(~np.isin(st.region, ["soma", "axon"]))
    groups = np.array([REGION_INDEX[r] for r in st.region])
    cfg = _config(arch, tower_hidden, **kw)
    model = Surrogate(cfg, st.mid_um[dend], st.mid_um[dend], groups, np.full(len(st), -70.0), np.full(len(st), 4.0),
                      local_rows=local_rows(st, dend, dend))
    with torch.no_grad():  # the zero-initialised parts must take part in the checks
        torch.manual_seed(3)
        for p in (model.local.w_own, model.local.w_sec, model.spike_kernel, model.w_hist_v, model.h0):
            p.normal_(0.0, 0.5)
        for p in (model.local.w_soma, model.local.w_drive, model.soma_fit_slots):
            p.normal_(0.0, 0.05)
        model.soma_fit_w.normal_(0.0, 0.3)
        model.soma_fit_b.fill_(0.4)
    return model, dend


def _export(model, dend, cell, path, arch="mh", config=None):
    """Export a model of :func:`_model` (an AMPA and a GABA_A channel per dendritic segment); ``config``, its
    :func:`_config`, recorded where given."""
    kinds = np.array(["ampa"] * len(dend) + ["gaba_a"] * len(dend))
    return export_model(model, path, segments=cell.segments, channel_segment=np.concatenate([dend, dend]),
                        channel_kind=kinds, arch=arch, trained_inputs=WIDE_RANGES,
                        config=None if config is None else {"model": config.to_dict()})


def _spiking(model, x):
    """Put the spike threshold at the 97th percentile of the drive, so that the model fires now and then."""
    with torch.no_grad():
        _, drive, _, _ = model.drive(x, model.init_state(x.shape[0]))
        model.spike_logit_threshold.fill_(float(torch.quantile(drive, 0.97)))


@pytest.mark.parametrize("soma", ("glm", "none", "fit"))
@pytest.mark.parametrize("tower_hidden", (4, 0))
@pytest.mark.parametrize("arch", ARCHS)
def test_window_forward_equals_unrolled_steps(cell, arch, tower_hidden, soma):
    model, dend = _model(cell, arch, tower_hidden, soma_glm=soma == "glm", soma_fit=soma == "fit")
    torch.manual_seed(1)
    x = (torch.rand(2, 173, 2 * len(dend)) < 0.02).float() * 1.3
    _spiking(model, x)
    with torch.no_grad():
        v_z, logit, _, final = model(x, model.init_state(2))
        state, steps = model.init_state(2), []
        for t in range(x.shape[1]):
            v, p, state = model.step(x[:, t], state)
            steps.append(v)
    np.testing.assert_allclose(model.to_mV(v_z).numpy(), torch.stack(steps, 1).numpy(), atol=1e-3)
    np.testing.assert_allclose(final.numpy(), state.numpy(), rtol=1e-5, atol=1e-4)
    # and the window can be split: two halves with the state carried equal one pass
    with torch.no_grad():
        a, _, _, s1 = model(x[:, :90], model.init_state(2))
        b, _, _, _ = model(x[:, 90:], s1)
    np.testing.assert_allclose(torch.cat([a, b], 1).numpy(), v_z.numpy(), atol=1e-4)
    # the step writes its state in place where no gradient is needed; with gradients it must give the same
    v_g, _, s_g = model.step(x[:, 0], model.init_state(2).requires_grad_(True))
    v_g.sum().backward()
    np.testing.assert_allclose(v_g.detach().numpy(), steps[0].numpy(), atol=1e-5)


def test_spike_mechanism_fires_and_teacher_forcing_with_own_spikes_is_free_running(cell):
    model, dend = _model(cell, "mh", 0)
    torch.manual_seed(2)
    x = (torch.rand(2, 300, 2 * len(dend)) < 0.03).float()
    _spiking(model, x)
    with torch.no_grad():
        state = model.init_state(2)
        _, drive, _, _ = model.drive(x, state)
        _, _, hist0, _, prev0 = model._split(state)
        own, _, hist, _, _ = model.spike_loop(drive, hist0, prev0)
        free = model(x, state)
        forced = model(x, state, own)
    assert 2 <= own.sum() < 60  # fires, and the refractory history keeps it from firing every bin
    assert not (own[:, 1:] * own[:, :-1]).any()  # a spike is an upward crossing: never two bins in a row
    for a, b in zip(free, forced):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    # every segment's voltage carries the spike-triggered waveform and the spike history's slow part
    with torch.no_grad():
        without, _, _, _ = model.drive(x, state)
    t = int(torch.nonzero(own[0])[0, 0]) if own[0].any() else int(torch.nonzero(own[1])[0, 0])
    b = 0 if own[0].any() else 1
    inside = ((free[0][b, t] > model.z_low) & (free[0][b, t] < model.z_high)).numpy()  # not held at E_K / E_Na
    assert inside.mean() > 0.5
    expected = model.spike_kernel[:, 0] + model.w_hist_v @ hist[b, t]
    np.testing.assert_allclose((free[0] - without)[b, t].numpy()[inside], expected.detach().numpy()[inside], atol=1e-5)
    assert (model.to_mV(free[0]) >= -95.0 - 1e-4).all() and (model.to_mV(free[0]) <= 50.0 + 1e-4).all()


@pytest.mark.parametrize("arch", ARCHS)
def test_projected_step_equals_the_step_on_every_channel(cell, arch):
    """step_projected(x @ input_projection()) is step(x): what the runner feeds equals the channels' input."""
    model, dend = _model(cell, arch, 0, local_path=False, soma_glm=False, soma_fit=True)
    torch.manual_seed(4)
    x = torch.rand(3, 40, 2 * len(dend)) * (torch.rand(3, 40, 2 * len(dend)) < 0.05)
    _spiking(model, x)
    W = model.input_projection()
    assert W.shape == (2 * len(dend), 2 * model.n_groups)
    with torch.no_grad():
        a = b = model.init_state(3)
        for t in range(40):
            va, pa, a = model.step(x[:, t], a.clone())
            vb, pb, b = model.step_projected(x[:, t] @ W, b.clone())
            np.testing.assert_allclose(va.numpy(), vb.numpy(), atol=1e-4)
            np.testing.assert_allclose(pa.numpy(), pb.numpy(), atol=1e-6)
    local, _ = _model(cell, arch, 0)
    with pytest.raises(RuntimeError, match="local path"):
        local.step_projected(torch.zeros(1, 2 * local.n_groups), local.init_state(1))


@pytest.mark.parametrize("tower_hidden", (4, 0))
@pytest.mark.parametrize("arch", ARCHS)
def test_step_rows_is_the_full_step_on_those_rows(cell, arch, tower_hidden):
    """step_rows gives the full step's voltages on its rows (the soma's fitted read-out included), the same
    spikes and the same state, in place (inference) and with gradients."""
    model, dend = _model(cell, arch, tower_hidden, local_path=False, soma_glm=False, soma_fit=True)
    torch.manual_seed(5)
    x = torch.rand(3, 60, 2 * len(dend)) * (torch.rand(3, 60, 2 * len(dend)) < 0.05)
    _spiking(model, x)
    z = x @ model.input_projection()
    rows = torch.tensor([3, 0, len(cell.segments) - 1, 7])  # any order, the soma among them
    fired = 0
    for grad in (False, True):
        with torch.set_grad_enabled(grad):
            a = b = model.init_state(3)
            for t in range(60):
                va, pa, a = model.step_projected(z[:, t], a if grad else a.clone())
                vb, pb, b = model.step_rows(z[:, t], b if grad else b.clone(), rows)
                np.testing.assert_allclose(vb.detach().numpy(), va[:, rows].detach().numpy(), atol=1e-4)
                np.testing.assert_array_equal(pb.detach().numpy(), pa.detach().numpy())
                np.testing.assert_array_equal(b.detach().numpy(), a.detach().numpy())
                fired += int(model._split(a.detach())[3][:, 0].sum())  # spikes of this bin
    assert fired > 0  # the spike path (waveforms, history) takes part
    v, _, _ = model.step_rows(z[:, 0], model.init_state(3), torch.zeros(0, dtype=torch.long))
    assert v.shape == (3, 0)
    local, _ = _model(cell, arch, 0)
    with pytest.raises(RuntimeError, match="local path"):
        local.step_rows(torch.zeros(1, 2 * local.n_groups), local.init_state(1), rows)


def test_step_cost_does_not_grow_with_time(cell):
    model, dend = _model(cell, "mh")
    state = model.init_state(4)
    x = torch.zeros(4, 2 * len(dend))
    with torch.no_grad():
        for _ in range(50):
            _, _, state = model.step(x, state)
    assert state.shape == model.init_state(4).shape  # fixed-size state


def test_mmoeex_mask_enforced_in_gates(cell):
    model, dend = _model(cell, "mmoeex", exclusive_fraction=0.67)
    mask = model.gate_logmask.numpy() == 0
    assert not mask.all() and mask.any(axis=1).all()
    with torch.no_grad():
        # even with gate weights pushed towards a masked expert, its gate stays 0
        model.gate_b.data[:] = 50.0
        feat = torch.rand(5, model.n_feat)
        gates = model._gates(feat).numpy()
    assert np.all(gates[:, ~mask] < 1e-12)
    np.testing.assert_allclose(gates.sum(-1), 1.0, rtol=1e-5)


def test_gate_mask_rule():
    groups = np.repeat(np.arange(4), 5)
    mask = mmoeex_gate_mask(groups, 4, 0.5, seed=3)
    assert mask.shape == (20, 4)
    assert (mask.sum(1) >= 1).all()
    assert mask[:, 2:].all()  # only the first round(0.5*4)=2 experts are special


def test_permanent_is_exact():
    rng = np.random.default_rng(0)
    for n in (2, 3, 4, 6):
        a = rng.random((n, n))
        assert permanent(a) == pytest.approx(permanent_bruteforce(a), rel=1e-10)
    assert permanent(np.ones((3, 3))) == pytest.approx(6.0)


def test_diversity_metrics():
    same = torch.ones(10, 3, 4)
    d = diversity(same)
    assert d["score"] == 0 and d["determinant"] == 0
    e = torch.eye(3)[None].repeat(10, 1, 1)
    d = diversity(e)  # equidistant experts: D = 1 - I
    assert d["score"] == pytest.approx(6 / 9)
    assert d["determinant"] == pytest.approx(2.0)
    assert d["permanent"] == pytest.approx(2.0)


@pytest.mark.parametrize("arch", ARCHS)
def test_export_loads_without_training_code(cell, arch, tmp_path):
    model, dend = _model(cell, arch)
    path = _export(model, dend, cell, tmp_path / "m.pt", arch)
    code = ("import torch, sys\nm = torch.jit.load(sys.argv[1])\ns = m.init_state(2)\n"
            "v, p, s = m.step(torch.zeros(2, %d), s)\nassert 'surrogate_cell.training' not in sys.modules\n"
            "print(tuple(v.shape), tuple(p.shape))" % (2 * len(dend)))
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"(2, {len(cell.segments)}) (2,)"
    loaded = load(path)
    assert loaded.cell_digest == cell.segments.digest()
    assert loaded.n_channels == 2 * len(dend) and loaded.segments.section[0] == "soma[0]"
    assert path.stat().st_size < 20e6


def test_rescripted_keeps_weights_metadata_and_steps(cell, tmp_path):
    """A model file written anew with this version's code: the same weights, metadata and steps."""
    from surrogate_cell.training.export import rescripted

    opts = dict(local_path=False, soma_glm=False)
    model, dend = _model(cell, "mmoe", 0, **opts)
    src = _export(model, dend, cell, tmp_path / "m.pt", "mmoe", _config("mmoe", 0, **opts))
    dst = rescripted(src, tmp_path / "again.pt")
    a, b = load(src), load(dst)
    assert {k: v for k, v in a.metadata.items() if k != "metadata_sha256"} == \
        {k: v for k, v in b.metadata.items() if k != "metadata_sha256"}
    x = torch.rand(2, 2 * len(dend))
    with torch.no_grad():
        va, pa, _ = a.module.step(x, a.init_state(2))
        vb, pb, _ = b.module.step(x, b.init_state(2))
    np.testing.assert_array_equal(va.numpy(), vb.numpy())
    np.testing.assert_array_equal(pa.numpy(), pb.numpy())
    local = _export(*_model(cell, "mh"), cell, tmp_path / "local.pt", config=_config("mh"))
    unrecorded = _export(model, dend, cell, tmp_path / "bare.pt", "mmoe")
    for path, phrase in ((local, "local path"), (unrecorded, "model configuration")):
        with pytest.raises(ValueError, match=phrase):
            rescripted(path, tmp_path / "no.pt")
        assert not (tmp_path / "no.pt").exists()


def _rewrite_metadata(good, out, reseal=False, **changes):
    """A copy of model file ``good`` with metadata entries changed (and the metadata digest recomputed)."""
    from surrogate_cell.model import metadata_digest

    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith("extra/surrogate_cell.json"):
                meta = json.loads(data)
                meta.update(changes)
                if reseal:
                    try:
                        meta["metadata_sha256"] = metadata_digest(meta)
                    except ValueError:  # NaN or infinity: no digest can be made
                        pass
                data = json.dumps(meta).encode()
            zout.writestr(item, data)
    return out


def test_metadata_integrity(cell, tmp_path):
    """The metadata are covered by a digest and every entry is checked at load."""
    model, dend = _model(cell, "mh")
    good = _export(model, dend, cell, tmp_path / "good.pt", "mh")
    level = load(good).spike_probability
    # one byte of the stored spike level, edited in place
    raw = bytearray(good.read_bytes())
    at = raw.find(b'"spike_probability": ') + len(b'"spike_probability": ')
    raw[at] = ord("1") if raw[at] != ord("1") else ord("2")
    edited = tmp_path / "edited.pt"
    edited.write_bytes(bytes(raw))
    with pytest.raises(SurrogateCellError, match="metadata do not match their recorded digest"):
        load(edited)
    with pytest.raises(SurrogateCellError, match="NaN or infinity"):
        load(_rewrite_metadata(good, tmp_path / "nan.pt", spike_probability=float("nan")))
    # edits that keep a valid digest are still refused, naming the entry
    for key, value, why in (("spike_probability", 1.5, "outside"), ("spike_probability", None, "not a finite"),
                            ("spike_probability", min(level * 1.01, 0.99), "differs from the model's own"),
                            ("spike_threshold_mV", float("inf"), "NaN or infinity"),
                            ("dt_ms", 2.0, "every 1 ms"), ("spike_rule", "sometimes", "spike_rule"),
                            ("cell_digest", "0" * 64, "does not match the segment table"),
                            ("channels", {"segment": [0, 10**6], "kind": ["exc", "inh"]}, "segment-table row"),
                            ("channels", {"segment": [0, 1], "kind": ["exc", "gaba_b"]}, "'kind'"),
                            ("trained_inputs", {"ampa": {}}, "trained_inputs"),
                            ("trained_inputs", {**WIDE_RANGES, "nmda": {"tau_rise_ms": [2, 1], "tau_decay_ms": [1, 2],
                                                                        "peak_nS": [0, 1], "e_mV": 0}}, "'nmda'"),
                            ("segments", {"section": ["soma[0]"]}, "segment table")):
        bad = _rewrite_metadata(good, tmp_path / "bad.pt", reseal=True, **{key: value})
        with pytest.raises(SurrogateCellError, match=why):
            load(bad)
    # a version-2 file (summed event weights on dendritic channels) is refused, saying why and what to do
    old = _rewrite_metadata(good, tmp_path / "v2.pt", format_version=2)
    with pytest.raises(SurrogateCellError, match="version 2: its input is summed event weights.*retrain"):
        load(old)


def test_bad_model_files(cell, tmp_path):
    model, dend = _model(cell, "mh")
    good = _export(model, dend, cell, tmp_path / "good.pt", "mh")
    corrupt = tmp_path / "corrupt.pt"
    raw = bytearray(good.read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 4096] = b"\0" * 4096  # wider than the zip's alignment padding
    corrupt.write_bytes(bytes(raw))
    with pytest.raises(SurrogateCellError, match="corrupt|not a readable"):
        load(corrupt)
    newer = _rewrite_metadata(good, tmp_path / "newer.pt", format_version=99)
    with pytest.raises(SurrogateCellError, match="format version 99, newer"):
        load(newer)
    with pytest.raises(SurrogateCellError, match="not found"):
        load(tmp_path / "missing.pt")


def test_load_on_an_unavailable_device(cell, tmp_path):
    """Asking for a device the machine lacks names the device, not the file."""
    from surrogate_cell.errors import DeviceUnavailableError

    model, dend = _model(cell, "mh")
    path = _export(model, dend, cell, tmp_path / "m.pt", "mh")
    with pytest.raises(DeviceUnavailableError, match="not one a surrogate runs on"):
        load(path, device="tpu")
    if torch.cuda.is_available():
        assert load(path, device="cuda").n_channels == 2 * len(dend)
    else:
        with pytest.raises(DeviceUnavailableError, match="no CUDA device"):
            load(path, device="cuda")


def test_warm_start_copies_what_matches(cell):
    """load_matching (train --warm-start): every tensor of the same name and shape is copied, the rest stay."""
    from surrogate_cell.training.weights import load_matching

    source, _ = _model(cell, "mh", 0)
    target, _ = _model(cell, "mh", 0, local_path=False, soma_glm=False)
    before = target.local.w_own.detach().clone()
    copied, fresh = load_matching(target, source.state_dict())
    assert "experts.w_hh" in copied and torch.equal(target.experts.w_hh, source.experts.w_hh)
    assert torch.equal(target.t_w1, source.t_w1) and torch.equal(target.h0, source.h0)
    assert "local.w_own" in fresh and torch.equal(target.local.w_own, before)  # another shape: left as it was
