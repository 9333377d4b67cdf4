"""Population LFP: placement as LFPy places cells, invariances, superposition, dipole limit."""
from __future__ import annotations

import numpy as np
import pytest

from surrogate_cell.cells import HayCell
from surrogate_cell.cli.bench.lfp_step import bench_lfp_overhead
from surrogate_cell.lfp import (ElectrodeConfig, LFPRecorder, NetworkLFP, Placement, laminar_probe, mea_grid,
                                vmem_to_imem)
from surrogate_cell.lfp.electrodes import dipole_potential
from surrogate_cell.lfp.lowrank import LowRankLFP, ReadoutLFP, current_basis, relative_error
from surrogate_cell.lfp.network import soma_centre
from tests.helpers import drive_synapses, record_run, somatic_spikes


@pytest.fixture(scope="module")
def cell_T_V():
    """Synthetic cell, its T, and voltages (segments × 120 samples at 1 ms) of a spiking run."""
    cell = HayCell()
    keep = drive_synapses(cell, seed=5)
    run = record_run(cell, 120.0)
    V = run["V"][:, 40::40]                  # every 1 ms, t = 1 .. 120 ms
    assert V.shape[1] == 120 and somatic_spikes(run["V"][0]) >= 2
    T = vmem_to_imem(cell)
    del keep
    return cell, T, V


def _random_rotation(rng):
    return tuple(rng.uniform(-np.pi, np.pi, 3))


def test_placement_matches_LFPy_set_rotation_and_set_pos(cell_T_V):
    import LFPy

    cell = cell_T_V[0]
    table = cell.segments
    lcell = LFPy.Cell(morphology=cell.all, nsegs_method=None, delete_sections=False, Ra=None, cm=None)
    lcell.set_pos(*soma_centre(table))
    for order, rot, pos in (("xyz", (0.3, -1.1, 2.0), (100.0, -50.0, 30.0)),
                            ("zyx", (-0.7, 0.4, 1.3), (-20.0, 400.0, 5.0))):
        lcell.set_rotation(x=rot[0], y=rot[1], z=rot[2], rotation_order=order)
        lcell.set_pos(*pos)
        place = Placement(pos, rot, order, "soma")
        start = np.c_[lcell.x[:, 0], lcell.y[:, 0], lcell.z[:, 0]]
        end = np.c_[lcell.x[:, -1], lcell.y[:, -1], lcell.z[:, -1]]
        assert np.abs(place.apply(table.start_um, table) - start).max() < 1e-3
        assert np.abs(place.apply(table.end_um, table) - end).max() < 1e-3
        # undo for the next round: back to the table's frame
        lcell.set_pos(*soma_centre(table))
        lcell.set_rotation(x=-rot[0], y=-rot[1], z=-rot[2], rotation_order=order[::-1])
    lcell.strip_hoc_objects()


@pytest.mark.parametrize("kind", ["line", "point", "soma_as_point"])
def test_rotating_and_moving_cell_and_electrodes_together_leaves_the_LFP_unchanged(cell_T_V, kind):
    cell, T, V = cell_T_V
    rng = np.random.default_rng(11)
    c = soma_centre(cell.segments)
    contacts = np.array([[40.0, 0.0, 0.0], [0.0, 300.0, 60.0], [-80.0, 900.0, 10.0], [30.0, -150.0, -40.0]])
    ref = NetworkLFP(ElectrodeConfig(contacts, kind), cell.segments, T)
    ref.add_cell(c)
    rot, pos = _random_rotation(rng), np.array([250.0, -600.0, 75.0])
    place = Placement(pos, rot, "xyz", "soma")
    moved_contacts = (contacts - c) @ place.rotation_matrix().T + pos
    moved = NetworkLFP(ElectrodeConfig(moved_contacts, kind), cell.segments, T)
    moved.add_placement(place)
    a, b = ref.compute(V.T[None]), moved.compute(V.T[None])
    assert np.abs(a - b).max() <= 1e-9 * np.abs(a).max()


def test_two_cells_sum_to_the_single_cell_LFPs(cell_T_V):
    cell, T, V = cell_T_V
    electrodes = laminar_probe(150.0, 20.0, np.arange(-200.0, 1201.0, 200.0))
    places = [Placement((0.0, 0.0, 0.0)), Placement((300.0, 50.0, -40.0), (0.0, 1.0, 0.2))]
    Vs = np.stack([V.T, np.roll(V.T, 37, axis=0)])       # (cells, times, segments)
    both = NetworkLFP(electrodes, cell.segments, T)
    singles = []
    for p, v in zip(places, Vs):
        both.add_placement(p)
        one = NetworkLFP(electrodes, cell.segments, T)
        one.add_placement(p)
        singles.append(one.compute(v[None]))
    total = both.compute(Vs)
    assert total.shape == (electrodes.n_contacts, V.shape[1])
    np.testing.assert_allclose(total, singles[0] + singles[1], rtol=0, atol=1e-12 * np.abs(total).max())
    # one step at a time gives the same as the batch over time
    np.testing.assert_allclose(both.compute(Vs[:, 17]), total[:, 17], rtol=1e-12, atol=0)


def test_far_field_is_the_current_dipole(cell_T_V):
    cell, T, V = cell_T_V
    c = soma_centre(cell.segments)
    directions = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.6, 0.8, 0.0], [0.0, -0.6, 0.8]])
    errors = {}
    for dist_mm in (5.0, 20.0, 50.0):
        contacts = c + directions * dist_mm * 1e3
        lfp = NetworkLFP(ElectrodeConfig(contacts, "line"), cell.segments, T, dipole=True)
        lfp.add_cell(c)
        V_c = V.T[None]
        p = lfp.compute_dipole(V_c)                         # (3, times) nA·µm
        # the dipole placed 300 µm up the apical axis, inside the cell's extent (any point there
        # gives the same far-field limit; the choice only changes the higher-order error)
        approx = dipole_potential(p, contacts - (c + np.array([0.0, 300.0, 0.0])))
        exact = lfp.compute(V_c)
        errors[dist_mm] = relative_error(approx, exact)
    print("\n[dipole limit] relative error of p·r/(4πσr³) vs full LFP: "
          + ", ".join(f"{d:g} mm {e:.3%}" for d, e in errors.items()))
    assert errors[50.0] < 0.02 and errors[20.0] < 0.05
    assert errors[50.0] < errors[20.0] < errors[5.0]


def test_dipole_kernels_are_lfpykit_current_dipole_moment(cell_T_V):
    import lfpykit

    cell, T, V = cell_T_V
    t = cell.segments
    lfp = NetworkLFP(laminar_probe(50.0, 0.0, [0.0, 500.0]), t, T, dipole=True)
    lfp.add_cell(soma_centre(t))
    geometry = lfpykit.CellGeometry(x=np.c_[t.start_um[:, 0], t.end_um[:, 0]], y=np.c_[t.start_um[:, 1], t.end_um[:, 1]],
                                    z=np.c_[t.start_um[:, 2], t.end_um[:, 2]], d=t.diam_um)
    D = lfpykit.CurrentDipoleMoment(geometry).get_transformation_matrix()
    np.testing.assert_allclose(lfp.dipole_kernels[0], D @ T, rtol=0, atol=1e-12 * np.abs(D @ T).max())


def test_point_kind_is_the_point_source_formula(cell_T_V):
    cell, T, _ = cell_T_V
    t = cell.segments
    contact = np.array([[500.0, 200.0, -300.0]])
    M = ElectrodeConfig(contact, "point", sigma_S_m=0.3).matrix(t.start_um, t.end_um, t.diam_um)
    mid = (t.start_um + t.end_um) / 2
    expected = 1.0 / (4 * np.pi * 0.3 * np.linalg.norm(contact - mid, axis=1))   # mV per nA (µm, S/m)
    np.testing.assert_allclose(M[0], expected, rtol=1e-12)


def test_recorder_matches_compute(cell_T_V):
    cell, T, V = cell_T_V
    lfp = NetworkLFP(mea_grid(3, 4, 100.0, centre_um=(0.0, 300.0, 60.0)), cell.segments, T)
    for k in range(3):
        lfp.add_cell((k * 120.0, 0.0, -k * 50.0), (0.0, k * 0.7, 0.0))
    Vs = np.stack([np.roll(V.T, 13 * k, axis=0) for k in range(3)])    # (cells, times, segments)
    exact = lfp.compute(Vs)
    import torch

    for dtype, tol in (("float64", 1e-12), ("float32", 1e-5)):
        rec = LFPRecorder(lfp.n_contacts, dtype=dtype)
        group = rec.add_group(lfp.kernels)
        rec.start(5)  # samples at t = 5, 6, ... ms
        for step in range(Vs.shape[1]):
            rec.record(5 + step, group, torch.from_numpy(Vs[:, step]))
        got = rec.lfp()
        assert got.shape == exact.shape and rec.t[0] == 5.0 and len(rec.t) == Vs.shape[1]
        assert np.abs(got - exact).max() <= tol * np.abs(exact).max()
    # as the runner calls it: float32 tensors under inference mode, a rest voltage, a subset of the rows
    rec = LFPRecorder(lfp.n_contacts)
    group = rec.add_group(lfp.kernels[::-1], rows=[2, 1, 0])
    rec.start(0)
    rec.start_group(group, V[:, 0], add_rest=False)
    with torch.inference_mode():
        for step in range(Vs.shape[1]):
            rec.record(step, group, torch.from_numpy(Vs[:, step].astype(np.float32)))
    assert np.abs(rec.lfp() - exact).max() <= 1e-5 * np.abs(exact).max()


def test_low_rank_lfp_converges_to_the_exact_one(cell_T_V):
    cell, T, V = cell_T_V
    lfp = NetworkLFP(laminar_probe(80.0, 0.0, np.arange(-200.0, 1201.0, 100.0)), cell.segments, T)
    lfp.add_cell((0.0, 0.0, 0.0))
    lfp.add_cell((200.0, 0.0, 100.0), (0.0, 2.0, 0.0))
    fit, test = V[:, :80], V[:, 80:]
    Vs = np.stack([test.T, test.T[::-1]])
    exact = lfp.compute(Vs)
    full = LowRankLFP(lfp, current_basis(fit, T, min(fit.shape)))
    errs = {r: relative_error(LowRankLFP(lfp, current_basis(fit, T, r)).compute(Vs), exact) for r in (8, 32, 64)}
    print("\n[low rank, basis fit on 80 ms] held-out relative LFP error: " + ", ".join(f"r={r} {e:.3%}" for r, e in errs.items()))
    assert errs[64] <= errs[8]
    W = np.linalg.qr(np.random.default_rng(0).standard_normal((len(cell.segments),) * 2))[0]   # complete basis
    assert relative_error(LowRankLFP(lfp, W).compute(Vs), exact) < 1e-10
    assert np.isfinite(relative_error(full.compute(Vs), exact))


def test_readout_lfp_is_exact(cell_T_V):
    cell, T, V = cell_T_V
    n = len(cell.segments)
    rng = np.random.default_rng(4)
    A, b = rng.standard_normal((n, 12)), rng.normal(-65.0, 5.0, n)
    lfp = NetworkLFP(laminar_probe(80.0, 0.0, np.arange(-200.0, 1201.0, 200.0)), cell.segments, T)
    lfp.add_cell((0.0, 0.0, 0.0))
    lfp.add_cell((150.0, 30.0, 90.0), (0.4, 1.0, 0.0))
    z = rng.standard_normal((2, 7, 12))
    exact = lfp.compute(z @ A.T + b)
    got = ReadoutLFP(lfp, A, b).compute(z)
    assert np.abs(got - exact).max() <= 1e-10 * np.abs(exact).max()


def test_electrode_helpers():
    probe = laminar_probe(10.0, -5.0, [0.0, 100.0, 200.0])
    np.testing.assert_array_equal(probe.positions_um, [[10, 0, -5], [10, 100, -5], [10, 200, -5]])
    grid = mea_grid(2, 3, 50.0, centre_um=(0.0, 100.0, 20.0), normal="z")
    assert grid.positions_um.shape == (6, 3)
    np.testing.assert_allclose(grid.positions_um.mean(axis=0), [0.0, 100.0, 20.0])
    np.testing.assert_allclose(sorted(set(grid.positions_um[:, 0])), [-25.0, 25.0])
    np.testing.assert_allclose(sorted(set(grid.positions_um[:, 1])), [50.0, 100.0, 150.0])
    assert np.all(grid.positions_um[:, 2] == 20.0)


@pytest.mark.bench
def test_bench_reports_every_form():
    out = bench_lfp_overhead(4, 3, 50, rank=5, repeats=2)
    for form in ("numpy_einsum", "numpy_gemv", "torch_gemv", "torch_bmm", "torch_lowrank"):
        assert out[form] > 0


def test_plots_from_plain_arrays(tmp_path):
    from surrogate_cell.plots.lfp import plot_laminar_lfp, plot_lfp_comparison

    t = np.arange(1.0, 101.0)
    truth = np.sin(t / 7.0)[None] * np.linspace(1, 2, 5)[:, None] * 1e-3
    fig = plot_lfp_comparison(t, truth, truth * 0.9, contacts=[0, 2, 4])
    fig.savefig(tmp_path / "traces.png")
    fig2 = plot_laminar_lfp(t, np.linspace(-200, 1000, 5), truth)
    fig2.savefig(tmp_path / "laminar.png")
    assert (tmp_path / "traces.png").stat().st_size > 0 and (tmp_path / "laminar.png").stat().st_size > 0
