"""``surrogate-cell protocols``: the Hay et al. 2011 validation protocols on the detailed cell.

Runs three somatic current steps, BAP, EPSP, CaBurst and BAC at fixed dt
0.025 ms, celsius 34 °C, and writes the traces with the keys and sampling
(0.1 ms) of the published reference. See ``docs/protocols.md``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..cells.protocols import PROTOCOLS, run_protocols, spike_times
from ..errors import SurrogateCellError
from ..plots.protocols import plot_protocols

EXAMPLES = """
examples:
  surrogate-cell protocols --out traces.npz                      # synthetic default cell
  surrogate-cell protocols --morphology cell1.asc --out traces.npz --json
  surrogate-cell protocols --protocols BAP,BAC --plot plots/
"""


def register(sub, formatter):
    p = sub.add_parser("protocols", help="run the Hay 2011 validation protocols on the detailed cell",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    p.add_argument("--morphology", metavar="FILE", help="Neurolucida .asc or SWC file (default: synthetic L5PC)")
    p.add_argument("--out", metavar="FILE.npz", help="write the traces here")
    p.add_argument("--protocols", default=",".join(PROTOCOLS), help="comma-separated protocol names")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    p.add_argument("--plot", metavar="DIR", help="write one PNG per protocol here")
    p.add_argument("--json", action="store_true", help="print each protocol's somatic spike times (ms) as JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run, output_folders=("plot",), output_files=("out",))


def run(args) -> int:
    if not args.out and not args.plot and not args.json:
        raise SurrogateCellError("nothing to do: give --out FILE.npz, --plot DIR or --json")
    if args.workers < 1:
        raise SurrogateCellError(f"--workers must be at least 1, got {args.workers}")
    out_path = Path(args.out) if args.out else None
    if out_path is not None:
        if out_path.suffix != ".npz":
            raise SurrogateCellError(f"--out must end in .npz, got {out_path}")
        if not out_path.parent.exists() or not os.access(out_path.parent, os.W_OK):
            raise SurrogateCellError(f"cannot write {out_path}: folder missing or not writable")
    names = [n.strip() for n in args.protocols.split(",") if n.strip()]
    traces = run_protocols(args.morphology, names, workers=args.workers, progress=not args.no_progress)
    if out_path is not None:
        tmp = out_path.with_name(out_path.name + ".part.npz")
        np.savez_compressed(tmp, **traces)
        os.replace(tmp, out_path)  # never leave a half-written file
    if args.plot:
        plot_protocols(traces, args.plot)
    if args.json:
        print(json.dumps({"morphology": args.morphology or "synthetic", "spike_times_ms": spike_times(traces)}))
    else:
        for name, times in spike_times(traces).items():
            print(f"{name:12s} {len(times):3d} spikes")
    return 0
