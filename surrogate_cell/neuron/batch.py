"""One model batch: the surrogate cells of one model in a process, stepped by one call per 1 ms."""
from __future__ import annotations

import time

import numpy as np

from ..errors import NetworkError
from ..model import SPIKE_RULES, crossing_fractions


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
        self.n_channels = model.n_channels
        self.n_segments = model.n_segments
        soma = np.flatnonzero(np.asarray(model.segments.region) == "soma")
        if soma.size == 0:
            raise NetworkError(f"model {model.path}: its segment table has no 'soma' segment to detect spikes on")
        self.soma_row = int(soma[0])  # row 0 for HayCell tables
        self._built_size = -1
        self._v0 = None  # (N,) rest voltage, p0: rest spike probability
        self._p0 = 0.0
        # channel lookup: (segment row, kind) -> channel
        self.channel_of = {(int(s), str(k)): c for c, (s, k) in
                           enumerate(zip(model.channel_segment, model.channel_kind))}

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
        B, C = len(self.cells), self.n_channels
        if self._built_size != B:
            self.model.module.to(dev)
            self.model.module.eval()
            # channel-major (C, B), handed to the model as its (B, C) transpose: the layout its step reads fastest
            self.inputs = np.zeros((C, B), dtype=np.float32)
            self.inputs_t = torch.from_numpy(self.inputs).t()
            with torch.inference_mode():
                zeros = torch.zeros(B, C, device=dev)
                for _ in range(self.runner.config.warmup_steps):
                    v, p, _ = self.model.module.step(zeros, self.model.module.init_state(B))
            v = v.detach().float().cpu().numpy()
            p = p.detach().float().cpu().numpy()
            self._check_shapes(v, p, B)
            # the rest state: one input-free step from the initial state (same for every cell)
            self._v0 = v[0].astype(np.float64)
            self._p0 = float(p[0])
            self.self_ncs = [c._self_nc for c in self.cells]
            self._built_size = B
        self.rec_row_t = torch.as_tensor(self.rec_row, dtype=torch.long, device=dev)
        self.rec_seg_t = torch.as_tensor(self.rec_seg, dtype=torch.long, device=dev)
        self.rec_row_np = np.asarray(self.rec_row, dtype=np.int64)
        self.rec_seg_np = np.asarray(self.rec_seg, dtype=np.int64)
        with torch.inference_mode():
            self.state = self.model.module.init_state(B).to(dev)
        self.inputs[:] = 0.0
        self.prev = np.full(B, self._v0[self.soma_row] if self.spike_rule == "threshold" else self._p0)
        self.t_ms = [float(k0)]
        self.chunks = [self._v0[self.rec_seg_np]]
        self._stacked = None
        self.spike_rows: list[np.ndarray] = []
        self.spike_times: list[np.ndarray] = []
        for recorder, group in self.probes:
            recorder.start_group(group, self._v0)

    def _check_shapes(self, v, p, B) -> None:
        if v.shape != (B, self.n_segments) or p.shape != (B,):
            raise NetworkError(
                f"model {self.model.path}: step() returned voltage {tuple(v.shape)} and spike probability "
                f"{tuple(p.shape)}, expected ({B}, {self.n_segments}) and ({B},) for its segment table")

    def step(self, k: int, rows: np.ndarray, chans: np.ndarray, weights: np.ndarray):
        """Advance bin [k − 1, k). Returns (batch rows, crossing times t* in ms) of new spikes."""
        import torch  # heavy: only once cells run

        t0 = time.perf_counter()
        with torch.inference_mode():
            if self.runner.device == "cpu":
                if rows.size:
                    np.add.at(self.inputs, (chans, rows), weights.astype(np.float32))
                x = self.inputs_t
            else:
                x = torch.zeros(self.inputs.shape, device=self.runner.device)
                if rows.size:
                    dev = self.runner.device
                    x.index_put_((torch.as_tensor(chans, device=dev), torch.as_tensor(rows, device=dev)),
                                 torch.as_tensor(weights, dtype=torch.float32, device=dev), accumulate=True)
                x = x.t()
            v, p, self.state = self.model.module.step(x, self.state)
            if self.spike_rule == "threshold":
                cur = v[:, self.soma_row].double().cpu().numpy()
            else:
                cur = p.double().cpu().numpy()
            rec = v[self.rec_row_t, self.rec_seg_t].double().cpu().numpy() if self.rec_row else None
            self.runner.stats.model_s += time.perf_counter() - t0
            if self.probes:
                t1 = time.perf_counter()
                for recorder, group in self.probes:
                    recorder.record(k, group, v, self.state)
                self.runner.stats.lfp_s += time.perf_counter() - t1
        if rows.size and self.runner.device == "cpu":
            self.inputs[chans, rows] = 0.0
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
