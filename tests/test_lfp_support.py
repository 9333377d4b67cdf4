"""Helpers of the LFP tests (no tests here): synaptic drive and a recorded active run."""
from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CELL1 = ROOT.parent / "shared" / "reference" / "hay2011" / "cell1.asc"


def drive_synapses(cell, n: int = 400, weight: float = 2.0, rate_hz: float = 10.0, seed: int = 0) -> list:
    """``n`` AMPA/NMDA synapses on random dendritic segments with Poisson NetStims.

    Weight 2 (× 0.4 nS) at 10 Hz on the synthetic cell gives about 9 somatic
    spikes in 200 ms. Returns the objects, which must be kept alive.
    """
    h = cell.h
    rng = np.random.default_rng(seed)
    sites = [(sec, seg.x) for sec in list(cell.apical) + list(cell.basal) for seg in sec]
    keep = []
    for k in range(n):
        sec, x = sites[int(rng.integers(len(sites)))]
        syn = h.sc_AMPANMDA(sec(x))
        stim = h.NetStim()
        stim.start, stim.number, stim.interval, stim.noise = 0.0, 1e9, 1000.0 / rate_hz, 1.0
        stim.noiseFromRandom123(seed, k, 7)
        nc = h.NetCon(stim, syn)
        nc.weight[0] = weight
        keep.append((syn, stim, nc))
    return keep


def record_run(cell, tstop_ms: float, *, v_init: float = -80.0, extra=None) -> dict:
    """Run with fast_imem at dt 0.025 ms, 34 °C; every segment's v (mV) and i_membrane_ (nA).

    Returns ``{'t': (n,), 'V': (segments, n), 'I': (segments, n)}`` plus
    ``extra`` (name → hoc reference) recorded the same way.
    """
    h = cell.h
    h.load_file("stdrun.hoc")
    h.CVode().active(0)
    h.CVode().use_fast_imem(1)
    h.celsius, h.dt = 34.0, 0.025
    segs = [seg for sec in cell.all for seg in sec]
    vr = [h.Vector().record(seg._ref_v) for seg in segs]
    ir = [h.Vector().record(seg._ref_i_membrane_) for seg in segs]
    tr = h.Vector().record(h._ref_t)
    er = {k: h.Vector().record(ref) for k, ref in (extra or {}).items()}
    h.finitialize(v_init)
    h.continuerun(tstop_ms)
    out = {"t": np.array(tr), "V": np.array(vr), "I": np.array(ir)}
    out.update({k: np.array(v) for k, v in er.items()})
    return out


def somatic_spikes(v_soma, threshold: float = -10.0) -> int:
    return int(np.sum(np.diff((np.asarray(v_soma) > threshold).astype(int)) == 1))
