"""Streaming multi-task surrogates: MH, MMoE and MMoEEx.

Every model maps synaptic input, one 1 ms bin at a time, to the voltage of
every segment (the tasks) and a somatic spike probability. The input is the
mean conductance (nS) of every receptor class (AMPA, NMDA, GABA_A, GABA_B)
on every segment in the bin: a synapse's kinetics live in its conductance,
not in the model. The same module
trains on whole windows (``forward``) and runs one step at a time (``step``);
the two agree to float precision (a test checks this), and a step costs the
same at any elapsed time.

Physics carried into the architecture:

* **Input grouping before any non-linearity.** Each channel's conductance
  is projected linearly onto ``n_groups`` learned groups, separately for
  excitation (AMPA, NMDA) and inhibition (GABA_A, GABA_B), initialised from a
  spatial clustering of the segments (Branch-ELM / hierarchical LN models
  group inputs by branch). Being linear, the projection commutes with the
  synapses' kinetics: the runner keeps the conductance of a network's
  synapses as grouped states per kinetics (:meth:`Surrogate.input_projection`,
  :meth:`Surrogate.step_projected`), so a step costs O(groups), not
  O(synapses) or O(channels).
* **Fixed filters of the grouped conductance.** The grouped inputs enter as
  they are and through exponential traces (5, 20 and 70 ms excitatory, 30 ms
  inhibitory) that carry their recent history.
* **Recurrent experts** (GRU) carry the cell's state; per-segment *towers*
  read the voltage out. Towers are batched as one tensor contraction, so 600
  towers cost about one layer.
* **A local linear path** (optional, ``local_path``): each segment's voltage
  adds learned multiples of the AMPA-, NMDA- and GABA_A-like traces of the
  synapses on that segment and on its whole section, so that local EPSPs,
  which the grouped inputs average away, are read out directly (the linear
  backbone of hierarchical LN models). It costs O(channels) per step.
* **An explicit spike mechanism.** The predicted somatic voltage, the experts
  and a direct linear path from the input traces (a GLM) give a somatic spike drive; the model's own past
  spikes add refractoriness and after-hyperpolarisation through fixed
  exponential traces with learned weights. A spike is the drive crossing a
  threshold upwards, and every segment's voltage adds a learned
  spike-triggered waveform (action potential, AHP, back-propagation) over the
  next ``spike_kernel_ms``. Training feeds the true spikes into this history
  (teacher forcing of spikes only); running, the model uses its own.

Architectures (Verhellen et al. 2024):

* ``mh``: one shared expert, one tower per task (hard parameter sharing).
* ``mmoe``: ``n_experts`` experts mixed per task by a softmax gate (Ma et al. 2018).
* ``mmoeex``: MMoE whose gates carry a fixed mask that reserves some experts to
  one task group (*exclusivity*) and hides others from one group (*exclusion*),
  enforced in every forward pass, throughout training (Aoki et al. 2021).
  Task groups are the segment regions.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from ..model import ignore_sparse_notes

ignore_sparse_notes()

EXC_TAUS_MS = (1e-3, 5.0, 20.0, 70.0)  # the conductance itself (1 µs: no memory), then its recent history
INH_TAUS_MS = (1e-3, 30.0)
HISTORY_TAUS_MS = (1.5, 4.0, 12.0, 40.0, 150.0)  # own spikes: refractoriness → adaptation
REST_LOGIT = -30.0  # spike drive held in the state of a cell at rest (far below any threshold)


@dataclass
class ModelConfig:
    """Architecture of a surrogate (sizes are counts, not units)."""

    arch: str = "mmoe"  # 'mh', 'mmoe' or 'mmoeex'
    n_groups: int = 32  # learned input groups per sign (exc, inh)
    hidden: int = 96  # GRU width of each expert (MH: the one shared expert)
    n_experts: int = 4  # ignored for 'mh'
    expert_dim: int = 16  # expert output fed to the towers
    tower_hidden: int = 8  # 0: linear towers (low-rank readout, cheapest)
    gate_dim: int = 16
    exclusive_fraction: float = 0.5  # MMoEEx: share of experts that are exclusive or excluded
    seed: int = 0
    exc_taus_ms: tuple = EXC_TAUS_MS
    inh_taus_ms: tuple = INH_TAUS_MS
    spike_kernel_ms: int = 24  # length of the spike-triggered voltage waveform (≥ 1)
    history_taus_ms: tuple = HISTORY_TAUS_MS  # own-spike traces: refractoriness, AHP, adaptation
    spike_mechanism: bool = True  # False: a bare spike head (no own-spike history, waveforms or soma drive)
    local_path: bool = False  # per-segment linear read-out of the segment's and section's own synapses
    soma_glm: bool = False  # with local_path: soma voltage and spike drive also read every synapse's traces
    soma_fit: bool = False  # a least-squares correction of the soma's output voltage (not of its spike drive),
    # fitted after training by `surrogate-cell fit-soma` (training/soma_fit.py)
    voltage_bounds_mV: tuple = (-95.0, 50.0)  # GABA_B's reversal and E_Na: no membrane voltage lies outside
    local_exc_taus_ms: tuple = (3.0, 50.0)  # AMPA-like, NMDA-like
    local_inh_taus_ms: tuple = (8.0,)  # GABA_A

    def to_dict(self):
        return asdict(self)


def plain_gru_config(**overrides) -> ModelConfig:
    """The baseline without the cell's structure: raw binned input → linear 128 → GRU → linear heads.

    No synaptic-kinetics traces (a near-zero time constant passes each bin
    through), no local path, and a bare spike head; the grouping is still
    learned (it is the linear input layer).
    """
    cfg = dict(arch="mh", n_groups=64, hidden=128, expert_dim=32, tower_hidden=0, exc_taus_ms=(1e-3,),
               inh_taus_ms=(1e-3,), spike_mechanism=False, local_path=False)
    cfg.update(overrides)
    return ModelConfig(**cfg)


def kmeans_groups(points: np.ndarray, k: int, seed: int = 0, iters: int = 50) -> np.ndarray:
    """Deterministic k-means labels of ``points`` (n, 3) µm, used to initialise the groups."""
    rng = np.random.default_rng(seed)
    k = min(k, len(points))
    centres = points[rng.choice(len(points), size=k, replace=False)]
    labels = np.zeros(len(points), dtype=np.int64)
    for _ in range(iters):
        d = ((points[:, None, :] - centres[None]) ** 2).sum(-1)
        labels = d.argmin(1)
        for j in range(k):
            if (labels == j).any():
                centres[j] = points[labels == j].mean(0)
    return labels


def mmoeex_gate_mask(task_group: np.ndarray, n_experts: int, fraction: float, seed: int) -> np.ndarray:
    """Gate mask (tasks × experts; 1 = allowed) for MMoEEx.

    ``round(fraction * n_experts)`` experts are special. Alternately, one is
    *exclusive* to a task group (all other groups lose it) and the next is
    *excluded* from a group (that group loses it). Every task keeps at least
    one shared expert.
    """
    rng = np.random.default_rng(seed)
    groups = np.unique(task_group)
    mask = np.ones((len(task_group), n_experts), dtype=np.float32)
    n_special = int(round(fraction * n_experts))
    n_special = min(n_special, n_experts - 1)
    for e in range(n_special):
        g = groups[rng.integers(len(groups))]
        if e % 2 == 0:
            mask[task_group != g, e] = 0.0  # exclusive to group g
        else:
            mask[task_group == g, e] = 0.0  # excluded from group g
    return mask


class TraceBank(nn.Module):
    """Exponential traces a_t = d·a_{t−1} + z_t of grouped input, per 1 ms bin.

    ``decay`` holds exp(−1 ms / τ) for each feature column. ``forward`` filters
    a whole window exactly with chunked Toeplitz products; ``step`` advances one bin.
    """

    def __init__(self, decay: Tensor, chunk: int = 50):
        super().__init__()
        self.register_buffer("decay", decay.float())
        self.chunk = chunk
        powers = torch.arange(chunk, dtype=torch.float64)
        # M[f, i, j] = d_f^(i-j) for i >= j
        diff = powers[:, None] - powers[None, :]
        M = torch.where(diff >= 0, decay.double()[:, None, None] ** diff.clamp(min=0), torch.zeros(()))
        self.register_buffer("toeplitz", M.float())
        self.register_buffer("carry_pow", (decay.double()[:, None] ** (powers + 1)[None, :]).float())

    def forward(self, z: Tensor, a0: Tensor) -> Tuple[Tensor, Tensor]:
        """z (B, T, F), a0 (B, F) → traces (B, T, F), last trace (B, F)."""
        B, T, F = z.shape
        L = self.chunk
        pad = (L - T % L) % L
        if pad > 0:
            z = torch.cat([z, z.new_zeros(B, pad, F)], dim=1)
        n = z.shape[1] // L
        zc = z.reshape(B, n, L, F)
        intra = torch.einsum("fij,bcjf->bcif", self.toeplitz, zc)
        outs: List[Tensor] = []
        a = a0
        for c in range(n):
            block = intra[:, c] + a[:, None, :] * self.carry_pow.t()[None]
            outs.append(block)
            a = block[:, -1]
        out = torch.cat(outs, dim=1)[:, :T]
        return out, out[:, -1] if T > 0 else a0

    def step(self, z: Tensor, a: Tensor) -> Tensor:
        return a * self.decay + z


def _scan(x: Tensor, a0: Tensor, decay: Tensor) -> Tensor:
    """Exponential traces a_t = decay·a_{t−1} + x_t over a window: x (B, T, F), a0 (B, F) → (B, T, F).

    Exact via cumulative sums in chunks of 32 bins (scaled so nothing under- or overflows).
    """
    T = x.shape[1]
    L = 32
    t = torch.arange(L, device=x.device, dtype=x.dtype)
    up = decay[None, :] ** (-t[:, None])  # (L, F): d^-t
    down = decay[None, :] ** t[:, None]   # d^t
    outs: List[Tensor] = []
    a = a0
    for s in range(0, T, L):
        xc = x[:, s:s + L]
        n = xc.shape[1]
        # a_{s+k} = d^(k+1) a + sum_{j<=k} d^(k-j) x_j = d^k (d a + cumsum(d^-j x_j))
        c = torch.cumsum(xc * up[:n], dim=1)
        block = down[:n] * (c + (a * decay)[:, None])
        outs.append(block)
        a = block[:, -1]
    return torch.cat(outs, dim=1)


class GRUExperts(nn.Module):
    """``n`` independent GRUs run as one block-diagonal GRU (cheap in steps and windows)."""

    def __init__(self, n_in: int, hidden: int, n: int, out_dim: int):
        super().__init__()
        self.n, self.hidden = n, hidden
        self.w_ih = nn.Parameter(torch.empty(n, 3 * hidden, n_in))
        self.w_hh = nn.Parameter(torch.empty(n, 3 * hidden, hidden))
        self.b_ih = nn.Parameter(torch.zeros(n, 3 * hidden))
        self.b_hh = nn.Parameter(torch.zeros(n, 3 * hidden))
        self.w_out = nn.Parameter(torch.empty(n, out_dim, hidden))
        self.b_out = nn.Parameter(torch.zeros(n, out_dim))
        bound = 1.0 / math.sqrt(hidden)
        for w in (self.w_ih, self.w_hh, self.w_out):
            nn.init.uniform_(w, -bound, bound)

    def input_gates(self, x: Tensor) -> Tensor:
        """x (..., F) → (..., n, 3H): the input half of the gates, for all steps at once."""
        return torch.einsum("...f,ngf->...ng", x, self.w_ih) + self.b_ih

    def step(self, x: Tensor, h: Tensor) -> Tensor:
        """One GRU update of every expert from input x (B, F); h (B, n, H) → (B, n, H)."""
        if self.n == 1:  # one fused cell (MH)
            return torch.gru_cell(x, h[:, 0], self.w_ih[0], self.w_hh[0], self.b_ih[0], self.b_hh[0])[:, None]
        return self.cell(self.input_gates(x), h)

    def cell(self, gi: Tensor, h: Tensor) -> Tensor:
        """One GRU update. gi (B, n, 3H) precomputed input gates; h (B, n, H)."""
        gh = torch.einsum("bnh,ngh->bng", h, self.w_hh) + self.b_hh
        H = self.hidden
        r = torch.sigmoid(gi[..., :H] + gh[..., :H])
        u = torch.sigmoid(gi[..., H:2 * H] + gh[..., H:2 * H])
        c = torch.tanh(gi[..., 2 * H:] + r * gh[..., 2 * H:])
        return (1.0 - u) * c + u * h

    def sequence(self, x: Tensor, h0: Tensor) -> Tensor:
        """Run all experts over a window at once (one fused GRU, C++ time loop).

        x (B, T, F), h0 (B, n, H) → hidden states (B, T, n, H). The experts are
        one GRU whose recurrent weights are block-diagonal, so they stay independent.
        """
        n, H = self.n, self.hidden
        # PyTorch's gate layout: rows [r; z; n] of width n*H, expert-major inside each gate
        w_ih = self.w_ih.reshape(n, 3, H, -1).transpose(0, 1).reshape(3 * n * H, -1)
        b_ih = self.b_ih.reshape(n, 3, H).transpose(0, 1).reshape(-1)
        b_hh = self.b_hh.reshape(n, 3, H).transpose(0, 1).reshape(-1)
        w_hh_g = self.w_hh.reshape(n, 3, H, H).transpose(0, 1)  # (3, n, H, H)
        w_hh = torch.zeros(3, n * H, n * H, dtype=x.dtype, device=x.device)
        for e in range(n):
            w_hh[:, e * H:(e + 1) * H, e * H:(e + 1) * H] = w_hh_g[:, e]
        w_hh = w_hh.reshape(3 * n * H, n * H)
        B, T = x.shape[0], x.shape[1]
        out, _ = torch.gru(x, h0.reshape(1, B, n * H), [w_ih, w_hh, b_ih, b_hh], True, 1, 0.0,
                           self.training, False, True)
        return out.reshape(B, T, n, H)

    def readout(self, h: Tensor) -> Tensor:
        """h (..., n, H) → expert outputs (..., n, D)."""
        return torch.tanh(torch.einsum("...nh,ndh->...nd", h, self.w_out) + self.b_out)


class LocalPath(nn.Module):
    """Per-segment linear response to the synapses on the segment and on its section.

    Input channels are filtered by exponential traces (one decay per block of
    channels); each segment then reads its own channel's traces and the sum of
    its section's, with learned weights (zero at start). State: the channel traces.

    Parameters
    ----------
    exc_rows, inh_rows : ndarray of int
        Output-segment row of each excitatory / inhibitory channel (channel order).
    row_section : ndarray of int (N,)
        Section index of each output segment (−1: no synapses, e.g. soma or axon).
    """

    def __init__(self, exc_rows: np.ndarray, inh_rows: np.ndarray, row_section: np.ndarray,
                 exc_taus_ms: tuple, inh_taus_ms: tuple, soma_glm: bool = False, soma_row: int = 0):
        super().__init__()
        n_rows = len(row_section)
        n_sec = int(row_section.max()) + 1 if (row_section >= 0).any() else 0
        self.n_rows, self.n_sec = n_rows, n_sec
        self.n_exc, self.n_inh = len(exc_rows), len(inh_rows)
        # one column per (channel, tau): excitatory channels for each exc tau, then inhibitory for each inh tau
        rows, decays = [], []
        for t in exc_taus_ms:
            rows.append(exc_rows)
            decays += [math.exp(-1.0 / t)] * len(exc_rows)
        for t in inh_taus_ms:
            rows.append(inh_rows)
            decays += [math.exp(-1.0 / t)] * len(inh_rows)
        self.n_blocks = len(exc_taus_ms) + len(inh_taus_ms)
        self.n_exc_blocks = len(exc_taus_ms)
        col_row = np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64)
        col_block = np.repeat(np.arange(self.n_blocks), [len(r) for r in rows]).astype(np.int64)
        # section sums: every trace column is added into its (block, section) slot (slot n_sec: no section)
        col_sec = row_section[col_row]
        self.register_buffer("sec_index", torch.from_numpy(col_block * (n_sec + 1) + np.where(col_sec >= 0, col_sec, n_sec)))
        # the read-out gathers, for every (own|section, block, row), one value of [traces, section sums, 0]
        n_cols = len(col_row)
        zero = n_cols + self.n_blocks * (n_sec + 1)
        own = np.full((self.n_blocks, n_rows), zero, dtype=np.int64)
        if len(set(zip(col_block.tolist(), col_row.tolist()))) != n_cols:
            raise ValueError("the local path needs at most one excitatory and one inhibitory channel per segment")
        own[col_block, col_row] = np.arange(n_cols)
        rsec = np.where(row_section >= 0, row_section, n_sec).astype(np.int64)
        sec = n_cols + np.arange(self.n_blocks)[:, None] * (n_sec + 1) + rsec[None, :]
        self.register_buffer("gather_index", torch.from_numpy(np.concatenate([own.ravel(), sec.ravel()])))
        # the same read-out factorised, for the 1 ms step in the feature-major layout (readout_step): every
        # column adds w_own[b, r] times itself into its row r; the section sums (slots) come from one sparse
        # 0/1 product and each row adds w_sec[b, r] times its section's slot of each block (~6000 non-zeros
        # in all, against ~14 000 for the read-out as one sparse matrix)
        n_slots = self.n_blocks * (n_sec + 1)
        order = np.argsort(self.sec_index.numpy(), kind="stable")
        slot_of_col = self.sec_index.numpy()
        self.register_buffer("sum_crow", torch.from_numpy(np.searchsorted(slot_of_col[order], np.arange(n_slots + 1)).astype(np.int64)))
        self.register_buffer("sum_col", torch.from_numpy(order.astype(np.int64)))
        self.register_buffer("sum_val", torch.ones(len(order)))
        has_sec = np.flatnonzero(row_section >= 0)
        sec_rows = np.repeat(has_sec, self.n_blocks)
        sec_block = np.tile(np.arange(self.n_blocks), len(has_sec))
        sec_cols = sec_block * (n_sec + 1) + row_section[sec_rows]
        sec_w = sec_block * n_rows + sec_rows  # into w_sec
        # the soma row also reads every slot, with the weights given to readout_step (a fitted soma read-out;
        # index past w_sec)
        soma_cols = np.arange(n_slots)
        rows_all = np.concatenate([sec_rows, np.full(n_slots, soma_row)])
        order = np.argsort(rows_all, kind="stable")
        self.register_buffer("rsec_crow", torch.from_numpy(np.searchsorted(rows_all[order], np.arange(n_rows + 1)).astype(np.int64)))
        self.register_buffer("rsec_col", torch.from_numpy(np.concatenate([sec_cols, soma_cols])[order].astype(np.int64)))
        self.register_buffer("rsec_w", torch.from_numpy(np.concatenate([sec_w, self.n_blocks * n_rows + soma_cols])[order].astype(np.int64)))
        self.n_slots = n_slots
        # own columns, per block: rows, and the weight index into w_own
        blocks_rows = [exc_rows] * len(exc_taus_ms) + [inh_rows] * len(inh_taus_ms)
        self.register_buffer("exc_rows", torch.as_tensor(np.asarray(exc_rows, np.int64)))
        self.register_buffer("inh_rows", torch.as_tensor(np.asarray(inh_rows, np.int64)))
        # where a kind's rows are one consecutive range (the Hay cell: every dendritic segment, in order), the
        # step adds into that slice of the voltages in place, with no intermediate
        self.exc_range = self._row_range(exc_rows)
        self.inh_range = self._row_range(inh_rows)
        self.register_buffer("own_w", torch.from_numpy(np.concatenate(
            [b * n_rows + np.asarray(r, np.int64) for b, r in enumerate(blocks_rows)] + [np.zeros(0, np.int64)])))
        self.register_buffer("decay", torch.tensor(decays, dtype=torch.float32))
        self.n_cols = len(decays)
        self.w_own = nn.Parameter(torch.zeros(self.n_blocks, n_rows))
        self.w_sec = nn.Parameter(torch.zeros(self.n_blocks, n_rows))
        # soma GLM: the soma voltage and the spike drive read every synapse's traces (fast, per-synapse timing)
        self.w_soma = nn.Parameter(torch.zeros(self.n_cols), requires_grad=soma_glm)
        self.w_drive = nn.Parameter(torch.zeros(self.n_cols), requires_grad=soma_glm)
        self.soma_row = soma_row
        self.soma_glm = bool(soma_glm)

    def columns(self, x: Tensor) -> Tensor:
        """x (..., C) → the channel input of every trace column (..., n_cols)."""
        e, i = x[..., : self.n_exc], x[..., self.n_exc: self.n_exc + self.n_inh]
        parts: List[Tensor] = []
        for _ in range(self.n_exc_blocks):
            parts.append(e)
        for _ in range(self.n_blocks - self.n_exc_blocks):
            parts.append(i)
        return torch.cat(parts, dim=-1)

    def advance(self, x: Tensor, old: Tensor, out: Tensor) -> Tensor:
        """One 1 ms step of the traces, written into ``out``: out = decay · old + columns(x).

        x (B, C); old and out (B, n_cols), e.g. slices of the model state. Channel blocks are
        strided views, so nothing of size n_cols is concatenated or copied.
        """
        B = x.shape[0]
        ne = self.n_exc_blocks * self.n_exc
        # out= cannot take part in autograd; where it would, the same values are copied in
        direct = not (torch.is_grad_enabled() and (x.requires_grad or old.requires_grad))
        for lo, n, c0, c1 in [(0, self.n_exc_blocks, 0, self.n_exc),
                              (ne, self.n_blocks - self.n_exc_blocks, self.n_exc, self.n_exc + self.n_inh)]:
            if n == 0 or c1 == c0:
                continue
            shape = [B, n, c1 - c0]
            hi = lo + n * (c1 - c0)
            target = out[:, lo:hi].view(shape)
            args = (x[:, None, c0:c1].expand(shape), old[:, lo:hi].view(shape), self.decay[lo:hi].view(shape[1:]))
            if direct:
                torch.addcmul(args[0], args[1], args[2], out=target)
            else:
                target.copy_(torch.addcmul(args[0], args[1], args[2]))
        return out

    def readout(self, a: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Traces a (M, n_cols) → voltage z contribution (M, N), its soma part (M,), spike-drive part (M,)."""
        M = a.shape[0]
        sec = a.new_zeros(M, self.n_blocks * (self.n_sec + 1)).index_add_(1, self.sec_index, a)
        pool = torch.cat([a, sec, a.new_zeros(M, 1)], dim=1)
        picked = torch.index_select(pool, 1, self.gather_index)  # (M, 2 · blocks · rows): own, then section
        w = torch.cat([self.w_own.reshape(-1), self.w_sec.reshape(-1)])
        return self._with_soma((picked * w).reshape(M, 2 * self.n_blocks, self.n_rows).sum(1), a)

    @staticmethod
    def _row_range(rows) -> List[int]:
        """[first, last + 1] if ``rows`` are consecutive and increasing, else [-1, -1]."""
        rows = np.asarray(rows, np.int64)
        if len(rows) and np.array_equal(rows, np.arange(rows[0], rows[0] + len(rows))):
            return [int(rows[0]), int(rows[0]) + len(rows)]
        return [-1, -1]

    def slot_sums(self, a: Tensor) -> Tensor:
        """Traces a (..., n_cols) summed per section and block: (..., n_slots)."""
        flat = a.reshape(-1, a.shape[-1])
        sums = flat.new_zeros(flat.shape[0], self.n_slots).index_add_(1, self.sec_index, flat)
        return sums.reshape(a.shape[:-1] + (self.n_slots,))

    def readout_step(self, vT: Tensor, a: Tensor, in_place: bool, soma_slots: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """:meth:`readout` for one step of many cells, in the feature-major layout: adds the read-out of traces
        a (M, n_cols) into the voltage z ``vT`` (N, M) (in place if ``in_place``), plus ``soma_slots``
        (n_slots,) times the slot sums into the soma's row → vT, soma GLM part (M,), spike-drive part (M,)."""
        aT = a.t()
        w_own = self.w_own.reshape(-1)[self.own_w]
        ne = self.n_exc_blocks * self.n_exc
        for lo, hi, rows, span in ((0, ne, self.exc_rows, self.exc_range), (ne, self.n_cols, self.inh_rows, self.inh_range)):
            if hi > lo:
                n = rows.shape[0]
                if in_place and span[0] >= 0:
                    target = vT[span[0]:span[1]]
                    for c in range(lo, hi, n):
                        target.addcmul_(aT[c:c + n], w_own[c:c + n, None])
                else:
                    part = aT[lo:lo + n] * w_own[lo:lo + n, None]
                    for c in range(lo + n, hi, n):
                        part = part.addcmul_(aT[c:c + n], w_own[c:c + n, None])
                    vT = vT.index_add_(0, rows, part) if in_place else vT.index_add(0, rows, part)
        sums = torch.mm(torch.sparse_csr_tensor(self.sum_crow, self.sum_col, self.sum_val, (self.n_slots, self.n_cols)), aT)
        W = torch.sparse_csr_tensor(self.rsec_crow, self.rsec_col,
                                    torch.cat([self.w_sec.reshape(-1), soma_slots])[self.rsec_w],
                                    (self.n_rows, self.n_slots))
        vT = vT.addmm_(W, sums) if in_place else torch.addmm(vT, W, sums)
        if not self.soma_glm:
            zero = a.new_zeros(a.shape[0])
            return vT, zero, zero
        soma = a @ self.w_soma
        vT = vT.index_add(0, torch.tensor([self.soma_row], device=vT.device), soma[None, :])
        return vT, soma, a @ self.w_drive

    def _with_soma(self, v: Tensor, a: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Add the soma GLM to the read-out v; → v, its soma part, its spike-drive part."""
        if not self.soma_glm:
            # its weights are fixed at zero: skip two passes over every trace
            zero = a.new_zeros(a.shape[0])
            return v, zero, zero
        soma = a @ self.w_soma
        v = v.clone()
        v[:, self.soma_row] += soma
        return v, soma, a @ self.w_drive


class Surrogate(nn.Module):
    """A streaming multi-task surrogate of one detailed cell.

    Parameters
    ----------
    config : ModelConfig
    exc_segment_xyz, inh_segment_xyz : ndarray (C_exc, 3), (C_inh, 3)
        Segment centres (µm) of the excitatory (AMPA, NMDA) and inhibitory (GABA_A, GABA_B)
        channels, in channel order, to initialise the groups.
    task_group : ndarray of int (N,)
        Region index of each output segment (MMoEEx masks and region reports).
    v_mean_mV, v_std_mV : ndarray (N,)
        Per-segment voltage normalisation (stored with the model).
    local_rows : (exc_rows, inh_rows, row_section) or None
        For ``config.local_path``: each channel's output row and each row's
        section index (see :class:`LocalPath`).
    """

    def __init__(self, config: ModelConfig, exc_segment_xyz: np.ndarray, inh_segment_xyz: np.ndarray,
                 task_group: np.ndarray, v_mean_mV: np.ndarray, v_std_mV: np.ndarray,
                 local_rows: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None):
        super().__init__()
        torch.manual_seed(config.seed)
        self.arch = config.arch
        n_exc, n_inh = len(exc_segment_xyz), len(inh_segment_xyz)
        n_tasks = len(task_group)
        G = config.n_groups
        self.n_exc, self.n_inh, self.n_tasks, self.n_groups = n_exc, n_inh, n_tasks, G
        # grouping: initialised one-hot by k-means on synapse positions, then learned
        w_exc = np.zeros((n_exc, G), dtype=np.float32)
        w_exc[np.arange(n_exc), kmeans_groups(exc_segment_xyz, G, config.seed)] = 1.0
        w_inh = np.zeros((n_inh, G), dtype=np.float32)
        w_inh[np.arange(n_inh), kmeans_groups(inh_segment_xyz, G, config.seed + 1)] = 1.0
        self.w_exc = nn.Parameter(torch.from_numpy(w_exc))
        self.w_inh = nn.Parameter(torch.from_numpy(w_inh))
        decays = [math.exp(-1.0 / t) for t in config.exc_taus_ms for _ in range(G)]
        decays += [math.exp(-1.0 / t) for t in config.inh_taus_ms for _ in range(G)]
        self.traces = TraceBank(torch.tensor(decays, dtype=torch.float64))
        self.n_exc_taus, self.n_inh_taus = len(config.exc_taus_ms), len(config.inh_taus_ms)
        n_feat = len(decays)
        self.n_feat = n_feat
        self.feat_scale = nn.Parameter(torch.ones(n_feat))
        n_exp = 1 if config.arch == "mh" else config.n_experts
        self.n_experts = n_exp
        self.hidden = config.hidden
        self.experts = GRUExperts(n_feat, config.hidden, n_exp, config.expert_dim)
        # hidden state at rest (learned on the windows that start at rest)
        self.h0 = nn.Parameter(torch.zeros(n_exp * config.hidden))
        D, K = config.expert_dim, config.tower_hidden
        # gates (MMoE/MMoEEx): per task, a softmax over experts from a shared projection
        self.gate_proj = nn.Linear(n_feat, config.gate_dim)
        self.gate_w = nn.Parameter(torch.zeros(n_tasks, n_exp, config.gate_dim))
        self.gate_b = nn.Parameter(torch.zeros(n_tasks, n_exp))
        mask = np.ones((n_tasks, n_exp), dtype=np.float32)
        if config.arch == "mmoeex":
            mask = mmoeex_gate_mask(np.asarray(task_group), n_exp, config.exclusive_fraction, config.seed)
        self.register_buffer("gate_logmask", torch.from_numpy(np.where(mask > 0, 0.0, -1e9).astype(np.float32)))
        # towers, one per task, batched; tower_hidden == 0 gives linear towers (a low-rank readout)
        self.tower_hidden = K
        if K > 0:
            self.t_w1 = nn.Parameter(torch.randn(n_tasks, D, K) / math.sqrt(D))
            self.t_b1 = nn.Parameter(torch.zeros(n_tasks, K))
            self.t_w2 = nn.Parameter(torch.randn(n_tasks, K) / math.sqrt(K))
        else:
            self.t_w1 = nn.Parameter(torch.randn(n_tasks, D, 1) / math.sqrt(D))
            self.t_b1 = nn.Parameter(torch.zeros(n_tasks, 1))
            self.t_w2 = nn.Parameter(torch.ones(n_tasks, 1), requires_grad=False)
        self.t_b2 = nn.Parameter(torch.zeros(n_tasks))
        # spike drive: the soma task's mixed expert output and all hidden units, plus a GLM on the traces
        self.spike_head = nn.Linear(D + config.hidden * n_exp, 1)
        self.spike_glm = nn.Linear(n_feat, 1, bias=False)
        nn.init.zeros_(self.spike_glm.weight)
        # logit per z-unit of soma voltage
        self.spike_from_soma = nn.Parameter(torch.tensor(2.0 if config.spike_mechanism else 0.0),
                                            requires_grad=bool(config.spike_mechanism))
        if config.spike_kernel_ms < 1:
            raise ValueError(f"spike_kernel_ms must be at least 1, got {config.spike_kernel_ms}")
        self.kernel_len = int(config.spike_kernel_ms)
        self.history = TraceBank(torch.tensor([math.exp(-1.0 / t) for t in config.history_taus_ms],
                                              dtype=torch.float64))
        self.n_hist = len(config.history_taus_ms)
        on = bool(config.spike_mechanism)
        # refractory from the start
        self.w_hist = nn.Parameter(torch.full((self.n_hist,), -2.0 if on else 0.0), requires_grad=on)
        # z-score per spike, lag k ms
        self.spike_kernel = nn.Parameter(torch.zeros(n_tasks, self.kernel_len), requires_grad=on)
        # slow after-effects of spiking (adaptation, after-hyperpolarisation) on every segment: z-score per
        # unit of each spike-history trace; the GRU never sees the spikes, so it cannot carry them
        self.w_hist_v = nn.Parameter(torch.zeros(n_tasks, self.n_hist), requires_grad=on)
        # threshold on the drive (logit); set by calibration after training
        self.register_buffer("spike_logit_threshold", torch.tensor(0.0))
        self.rest_logit = REST_LOGIT
        self.register_buffer("v_mean", torch.as_tensor(v_mean_mV, dtype=torch.float32))
        self.register_buffer("v_std", torch.as_tensor(v_std_mV, dtype=torch.float32))
        # physical bounds of the output (the spike waveforms add up in bursts and could overshoot them)
        lo, hi = (float(b) for b in config.voltage_bounds_mV)
        if not lo < hi:
            raise ValueError(f"voltage_bounds_mV must be (low, high) with low < high, got {config.voltage_bounds_mV}")
        self.register_buffer("z_low", (lo - self.v_mean) / self.v_std)
        self.register_buffer("z_high", (hi - self.v_mean) / self.v_std)
        self.v_low_mV, self.v_high_mV = lo, hi  # the same bounds for the step, which clamps in mV (cheaper)
        self.soma_index = 0
        self.local_path = bool(config.local_path)
        if config.soma_glm and not config.local_path:
            raise ValueError("soma_glm reads the local path's traces: set local_path too")
        if self.local_path:
            if local_rows is None:
                raise ValueError("config.local_path needs local_rows (channel rows and row sections)")
            self.local = LocalPath(*local_rows, config.local_exc_taus_ms, config.local_inh_taus_ms,
                                   soma_glm=config.soma_glm, soma_row=0)
            n_local = self.local.n_cols
        else:
            self.local = LocalPath(np.zeros(0, np.int64), np.zeros(0, np.int64), np.full(n_tasks, -1), (), ())
            n_local = 0
        self.n_local = n_local
        self.n_core = n_feat + n_exp * config.hidden + n_local
        # the soma read-out fitted after training (training/soma_fit.py): a linear function of the hidden units,
        # the expert outputs, the input traces and the local traces' section sums (slots), added to the soma's
        # output voltage only (the spike drive never sees it); its spike-dependent terms go into spike_kernel
        # and w_hist_v
        self.soma_fit = bool(config.soma_fit)
        self.n_fit_core = n_exp * config.hidden + n_exp * D + n_feat
        self.soma_fit_w = nn.Parameter(torch.zeros(self.n_fit_core), requires_grad=False)
        self.soma_fit_slots = nn.Parameter(torch.zeros(self.local.n_slots), requires_grad=False)
        self.soma_fit_b = nn.Parameter(torch.zeros(()), requires_grad=False)
        self.register_buffer("soma_rows", torch.tensor([self.soma_index]))
        self.state_size = self.n_core + self.n_hist + self.kernel_len + 1

    # -- pieces shared by forward and step -------------------------------------
    def _project(self, x: Tensor) -> Tensor:
        """Channel conductances (..., C) → grouped inputs (..., 2G): excitatory groups, then inhibitory."""
        if x.dim() == 2:
            # one step of many cells: (groups, C) @ (C, B) suits a feature-major input
            xt = x.t()
            ze = torch.mm(self.w_exc.t(), xt[: self.n_exc]).t()
            zi = torch.mm(self.w_inh.t(), xt[self.n_exc:]).t()
        else:
            ze = x[..., : self.n_exc] @ self.w_exc
            zi = x[..., self.n_exc:] @ self.w_inh
        return torch.cat([ze, zi], dim=-1)

    def _group(self, x: Tensor) -> Tensor:
        return self._expand(self._project(x))

    def _expand(self, z: Tensor) -> Tensor:
        """Grouped inputs (..., 2G) → the input of every trace column (..., F)."""
        ze, zi = z[..., : self.n_groups], z[..., self.n_groups:]
        parts: List[Tensor] = []
        for _ in range(self.n_exc_taus):
            parts.append(ze)
        for _ in range(self.n_inh_taus):
            parts.append(zi)
        return torch.cat(parts, dim=-1)

    def _features(self, a: Tensor) -> Tensor:
        # traces grow with input rate; log-compress for a well-scaled GRU input
        return torch.log1p(torch.relu(a)) * self.feat_scale

    def _gates(self, feat: Tensor) -> Tensor:
        """feat (M, F) → gates (M, N, E)."""
        q = self.gate_proj(feat)  # (M, d)
        g = (q @ self.gate_w.permute(2, 0, 1).reshape(q.shape[1], -1)).reshape(q.shape[0], self.n_tasks, -1)
        g = g + self.gate_b
        return torch.softmax(g + self.gate_logmask, dim=-1)

    def _towers(self, feat: Tensor, h: Tensor, feature_major: bool, rows: Optional[Tensor] = None
                ) -> Tuple[Tensor, Tensor, Tensor]:
        """feat (M, F), h (M, E, H) → voltage z of the towers, (M, N) or, if ``feature_major``, (N, M);
        the soma task's mixed expert output (M, D); expert outputs (M, E, D). ``rows`` (R,): only those
        towers, (M, R) or (R, M)."""
        e = self.experts.readout(h)  # (M, E, D)
        M = e.shape[0]
        D = e.shape[2]
        if feature_major and self.n_experts == 1 and self.tower_hidden == 0:
            # MH with linear towers: one product straight into the (N, M) layout of the step
            mixed = e[:, 0, :]
            # the bias as one more column of the weights (a broadcast add over (N, M) costs more than the product)
            w = torch.cat([self.t_w1[:, :, 0], (self.t_b1[:, 0] + self.t_b2)[:, None]], dim=1)
            if rows is not None:
                w = w.index_select(0, rows)
            return torch.mm(w, torch.cat([mixed, mixed.new_ones(M, 1)], dim=1).t()), mixed, e
        # every tower's first layer as one matrix: (D, N*K)
        w1 = self.t_w1.permute(1, 0, 2).reshape(D, -1)
        if self.n_experts == 1:
            mixed = e[:, 0, :]
            pre = torch.addmm(self.t_b1.reshape(-1), mixed, w1).reshape(M, self.n_tasks, -1)
            soma_in = mixed
        else:
            gates = self._gates(feat)  # (M, N, E)
            if self.tower_hidden == 0:
                # linear towers: mix the experts' projections instead of projecting the mixture
                proj = torch.matmul(e, w1)  # (M, E, N)
                pre = (gates * proj.transpose(1, 2)).sum(-1, keepdim=True) + self.t_b1
            else:
                mixed = torch.bmm(gates, e)  # (M, N, D)
                pre = torch.bmm(mixed.transpose(0, 1), self.t_w1).transpose(0, 1) + self.t_b1  # (M, N, K)
            soma_in = torch.bmm(gates[:, self.soma_index:self.soma_index + 1, :], e)[:, 0]
        if self.tower_hidden == 0:
            v = pre[:, :, 0] + self.t_b2
        else:
            v = torch.einsum("mnk,nk->mn", torch.relu(pre), self.t_w2) + self.t_b2
        if rows is not None:
            v = v.index_select(1, rows)
        return (v.t().contiguous() if feature_major else v), soma_in, e

    def _spike_drive(self, soma_in: Tensor, h: Tensor, feat: Tensor, v_soma: Tensor) -> Tensor:
        """The spike drive (logit, (M,)) from the experts, the input traces and the towers' soma voltage z."""
        spike = self.spike_head(torch.cat([soma_in, h.flatten(1)], dim=-1)).squeeze(-1)
        # the predicted somatic voltage (densely supervised) drives spiking directly
        return spike + self.spike_glm(feat).squeeze(-1) + self.spike_from_soma * v_soma

    def _readout(self, feat: Tensor, h: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """feat (M, F), h (M, E, H) → voltage z-scores (M, N), spike logit (M,), expert outputs (M, E, D)."""
        v, soma_in, e = self._towers(feat, h, False)
        return v, self._spike_drive(soma_in, h, feat, v[:, self.soma_index]), e

    # -- the spike mechanism ----------------------------------------------------------
    def _offsets(self) -> Tuple[int, int, int, int]:
        """Column offsets of the state: traces [0, o1), hidden [o1, o2), local traces [o2, n_core),
        spike history [n_core, o3), last spikes [o3, o4), last drive o4."""
        o3 = self.n_core + self.n_hist
        return self.n_feat, self.n_core - self.n_local, o3, o3 + self.kernel_len

    def _split(self, state: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """state → traces (B, F), hidden (B, E, H), spike history (B, n_hist), last spikes (B, K), last drive (B,)."""
        o1, o2, o3, o4 = self._offsets()
        return (state[:, :o1], state[:, o1:o2].reshape(-1, self.n_experts, self.hidden), state[:, o3 - self.n_hist:o3],
                state[:, o3:o4], state[:, o4])

    def _local_state(self, state: Tensor) -> Tensor:
        return state[:, self._offsets()[1]:self.n_core]

    def spike_loop(self, drive: Tensor, hist: Tensor, prev: Tensor, w_hist: Optional[Tensor] = None,
                   thr: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """Run the spike mechanism on its own spikes over a window.

        drive (B, T) → spikes (B, T) in {0, 1}, logit (B, T), spike history after each bin (B, T, n_hist),
        last history (B, n_hist), last logit (B,). ``w_hist`` (B, n_hist) and ``thr`` (B,): per-row history
        weights and logit thresholds in place of the model's (a search over them runs as one batch).
        """
        threshold = self.spike_logit_threshold if thr is None else thr
        spikes: List[Tensor] = []
        logits: List[Tensor] = []
        hists: List[Tensor] = []
        for t in range(drive.shape[1]):
            if w_hist is None:
                logit = drive[:, t] + hist @ self.w_hist
            else:
                logit = drive[:, t] + (hist * w_hist).sum(-1)
            fired = ((logit >= threshold) & (prev < threshold)).to(drive.dtype)
            hist = hist * self.history.decay + fired[:, None]
            prev = logit
            spikes.append(fired)
            logits.append(logit)
            hists.append(hist)
        return torch.stack(spikes, 1), torch.stack(logits, 1), torch.stack(hists, 1), hist, prev

    def spike_window(self, spikes: Tensor, last: Tensor) -> Tuple[Tensor, Tensor]:
        """spikes (B, T), last spikes before the window (B, K; lag 1 first) → the last K spikes at every bin
        (B, T, K), chronological: [..., i] is the spike at lag K − 1 − i; and the new last spikes."""
        K = self.kernel_len
        seq = torch.cat([last[:, : K - 1].flip(1), spikes], dim=1)  # chronological
        return seq.unfold(1, K, 1), seq[:, -K:].flip(1)

    def _spike_waveforms(self, spikes: Tensor, last: Tensor) -> Tuple[Tensor, Tensor]:
        """spikes (B, T), last spikes before the window (B, K; lag 1 first) → voltage z (B, T, N), new last spikes."""
        win, last = self.spike_window(spikes, last)
        return win @ self.spike_kernel.flip(1).t(), last

    def drive(self, x: Tensor, state: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """The input-driven part of a window: voltage z without spikes (B, T, N), spike drive (B, T),
        expert outputs (B, T, E, D), and the traces and hidden units at its end (B, n_core)."""
        v, spike, e, core, fit_core, fit_local = self.drive_parts(x, state)
        if self.soma_fit:
            fit = self._soma_correction(fit_core)
            if self.local_path:
                fit = fit + self.local.slot_sums(fit_local) @ self.soma_fit_slots
            v = v.index_add(2, self.soma_rows, fit[..., None])
        return v, spike, e, core

    def drive_parts(self, x: Tensor, state: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        """:meth:`drive` without the fitted soma correction, and that correction's inputs over the window:
        (B, T, n_fit_core) and the local traces (B, T, n_local)."""
        a0, h, _, _, _ = self._split(state)
        a, a_last = self.traces(self._group(x), a0)
        feat = self._features(a)
        B, T = x.shape[0], x.shape[1]
        hs = self.experts.sequence(feat, h)  # (B, T, E, H)
        H = hs.reshape(B * T, self.n_experts, self.hidden)
        v, spike, e = self._readout(feat.reshape(B * T, -1), H)
        v = v.reshape(B, T, -1)
        core = torch.cat([a_last, hs[:, -1].flatten(1)], dim=1)
        fit_core = torch.cat([H.flatten(1), e.flatten(1), feat.reshape(B * T, -1)], dim=1).reshape(B, T, -1)
        fit_local = x.new_zeros(B, T, 0)
        if self.local_path:
            la = self._local_state(state)
            lx = self.local.columns(x)
            # traces of every column: a_t = d a_{t-1} + x_t, by a scan in chunks (cheap: elementwise)
            lt = _scan(lx, la, self.local.decay)
            v_loc, soma, d_loc = self.local.readout(lt.reshape(B * T, -1))
            v = v + v_loc.reshape(B, T, -1)
            spike = spike + self.spike_from_soma * soma + d_loc
            core = torch.cat([core, lt[:, -1]], dim=1)
            fit_local = lt
        return v, spike.reshape(B, T), e.reshape(B, T, self.n_experts, -1), core, fit_core, fit_local

    def _soma_correction(self, fit_core: Tensor) -> Tensor:
        """The fitted soma read-out's part from (..., n_fit_core) (z units, (...,)); its local traces' part
        is ``soma_fit_slots`` times their slot sums."""
        return fit_core @ self.soma_fit_w + self.soma_fit_b

    # -- training: whole windows -------------------------------------------------
    def forward(self, x: Tensor, state: Tensor, spikes: Optional[Tensor] = None
                ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Run a window.

        Parameters
        ----------
        x : Tensor (B, T, C)
            Mean conductance (nS) of every channel per 1 ms bin.
        state : Tensor (B, state_size)
            From :meth:`init_state` or a previous window.
        spikes : Tensor (B, T) or None
            Somatic spikes per bin to feed the spike history (teacher forcing,
            for training). None: the model's own spikes, exactly as :meth:`step`.

        Returns
        -------
        voltage_z (B, T, N), spike_logit (B, T), expert outputs (B, T, E, D), final state (B, state_size)
        """
        v, drive, e, core = self.drive(x, state)
        return self.finish(v, drive, e, core, state, spikes)

    def finish(self, v: Tensor, drive: Tensor, e: Tensor, core: Tensor, state: Tensor,
               spikes: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """The spike-dependent part of :meth:`forward`, from :meth:`drive`'s outputs and the window's
        start state (one :meth:`drive` can serve several spike thresholds)."""
        _, _, hist0, last0, prev0 = self._split(state)
        if spikes is None:
            spikes, logit, traces, hist, prev = self.spike_loop(drive, hist0, prev0)
        else:
            traces, hist = self.history(spikes[:, :, None].expand(-1, -1, self.n_hist), hist0)
            before = torch.cat([hist0[:, None], traces[:, :-1]], dim=1)
            logit = drive + before @ self.w_hist
            prev = logit[:, -1]
        v_spk, last = self._spike_waveforms(spikes, last0)
        v = v + v_spk + traces @ self.w_hist_v.t()
        v = torch.maximum(torch.minimum(v, self.z_high), self.z_low)
        return v, logit, e, torch.cat([core, hist, last, prev[:, None]], dim=1)

    # -- the linear voltage readout (for the exact reduced LFP form) ----------------------------------
    @torch.jit.ignore
    def has_linear_readout(self) -> bool:
        """Whether the voltages are exactly ``readout_features(state) @ A.T + b`` (:meth:`linear_readout`):
        one expert, linear towers, and no local path, soma fit, spike waveforms or spike-history term."""
        return (self.n_experts == 1 and self.tower_hidden == 0 and not self.local_path and not self.soma_fit
                and float(self.spike_kernel.detach().abs().max()) == 0.0
                and float(self.w_hist_v.detach().abs().max()) == 0.0)

    @torch.jit.export
    def linear_readout(self) -> Tuple[Tensor, Tensor]:
        """A (N, D) and b (N,) in mV: the voltages are ``z @ A.T + b`` for z = :meth:`readout_features` where
        :meth:`has_linear_readout` (within the voltage bounds)."""
        return self.t_w1[:, :, 0] * self.v_std[:, None], (self.t_b1[:, 0] + self.t_b2) * self.v_std + self.v_mean

    @torch.jit.export
    def readout_features(self, state: Tensor) -> Tensor:
        """z (B, D): the expert's outputs from a state after a step."""
        o1, o2, _, _ = self._offsets()
        h = state[:, o1:o2].reshape(-1, self.n_experts, self.hidden)
        return self.experts.readout(h)[:, 0, :]

    # -- inference: one 1 ms step ---------------------------------------------------
    @torch.jit.export
    def init_state(self, batch: int) -> Tensor:
        """State of a cell at rest with no input history.

        Stored feature-major (the transpose of a contiguous (state_size, batch) tensor): the
        step's sparse read-out of the local traces then needs no transposing copy.
        """
        state = torch.zeros(self.state_size, batch, device=self.v_mean.device).t()
        state[:, self.n_feat:self.n_feat + self.h0.shape[0]] = self.h0
        state[:, -1] = self.rest_logit
        return state

    @torch.jit.export
    def input_projection(self) -> Tensor:
        """W (C, 2G): the grouped input of :meth:`step_projected` is ``x @ W`` for channel conductances x (B, C)."""
        C, G = self.n_exc + self.n_inh, self.n_groups
        w = torch.zeros(C, 2 * G, dtype=self.w_exc.dtype, device=self.w_exc.device)
        w[: self.n_exc, :G] = self.w_exc
        w[self.n_exc:, G:] = self.w_inh
        return w

    @torch.jit.export
    def step_projected(self, z: Tensor, state: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """:meth:`step` from the grouped input z (B, 2G) = ``x @ input_projection()``; the runner's form, whose
        cost does not grow with the channels. Not for models with a local path (it reads every channel)."""
        if self.local_path:
            raise RuntimeError("a model with a local path reads every channel: use step(x, state)")
        return self._step(self._expand(z), z.new_zeros(z.shape[0], 0), state, None)

    @torch.jit.export
    def step_rows(self, z: Tensor, state: Tensor, rows: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """:meth:`step_projected` that computes the voltages of the segment ``rows`` (R,) only: voltage_mV
        (B, R), spike probability (B,), new state; the spikes and the state are those of the full step.
        The runner's form where only the soma and the recorded segments are read: its cost does not grow
        with the segments."""
        if self.local_path:
            raise RuntimeError("a model with a local path reads every channel: use step(x, state)")
        # the soma's tower drives the spikes: it rides as row 0 and is dropped from the output
        both = torch.cat([self.soma_rows, rows])
        v, p, new = self._step(self._expand(z), z.new_zeros(z.shape[0], 0), state, both)
        return v[:, 1:], p, new

    @torch.jit.export
    def step(self, x: Tensor, state: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Advance one 1 ms bin.

        Parameters
        ----------
        x : Tensor (B, C)
            Mean conductance (nS) of every channel in this bin.
        state : Tensor (B, state_size)

        Returns
        -------
        voltage_mV (B, N) at the end of the bin, spike probability (B,), new state.
        The cell spikes in this bin when the probability crosses ``sigmoid(spike_logit_threshold)`` upwards.
        Without autograd (``torch.inference_mode()`` or ``no_grad``) the state advances in place: the
        returned state is ``state`` itself (``clone()`` it first to keep the old one). The voltage is a
        transposed view of a (N, B) tensor; an ``x`` in the same layout (``x = buf.t()`` for a contiguous
        (C, B) ``buf``, as the runner builds it) is the fastest input.
        """
        return self._step(self._group(x), x, state, None)

    def _step(self, grouped: Tensor, x: Tensor, state: Tensor, rows: Optional[Tensor]
              ) -> Tuple[Tensor, Tensor, Tensor]:
        """:meth:`step` from the trace columns' input ``grouped`` (B, F); ``x`` feeds the local path only.
        ``rows``: the voltages of these segments only, the soma's first (no local path)."""
        # without autograd the state advances in place, slice by slice (at batch 1000 the local traces are
        # most of it; a new buffer each step cost more than the GRU). With autograd the new state is a new
        # tensor and the local traces are copied in (autograd forbids writing into saved slices).
        in_place = not torch.is_grad_enabled()
        a0, h, hist, last, prev = self._split(state)
        o1, o2, o3, o4 = self._offsets()
        new = state if in_place else torch.empty_like(state)
        a = self.traces.step(grouped, a0)
        feat = self._features(a)
        h = self.experts.step(feat, h).flatten(1)
        hs = h.view(-1, self.n_experts, self.hidden)
        # voltages in the feature-major layout (segments, batch), as the state is stored: the local path's
        # sparse read-out and the spike waveforms add into them without transposing copies
        vT, soma_in, e = self._towers(feat, hs, True, rows)
        soma_at = self.soma_index if rows is None else 0
        drive = self._spike_drive(soma_in, hs, feat, vT[soma_at])
        spike_kernel, w_hist_v, v_std, v_mean = self.spike_kernel, self.w_hist_v, self.v_std, self.v_mean
        z_low, z_high = self.z_low, self.z_high
        if rows is not None:
            spike_kernel, w_hist_v = spike_kernel.index_select(0, rows), w_hist_v.index_select(0, rows)
            v_std, v_mean = v_std.index_select(0, rows), v_mean.index_select(0, rows)
            z_low, z_high = z_low.index_select(0, rows), z_high.index_select(0, rows)
        old = state[:, o2:self.n_core]
        la = old
        if self.local_path:
            la = self.local.advance(x, old, old if in_place else torch.empty_like(old))
            # the fitted soma read-out's local part rides in this sparse product (zero weights when not fitted)
            slots = self.soma_fit_slots if self.soma_fit else torch.zeros_like(self.soma_fit_slots)
            vT, soma, d_loc = self.local.readout_step(vT, la, in_place, slots)
            drive = drive + self.spike_from_soma * soma + d_loc
        if self.soma_fit:
            # the soma's rows among the computed ones (with ``rows``, wherever the caller put the soma)
            soma_rows = self.soma_rows if rows is None else torch.nonzero(rows == self.soma_index).flatten()
            fit = self._soma_correction(torch.cat([h, e.flatten(1), feat], dim=1))[None, :]
            fit = fit.expand(soma_rows.shape[0], -1)
            vT = vT.index_add_(0, soma_rows, fit) if in_place else vT.index_add(0, soma_rows, fit)
        thr = self.spike_logit_threshold
        logit = drive + hist @ self.w_hist
        fired = ((logit >= thr) & (prev < thr)).to(vT.dtype)
        last = torch.cat([fired[:, None], last[:, : self.kernel_len - 1]], dim=1)
        hist = hist * self.history.decay + fired[:, None]
        if in_place:
            # clamped in mV, with two scalars: the same as in z (v_std > 0), and far cheaper than per-row bounds
            vT = vT.addmm_(spike_kernel, last.t()).addmm_(w_hist_v, hist.t())
            vT = vT.mul_(v_std[:, None]).add_(v_mean[:, None]).clamp_(self.v_low_mV, self.v_high_mV)
        else:
            vT = torch.addmm(torch.addmm(vT, spike_kernel, last.t()), w_hist_v, hist.t())
            vT = torch.addcmul(v_mean[:, None], torch.clamp(vT, z_low[:, None], z_high[:, None]), v_std[:, None])
        new[:, :o1] = a
        new[:, o1:o2] = h
        if not in_place:
            new[:, o2:self.n_core] = la
        new[:, o3 - self.n_hist:o3] = hist
        new[:, o3:o4] = last
        new[:, o4] = logit
        return vT.t(), torch.sigmoid(logit), new

    def to_mV(self, v_z: Tensor) -> Tensor:
        return v_z * self.v_std + self.v_mean


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
