"""The paper's published configuration, as the reference row of ``compare``.

Verhellen et al. (2024): MMoE with 5 TCN experts (3 causal blocks, channels
32/16/8, kernel 10, dilations 1/2/4) over a 100 ms window of synaptic input
*and the true past voltages* (teacher forcing), a softmax gate per task,
towers 800→10→10→1, predicting every segment's voltage 1 ms ahead.

It is not a streaming model: each 1 ms prediction recomputes the whole
100 ms window, and free-running it must feed back its own predictions.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


class CausalBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int):
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.conv = nn.Conv1d(c_in, c_out, kernel, dilation=dilation)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.conv(nn.functional.pad(x, (self.pad, 0))))


class PaperTCN(nn.Module):
    """Teacher-forced MMoE-TCN (``window`` ms of inputs and voltages → next voltages, z-scored)."""

    def __init__(self, n_channels: int, n_tasks: int, window: int = 100, n_experts: int = 5,
                 channels=(32, 16, 8), kernel: int = 10, dilations=(1, 2, 4), tower=(10, 10)):
        super().__init__()
        self.window, self.n_tasks, self.n_experts = window, n_tasks, n_experts
        c_in = n_channels + n_tasks
        self.experts = nn.ModuleList()
        for _ in range(n_experts):
            blocks, c = [], c_in
            for c_out, d in zip(channels, dilations):
                blocks.append(CausalBlock(c, c_out, kernel, d))
                c = c_out
            self.experts.append(nn.Sequential(*blocks))
        d_out = channels[-1] * window  # 8 × 100 = 800
        self.gate = nn.Parameter(torch.zeros(n_tasks, n_experts, c_in))
        self.gate_b = nn.Parameter(torch.zeros(n_tasks, n_experts))
        self.t_w1 = nn.Parameter(torch.randn(n_tasks, d_out, tower[0]) / d_out ** 0.5)
        self.t_b1 = nn.Parameter(torch.zeros(n_tasks, tower[0]))
        self.t_w2 = nn.Parameter(torch.randn(n_tasks, tower[0], tower[1]) / tower[0] ** 0.5)
        self.t_b2 = nn.Parameter(torch.zeros(n_tasks, tower[1]))
        self.t_w3 = nn.Parameter(torch.randn(n_tasks, tower[1]) / tower[1] ** 0.5)
        self.t_b3 = nn.Parameter(torch.zeros(n_tasks))

    def forward(self, inputs: Tensor, past_v: Tensor) -> Tensor:
        """inputs (B, W, C), past_v (B, W, N) z-scored → next voltage (B, N) z-scored."""
        x = torch.cat([inputs, past_v], dim=-1).transpose(1, 2)  # (B, C+N, W)
        e = torch.stack([ex(x).flatten(1) for ex in self.experts], dim=1)  # (B, E, 800)
        g = torch.einsum("bc,nec->bne", x.mean(-1), self.gate) + self.gate_b
        mixed = torch.bmm(torch.softmax(g, -1), e)  # (B, N, 800)
        u = torch.relu(torch.bmm(mixed.transpose(0, 1), self.t_w1).transpose(0, 1) + self.t_b1)
        u = torch.relu(torch.einsum("bnk,nkl->bnl", u, self.t_w2) + self.t_b2)
        return (u * self.t_w3).sum(-1) + self.t_b3
