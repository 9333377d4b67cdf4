"""``surrogate-cell demo``: 100 surrogate L5PCs plus interneurons in NetPyNE, with LFP, for 1 s.

Writes raster.png, traces.png, lfp.png and summary.json to --out, and prints
the speed ratio against the same network with detailed cells, estimated from a
short detailed run in the same session.
"""
from __future__ import annotations

import json

EXAMPLES = """
examples:
  surrogate-cell demo                         # the default: 100 L5PC + 25 FS, 1 s, ./demo_out
  surrogate-cell demo --cells 20 --duration-ms 300 --out quick/ --json
"""


def register(sub, formatter):
    p = sub.add_parser("demo", help="run a NetPyNE network of surrogate L5PCs with LFP and print the speed-up",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    p.add_argument("--out", default="demo_out", metavar="DIR")
    p.add_argument("--cells", type=int, default=100, help="surrogate L5 pyramidal cells")
    p.add_argument("--interneurons", type=int, default=25)
    p.add_argument("--duration-ms", type=float, default=1000.0)
    p.add_argument("--model", metavar="FILE.pt", help="exported surrogate (default: the shipped model)")
    p.add_argument("--detailed-cells", type=int, default=2, help="cells in the short detailed run")
    p.add_argument("--detailed-ms", type=float, default=100.0, help="length of the short detailed run")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run, output_folders=("out",))


def run(args) -> int:
    from ..demo import DemoConfig, run_demo
    from ..errors import SurrogateCellError

    if args.cells < 1 or args.interneurons < 1 or args.duration_ms < 10 or args.detailed_cells < 1:
        raise SurrogateCellError("--cells and --interneurons must be >= 1, --detailed-cells >= 1 and "
                                 "--duration-ms >= 10")
    dc = DemoConfig(n_l5=args.cells, n_fs=args.interneurons, duration_ms=args.duration_ms, model=args.model,
                    detailed_cells=args.detailed_cells, detailed_ms=args.detailed_ms, seed=args.seed)
    summary = run_demo(args.out, dc, progress=not args.no_progress)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"surrogate network: {dc.n_l5} L5PC + {dc.n_fs} FS, {dc.duration_ms:g} ms simulated in "
              f"{summary['surrogate_run_s']:.1f} s; L5 rate {summary['l5_rate_hz']:.1f} Hz, "
              f"FS rate {summary['fs_rate_hz']:.1f} Hz")
        print(f"detailed estimate {summary['detailed_estimate_s']:.0f} s "
              f"({summary['detailed_s_per_cell_second']:.1f} s per cell-second)")
        print(f"speed ratio: {summary['speed_ratio']:.0f}x  ({summary['speed_note']})")
        print(f"wrote {', '.join(summary['files'])} and {args.out}/summary.json")
    return 0
