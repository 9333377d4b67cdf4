"""MPI: each rank records its own cells; the reduced LFP equals the one-process sum.

Run as a script (``mpiexec -n 2 python tests/test_lfp_mpi.py OUT.json``) it
places cell ``gid`` on rank ``gid % nhost``, records 6 steps of fixed
voltages with :class:`LFPRecorder`, and writes rank 0's reduced result and
the serial sum of all cells.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

N_CELLS, N_STEPS = 4, 6


def build_and_run(out: str) -> None:
    from neuron import h

    from surrogate_cell.mechanisms import load_mechanisms

    load_mechanisms()
    h.nrnmpi_init()
    from surrogate_cell.cells import HayCell
    from surrogate_cell.lfp import LFPRecorder, NetworkLFP, laminar_probe, vmem_to_imem

    pc = h.ParallelContext()
    rank, nhost = int(pc.id()), int(pc.nhost())
    cell = HayCell()
    T = vmem_to_imem(cell, "neuron")
    probe = laminar_probe(80.0, 30.0, np.arange(-200.0, 1201.0, 200.0))
    n = len(cell.segments)
    V = np.random.default_rng(7).normal(-65.0, 8.0, (N_CELLS, N_STEPS, n))   # same on every rank
    places = [((150.0 * g, 0.0, -40.0 * g), (0.0, 0.9 * g, 0.0)) for g in range(N_CELLS)]
    mine = [g for g in range(N_CELLS) if g % nhost == rank]
    local = NetworkLFP(probe, cell.segments, T)
    for g in mine:
        local.add_cell(*places[g])
    import torch

    rec = LFPRecorder(probe.n_contacts, dtype="float64", pc=pc)
    if mine:
        group = rec.add_group(local.kernels)
    rec.start(0)
    for k in range(N_STEPS):
        if mine:
            rec.record(k, group, torch.from_numpy(V[mine, k]))
    reduced = rec.lfp(reduce=True)
    if rank == 0:
        serial = NetworkLFP(probe, cell.segments, T)
        for g in range(N_CELLS):
            serial.add_cell(*places[g])
        Path(out).write_text(json.dumps({"nhost": nhost, "reduced": reduced.tolist(),
                                         "serial": serial.compute(V).tolist()}))
    pc.barrier()
    pc.done()
    h.quit()  # finalizes MPI


@pytest.mark.skipif(shutil.which("mpiexec") is None, reason="mpiexec not installed (apt-get install openmpi-bin)")
def test_reduced_lfp_over_two_ranks_equals_the_serial_sum(tmp_path):
    from surrogate_cell.mechanisms import load_mechanisms

    load_mechanisms()   # compile before MPI starts
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1")
    out = tmp_path / "lfp.json"
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(["mpiexec", "-n", "2", sys.executable, str(Path(__file__).resolve()), str(out)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=root)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r["nhost"] == 2
    reduced, serial = np.array(r["reduced"]), np.array(r["serial"])
    assert reduced.shape == serial.shape == (8, N_STEPS)
    assert np.abs(reduced - serial).max() <= 1e-12 * np.abs(serial).max()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    build_and_run(sys.argv[1])
