"""One simulation of the detailed cell under synaptic bombardment.

Every simulation: ``h.finitialize(v_init)`` (−80 mV), ``celsius`` 34 °C, fixed
dt 0.025 ms, ``settle_ms`` (500 ms) without input, which is discarded, then the
recorded period of ``sim_ms`` with the inputs.

Recording convention (bin ``k`` is ``[k, k+1)`` ms of the recorded period):

* ``voltage[k, s]`` is segment ``s``'s membrane potential at ``t = k + 1`` ms,
  the state at the *end* of input bin ``k``;
* ``inputs[k, c]`` is the mean conductance (nS) of input channel ``c``
  (a receptor class on a segment) over ``[k, k + 1)`` ms
  (:func:`~surrogate_cell.data.inputs.conductance_bins`);
* somatic spike times are upward crossings of −10 mV at ``soma(0.5)``
  (a NetCon threshold detector), in ms from the start of the recorded period.

Every segment carries one synapse per receptor class (``Exp2Syn`` for AMPA,
GABA_A and GABA_B, ``sc_NMDA`` for NMDA), whose time constants and reversal
are set from the simulation's kinetics table before it runs. An event of
weight w on a channel reaches its synapse with a NetCon weight of
w · nS_per_weight / 1000 µS, which is its peak conductance (Exp2Syn's
normalisation). Each event reaches its synapse through a NetCon of its own
(``NetCon.event`` after ``finitialize``; a NetCon delivers the weight it
holds at delivery, so one NetCon carries one event). The NetCons are pooled per channel and reused
from one simulation to the next. Voltages are sampled once per ms by a CVode
event callback that gathers every segment's v with one ``PtrVector.gather``
(about 10 µs per ms for 663 segments, against about 10 ms of integration).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..callbacks import without_gc
from ..cells.settings import RunSettings
from ..errors import DataError
from ..synapses import RECEPTORS
from .cellspec import CellSpec, DetailedCell
from .inputs import SimInputs


@dataclass(frozen=True)
class SimSettings(RunSettings):
    """Integration and recording settings of data generation (:class:`~surrogate_cell.cells.RunSettings`
    plus the settling time and the 1 ms bins). Times in ms."""

    settle_ms: int = 500
    bin_ms: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        if self.settle_ms < 0 or int(self.settle_ms) != self.settle_ms:
            raise DataError(f"settle time must be a whole number of ms >= 0, got {self.settle_ms}")
        if self.bin_ms != 1.0:
            raise DataError("only 1 ms bins are supported (format_version 1)")


@dataclass
class SimOutput:
    """What one simulation records.

    Attributes
    ----------
    voltage_mV : ndarray of float32, shape (sim_ms, n_segments) or None
        ``voltage_mV[k]`` = v at ``t = k + 1`` ms (None in bare mode).
    spike_times_ms : ndarray of float64 or None
        Somatic spike times (ms from the start of the recorded period).
    """

    voltage_mV: np.ndarray | None
    spike_times_ms: np.ndarray | None


class Simulator:
    """The detailed cell with its synapses, ready to run simulations one after another.

    Only one Simulator may exist per process: NEURON integrates every section
    it holds.

    Parameters
    ----------
    spec : CellSpec
    settings : SimSettings
    record : bool
        Record voltages and spikes. False gives "bare NEURON": the same cell
        and inputs with nothing recorded (the benchmark's baseline).
    """

    def __init__(self, spec: CellSpec, settings: SimSettings = SimSettings(), record: bool = True):
        self.settings = settings
        self.cell: DetailedCell = spec.build()
        h = self.h = self.cell.h
        h.load_file("stdrun.hoc")
        refs = self.cell.seg_refs
        # receptor-major, the order of the input channels
        self.synapses = [getattr(h, "sc_NMDA" if r == "nmda" else "Exp2Syn")(seg) for r in RECEPTORS for seg in refs]
        self._pools = [[] for _ in self.synapses]
        self.record = record
        self._spikes = None
        self._detector = None
        if record:
            self._spikes = h.Vector()
            soma = self.cell.soma_seg
            self._detector = h.NetCon(soma._ref_v, None, sec=soma.sec)
            self._detector.threshold = settings.spike_threshold_mV
            self._detector.record(self._spikes)
            # all voltages in one C++ loop per ms (a PtrVector gather), not one queue event
            # per segment and ms as with Vector.record(ref, Dt): measurably cheaper
            self._pointers = h.PtrVector(len(refs))
            for i, seg in enumerate(refs):
                self._pointers.pset(i, seg._ref_v)
            self._gathered = h.Vector(len(refs))
            self._gathered_np = self._gathered.as_numpy()
        self._buffer = None
        self._next_sample = 0
        self._sample_times: list[float] = []

    @property
    def n_segments(self) -> int:
        return len(self.cell.segments)

    @property
    def n_channels(self) -> int:
        return len(self.synapses)

    def _netcons(self, channel: np.ndarray) -> list:
        """One NetCon per event: the j-th event of channel c uses ``pool[c][j]``."""
        h = self.h
        order = np.argsort(channel, kind="stable")
        sorted_ch = channel[order]
        starts = np.searchsorted(sorted_ch, sorted_ch, side="left")
        rank = np.empty(channel.size, dtype=np.int64)
        rank[order] = np.arange(channel.size) - starts
        counts = np.bincount(channel, minlength=self.n_channels)
        for c in np.flatnonzero(counts):
            pool = self._pools[c]
            while len(pool) < counts[c]:
                pool.append(h.NetCon(None, self.synapses[c]))
        pools = self._pools
        return [pools[c][j] for c, j in zip(channel.tolist(), rank.tolist())]

    def run(self, inputs: SimInputs, sim_ms: int) -> SimOutput:
        """Simulate ``settle_ms`` without input, then ``sim_ms`` with ``inputs``.

        Parameters
        ----------
        inputs : SimInputs
            Events with times in [0, sim_ms) ms of the recorded period.
        sim_ms : int
            Length of the recorded period (ms).

        Returns
        -------
        SimOutput
        """
        h, s = self.h, self.settings
        settle = float(s.settle_ms)
        n_bins = int(round(sim_ms / s.bin_ms))
        tstop = settle + sim_ms
        if inputs.channel.size and (inputs.channel.min() < 0 or inputs.channel.max() >= self.n_channels):
            raise DataError(f"input channel out of range 0..{self.n_channels - 1}")
        if inputs.time_ms.size and (inputs.time_ms.min() < 0 or inputs.time_ms.max() >= sim_ms):
            raise DataError(f"input event times must lie in [0, {sim_ms}) ms")
        netcons = self._netcons(inputs.channel)
        self._set_kinetics(inputs.kinetics)
        to_uS = inputs.kinetics[:, 3][inputs.channel // self.n_segments] / 1000.0
        h.cvode_active(0)
        h.dt = s.dt_ms
        h.steps_per_ms = 1.0 / s.dt_ms
        h.celsius = s.celsius_degC
        h.v_init = s.v_init_mV
        h.tstop = tstop
        h.finitialize(s.v_init_mV)
        # finitialize empties the event queue, so events are queued after it
        weights = inputs.weight.astype(np.float64) * to_uS
        for nc, t, w in zip(netcons, (inputs.time_ms + settle).tolist(), weights.tolist()):
            nc.weight[0] = w
            nc.event(t)
        if self.record:
            # sample k is taken at t = settle + (k + 1) bin_ms, computed from integers
            self._sample_times = [settle + (k + 1) * s.bin_ms for k in range(n_bins)]
            self._buffer = np.empty((n_bins, self.n_segments), dtype=np.float32)
            self._next_sample = 0
            h.cvode.event(self._sample_times[0], self._sample)
        h.continuerun(tstop)
        if not self.record:
            return SimOutput(None, None)
        # h.t accumulates rounding: where it stops just short of tstop, the sample due at
        # tstop is taken at the start of the next step (it holds the state at tstop)
        for _ in range(2):
            if self._next_sample >= n_bins:
                break
            h.fadvance()
        if self._next_sample != n_bins:
            raise RuntimeError(f"took {self._next_sample} voltage samples, expected {n_bins}")
        voltage, self._buffer = self._buffer, None
        spikes = np.array(self._spikes.as_numpy(), dtype=np.float64)
        # crossings while settling (or in a step past tstop) are not part of the record
        spikes = spikes[(spikes >= settle) & (spikes < tstop)] - settle
        return SimOutput(voltage, spikes)

    def _set_kinetics(self, kinetics: np.ndarray) -> None:
        """Time constants (ms) and reversal (mV) of every synapse, from a (4, 4) kinetics table."""
        S = self.n_segments
        for r, (rise, decay, e, _) in enumerate(np.asarray(kinetics, dtype=np.float64)):
            for syn in self.synapses[r * S:(r + 1) * S]:
                syn.tau1, syn.tau2, syn.e = float(rise), float(decay), float(e)

    @without_gc
    def _sample(self) -> None:
        """CVode event callback: copy every segment's v into the next row, schedule the next."""
        self._pointers.gather(self._gathered)
        self._buffer[self._next_sample] = self._gathered_np
        self._next_sample += 1
        if self._next_sample < len(self._sample_times):
            self.h.cvode.event(self._sample_times[self._next_sample], self._sample)
