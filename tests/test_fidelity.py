"""Network fidelity figures (surrogate_cell.fidelity) on hand-made spikes and signals with known answers."""
import numpy as np
import pytest

from surrogate_cell.fidelity import lfp_agreement, lowpass, population_counts, rate_agreement


def test_rates_per_cell_and_in_bins():
    ref = (np.array([5.0, 25.0, 26.0, 45.0, 70.0]), np.array([0, 1, 0, 1, 2]))
    cand = (np.array([6.0, 24.0, 27.0, 44.0, 71.0, 72.0]), np.array([0, 1, 0, 1, 2, 2]))
    np.testing.assert_array_equal(population_counts(*ref, [0, 1], 80.0, 0.0, 20.0), [1, 2, 1, 0])
    r = rate_agreement(ref, cand, [0, 1, 2], 80.0, bin_ms=20.0)
    assert r["population_rate_hz_reference"] == pytest.approx(5 / 3 / 0.08)
    assert r["population_rate_error"] == pytest.approx(0.2)
    # bins of 20 ms: counts (1, 2, 1, 1) against (1, 2, 1, 2)
    assert r["population_rate_r_bins"] == pytest.approx(np.corrcoef([1, 2, 1, 1], [1, 2, 1, 2])[0, 1])
    assert np.isnan(r["per_cell_rate_r"])  # every candidate cell fires twice: no r of a constant


def test_lfp_low_passed_agreement():
    """A 300 Hz difference spoils the raw r, not the r low-passed at 100 Hz."""
    t = np.arange(2000) * 0.5  # ms
    slow = np.sin(2 * np.pi * 8 * t / 1000)
    fast = 2.0 * np.sin(2 * np.pi * 300 * t / 1000)
    np.testing.assert_allclose(lowpass(slow + fast, 0.5, 100.0), slow, atol=1e-9)
    ref, cand = slow[:, None], (slow + fast)[:, None]
    out = lfp_agreement(ref, cand, step_ms=0.5, lowpass_hz=100.0)
    assert out["per_electrode_r"][0] < 0.5
    assert out["per_electrode_r_lowpass"][0] == pytest.approx(1.0, abs=1e-9) and out["lowpass_hz"] == 100.0
    assert "per_electrode_r_lowpass" not in lfp_agreement(ref, cand)
