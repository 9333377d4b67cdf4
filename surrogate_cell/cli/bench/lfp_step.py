"""``surrogate-cell bench lfp-step``: the cost of one 1 ms step of the population LFP Σ_c K_c V_c.

:func:`bench_lfp_overhead` times one step of the LFP product for a
population, in the forms the runner could use, with random kernels and
voltages of the right shapes (the cost does not depend on their values).
``bench lfp`` measures the LFP's share of a whole network run.
"""
from __future__ import annotations

import json
import time

import numpy as np

from ...lfp.errors import LFPError

EXAMPLES = """
examples:
  surrogate-cell bench lfp-step --cells 1000 --contacts 16 --json
"""

FORMS = ("numpy_einsum", "numpy_gemv", "torch_gemv", "torch_bmm", "torch_lowrank")


def _time(fn, repeats: int, sync=None) -> float:
    fn()
    fn()
    if sync:
        sync()
    best = []
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        if sync:
            sync()
        best.append((time.perf_counter() - t0) / repeats)
    return min(best) * 1e3


def bench_lfp_overhead(n_cells: int, n_contacts: int, n_segments: int, *, rank: int = 32,
                       forms=FORMS, device: str = "cpu", repeats: int = 20, seed: int = 0) -> dict:
    """Time one LFP step for a population, ms (best of three rounds of ``repeats``).

    Parameters
    ----------
    n_cells, n_contacts, n_segments : int
        Population size, electrode contacts, segments per cell.
    rank : int
        Basis size of the ``torch_lowrank`` form (:mod:`surrogate_cell.lfp.lowrank`).
    forms : sequence of str
        Any of ``numpy_einsum`` (einsum over K (cells, contacts, segments)),
        ``numpy_gemv`` / ``torch_gemv`` (K as one contacts × cells·segments
        matrix times the flattened voltages, as the runner's
        LFP recorder does), ``torch_bmm`` (batched cells × (contacts × segments) products,
        then a sum), ``torch_lowrank`` (V @ P.T then the reduced kernels).
        All in float32; numpy forms run on the CPU.
    device : str
        Torch device for the torch forms.

    Returns
    -------
    dict
        ``{form: ms per step}`` plus the shapes and ``kernel_MB`` (float32
        size of K).
    """
    import torch  # heavy (torch): only when a model runs

    unknown = [f for f in forms if f not in FORMS]
    if unknown:
        raise LFPError(f"unknown benchmark form(s) {unknown}; use {FORMS}")
    rng = np.random.default_rng(seed)
    K = rng.standard_normal((n_cells, n_contacts, n_segments), dtype=np.float32)
    V = rng.standard_normal((n_cells, n_segments), dtype=np.float32)
    K2 = np.ascontiguousarray(K.transpose(1, 0, 2).reshape(n_contacts, -1))
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    out = {"n_cells": n_cells, "n_contacts": n_contacts, "n_segments": n_segments, "device": device,
           "kernel_MB": K.nbytes / 1e6, "torch_threads": torch.get_num_threads()}
    for form in forms:
        if form == "numpy_einsum":
            out[form] = _time(lambda: np.einsum("cks,cs->k", K, V), repeats)
        elif form == "numpy_gemv":
            out[form] = _time(lambda: K2 @ V.ravel(), repeats)
        elif form == "torch_gemv":
            Kt, Vt = torch.from_numpy(K2).to(device), torch.from_numpy(V).to(device)
            out[form] = _time(lambda: torch.mv(Kt, Vt.reshape(-1)), repeats, sync)
        elif form == "torch_bmm":
            Kt, Vt = torch.from_numpy(K).to(device), torch.from_numpy(V).to(device)
            out[form] = _time(lambda: torch.bmm(Kt, Vt.unsqueeze(2)).sum(0), repeats, sync)
        elif form == "torch_lowrank":
            P = torch.from_numpy(rng.standard_normal((rank, n_segments), dtype=np.float32)).to(device)
            R = torch.from_numpy(rng.standard_normal((n_contacts, n_cells * rank), dtype=np.float32)).to(device)
            Vt = torch.from_numpy(V).to(device)
            out[form] = _time(lambda: torch.mv(R, (Vt @ P.T).reshape(-1)), repeats, sync)
    return out


def register_bench(sub, formatter) -> None:
    """Add ``lfp-step`` to ``surrogate-cell bench``."""
    p = sub.add_parser("lfp-step", help="ms per 1 ms step of the population LFP product, in several forms",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    p.add_argument("--cells", type=int, default=1000, help="placed cells")
    p.add_argument("--contacts", type=int, default=16, help="electrode contacts")
    p.add_argument("--segments", type=int, default=663, help="segments per cell")
    p.add_argument("--rank", type=int, default=32, help="basis size of the torch_lowrank form")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_run)


def _run(args) -> int:
    if min(args.cells, args.contacts, args.segments, args.rank, args.repeats) < 1:
        raise LFPError("--cells, --contacts, --segments, --rank and --repeats must be >= 1")
    fig = bench_lfp_overhead(args.cells, args.contacts, args.segments, rank=args.rank, repeats=args.repeats)
    if args.json:
        print(json.dumps(fig))
        return 0
    print(f"LFP step: {args.cells} cells x {args.contacts} contacts x {args.segments} segments "
          f"(kernels {fig['kernel_MB']:.1f} MB float32, {fig['torch_threads']} torch threads)")
    for form in FORMS:
        print(f"  {form:14s} {fig[form]:8.3f} ms per step")
    return 0
