"""Network LFP from surrogate (and detailed) cells, with LFPy / LFPykit.

The pieces, each a plain-array stage (see ``docs/lfp.md``):

* :mod:`.transform` -- T, membrane currents from voltages (I_mem = T @ V), per morphology.
* :mod:`.electrodes` -- contacts and LFPykit source models: M (contacts × segments).
* :mod:`.network` -- placed cells and the population LFP Σ_c K_c V_c (K_c = M_c T),
  plus the per-step recorder for the surrogate population runner.
* :mod:`.detailed` -- ground truth from NEURON's ``i_membrane_`` of detailed cells.
* :mod:`.netpyne` -- NetPyNE placement conventions and ``sim.allSimData['LFP']``.
* :mod:`.lowrank` -- a reduced-rank population LFP for large CPU networks.
* :mod:`.plots`, :mod:`.bench`.
"""
from .detailed import DetailedLFPRecorder, record_detailed_lfp, section_geometry
from .electrodes import (KINDS, ElectrodeConfig, cell_geometry, dipole_matrix, dipole_potential, laminar_probe,
                         mea_grid)
from .errors import ElectrodeError, LFPError, TransformError
from .network import LFPRecorder, NetworkLFP, Placement, allreduce_sum, soma_centre, soma_radius
from .transform import clear_cache, vmem_to_imem, vmem_to_imem_for, vmem_to_imem_lfpy, vmem_to_imem_neuron

__all__ = [
    "ElectrodeConfig", "KINDS", "laminar_probe", "mea_grid", "cell_geometry", "dipole_matrix", "dipole_potential",
    "NetworkLFP", "Placement", "LFPRecorder", "allreduce_sum", "soma_centre", "soma_radius",
    "vmem_to_imem", "vmem_to_imem_for", "vmem_to_imem_lfpy", "vmem_to_imem_neuron", "clear_cache",
    "DetailedLFPRecorder", "record_detailed_lfp", "section_geometry",
    "LFPError", "ElectrodeError", "TransformError",
]
