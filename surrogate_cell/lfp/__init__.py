"""Network LFP from surrogate (and detailed) cells, with LFPy / LFPykit.

The pieces, each a plain-array stage (see ``docs/lfp.md``):

* :mod:`.transform` -- T, membrane currents from voltages (I_mem = T @ V), per morphology.
* :mod:`.electrodes` -- contacts and LFPykit source models: M (contacts × segments).
* :mod:`.network` -- placed cells and the population LFP Σ_c K_c V_c (K_c = M_c T).
* :mod:`.recorder` -- the LFP recorded step by step: the one recorder the population
  runner, the NetPyNE integration and scripts feed.
* :mod:`.detailed` -- ground truth from NEURON's ``i_membrane_`` of detailed cells.
* :mod:`.lowrank` -- a reduced-rank population LFP, and the exact readout form.

NetPyNE's conventions live with the NetPyNE integration
(:mod:`surrogate_cell.netpyne.lfp`), the figures in :mod:`surrogate_cell.plots.lfp`.
"""
from .detailed import DetailedLFPRecorder, record_detailed_lfp
from .electrodes import ElectrodeConfig, laminar_probe, mea_grid
from .errors import ElectrodeError, LFPError, TransformError
from .network import NetworkLFP, Placement
from .recorder import LFPRecorder
from .transform import vmem_to_imem, vmem_to_imem_for

__all__ = ["ElectrodeConfig", "laminar_probe", "mea_grid", "NetworkLFP", "Placement", "LFPRecorder", "vmem_to_imem",
           "vmem_to_imem_for", "DetailedLFPRecorder", "record_detailed_lfp", "LFPError", "ElectrodeError",
           "TransformError"]
