"""One model batch: the surrogate cells of one model in a process, stepped by one call per 1 ms.

The model's input is the conductance of every receptor class on every
segment. The batch never builds it per channel: the model's first layer is
linear (``input_projection``), and so are the synapses' kinetics, so the
batch keeps, per distinct kinetics, two exponential states (decay and rise)
of the already projected conductance of each cell, (kinetics, cells,
groups). An event adds its projected amount to them; a bin's exact mean
conductance is read off them in closed form (as
:class:`~surrogate_cell.synapses.ConductanceBins` does per synapse). The cost
grows with the distinct kinetics and the events, not with the synapses.
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import NetworkError
from ..model import SPIKE_RULES, crossing_fractions
from ..synapses import Kinetics, decay_over


class ModelBatch:
    """The cells of one model in this process: input matrix, model state, spikes, recordings, LFP probes.

    One model call per 1 ms step advances every cell of the batch. The runner
    owns the batches; a :class:`~surrogate_cell.neuron.SurrogateCell` knows
    its batch and row.
    """

    def __init__(self, runner, model):
        self.runner = runner
        self.model = model
        self.cells: list = []
        self.rec_row: list[int] = []  # batch row of each recorded column
        self.probes: list = []  # (LFPRecorder, group): recorders fed this batch's voltages every step
        self.rec_seg: list[int] = []  # segment row of each recorded column
        self.threshold = model.spike_threshold_mV
        self.p_threshold = model.spike_probability
        self.spike_rule = runner.config.spike_rule or model.metadata.get("spike_rule", "threshold")
        if self.spike_rule not in SPIKE_RULES:
            raise NetworkError(f"model {model.path}: unknown spike_rule {self.spike_rule!r} in its metadata")
        self.n_segments = model.n_segments
        if getattr(model.module, "local_path", False):
            raise NetworkError(f"model {model.path} has a local path, which reads every input channel; the runner "
                               "feeds the grouped input only: retrain it with local_path off (the default)")
        # synapse targets: code - 1 -> its components' (channel, kinetics id); kinetics ids index self.kinetics
        self.kinetics: list[Kinetics] = []
        self._kinetics_id: dict = {}
        self._targets: list[tuple] = []
        self._target_code: dict = {}
        soma = np.flatnonzero(np.asarray(model.segments.region) == "soma")
        if soma.size == 0:
            raise NetworkError(f"model {model.path}: its segment table has no 'soma' segment to detect spikes on")
        self.soma_row = int(soma[0])  # row 0 for HayCell tables
        self._built_size = -1
        self._v0 = None  # (N,) rest voltage, p0: rest spike probability
        self._p0 = 0.0

    def target_code(self, segment: int, components) -> int:
        """The code (``NetCon.weight[1]``, from 1) of a synapse with these kinetics components on a segment."""
        key = (int(segment), tuple(components))
        if key not in self._target_code:
            ids = []
            for k in components:
                if k not in self._kinetics_id:
                    self._kinetics_id[k] = len(self.kinetics)
                    self.kinetics.append(k)
                ids.append(self._kinetics_id[k])
            channels = [self.model.channel(k.receptor, segment) for k in components]
            self._targets.append((np.asarray(channels, np.int64), np.asarray(ids, np.int64)))
            self._target_code[key] = len(self._targets)
            self.runner.structure_changed()
        return self._target_code[key]

    @property
    def n_codes(self) -> int:
        return len(self._targets)

    def describe(self, code: int) -> tuple[int, tuple]:
        """(segment row, its components' receptor classes) of the synapse with ``code``."""
        channels, ids = self._targets[int(code) - 1]
        return int(channels[0]) % self.n_segments, tuple(self.kinetics[i].receptor for i in ids)

    # -- structure --------------------------------------------------------------
    def add_cell(self, cell) -> int:
        self.cells.append(cell)
        return len(self.cells) - 1

    def add_recording(self, row: int, segs) -> tuple[int, int]:
        start = len(self.rec_row)
        for s in segs:
            self.rec_row.append(row)
            self.rec_seg.append(int(s))
        return start, len(self.rec_row)

    # -- run --------------------------------------------------------------------
    def start(self, k0: int) -> None:
        """Reset for a run starting at t = k0 ms (called at finitialize)."""
        import torch  # heavy: only once cells run

        dev = self.runner.device
        B = len(self.cells)
        if self._built_size != B:
            self.model.module.to(dev)
            self.model.module.eval()
            with torch.inference_mode():
                self.projection = self.model.module.input_projection().double()  # (C, P)
                zeros = torch.zeros(B, self.projection.shape[1], device=dev)
                for _ in range(self.runner.config.warmup_steps):
                    v, p, _ = self.model.module.step_projected(zeros, self.model.module.init_state(B))
            v = v.detach().float().cpu().numpy()
            p = p.detach().float().cpu().numpy()
            self._check_shapes(v, p, B)
            # the rest state: one input-free step from the initial state (same for every cell)
            self._v0 = v[0].astype(np.float64)
            self._p0 = float(p[0])
            self.self_ncs = [c._self_nc for c in self.cells]
            self._built_size = B
        self.rec_row_t = torch.as_tensor(self.rec_row, dtype=torch.long, device=dev)
        self.rec_row_np = np.asarray(self.rec_row, dtype=np.int64)
        self.rec_seg_np = np.asarray(self.rec_seg, dtype=np.int64)
        self._choose_rows(dev)
        with torch.inference_mode():
            self.state = self.model.module.init_state(B).to(dev)
        self._start_conductance(B, dev)
        self.prev = np.full(B, self._v0[self.soma_row] if self.spike_rule == "threshold" else self._p0)
        self.t_ms = [float(k0)]
        self.chunks = [self._v0[self.rec_seg_np]]
        self._stacked = None
        self.spike_rows: list[np.ndarray] = []
        self.spike_times: list[np.ndarray] = []
        for recorder, group in self.probes:
            recorder.start_group(group, self._v0)

    def _choose_rows(self, dev) -> None:
        """Which voltages each step computes: all segments where an LFP probe multiplies the voltages (or the
        model file predates ``step_rows``), else only the soma (threshold rule) and the recorded segments, so
        that a step's cost does not grow with the segments. Sets the columns of the soma and the recordings."""
        import torch  # heavy: only once cells run

        module = self.model.module
        full = not hasattr(module, "step_rows") or any(rec.forms[g] == "full" for rec, g in self.probes)
        if full:
            self._rows = None
            self._soma_col = self.soma_row
            rec_col = self.rec_seg_np
        else:
            wanted = np.unique(np.concatenate([[self.soma_row] if self.spike_rule == "threshold" else [],
                                               self.rec_seg_np]).astype(np.int64))
            self._rows = torch.as_tensor(wanted, dtype=torch.long, device=dev)
            self._soma_col = int(np.searchsorted(wanted, self.soma_row))
            rec_col = np.searchsorted(wanted, self.rec_seg_np)
            with torch.inference_mode():  # the first TorchScript calls of a method are slow: not in the run
                zeros = torch.zeros(len(self.cells), self.projection.shape[1], device=dev)
                for _ in range(self.runner.config.warmup_steps):
                    module.step_rows(zeros, module.init_state(len(self.cells)), self._rows)
        self.rec_col_t = torch.as_tensor(rec_col, dtype=torch.long, device=dev)

    def _check_shapes(self, v, p, B) -> None:
        if v.shape != (B, self.n_segments) or p.shape != (B,):
            raise NetworkError(
                f"model {self.model.path}: step() returned voltage {tuple(v.shape)} and spike probability "
                f"{tuple(p.shape)}, expected ({B}, {self.n_segments}) and ({B},) for its segment table")

    def _start_conductance(self, B: int, dev) -> None:
        """Empty conductance states and the per-kinetics constants of this run."""
        import torch  # heavy: only once cells run

        K, P = max(len(self.kinetics), 1), self.projection.shape[1]
        f64 = dict(dtype=torch.float64, device=dev)
        # per kinetics: the decay states [0, K), the rise states [K, 2K); and [2K], the events' share of the
        # current bin's mean: one index_add_ then serves all three
        self._acc = torch.zeros(2 * K + 1, B, P, **f64)
        self._n_kinetics = K
        td = np.array([k.tau_decay_ms for k in self.kinetics] or [1.0])
        tr = np.array([k.tau_rise_ms for k in self.kinetics] or [0.0])
        self._tau = np.stack([td, tr])  # (2, K); a rise of 0 is a jump: no rise state
        self._scale = np.array([k.nS_per_weight * k.factor for k in self.kinetics] or [0.0])
        keep, area = decay_over(1.0, self._tau)  # per unit state over a whole 1 ms bin
        self._keep = torch.as_tensor(keep.reshape(-1), **f64)[:, None, None]  # (2K, 1, 1)
        self._area = torch.as_tensor(np.concatenate([area[0], -area[1]]), **f64)  # the rise states count negative
        counts = np.array([len(c) for c, _ in self._targets], dtype=np.int64)
        self._comp_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._comp_channel = np.concatenate([c for c, _ in self._targets] + [np.zeros(0, np.int64)])
        self._comp_kinetics = np.concatenate([i for _, i in self._targets] + [np.zeros(0, np.int64)])

    def _conductance(self, k: int, rows: np.ndarray, codes: np.ndarray, weights: np.ndarray, times: np.ndarray):
        """The projected mean conductance of bin [k − 1, k) of every cell, (B, P) float32; advances the states."""
        import torch  # heavy: only once cells run

        K, acc = self._n_kinetics, self._acc
        states = acc[: 2 * K]
        mean = torch.einsum("k,kbp->bp", self._area, states)  # of the states at the bin's start
        states.mul_(self._keep)
        if rows.size:
            # one row per component of every event (an AMPA+NMDA synapse has two)
            first = self._comp_start[codes]
            n = self._comp_start[codes + 1] - first
            ev = np.repeat(np.arange(rows.size), n)
            comp = np.repeat(first - np.concatenate([[0], np.cumsum(n)[:-1]]), n) + np.arange(int(n.sum()))
            kin, chan = self._comp_kinetics[comp], self._comp_channel[comp]
            amount = weights[ev] * self._scale[kin]
            rest = np.clip(k - times[ev], 0.0, 1.0)  # time from the event to the bin's end (ms)
            left, integral = decay_over(rest, self._tau[:, kin])  # at the bin's end, and over the rest of the bin
            # per component: its decay state, its rise state, and its part of this bin's mean
            coef = np.stack([amount * left[0], amount * left[1], amount * (integral[0] - integral[1])], axis=1)
            B = acc.shape[1]
            row = rows[ev]
            slot = np.stack([kin * B + row, (K + kin) * B + row, 2 * K * B + row], axis=1)
            dev = acc.device
            w = self.projection[torch.as_tensor(chan, device=dev)]  # (components, P)
            add = w[:, None, :] * torch.as_tensor(coef, device=dev)[:, :, None]
            acc[2 * K].zero_()
            acc.view(-1, w.shape[1]).index_add_(0, torch.as_tensor(slot.reshape(-1), device=dev),
                                                 add.view(-1, w.shape[1]))
            mean += acc[2 * K]
        return mean.float()

    def step(self, k: int, rows: np.ndarray, codes: np.ndarray, weights: np.ndarray, times: np.ndarray):
        """Advance bin [k − 1, k) with its events (batch rows, target codes − 1, weights, times in ms).
        Returns (batch rows, crossing times t* in ms) of new spikes."""
        import torch  # heavy: only once cells run

        t0 = time.perf_counter()
        with torch.inference_mode():
            z = self._conductance(k, rows, codes, weights, times)
            if self._rows is None:
                v, p, self.state = self.model.module.step_projected(z, self.state)
            else:  # v holds the columns of self._rows only
                v, p, self.state = self.model.module.step_rows(z, self.state, self._rows)
            if self.spike_rule == "threshold":
                cur = v[:, self._soma_col].double().cpu().numpy()
            else:
                cur = p.double().cpu().numpy()
            rec = v[self.rec_row_t, self.rec_col_t].double().cpu().numpy() if self.rec_row else None
            self.runner.stats.model_s += time.perf_counter() - t0
            if self.probes:
                t1 = time.perf_counter()
                for recorder, group in self.probes:
                    recorder.record(k, group, v, self.state)
                self.runner.stats.lfp_s += time.perf_counter() - t1
        if rec is not None:
            self.chunks.append(rec)
        self.t_ms.append(float(k))
        self._stacked = None
        level = self.threshold if self.spike_rule == "threshold" else self.p_threshold
        prev = self.prev
        crossing, frac = crossing_fractions(prev, cur, level)
        self.prev = cur
        if crossing.size == 0:
            return crossing, np.empty(0)
        tstar = (k - 1) + frac
        self.spike_rows.append(crossing)
        self.spike_times.append(tstar)
        return crossing, tstar

    # -- results ----------------------------------------------------------------
    def recorded(self) -> np.ndarray:
        """(T, R) recorded voltages (mV) of this run so far."""
        if self._stacked is None:
            self._stacked = np.stack(self.chunks) if self.rec_row else np.zeros((len(self.t_ms), 0))
        return self._stacked

    def cell_spikes(self, row: int) -> np.ndarray:
        out = [t[r == row] for r, t in zip(self.spike_rows, self.spike_times)]
        return np.concatenate(out) if out else np.empty(0)
