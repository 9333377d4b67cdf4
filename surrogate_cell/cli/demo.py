"""``surrogate-cell demo``: a recurrent NetPyNE network of surrogate L5PCs with LFP, for 1 s.

Builds the column of :mod:`.column` with ``--cells`` pyramidal cells swapped
for the shipped surrogate (one call), plus interneurons and background
drive, simulates it, and writes raster.png, traces.png, lfp.png and
summary.json to --out. The speed ratio against the same network with
detailed cells is estimated from a short run of the detailed column in the
same run of the command: wall time per detailed cell-second, extrapolated to
the full network, over the surrogate network's measured wall time.
"""
from __future__ import annotations

import contextlib
import io
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import SurrogateCellError
from ..mechanisms import load_mechanisms
from ..model import load
from ..plots.network import plot_network_run
from .column import CELL_POPS, ColumnConfig, column_spec, hay_rule

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


@dataclass
class DemoConfig:
    n_l5: int = 100
    n_fs: int = 25
    duration_ms: float = 1000.0
    detailed_cells: int = 2  # cells in the short detailed run used for the speed ratio
    detailed_ms: float = 100.0
    model: str | None = None  # None: the packaged default
    seed: int = 1


def _simulate(net, cfg):
    """Create, run and gather a NetPyNE network; NetPyNE's own printing is kept off stdout."""
    with contextlib.redirect_stdout(io.StringIO()):
        return _simulate_quietly(net, cfg)


def _simulate_quietly(net, cfg):
    from netpyne import sim  # heavy: only when the demo runs

    t0 = time.perf_counter()
    sim.initialize(net, cfg)
    sim.net.createPops()
    sim.net.createCells()
    sim.net.connectCells()
    sim.net.addStims()
    sim.setupRecording()
    t_build = time.perf_counter() - t0
    t1 = time.perf_counter()
    sim.runSim()
    t_run = time.perf_counter() - t1
    sim.gatherData()
    d = sim.allSimData
    pops = {p: list(v["cellGids"]) for p, v in sim.net.allPops.items() if p in CELL_POPS}
    out = {"t": np.asarray(d["t"]), "spkt": np.asarray(d["spkt"]), "spkid": np.asarray(d["spkid"]),
           "lfp": np.asarray(d["LFP"]) if "LFP" in d else None, "pops": pops, "build_s": t_build, "run_s": t_run,
           "traces": {k: {c: np.asarray(v) for c, v in d[k].items()} for k in ("V_soma", "V_trunk", "V_basal", "V_fs")
                      if k in d}}
    sim.clearAll()
    return out


def run_demo(out_dir: str | Path, dc: DemoConfig = DemoConfig(), progress: bool = True) -> dict:
    """Run the demo; returns the summary (also written to ``out_dir/summary.json``)."""
    from tqdm import tqdm  # progress bars: only for long runs

    from ..netpyne import swap  # heavy (NEURON, NetPyNE): only when the demo runs

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=4, desc="demo", disable=not progress, bar_format="{desc}: {n}/{total} {postfix}")
    bar.set_postfix_str("loading model and building the L5PC rule")
    load_mechanisms()
    model = load(dc.model)
    rule = hay_rule(out / "rule", model.geometry)  # the detailed cell the model was trained on, from its file
    cc = ColumnConfig(n_l5=dc.n_l5, n_fs=dc.n_fs, duration_ms=dc.duration_ms, seed=dc.seed, record_step_ms=1.0)
    bar.update()

    bar.set_postfix_str(f"short detailed run: {dc.detailed_cells} L5PC, {dc.detailed_ms:g} ms")
    dcc = ColumnConfig(n_l5=dc.detailed_cells, n_fs=1, duration_ms=dc.detailed_ms, seed=dc.seed,
                           record_step_ms=1.0, lfp_depths_um=())
    net_d, cfg_d = column_spec(rule, dcc)
    cfg_d.recordLFP = []
    det = _simulate(net_d, cfg_d)  # before the swap: plain NetPyNE, no surrogate hooks yet
    bar.update()

    bar.set_postfix_str(f"surrogate network: {dc.n_l5} L5PC + {dc.n_fs} FS, {dc.duration_ms:g} ms")
    net, cfg = column_spec(rule, cc)
    swap(net, "L5PC", model)
    sur = _simulate(net, cfg)
    bar.update()

    # detailed cost per L5PC cell-second, scaled to the demo network (the FS cells are cheap in both)
    det_s_per_cell_s = det["run_s"] / (dc.detailed_cells * dc.detailed_ms / 1000.0)
    det_estimate_s = det_s_per_cell_s * dc.n_l5 * dc.duration_ms / 1000.0
    ratio = det_estimate_s / sur["run_s"]

    def rate(res, pop, duration_ms):
        gids = res["pops"][pop]
        return float(np.isin(res["spkid"], gids).sum() / len(gids) / (duration_ms / 1000.0))

    bar.set_postfix_str("plots")
    paths = plot_network_run(out, sur, dc.n_l5, dc.n_fs, dc.duration_ms, cc.lfp_depths_um)
    bar.update()
    bar.close()
    summary = {
        "config": asdict(dc), "model": model.path, "model_arch": model.metadata.get("arch"),
        "l5_rate_hz": rate(sur, "L5", dc.duration_ms), "fs_rate_hz": rate(sur, "FS", dc.duration_ms),
        "detailed_l5_rate_hz": rate(det, "L5", dc.detailed_ms), "n_spikes": int(len(sur["spkt"])),
        "surrogate_run_s": sur["run_s"], "surrogate_build_s": sur["build_s"],
        "detailed_run_s": det["run_s"], "detailed_cells": dc.detailed_cells, "detailed_ms": dc.detailed_ms,
        "detailed_s_per_cell_second": det_s_per_cell_s, "detailed_estimate_s": det_estimate_s,
        "speed_ratio": ratio,
        "speed_note": (f"detailed time measured on {dc.detailed_cells} L5PC for {dc.detailed_ms:g} ms at dt 0.025 ms "
                       f"and extrapolated per cell-second to {dc.n_l5} cells x {dc.duration_ms:g} ms; both runs "
                       "exclude network construction"),
        "lfp_electrodes_um": [[150.0, y, 150.0] for y in cc.lfp_depths_um],
        "files": [str(p) for p in paths],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
