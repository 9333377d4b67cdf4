"""Benchmarks run each measured network in a fresh process: NEURON holds one network per process, and
every timing then starts from the same state (no warm caches, no cells of an earlier run)."""
from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor


def in_fresh_process(fn, *args):
    """``fn(*args)`` in a newly spawned Python process; its return value (picklable)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()
