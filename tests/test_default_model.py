"""The shipped surrogates: they load, carry the cell they were trained on, and run free for 60 s stably."""
import numpy as np
import pytest
import torch

import surrogate_cell
from surrogate_cell.cells import HayCell
from surrogate_cell.model import DEFAULT_MODEL, SHIPPED_MODELS, default_model_path, load, shipped_model_path


@pytest.fixture(scope="module", params=sorted(SHIPPED_MODELS))
def model(request):
    return load(shipped_model_path(request.param))


def test_the_default_is_the_published_cell(hay_reference):
    """load() is the published Hay L5PC on cell1.asc: the same segments as HayCell("cell1.asc")."""
    assert DEFAULT_MODEL == "hay2011" and default_model_path() == shipped_model_path("hay2011")
    model = surrogate_cell.load()
    assert model.geometry.source == "cell1.asc" and model.n_segments == 642
    assert model.cell_digest == HayCell(hay_reference / "cell1.asc").segments.digest()


def test_shipped_models_are_small_and_carry_their_cell(model):
    assert default_model_path().stat().st_size <= 20e6 and shipped_model_path("synthetic").stat().st_size <= 20e6
    # the cell it was trained on, rebuilt from the file alone
    assert model.cell_digest == HayCell(model.geometry).segments.digest()
    assert model.metadata["spike_rule"] in ("probability", "threshold")
    # the conductance of every receptor class on every segment
    assert model.n_channels == 4 * model.n_segments
    assert [str(k) for k in model.channel_kind[::model.n_segments]] == ["ampa", "nmda", "gaba_a", "gaba_b"]
    # trained on kinetics that cover the common published synapses (docs/dataset.md)
    trained = model.trained_inputs
    assert trained["ampa"]["tau_decay_ms"][0] <= 3.0 and trained["ampa"]["tau_decay_ms"][1] >= 5.3
    assert trained["nmda"]["tau_decay_ms"][0] <= 70.0 and trained["nmda"]["tau_decay_ms"][1] >= 140.0
    assert trained["gaba_a"]["tau_decay_ms"][0] <= 8.0 and trained["gaba_a"]["tau_decay_ms"][1] >= 18.2
    assert trained["gaba_b"]["tau_decay_ms"][1] >= 250.0


@torch.no_grad()
def test_sixty_seconds_free_running_is_stable(model):
    """Silence, ordinary drive and saturating drive for 60 s: no NaN, voltages in [-100, 60] mV."""
    C = model.n_channels
    state = model.init_state(3)
    lo, hi = np.inf, -np.inf
    rates = torch.tensor([0.0, 0.005, 0.3])[:, None]  # 1 nS pulses per channel per ms: silence, ordinary, saturating
    gen = torch.Generator().manual_seed(0)
    for t in range(60_000):
        x = (torch.rand(3, C, generator=gen) < rates).float()
        x[2] *= 3.0  # saturating: many strong events
        v, p, state = model.step(x, state)
        if t % 100 == 0:
            assert torch.isfinite(v).all() and torch.isfinite(p).all() and torch.isfinite(state).all(), t
            lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
    assert -100.0 <= lo and hi <= 60.0, (lo, hi)
