"""Bad input to the LFP package: each case raises a SurrogateCellError subclass with a clear message."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from surrogate_cell.cells import HayCell
from surrogate_cell.errors import SurrogateCellError
from surrogate_cell.lfp import (DetailedLFPRecorder, ElectrodeConfig, ElectrodeError, LFPError, LFPRecorder, NetworkLFP,
                                Placement, TransformError, laminar_probe, mea_grid, vmem_to_imem)
from surrogate_cell.lfp.network import soma_centre, soma_radius


@pytest.fixture(scope="module")
def cell_T():
    cell = HayCell()
    return cell, vmem_to_imem(cell, "neuron", cache=False)


def test_errors_are_surrogate_cell_errors():
    for cls in (LFPError, ElectrodeError, TransformError):
        assert issubclass(cls, SurrogateCellError)


@pytest.mark.parametrize("positions, fragment", [
    ([0.0, 0.0, 100.0], "shape (n, 3)"),
    (np.zeros((3, 5)), "transpose it"),
    (np.zeros((4, 2)), "shape (n, 3)"),
    (np.zeros((0, 3)), "shape (n, 3)"),
    ([[0.0, np.nan, 1.0]], "NaN"),
    ("abc", "shape (n, 3)"),
])
def test_electrodes_in_the_wrong_shape(positions, fragment):
    with pytest.raises(ElectrodeError, match="positions_um") as info:
        ElectrodeConfig(positions)
    assert fragment in str(info.value)


def test_unknown_electrode_kind():
    with pytest.raises(ElectrodeError, match="unknown electrode kind 'sphere'; use one of point, line, soma_as_point"):
        ElectrodeConfig([[0.0, 100.0, 0.0]], kind="sphere")
    with pytest.raises(ElectrodeError, match="unknown electrode kind"):
        laminar_probe(0.0, 0.0, [0.0, 100.0], kind="tetrode")


def test_bad_conductivity_and_grid():
    with pytest.raises(ElectrodeError, match="sigma_S_m must be a positive conductivity"):
        ElectrodeConfig([[0.0, 100.0, 0.0]], sigma_S_m=0.0)
    with pytest.raises(ElectrodeError, match="normal must be"):
        mea_grid(2, 2, 10.0, normal="w")
    with pytest.raises(ElectrodeError, match="pitch_um > 0"):
        mea_grid(2, 2, -10.0)


def test_electrode_inside_the_soma(cell_T):
    cell, T = cell_T
    c, r = soma_centre(cell.segments), soma_radius(cell.segments)
    inside = ElectrodeConfig([[200.0, 0.0, 0.0], c + [0.5 * r, 0.0, 0.0]])
    lfp = NetworkLFP(inside, cell.segments, T)
    with pytest.raises(ElectrodeError, match=r"electrode contact 1 at .* lies inside the soma of cell 0"):
        lfp.add_cell(c)
    assert lfp.n_cells == 0
    # a placed cell whose soma lands on a contact
    probe = ElectrodeConfig([[500.0, 20.0, 0.0]])
    lfp = NetworkLFP(probe, cell.segments, T)
    lfp.add_cell((0.0, 0.0, 0.0))
    with pytest.raises(ElectrodeError, match="inside the soma of cell 1"):
        lfp.add_cell((498.0, 22.0, 1.0), (0.3, 0.2, 0.1))
    # just outside the soma radius is allowed
    lfp.add_cell((500.0 + r + 0.5, 20.0, 0.0))
    assert lfp.n_cells == 2


def test_detailed_recorder_rejects_a_contact_in_the_soma(cell_T):
    cell, _ = cell_T
    with pytest.raises(ElectrodeError, match="inside the soma of cell 0"):
        DetailedLFPRecorder([cell], ElectrodeConfig([soma_centre(cell.segments)]))


def test_bad_shapes_of_T_V_and_placements(cell_T):
    cell, T = cell_T
    probe = laminar_probe(60.0, 0.0, [0.0, 300.0])
    with pytest.raises(LFPError, match=r"T has shape \(10, 10\)"):
        NetworkLFP(probe, cell.segments, np.zeros((10, 10)))
    with pytest.raises(ElectrodeError, match="must be an ElectrodeConfig"):
        NetworkLFP([[0.0, 0.0, 0.0]], cell.segments, T)
    lfp = NetworkLFP(probe, cell.segments, T)
    lfp.add_cell()
    with pytest.raises(LFPError, match="V must have shape"):
        lfp.compute(np.zeros((2, len(cell.segments))))
    with pytest.raises(LFPError, match="V must have shape"):
        lfp.compute(np.zeros((1, 10)))
    with pytest.raises(LFPError, match="rotation_order must be a permutation"):
        Placement((0, 0, 0), (0, 0, 0), "xxz")
    with pytest.raises(LFPError, match="position_um must be three finite numbers"):
        Placement((0, 0))
    with pytest.raises(LFPError, match="anchor must be one of"):
        Placement(anchor="centre")
    with pytest.raises(LFPError, match="without dipole=True"):
        lfp.dipole_kernels
    import torch

    rec = LFPRecorder(lfp.n_contacts)
    with pytest.raises(LFPError, match="kernels must be"):
        rec.add_group(lfp.kernels[:, :1])
    with pytest.raises(LFPError, match="one voltage row per placed cell"):
        rec.add_group(lfp.kernels, rows=[0, 1])
    group = rec.add_group(lfp.kernels)
    rec.start(10)
    with pytest.raises(LFPError, match="voltages must be"):
        rec.record(10, group, torch.zeros((1, 5)))
    with pytest.raises(LFPError, match="before the run's start"):
        rec.record(9, group, torch.zeros((1, len(cell.segments))))
        rec.flush()
    with pytest.raises(LFPError, match="dtype must be one of"):
        LFPRecorder(3, dtype="float16")


def test_soma_as_point_needs_the_soma_first(cell_T):
    cell, T = cell_T
    t = cell.segments
    order = np.r_[1:len(t), 0]
    shuffled = dataclasses.replace(t, **{f.name: getattr(t, f.name)[order] for f in dataclasses.fields(t)})
    with pytest.raises(ElectrodeError, match="needs the soma as segment 0"):
        NetworkLFP(ElectrodeConfig([[0.0, 500.0, 0.0]], "soma_as_point"), shuffled, T[np.ix_(order, order)])


def test_unknown_transform_method_and_non_cell(cell_T):
    cell, _ = cell_T
    with pytest.raises(TransformError, match="unknown method 'exact'"):
        vmem_to_imem(cell, "exact")
    from surrogate_cell.lfp.transform import vmem_to_imem_neuron

    with pytest.raises(TransformError, match="is not a cell"):
        vmem_to_imem_neuron(object())
