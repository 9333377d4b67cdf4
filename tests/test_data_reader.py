"""HDF5 assembly, the reader and the digest, on a small set assembled from
synthetic part files (no NEURON): the same code path as ``generate`` after
the simulations."""
import json

import h5py
import numpy as np
import pytest

from surrogate_cell.cells.segments import SegmentTable
from surrogate_cell.data import Dataset, data_digest
from surrogate_cell.data.cellspec import ChannelTable, input_channels, table_digest
from surrogate_cell.data.format import FORMAT_VERSION, generation_digest
from surrogate_cell.data.inputs import SimInputs, conductance_bins
from surrogate_cell.data.store import PartsDir, assemble
from surrogate_cell.errors import DataError
from tests.helpers import run_cli

N_SIMS, SIM_MS = 3, 300


def fake_segments():
    regions = np.array(["soma", "basal", "basal", "oblique", "tuft", "axon"])
    n = len(regions)
    pts = np.arange(n * 3, dtype=float).reshape(n, 3)
    return SegmentTable(section=np.array([f"s[{i}]" for i in range(n)]), x=np.full(n, 0.5), region=regions,
                        dist_um=np.arange(n, dtype=float) * 10, start_um=pts, mid_um=pts + 0.5, end_um=pts + 1,
                        diam_um=np.ones(n), length_um=np.full(n, 10.0), area_um2=np.full(n, 31.4))


N_CH = 24
#: 1 µs pulses of 1000 nS per unit weight: an event of weight w gives w nS of mean conductance in its own bin
PULSES = np.array([[0.0, 1e-3, 0.0, 1000.0], [0.0, 1e-3, 0.0, 1000.0], [0.0, 1e-3, -80.0, 1000.0],
                   [0.0, 1e-3, -93.0, 1000.0]])


def fake_set(folder, chunk_note=""):
    """Assemble N_SIMS fake simulations; sim 1 holds an event at 12.3 ms of weight 0.7 on channel 6."""
    out = folder / "fake.h5"
    segments = fake_segments()
    channels = input_channels(len(segments))  # 4 receptor classes × 6 segments
    params = {"format_version": FORMAT_VERSION, "n_sims": N_SIMS, "sim_ms": SIM_MS, "seed": 0, "note": chunk_note}
    parts = PartsDir(out)
    parts.open(params)
    digest = table_digest(segments)
    parts.write_cell(segments.to_dict(), channels.to_dict(), digest, {"kind": "fake", "morphology": "none"})
    rng = np.random.default_rng(0)
    truth = {}
    for i in range(N_SIMS):
        n_ev = 200
        t = np.sort(rng.uniform(0, SIM_MS, n_ev))
        c = rng.integers(0, N_CH, n_ev).astype(np.int32)
        w = rng.lognormal(0, 0.3, n_ev).astype(np.float32)
        if i == 1:
            keep = ~((c == 6) & (np.floor(t) == 12))  # alone in its bin
            t, c, w = np.r_[t[keep], 12.3], np.r_[c[keep], 6].astype(np.int32), np.r_[w[keep], np.float32(0.7)]
            order = np.argsort(t, kind="stable")
            t, c, w = t[order], c[order], w[order]
        volt = (rng.normal(-65, 5, (SIM_MS, len(segments)))).astype(np.float32)
        spikes = np.sort(rng.uniform(0, SIM_MS, [0, 4, 9][i]))
        inputs = SimInputs(time_ms=t, channel=c, weight=w, kinetics=PULSES,
                           regime=["background", "strong", "silence"][i],
                           seed=1000 + i)
        parts.write_part(i, voltage_mV=volt, spike_times_ms=spikes, inputs=inputs,
                         params_sha256=generation_digest(params),
                         cell_digest=digest)
        truth[i] = (volt, spikes, t, c, w)
    assemble(parts, params, {"seed": 0, "bin_ms": 1.0, "sim_dt_ms": 0.025, "celsius": 34.0, "settle_ms": 500,
                             "generator": "{}"})
    parts.remove()
    return out, truth


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    return fake_set(tmp_path_factory.mktemp("fake"))


def test_layout_matches_the_contract(fake):
    path, truth = fake
    with h5py.File(path, "r") as f:
        a = f.attrs
        assert a["format"] == "surrogate_cell.dataset" and a["format_version"] == 2
        assert a["n_simulations"] == N_SIMS and a["sim_ms"] == SIM_MS and a["bin_ms"] == 1.0
        for key in ("sim_dt_ms", "celsius", "settle_ms", "seed", "generator", "versions", "cell", "cell_digest"):
            assert key in a, key
        assert set(json.loads(a["versions"])) >= {"neuron", "torch", "numpy", "h5py", "surrogate_cell"}
        assert json.loads(a["cell"])["n_segments"] == 6 and json.loads(a["cell"])["n_channels"] == N_CH
        assert a["cell_digest"] == table_digest(fake_segments())
        assert f["voltage_mV"].shape == (N_SIMS, SIM_MS, 6) and f["voltage_mV"].dtype == np.float32
        assert f["inputs"].shape == (N_SIMS, SIM_MS, N_CH) and f["inputs"].dtype == np.float32
        assert f["voltage_mV"].chunks[0] == 1 and f["voltage_mV"].compression == "gzip"
        assert f["inputs"].compression == "gzip"
        assert list(f["channels/kind"][()]) == [b"ampa"] * 6 + [b"nmda"] * 6 + [b"gaba_a"] * 6 + [b"gaba_b"] * 6
        np.testing.assert_array_equal(f["sims/kinetics"][()], np.stack([PULSES] * N_SIMS))
        assert list(f["spikes/offsets"][()]) == [0, 0, 4, 13]
        assert f["sims/seed"].dtype == np.uint64 and list(f["sims/seed"][()]) == [1000, 1001, 1002]
        assert list(f["sims/regime"][()]) == [b"background", b"strong", b"silence"]
        np.testing.assert_allclose(f["sims/rate_hz"][()], np.array([0, 4, 9]) / 0.3)
        off = f["events/offsets"][()]
        for i, (volt, spikes, t, c, w) in truth.items():
            np.testing.assert_array_equal(f["voltage_mV"][i], volt)
            np.testing.assert_array_equal(f["events/time_ms"][off[i]:off[i + 1]], t)
            np.testing.assert_array_equal(f["events/channel"][off[i]:off[i + 1]], c)
            np.testing.assert_array_equal(f["events/weight"][off[i]:off[i + 1]], w)


def test_event_at_12_3ms_lands_in_bin_12(fake):
    path, _ = fake
    with h5py.File(path, "r") as f:
        assert f["inputs"][1, 12, 6] == np.float32(0.7)
    with Dataset(path) as ds:
        inputs, _, _ = ds.window(1, 10, 5)
        assert inputs[2, 6] == np.float32(0.7)


def test_inputs_are_the_events_conductance(fake):
    path, truth = fake
    with Dataset(path) as ds:
        for i, (_, _, t, c, w) in truth.items():
            inputs, _, _ = ds.window(i, 0, SIM_MS)
            events = SimInputs(t, c, w, ds.kinetics[i], "", 0)
            np.testing.assert_array_equal(inputs, conductance_bins(events, SIM_MS, 6))
            # 1 µs pulses: every event's weight in its own bin, but for the few in a bin's last 20 µs
            expected = np.zeros((SIM_MS, N_CH))
            np.add.at(expected, (np.floor(t).astype(int), c), w.astype(np.float64))
            close = np.isclose(inputs, expected, rtol=1e-6, atol=1e-6)
            assert close.mean() > 0.999
            et, ec, ew = ds.events(i)
            np.testing.assert_array_equal(et, t)


def test_window_matches_the_stored_arrays(fake):
    path, truth = fake
    with Dataset(path) as ds, h5py.File(path, "r") as f:
        assert ds.n_sims == N_SIMS and ds.sim_ms == SIM_MS and ds.n_segments == 6 and ds.n_channels == N_CH
        assert isinstance(ds.segments, SegmentTable) and list(ds.segments.region)[:2] == ["soma", "basal"]
        assert list(ds.channels.kind[:1]) == ["ampa"] and ds.channels.segment[7] == 1
        for sim, start, length in ((0, 0, 300), (1, 17, 100), (2, 250, 50)):
            inputs, volt, spikes = ds.window(sim, start, length)
            np.testing.assert_array_equal(inputs, f["inputs"][sim, start:start + length])
            np.testing.assert_array_equal(volt, f["voltage_mV"][sim, start:start + length])
            all_spikes = truth[sim][1]
            inside = all_spikes[(all_spikes >= start) & (all_spikes < start + length)] - start
            np.testing.assert_array_equal(spikes, inside)
        with pytest.raises(DataError, match="outside"):
            ds.window(0, 290, 20)
        with pytest.raises(DataError, match="out of range"):
            ds.window(3, 0, 10)


def test_iter_windows_streams_the_grid_and_balances_spikes(fake):
    path, truth = fake
    with Dataset(path) as ds:
        seen = []
        for batch in ds.iter_windows(100, batch_size=4, seed=1):
            assert batch.inputs.shape[1:] == (100, N_CH) and batch.voltage.shape[1:] == (100, 6)
            assert batch.spikes.shape[1] == 100
            for j in range(len(batch.sim)):
                inputs, volt, spikes = ds.window(batch.sim[j], batch.start_ms[j], 100)
                np.testing.assert_array_equal(batch.inputs[j], inputs)
                np.testing.assert_array_equal(batch.voltage[j], volt)
                assert batch.spikes[j].sum() == len(spikes)
                seen.append((int(batch.sim[j]), int(batch.start_ms[j])))
        assert sorted(seen) == [(s, k) for s in range(N_SIMS) for k in (0, 100, 200)]  # each grid window once
        # every window contains a somatic spike with spike_balance = 1; only sims 1 and 2 have spikes
        batches = list(ds.iter_windows(50, sims=[0, 1, 2], batch_size=8, seed=2, spike_balance=1.0, n_windows=40))
        assert sum(len(b.sim) for b in batches) == 40
        for b in batches:
            assert np.all(b.spikes.sum(axis=1) >= 1) and set(b.sim.tolist()) <= {1, 2}
        # a training split: only the chosen simulations
        assert {int(s) for b in ds.iter_windows(100, sims=[2], batch_size=2) for s in b.sim} == {2}


def test_digest_ignores_chunking_compression_and_metadata(fake, tmp_path):
    path, _ = fake
    copy = tmp_path / "rechunked.h5"
    with h5py.File(path, "r") as src, h5py.File(copy, "w") as dst:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                kw = {} if obj.ndim == 0 or obj.size == 0 else {"chunks": True, "compression": "lzf"}
                dst.create_dataset(name, data=obj[()], **kw)
        src.visititems(visit)
        for k, v in src.attrs.items():
            dst.attrs[k] = v
        dst.attrs["versions"] = "{}"
        dst.attrs["extra"] = "metadata"
    assert data_digest(copy) == data_digest(path)
    with h5py.File(copy, "a") as f:
        f["voltage_mV"][0, 0, 0] += 1.0
    assert data_digest(copy) != data_digest(path)


def test_inspect_json(fake):
    path, _ = fake
    proc = run_cli("inspect", path, "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["simulated_seconds"] == pytest.approx(0.9)
    assert info["n_segments"] == 6 and info["n_channels"] == N_CH and info["n_somatic_spikes"] == 13
    assert info["digest"] == data_digest(path)


def test_reader_and_inspect_refuse_other_files(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(DataError, match="not a surrogate_cell data set"):
        Dataset(other)
    text = tmp_path / "text.h5"
    text.write_text("hello")
    proc = run_cli("inspect", text)
    assert proc.returncode == 2 and "not an HDF5 file" in proc.stderr


def test_plot_data_writes_pngs(fake, tmp_path):
    path, _ = fake
    proc = run_cli("plot-data", path, "--out", tmp_path / "plots")
    assert proc.returncode == 0, proc.stderr
    for name in ("firing_rates.png", "voltage_distributions.png", "traces.png"):
        png = tmp_path / "plots" / name
        assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"


def test_parts_refuse_a_different_cell(tmp_path):
    parts = PartsDir(tmp_path / "d.h5")
    parts.open({"n_sims": 1})
    seg = fake_segments()
    ch = ChannelTable(segment=np.array([1]), kind=np.array(["ampa"]), reversal_mV=np.zeros(1))
    parts.write_cell(seg.to_dict(), ch.to_dict(), table_digest(seg), {})
    parts.write_cell(seg.to_dict(), ch.to_dict(), table_digest(seg), {})  # the same cell again: fine
    with pytest.raises(DataError, match="cell differs"):
        parts.write_cell(seg.to_dict(), ch.to_dict(), "0" * 64, {})
    parts.remove()


def _copy_with(src, dst, change):
    dst.write_bytes(src.read_bytes())
    with h5py.File(dst, "a") as f:
        change(f)
    return dst


def test_damaged_or_incomplete_files_are_one_error_line(fake, tmp_path):
    """A corrupted chunk, a missing array, another format version: one error line from inspect, no traceback."""
    from .helpers import assert_one_error_line

    path, _ = fake
    with h5py.File(path, "r") as f:
        chunk = f["voltage_mV"].id.get_chunk_info(0)
    raw = bytearray(path.read_bytes())
    raw[chunk.byte_offset:chunk.byte_offset + 64] = b"\xff" * 64
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(bytes(raw))
    assert run_cli("inspect", corrupt, "--no-digest").returncode == 0  # the tables are intact
    assert_one_error_line(run_cli("inspect", corrupt), "cannot read /voltage_mV", "damaged")
    with pytest.raises(DataError, match="damaged"):
        Dataset(corrupt).window(0, 0, 10)
    missing = _copy_with(path, tmp_path / "missing.h5", lambda f: f.__delitem__("inputs"))
    assert_one_error_line(run_cli("inspect", missing), "lacks", "'inputs'")
    newer = _copy_with(path, tmp_path / "newer.h5", lambda f: f.attrs.__setitem__("format_version", 99))
    assert_one_error_line(run_cli("inspect", newer), "format_version 99", f"understands {FORMAT_VERSION}")


def test_output_options_naming_the_wrong_kind_of_path(fake, tmp_path):
    """--out / --plot naming an existing file (or a file path naming a folder): one error line, nothing written."""
    from .helpers import assert_one_error_line

    path, _ = fake
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    assert_one_error_line(run_cli("plot-data", path, "--out", taken), "--out", "is an existing file")
    assert_one_error_line(run_cli("evaluate", "--model", taken, "--data", path, "--plot", taken), "--plot", "is an existing file")
    assert_one_error_line(run_cli("train", "--data", path, "--out", taken / "run"), "--out", "which is a file")
    assert_one_error_line(run_cli("protocols", "--plot", taken, "--json"), "--plot", "is an existing file")
    assert_one_error_line(run_cli("protocols", "--out", tmp_path, "--json"), "--out", "is a folder")
    assert taken.read_text() == "keep me"
