"""Test support for the NEURON surrogate tests: hand-made TorchScript models and fixtures.

The probe model makes every number in a test predictable:

* the voltage of segment n at the end of bin k is -70 + 80 * (summed excitatory
  minus inhibitory weight delivered in bin k to the channels of segment n);
* the soma (row 0) does the same over every channel, so one excitatory event of
  weight 1 lifts it from -70 to +10 mV in the bin where it lands and crosses the
  -10 mV threshold at exactly 0.75 of that bin;
* the last row (an axon segment) reads -70 + the summed weight of every event so
  far (the model's state), to check that finitialize resets the state;
* the spike probability is the bin's net input clipped to [0, 1].
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

DENDRITIC = ("basal", "oblique", "trunk", "tuft")


class ProbeModel(nn.Module):
    """See the module docstring; channel_sign is +1 (exc) / -1 (inh)."""

    def __init__(self, channel_segment: np.ndarray, channel_sign: np.ndarray, n_segments: int):
        super().__init__()
        C = len(channel_segment)
        M = torch.zeros(C, n_segments)
        M[torch.arange(C), torch.as_tensor(channel_segment)] = torch.as_tensor(channel_sign, dtype=torch.float32)
        M[:, 0] = torch.as_tensor(channel_sign, dtype=torch.float32)
        self.register_buffer("M", M[:, :-1].contiguous())
        self.register_buffer("sign", torch.as_tensor(channel_sign, dtype=torch.float32))

    @torch.jit.export
    def init_state(self, batch: int) -> Tensor:
        return torch.zeros(batch, 1, device=self.M.device)

    @torch.jit.export
    def step(self, x: Tensor, state: Tensor):
        net = x @ self.M
        total = state + x.sum(1, keepdim=True)
        v = torch.cat([-70.0 + 80.0 * net, -70.0 + total], dim=1)
        p = torch.clamp(x @ self.sign, 0.0, 1.0)
        return v, p, total


def channels_of(segments):
    """(channel_segment, channel_kind) for one exc and one inh channel per dendritic segment."""
    dend = np.flatnonzero(np.isin(segments.region, DENDRITIC))
    return np.concatenate([dend, dend]), np.array(["exc"] * len(dend) + ["inh"] * len(dend))


def export_probe(path, segments):
    """Write the probe model for ``segments`` to ``path``; returns the path."""
    from surrogate_cell.training.export import export_model

    seg, kind = channels_of(segments)
    module = ProbeModel(seg, np.where(kind == "exc", 1.0, -1.0), len(segments))
    return export_model(module, path, segments=segments, channel_segment=seg, channel_kind=kind,
                        arch="probe", spike_threshold_mV=-10.0, spike_probability=0.5)


def export_untrained(path, segments, hidden: int = 16):
    """The real (untrained) MH Surrogate of training/model.py for ``segments``."""
    from surrogate_cell.training.export import export_model
    from surrogate_cell.training.model import ModelConfig, Surrogate

    seg, kind = channels_of(segments)
    regions = sorted(set(segments.region))
    task_group = np.array([regions.index(r) for r in segments.region])
    xyz = segments.mid_um[seg[: len(seg) // 2]]
    cfg = ModelConfig(arch="mh", hidden=hidden, n_groups=8)
    module = Surrogate(cfg, xyz, xyz, task_group, np.full(len(segments), -70.0), np.full(len(segments), 5.0))
    return export_model(module, path, segments=segments, channel_segment=seg, channel_kind=kind, arch="mh",
                        config=cfg.to_dict())


@pytest.fixture(scope="session")
def hay_segments():
    from surrogate_cell.cells import HayCell

    return HayCell().segments


@pytest.fixture(scope="session")
def probe_path(tmp_path_factory, hay_segments):
    return export_probe(tmp_path_factory.mktemp("models") / "probe.pt", hay_segments)


@pytest.fixture(scope="session")
def untrained_path(tmp_path_factory, hay_segments):
    return export_untrained(tmp_path_factory.mktemp("models") / "untrained.pt", hay_segments)


@pytest.fixture
def fresh_runner():
    """A clean runner per test; NEURON objects of earlier tests are released."""
    from neuron import h

    from surrogate_cell.neuron import reset_runner

    reset_runner()
    h.ParallelContext().gid_clear()
    yield
    reset_runner()
    h.ParallelContext().gid_clear()
