"""Surrogate cells as drop-in NEURON cells: events in, spikes out, batched, under MPI.

>>> from surrogate_cell.model import load
>>> from surrogate_cell.neuron import SurrogateCell, connect
>>> cell = SurrogateCell(load("l5pc.pt"), gid=0)
>>> connect(h.NetStim(), cell.synapse("apic[10]", 0.5, "exc"), weight=1.0, delay=1.0)

See ``docs/neuron.md`` for the design: 1 ms binning, spike latency and
delay compensation, MPI, GPU; ``play_spikes`` / ``play_netstim`` play known
input trains or existing NetStims without NEURON events; ``get_runner().record_lfp`` /
``Population.record_lfp`` record the LFP (``docs/lfp.md``).
"""
from .cell import RECEPTORS, Recording, SurrogateCell, SynapseTarget, check_morphology, receptor_kind
from .connect import connect, gid_connect
from .lfp import LFPRecording
from .population import Population
from .runner import RunnerConfig, RunStats, SurrogateRunner, get_runner, reset_runner
from .trains import PlayedNetStim, PlayedTrain, play_netstim, play_spikes, poisson_times

__all__ = ["SurrogateCell", "SynapseTarget", "Recording", "Population", "connect", "gid_connect",
           "RunnerConfig", "RunStats", "SurrogateRunner", "get_runner", "reset_runner",
           "check_morphology", "receptor_kind", "RECEPTORS", "LFPRecording", "play_spikes", "poisson_times",
           "PlayedTrain", "play_netstim", "PlayedNetStim"]
