"""NEURON's ``NetStim`` replayed in numpy, spike for spike, so that the runner can play it.

A NetStim with ``noise > 0`` draws its intervals from its Random123 stream
(``noiseFromRandom123(id1, id2, id3)``): Philox-4×32 with 10 rounds, counter
(sequence, id3, id1, id2), key (global index, 0), four 32-bit words per
counter value, each mapped to u = (w + 1) / (2³² + 1) and to the interval
``(1 − noise)·interval + noise·interval·(−log u)``. The first spike comes at
``start + noise·interval·(−log u₁)``, each later one one interval after the
previous, until ``number`` spikes; ``finitialize`` restarts the stream. These
are the published Philox constants (Salmon et al., SC'11) and the NetStim
and nrnran123 definitions of NEURON 9; computed in the same order in float64
with the C library's ``log``, the times equal NEURON's bit for bit (a test
compares them).
"""
from __future__ import annotations

import math

import numpy as np

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)  # Philox-4x32 multipliers
_W0, _W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)  # key increments (Weyl)
_MASK = np.uint64(0xFFFFFFFF)
_SHIFT32 = 1.0 / 4294967297.0  # 1 / (2^32 + 1): words to the open interval (0, 1)


def philox4x32_10(counter: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Philox-4×32-10 of each row: counter (n, 4) and key (n, 2) of 32-bit words (any integer dtype).

    Returns
    -------
    ndarray (n, 4) uint64 holding 32-bit words.
    """
    c = np.asarray(counter, dtype=np.uint64) & _MASK
    k0 = np.asarray(key, dtype=np.uint64)[:, 0] & _MASK
    k1 = np.asarray(key, dtype=np.uint64)[:, 1] & _MASK
    for r in range(10):
        if r:
            k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
        p0, p1 = _M0 * c[:, 0], _M1 * c[:, 2]  # < 2^64: exact in uint64
        c = np.stack([(p1 >> np.uint64(32)) ^ c[:, 1] ^ k0, p1 & _MASK,
                      (p0 >> np.uint64(32)) ^ c[:, 3] ^ k1, p0 & _MASK], axis=1)
    return c


def random123_negexp(ids, n: int, global_index: int = 0) -> np.ndarray:
    """The first ``n`` draws of ``random_negexp`` (mean 1) from the stream ``ids`` = (id1, id2, id3) at sequence 0."""
    id1, id2, id3 = (int(i) for i in ids)
    blocks = max(1, -(-n // 4))
    counter = np.zeros((blocks, 4), dtype=np.uint64)
    counter[:, 0] = np.arange(blocks, dtype=np.uint64)
    counter[:, 1], counter[:, 2], counter[:, 3] = id3, id1, id2
    key = np.zeros((blocks, 2), dtype=np.uint64)
    key[:, 0] = int(global_index)
    words = philox4x32_10(counter, key).reshape(-1)[:n]
    u = (words.astype(np.float64) + 1.0) * _SHIFT32
    return -np.fromiter(map(math.log, u.tolist()), dtype=np.float64, count=n)  # the C library's log, as NEURON


def netstim_spike_times(interval: float, start: float, noise: float, number: float, stop_ms: float,
                        ids=(0, 0, 0), global_index: int = 0) -> np.ndarray:
    """Spike times (ms) a NetStim emits before ``stop_ms`` in a run from t = 0.

    Parameters
    ----------
    interval, start : float
        ``NetStim.interval`` and ``.start`` (ms).
    noise : float
        ``NetStim.noise``, clipped to [0, 1] as NetStim does.
    number : float
        ``NetStim.number``: at most this many spikes.
    stop_ms : float
        Times at or after this are not returned.
    ids : (int, int, int)
        The stream of ``noiseFromRandom123(id1, id2, id3)``.
    global_index : int
        Random123's global index (``Random().Random123_globalindex()``).
    """
    noise = min(max(float(noise), 0.0), 1.0)
    interval = float(interval)
    mean = interval if interval > 0 else 0.01  # NetStim's guard
    if not (start >= 0 and number > 0):
        return np.empty(0)
    cap = int(min(math.ceil(number), 1e12))  # spikes until ispike >= number
    expected = max(0.0, stop_ms - start) / mean
    n = min(cap, int(expected + 6.0 * math.sqrt(expected + 1.0) + 16))
    while True:
        if noise == 0:
            gaps = np.full(n, mean)
        else:
            gaps = (1.0 - noise) * mean + noise * mean * random123_negexp(ids, n, global_index)
        first = max(float(start) + gaps[0] - interval * (1.0 - noise), 0.0)
        times = np.cumsum(np.concatenate([[first], gaps[1:]]))  # t + interval, in order, as NEURON adds them
        if times[-1] >= stop_ms or n >= cap:
            return times[times < stop_ms]
        n = min(cap, 2 * n)
