"""Streaming multi-task surrogates: MH, MMoE and MMoEEx.

Every model maps synaptic input, one 1 ms bin at a time, to the voltage of
every segment (the tasks) and a somatic spike probability. The same module
trains on whole windows (``forward``) and runs one step at a time (``step``);
the two agree to float precision (a test checks this), and a step costs the
same at any elapsed time.

Physics carried into the architecture:

* **Input grouping before any non-linearity.** Each channel's summed event
  weight is projected linearly onto ``n_groups`` learned groups, separately for
  excitation and inhibition, initialised from a spatial clustering of the
  synapses (Branch-ELM / hierarchical LN models group inputs by branch).
* **Synaptic kinetics as fixed filters.** The grouped inputs are filtered by
  exponential traces with the synapses' own time constants (AMPA 3 ms,
  NMDA 2 → 70 ms, GABA_A 8 ms) plus 20 ms and 30 ms traces. Being linear and
  per group, the filter commutes with the projection, so a step costs
  O(groups), not O(synapses).
* **Recurrent experts** (GRU) carry the cell's state; per-segment *towers*
  read the voltage out. Towers are batched as one tensor contraction, so 600
  towers cost about one layer.

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
from typing import List, Tuple

import numpy as np
import torch
from torch import Tensor, nn

EXC_TAUS_MS = (2.0, 3.0, 20.0, 70.0)  # NMDA rise, AMPA decay, slow, NMDA decay
INH_TAUS_MS = (8.0, 30.0)  # GABA_A decay, slow


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

    def to_dict(self):
        return asdict(self)


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


class Surrogate(nn.Module):
    """A streaming multi-task surrogate of one detailed cell.

    Parameters
    ----------
    config : ModelConfig
    exc_segment_xyz : ndarray (S, 3)
        Segment centres (µm) of the excitatory channels, to initialise the groups.
    task_group : ndarray of int (N,)
        Region index of each output segment (MMoEEx masks and region reports).
    v_mean_mV, v_std_mV : ndarray (N,)
        Per-segment voltage normalisation (stored with the model).
    n_inh : int
        Inhibitory channels (the channels after the S excitatory ones).
    """

    def __init__(self, config: ModelConfig, exc_segment_xyz: np.ndarray, inh_segment_xyz: np.ndarray,
                 task_group: np.ndarray, v_mean_mV: np.ndarray, v_std_mV: np.ndarray):
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
        # spike head reads the soma task's mixed expert output
        self.spike_head = nn.Linear(D + config.hidden * n_exp, 1)
        self.register_buffer("v_mean", torch.as_tensor(v_mean_mV, dtype=torch.float32))
        self.register_buffer("v_std", torch.as_tensor(v_std_mV, dtype=torch.float32))
        self.soma_index = 0
        self.state_size = n_feat + n_exp * config.hidden

    # -- pieces shared by forward and step -------------------------------------
    def _group(self, x: Tensor) -> Tensor:
        ze = x[..., : self.n_exc] @ self.w_exc
        zi = x[..., self.n_exc:] @ self.w_inh
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

    def _readout(self, feat: Tensor, h: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """feat (M, F), h (M, E, H) → voltage z-scores (M, N), spike logit (M,), expert outputs (M, E, D)."""
        e = self.experts.readout(h)  # (M, E, D)
        M = e.shape[0]
        D = e.shape[2]
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
        spike = self.spike_head(torch.cat([soma_in, h.flatten(1)], dim=-1)).squeeze(-1)
        return v, spike, e

    # -- training: whole windows -------------------------------------------------
    def forward(self, x: Tensor, state: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Run a window.

        Parameters
        ----------
        x : Tensor (B, T, C)
            Summed event weight per channel and 1 ms bin.
        state : Tensor (B, state_size)
            From :meth:`init_state` or a previous window.

        Returns
        -------
        voltage_z (B, T, N), spike_logit (B, T), expert outputs (B, T, E, D), final state (B, state_size)
        """
        a0 = state[:, : self.n_feat]
        h = state[:, self.n_feat:].reshape(-1, self.n_experts, self.hidden)
        a, a_last = self.traces(self._group(x), a0)
        feat = self._features(a)
        B, T = x.shape[0], x.shape[1]
        hs = self.experts.sequence(feat, h)  # (B, T, E, H)
        h = hs[:, -1]
        H = hs.reshape(B * T, self.n_experts, self.hidden)
        v, spike, e = self._readout(feat.reshape(B * T, -1), H)
        return (v.reshape(B, T, -1), spike.reshape(B, T), e.reshape(B, T, self.n_experts, -1),
                torch.cat([a_last, h.flatten(1)], dim=1))

    # -- inference: one 1 ms step ---------------------------------------------------
    @torch.jit.export
    def init_state(self, batch: int) -> Tensor:
        """State of a cell at rest with no input history."""
        return torch.zeros(batch, self.state_size, device=self.v_mean.device)

    @torch.jit.export
    def step(self, x: Tensor, state: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Advance one 1 ms bin.

        Parameters
        ----------
        x : Tensor (B, C)
            Summed event weight per channel in this bin.
        state : Tensor (B, state_size)

        Returns
        -------
        voltage_mV (B, N) at the end of the bin, spike probability (B,), new state.
        """
        a = self.traces.step(self._group(x), state[:, : self.n_feat])
        feat = self._features(a)
        h = state[:, self.n_feat:].reshape(-1, self.n_experts, self.hidden)
        h = self.experts.cell(self.experts.input_gates(feat), h)
        v, spike, e = self._readout(feat, h)
        return v * self.v_std + self.v_mean, torch.sigmoid(spike), torch.cat([a, h.flatten(1)], dim=1)

    def to_mV(self, v_z: Tensor) -> Tensor:
        return v_z * self.v_std + self.v_mean


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
