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


def _negexp_draws(ids: np.ndarray, counts: np.ndarray, global_index: int) -> list:
    """The first ``counts[i]`` ``random_negexp`` draws (mean 1) of stream ``ids[i]`` = (id1, id2, id3) at sequence 0."""
    blocks = np.maximum(1, -(-counts // 4))
    rows = np.repeat(np.arange(len(ids)), blocks)
    counter = np.zeros((rows.size, 4), dtype=np.uint64)
    counter[:, 0] = np.arange(rows.size) - np.repeat(np.cumsum(blocks) - blocks, blocks)  # sequence within a stream
    counter[:, 1], counter[:, 2], counter[:, 3] = ids[rows, 2], ids[rows, 0], ids[rows, 1]
    key = np.zeros((rows.size, 2), dtype=np.uint64)
    key[:, 0] = int(global_index)
    u = (philox4x32_10(counter, key).reshape(-1).astype(np.float64) + 1.0) * _SHIFT32
    e = -np.fromiter(map(math.log, u.tolist()), dtype=np.float64, count=u.size)  # the C library's log, as NEURON
    offsets = np.concatenate([[0], np.cumsum(4 * blocks)])
    return [e[offsets[i]:offsets[i] + counts[i]] for i in range(len(ids))]


def netstim_trains(params, ids, stop_ms: float, global_index: int = 0) -> list:
    """Spike times (ms) that NetStims emit before ``stop_ms`` in a run from t = 0, one array per NetStim.

    Parameters
    ----------
    params : array_like (n, 4)
        ``interval`` (ms), ``start`` (ms), ``noise`` (clipped to [0, 1] as
        NetStim does) and ``number`` (at most this many spikes) of each NetStim.
    ids : array_like (n, 3)
        The streams of ``noiseFromRandom123(id1, id2, id3)``.
    stop_ms : float
        Times at or after this are not returned.
    global_index : int
        Random123's global index (``Random().Random123_globalindex()``).
    """
    params = np.asarray(params, dtype=np.float64).reshape(-1, 4)
    ids = np.asarray(ids, dtype=np.int64).reshape(-1, 3).astype(np.uint64)
    interval, start, number = params[:, 0], params[:, 1], params[:, 3]
    noise = np.clip(params[:, 2], 0.0, 1.0)
    mean = np.where(interval > 0, interval, 0.01)  # NetStim's guard
    cap = np.minimum(np.ceil(np.maximum(number, 0.0)), 1e12)  # spikes until ispike >= number
    expected = np.maximum(0.0, stop_ms - start) / mean
    counts = np.minimum(cap, expected + 6.0 * np.sqrt(expected + 1.0) + 16).astype(np.int64)
    out: list = [np.empty(0)] * len(params)
    todo = np.flatnonzero((start >= 0) & (number > 0))
    while todo.size:
        noisy = todo[noise[todo] > 0]
        draws = dict(zip(noisy.tolist(), _negexp_draws(ids[noisy], counts[noisy], global_index)))
        again = []
        for i in todo.tolist():
            if i in draws:
                gaps = (1.0 - noise[i]) * mean[i] + noise[i] * mean[i] * draws[i]
            else:
                gaps = np.full(counts[i], mean[i])
            first = max(start[i] + gaps[0] - interval[i] * (1.0 - noise[i]), 0.0)
            times = np.cumsum(np.concatenate([[first], gaps[1:]]))  # t + interval, in order, as NEURON adds them
            if times[-1] >= stop_ms or counts[i] >= cap[i]:
                out[i] = times[times < stop_ms]
            else:
                counts[i] = min(cap[i], 2 * counts[i])
                again.append(i)
        todo = np.asarray(again, dtype=np.int64)
    return out


def netstim_spike_times(interval: float, start: float, noise: float, number: float, stop_ms: float,
                        ids=(0, 0, 0), global_index: int = 0) -> np.ndarray:
    """Spike times (ms) one NetStim emits before ``stop_ms`` in a run from t = 0 (see :func:`netstim_trains`)."""
    return netstim_trains([[interval, start, noise, number]], [ids], stop_ms, global_index)[0]
