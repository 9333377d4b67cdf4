"""Surrogate cells as drop-in NEURON cells: events in, spikes out, batched, under MPI.

>>> from surrogate_cell.model import load
>>> from surrogate_cell.neuron import SurrogateCell, connect
>>> cell = SurrogateCell(load("l5pc.pt"), gid=0)
>>> connect(h.NetStim(), cell.synapse("apic[10]", 0.5, "exc"), weight=1.0, delay=1.0)

See ``docs/neuron.md`` for the design: 1 ms binning, spike latency and
delay compensation, MPI, GPU; ``play_spikes`` / ``play_netstim`` play known
input trains or existing NetStims without NEURON events; ``get_runner().record_lfp`` /
``Population.record_lfp`` record the LFP (``docs/lfp.md``).

The modules, in the order data flows through them: :mod:`.events` (the
inputs of each 1 ms bin), :mod:`.batch` (one model call per batch),
:mod:`.runner` (the per-ms loop, spikes out, the gid registry, LFP probes),
:mod:`.cell` and :mod:`.connect` (what a NEURON user touches), :mod:`.trains`
(played inputs), :mod:`.population` (gids under MPI).
"""
from .cell import SurrogateCell, SynapseRangeWarning, SynapseTarget, check_morphology
from .connect import connect, gid_connect
from .population import Population
from .runner import RunnerConfig, get_runner, reset_runner
from .trains import play_netstim, play_spikes, poisson_times

__all__ = ["SurrogateCell", "SynapseTarget", "SynapseRangeWarning", "Population", "connect", "gid_connect",
           "RunnerConfig", "get_runner",
           "reset_runner", "play_spikes", "play_netstim", "poisson_times", "check_morphology"]
