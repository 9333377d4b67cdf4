"""``surrogate-cell generate``: simulate the detailed cell under synaptic bombardment into an HDF5 data set.

AMPA, NMDA, GABA_A and GABA_B synapses on every segment (soma and axon
included), their kinetics drawn per simulation; inhomogeneous Poisson inputs
with mixed regimes; every segment's voltage at 1 ms, somatic spikes, the
binned conductance of each receptor class and the raw events.
The same --seed gives the same arrays whatever --workers or MPI ranks.
A killed run is resumed by rerunning the same command. See docs/dataset.md.
"""
from __future__ import annotations

import json
import os
import sys

from ..data import CellSpec, GenerationPlan, GeneratorConfig, SimSettings, generate
from ..data.generate import mpi_rank, mpi_size
from ..errors import DataError

EXAMPLES = """
examples:
  surrogate-cell generate --seconds 20 --out data.h5                 # synthetic default cell
  surrogate-cell generate --morphology cell1.asc --seconds 600 --workers 2 --seed 1 --out data.h5
  surrogate-cell generate --template L5PCbiophys3.hoc L5PCtemplate.hoc --template-name L5PCtemplate \\
      --mod-dir mod/ --morphology cell1.asc --seconds 60 --out hay.h5
  surrogate-cell build-mechanisms && mpiexec -n 64 surrogate-cell generate --seconds 3600 --out big.h5
"""


def register(sub, formatter):
    p = sub.add_parser("generate", help="simulate the detailed cell into a training data set (HDF5)",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    add_cell_arguments(p)
    p.add_argument("--seconds", type=float, required=True, help="simulated seconds in total (recorded)")
    p.add_argument("--sim-seconds", type=float, default=5.0, help="length of one simulation (s)")
    p.add_argument("--settle-ms", type=int, default=500,
                   help="settling time without input before each simulation (ms, discarded)")
    p.add_argument("--dt-ms", type=float, default=SimSettings.dt_ms,
                   help="fixed integration step of the detailed cell (ms); check a coarser one with "
                        "'surrogate-cell bench dt' first")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="local worker processes (ignored under mpiexec)")
    p.add_argument("--seed", type=int, default=0, help="seed of the whole set")
    p.add_argument("--generator", metavar="FILE.json",
                   help="override input-generator parameters (GeneratorConfig fields)")
    p.add_argument("--out", required=True, metavar="FILE.h5", help="the data set to write")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def add_cell_arguments(p) -> None:
    """The cell options, shared with the benchmark."""
    p.add_argument("--morphology", metavar="FILE", help="morphology (.asc/.swc; default: synthetic L5PC)")
    p.add_argument("--template", metavar="FILE.hoc", nargs="+",
                   help="hoc file(s) defining your own cell template, loaded in order (the defining one last)")
    p.add_argument("--template-name", metavar="NAME", help="the template's name (with --template)")
    p.add_argument("--mod-dir", metavar="DIR", help="the template's .mod folder (compiled into the cache)")


def cell_from_args(args):
    return CellSpec(morphology=args.morphology, template=args.template, template_name=args.template_name,
                    mod_dir=args.mod_dir)


def generator_from_file(path):
    if path is None:
        return GeneratorConfig()
    try:
        with open(path) as fh:
            overrides = json.load(fh)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the generator file {path}: {exc}") from None
    if not isinstance(overrides, dict):
        raise DataError(f"{path} must hold a JSON object of GeneratorConfig fields")
    return GeneratorConfig.from_dict({**GeneratorConfig().to_dict(), **overrides})


def run(args) -> int:
    plan = GenerationPlan.make(args.out, cell=cell_from_args(args), seconds=args.seconds,
                               sim_seconds=args.sim_seconds, seed=args.seed,
                               config=generator_from_file(args.generator),
                               settings=SimSettings(settle_ms=args.settle_ms, dt_ms=args.dt_ms))
    rank0 = mpi_rank() == 0
    log = (lambda msg: print(msg, file=sys.stderr)) if rank0 else None
    under_mpi = mpi_size() > 1
    report = generate(plan, workers=args.workers, progress=not args.no_progress and rank0, log=log,
                      mpi=under_mpi)
    if rank0:
        _print_report(args, report)
    if under_mpi:
        # MPI is finalised; a plain exit with status 0 would look abnormal to mpiexec
        sys.stdout.flush()
        sys.stderr.flush()
        from neuron import h  # NEURON: only where a simulation is built

        h.quit(0)
    return 0


def _print_report(args, report) -> None:
    if args.json:
        print(json.dumps({"path": str(report.path), "status": report.status, "n_simulations": report.n_sims,
                          "sim_ms": report.sim_ms, "simulated_seconds": report.n_sims * report.sim_ms / 1000,
                          "simulated_now": report.simulated_now, "wall_s": round(report.wall_s, 3),
                          "mpi_ranks": mpi_size()}))
    elif report.status == "already complete":
        print(f"{report.path} is already complete ({report.n_sims} simulations of {report.sim_ms} ms); nothing to do")
    else:
        print(f"wrote {report.path}: {report.n_sims} simulations of {report.sim_ms} ms "
              f"({report.simulated_now} simulated now) in {report.wall_s:.1f} s")
