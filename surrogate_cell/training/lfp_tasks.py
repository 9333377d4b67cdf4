"""LFP tasks of the multitask loss: extracellular potentials and the current dipole moment, as linear
read-outs of the voltages.

The LFP of a cell is K V with K = M T (:mod:`surrogate_cell.lfp`): T turns the
segment voltages into membrane currents, a spatial second difference, so
voltage errors that differ between neighbouring segments become current
errors that a voltage loss barely sees. These tasks put K V itself into the
loss, beside the voltages and the spike:

* the potential at :data:`TASK_CONTACTS_UM`: two laminar lines along the
  apical (y) axis, 30 µm and 100 µm from the soma, every 100 µm from −200 to
  1200 µm (line sources, σ = 0.3 S/m, cell unrotated with its soma at the
  origin), a set that ``evaluate --lfp`` (50 µm, every 200 µm) does not use;
* the current dipole moment (x, y, z), which sets the far field (EEG, MEG).

Each task row is scaled by the standard deviation of the true signal over
training data, so every contact and dipole component counts alike whatever
its units (mV, nA·µm).
"""
from __future__ import annotations

import numpy as np

from ..errors import SurrogateCellError
from ..lfp import ElectrodeConfig, NetworkLFP, laminar_probe, vmem_to_imem_for

#: Lateral positions (µm) of the two task probes, and their contact heights along the apical axis (µm).
TASK_X_UM = (30.0, 100.0)
TASK_Y_UM = tuple(float(y) for y in np.arange(-200.0, 1201.0, 100.0))


def task_kernels(segments, geometry) -> np.ndarray:
    """Rows (contacts + 3 dipole components, segments): mV (contacts) or nA·µm (dipole) per mV of each segment.

    Raises
    ------
    SurrogateCellError
        ``geometry`` is None (a data set written before data sets carried their cell).
    """
    if geometry is None:
        raise SurrogateCellError("the LFP tasks need the cell's geometry, which this data set does not carry; "
                                 "generate the data again with this version, or train without --lfp-loss-weight")
    contacts = ElectrodeConfig(np.concatenate([laminar_probe(x, 0.0, TASK_Y_UM).positions_um for x in TASK_X_UM]))
    net = NetworkLFP(contacts, segments, vmem_to_imem_for(segments, geometry, method="neuron"), dipole=True)
    net.add_cell((0.0, 0.0, 0.0))
    return np.concatenate([net.kernels[0], net.dipole_kernels[0]])


def task_matrix(segments, geometry, voltages_mV: np.ndarray, v_std_mV: np.ndarray) -> np.ndarray:
    """The loss's read-out of z-scored voltage errors: rows of :func:`task_kernels`, each times the
    segments' voltage std and over the std of its true signal in ``voltages_mV`` (time, segments).

    Returns
    -------
    ndarray, shape (tasks, segments)
        ``(pred_z - true_z) @ W.T`` is the task error in units of each task's own spread.
    """
    K = task_kernels(segments, geometry)
    spread = np.maximum((voltages_mV @ K.T).std(axis=0), 1e-12)
    return (K * np.asarray(v_std_mV)[None, :]) / spread[:, None]
