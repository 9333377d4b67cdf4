"""NetPyNE 1.1.1 conventions for the network LFP, and detailed-cell LFP without ``cfg.recordLFP``.

Conventions (read from NetPyNE 1.1.1's source, checked in ``tests/test_lfp_netpyne.py``):

* Cells with 3-D points get ``pt3d + (x, -y, z)`` from their tags
  (``cfg.pt3dRelativeToCellLocation`` and ``cfg.invertedYCoord``, both on by
  default): ``y`` is cortical depth, positive downwards, and NEURON's y axis
  points up. Cells are not rotated unless ``netParams.rotateCellsRandomly``.
* Electrodes ``cfg.recordLFP = [[x, y, z], ...]`` are flipped the same way
  (``RecXElectrode``: ``pos[1] *= -1``).
* ``sim.allSimData['LFP']`` is an array (samples, electrodes) in mV; row k is
  the potential at t = (k + 1) · ``cfg.recordStep``; it has
  ``ceil(cfg.duration / cfg.recordStep)`` rows and is the sum over all cells
  and ranks.

With NEURON 9.0.2, ``cfg.recordLFP`` (and ``cfg.recordDipole``) fail in
``sim.setupRecording()`` with ``AttributeError: 'hoc.PtrVector' object has no
attribute 'ptr_update_callback'``: NetPyNE 1.1.1 calls a PtrVector method that
NEURON 9 removed. :func:`setup_detailed_lfp` and :func:`fill_netpyne_lfp`
provide the detailed cells' LFP instead, in NetPyNE's conventions, and take
the surrogate cells' contribution (:class:`~surrogate_cell.lfp.LFPRecorder`) too.
"""
from __future__ import annotations

import math

import numpy as np

from ..lfp import DetailedLFPRecorder, ElectrodeConfig, LFPError, Placement
from ..lfp.detailed import section_geometry
from ..lfp.network import allreduce_sum


def netpyne_electrodes(positions, *, kind: str = "line", sigma_S_m: float = 0.3,
                       inverted_y: bool = True) -> ElectrodeConfig:
    """Electrodes from NetPyNE positions (``cfg.recordLFP``: x, depth y, z in µm).

    Parameters
    ----------
    positions : array_like, shape (n, 3)
        As in ``cfg.recordLFP``.
    kind, sigma_S_m
        As in :class:`~.electrodes.ElectrodeConfig` (NetPyNE's own model is a
        line source with σ = 0.3 S/m).
    inverted_y : bool
        NetPyNE's y flip (always applied by NetPyNE 1.1.1's electrodes).

    Returns
    -------
    ElectrodeConfig
        Contacts in NEURON coordinates: (x, -y, z).
    """
    cfg = ElectrodeConfig(positions, kind, sigma_S_m)
    pos = np.array(cfg.positions_um)
    if inverted_y:
        pos[:, 1] *= -1.0
    return ElectrodeConfig(pos, kind, sigma_S_m)


def netpyne_placement(tags, *, inverted_y: bool = True, relative: bool = True) -> Placement:
    """Placement of a cell from its NetPyNE tags, as NetPyNE places cells with 3-D points.

    Parameters
    ----------
    tags : dict
        ``cell.tags`` with ``'x'``, ``'y'``, ``'z'`` (µm; y = depth).
    inverted_y : bool
        ``cfg.invertedYCoord``.
    relative : bool
        ``cfg.pt3dRelativeToCellLocation``; False leaves the morphology where it is.

    Returns
    -------
    Placement
        ``anchor='origin'``: the morphology's coordinates plus (x, -y, z).
    """
    try:
        x, y, z = (float(tags[k]) for k in ("x", "y", "z"))
    except (KeyError, TypeError, ValueError):
        raise LFPError(f"NetPyNE cell tags need numeric 'x', 'y', 'z'; got {tags!r}") from None
    if not relative:
        return Placement((0.0, 0.0, 0.0), anchor="origin")
    return Placement((x, -y if inverted_y else y, z), anchor="origin")


def netpyne_cell_placement(sim, cell) -> Placement:
    """:func:`netpyne_placement` with the running simulation's ``sim.cfg`` and ``sim.net.params``.

    Raises
    ------
    LFPError
        ``netParams.rotateCellsRandomly`` is set: NetPyNE 1.1.1 writes each
        cell's rotated points back into the shared cellParams, so rotations
        accumulate from cell to cell and cannot be reproduced per cell.
    """
    if getattr(sim.net.params, "rotateCellsRandomly", False):
        raise LFPError("netParams.rotateCellsRandomly is set; NetPyNE 1.1.1 accumulates those rotations "
                       "across cells, so surrogate cells cannot be placed to match; switch it off")
    return netpyne_placement(cell.tags, inverted_y=bool(getattr(sim.cfg, "invertedYCoord", True)),
                             relative=bool(getattr(sim.cfg, "pt3dRelativeToCellLocation", True)))


def setup_detailed_lfp(sim, positions=None, *, kind: str = "line", sigma_S_m: float = 0.3) -> DetailedLFPRecorder:
    """Record the LFP of this rank's compartmental cells in a NetPyNE simulation.

    Call after the cells exist (``sim.create()`` or ``sim.net.createCells()``)
    and before ``sim.simulate()`` / ``sim.runSim()``, with ``cfg.recordLFP``
    left empty (it fails on NEURON 9). Sections without 3-D points get them
    from NetPyNE's own ``sim.net.defineCellShapes()`` as its LFP set-up would,
    and ``sim.cfg.use_fast_imem`` is set True (NetPyNE's ``preRun`` would
    otherwise switch fast_imem off), as NetPyNE's own LFP set-up does.

    Parameters
    ----------
    sim : module
        ``netpyne.sim``.
    positions : array_like, shape (n, 3) or None
        Electrode positions in NetPyNE's convention (x, depth y, z), µm.
    kind, sigma_S_m
        Source model and conductivity (:class:`~.electrodes.ElectrodeConfig`).

    Returns
    -------
    DetailedLFPRecorder
        Sampling every ``cfg.recordStep``; pass it to :func:`fill_netpyne_lfp`.
    """
    if positions is None:
        raise LFPError("give the electrode positions (x, depth y, z in µm), as for cfg.recordLFP")
    if getattr(sim.cfg, "recordLFP", None):
        raise LFPError("cfg.recordLFP is set; NetPyNE 1.1.1 fails with it on NEURON 9 "
                       "('hoc.PtrVector' object has no attribute 'ptr_update_callback'); leave it empty")
    cells = [c for c in sim.net.cells if type(c).__name__ == "CompartCell"]
    needs_shape = any(int(s["hObj"].n3d()) < 2 for c in cells for s in c.secs.values())
    if needs_shape:
        sim.net.defineCellShapes()
    electrodes = netpyne_electrodes(positions, kind=kind, sigma_S_m=sigma_S_m)
    sim.cfg.use_fast_imem = True  # NetPyNE's preRun applies this flag; off would free i_membrane_
    recorder = DetailedLFPRecorder(cells, electrodes, step_ms=float(sim.cfg.recordStep))
    recorder.netpyne_positions = np.array(ElectrodeConfig(positions, kind, sigma_S_m).positions_um)
    recorder.gids = [c.gid for c in cells]
    return recorder


def fill_netpyne_lfp(sim, *parts, positions=None) -> np.ndarray:
    """Write ``sim.allSimData['LFP']`` after a run, in NetPyNE's conventions.

    Collective: call on every rank after ``sim.simulate()`` (or ``sim.runSim()``
    and ``sim.gatherData()``).

    Parameters
    ----------
    sim : module
        ``netpyne.sim``.
    *parts : DetailedLFPRecorder or ndarray
        This rank's contributions: recorders from :func:`setup_detailed_lfp`
        and/or arrays (electrodes, samples) in mV sampled every
        ``cfg.recordStep`` at (k + 1) · recordStep (e.g. a surrogate
        population's ``LFPRecorder.lfp(reduce=False)`` when recordStep is
        1 ms). All must use the same electrodes.
    positions : array_like or None
        Electrode positions (NetPyNE convention) for ``cfg.recordLFP``; taken
        from a recorder when None.

    Returns
    -------
    ndarray, shape (samples, electrodes)
        The LFP in mV summed over parts and ranks (also stored in
        ``sim.allSimData['LFP']`` where ``allSimData`` exists, i.e. on the master
        rank after gathering). ``sim.cfg.recordLFP`` is set to the positions
        afterwards, so that NetPyNE's LFP plots find them.
    """
    if not parts:
        raise LFPError("no LFP parts given: pass the detailed recorder and/or surrogate LFP arrays")
    step = float(sim.cfg.recordStep)
    n = int(math.ceil(float(sim.cfg.duration) / step - 1e-9))
    total = None
    for part in parts:
        if isinstance(part, DetailedLFPRecorder):
            if abs(part.step_ms - step) > 1e-12:
                raise LFPError(f"a recorder samples every {part.step_ms} ms but cfg.recordStep is {step} ms")
            arr = part.lfp_mV()
            if positions is None:
                positions = getattr(part, "netpyne_positions", None)
        else:
            arr = np.asarray(part, dtype=np.float64)
        if arr.ndim != 2:
            raise LFPError(f"an LFP part must be (electrodes, samples); got shape {arr.shape}")
        if arr.shape[1] < n or arr.shape[1] > n + 1:
            raise LFPError(f"an LFP part has {arr.shape[1]} samples; cfg.duration / cfg.recordStep needs {n} "
                           f"(sampled every {step} ms at (k + 1) · recordStep)")
        fitted = arr[:, :n]
        if total is not None and total.shape[0] != fitted.shape[0]:
            raise LFPError(f"LFP parts have {total.shape[0]} and {fitted.shape[0]} electrodes")
        total = fitted if total is None else total + fitted
    lfp = allreduce_sum(total, getattr(sim, "pc", None)).T.copy()
    if getattr(sim, "allSimData", None) is not None:
        sim.allSimData["LFP"] = lfp
    if positions is not None:
        sim.cfg.recordLFP = np.asarray(positions, dtype=np.float64).tolist()
    return lfp


def netpyne_reference_lfp(sim, imem_by_gid: dict, positions) -> np.ndarray:
    """NetPyNE's own LFP formula applied to given membrane currents, for cross-checks.

    Uses ``netpyne.support.recxelectrode.RecXElectrode`` (NetPyNE's line
    source, σ = 0.3 S/m) on the cells' ``_segCoords`` from
    ``sim.net.calcSegCoords()``. ``imem_by_gid[gid]`` is (segments, samples)
    in nA in the order of ``cell.secs``; returns (samples, electrodes) in mV.
    """
    from netpyne.support.recxelectrode import RecXElectrode  # NetPyNE: only for NetPyNE networks

    sim.net.calcSegCoords()
    electrode = RecXElectrode(np.array(positions, dtype=np.float64).T.copy())
    total = None
    for cell in sim.net.compartCells:
        electrode.calcTransferResistance(cell.gid, cell._segCoords)
        part = electrode.getTransferResistance(cell.gid) @ np.asarray(imem_by_gid[cell.gid])
        total = part if total is None else total + part
    return total.T


__all__ = ["netpyne_electrodes", "netpyne_placement", "netpyne_cell_placement", "setup_detailed_lfp",
           "fill_netpyne_lfp", "netpyne_reference_lfp", "section_geometry"]
