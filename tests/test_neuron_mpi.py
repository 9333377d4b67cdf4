"""MPI: the same network of surrogates and IntFire1 cells gives the same spikes on 1 and 2 ranks.

Background input reaches the surrogates both ways: NetStims through NEURON,
and Poisson trains played by the runner (``play_spikes``), each drawn from
its own generator (seed, gid, input) on the cell's rank.

Run as a script (``python tests/test_neuron_mpi.py MODEL OUTDIR``, under
``mpiexec -n N`` or not) it builds the network and writes each rank's spikes.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import assert_same_spikes

N_SUR, N_INH, TSTOP = 8, 4, 120.0


def build_and_run(model_path: str, out: str) -> None:
    from neuron import h

    from surrogate_cell.mechanisms import load_mechanisms

    load_mechanisms()  # compile (once, cached) before MPI starts
    h.nrnmpi_init()
    from surrogate_cell.neuron import Population, connect, get_runner, gid_connect, play_spikes, poisson_times

    pc = h.ParallelContext()
    rank, nhost = int(pc.id()), int(pc.nhost())
    pop = Population(model_path, range(N_SUR))
    keep = []
    # inhibitory IntFire1 cells, gids N_SUR.., dealt round-robin like the population
    inh = {}
    for gid in range(N_SUR, N_SUR + N_INH):
        if gid % nhost == rank:
            cell = h.IntFire1()
            cell.tau, cell.refrac = 5.0, 3.0
            pc.set_gid2node(gid, rank)
            pc.cell(gid, h.NetCon(cell, None))
            inh[gid] = cell
    sections = ["dend[3]", "apic[10]", "apic[20]"]
    for gid, cell in pop.cells.items():
        for j, sec in enumerate(sections):  # background: rank-independent Random123 streams
            ns = h.NetStim()
            ns.start, ns.number, ns.interval, ns.noise = 0.0, 1e9, 8.0, 1.0
            ns.noiseFromRandom123(gid, j, 7)
            keep.append(ns)
            connect(ns, cell.synapse(sec, 0.5, "exc"), weight=0.45, delay=1.0)
            played = poisson_times(60.0, TSTOP, np.random.default_rng((7, gid, j)))
            play_spikes(cell.synapse(sec, 0.9, "exc"), played, weight=0.2, delay=0.5)
        # recurrent excitation and inhibition, by gid
        gid_connect((gid + 1) % N_SUR, cell.synapse("apic[5]", 0.3, "exc"), weight=0.5, delay=2.5)
        gid_connect(N_SUR + gid % N_INH, cell.synapse("dend[3]", 0.5, "inh"), weight=0.3, delay=1.2)
    for gid, cell in inh.items():
        for src in range(N_SUR):
            if src % N_INH == gid - N_SUR:
                keep.append(gid_connect(src, cell, weight=0.6, delay=1.5))
    tvec, idvec = h.Vector(), h.Vector()
    pc.spike_record(-1, tvec, idvec)
    pc.set_maxstep(10)
    h.dt = 0.025
    h.stdinit()
    pc.psolve(TSTOP)
    spikes = np.column_stack([np.asarray(tvec), np.asarray(idvec)])
    np.savetxt(Path(out) / f"spikes_{rank}.txt", spikes)
    crossings = [(t, g) for g, c in pop.cells.items() for t in c.spike_times]
    np.savetxt(Path(out) / f"crossings_{rank}.txt", np.array(crossings).reshape(-1, 2))
    with open(Path(out) / f"threads_{rank}.txt", "w") as f:
        import torch

        stats = get_runner().stats
        f.write(f"{torch.get_num_threads()} {stats.late_events} {stats.played_events}\n")
    pc.barrier()
    pc.done()
    h.quit()  # finalizes MPI


def _collect(out: Path, kind: str) -> np.ndarray:
    parts = [np.loadtxt(p).reshape(-1, 2) for p in sorted(out.glob(f"{kind}_*.txt"))]
    data = np.concatenate(parts)
    return data[np.lexsort((data[:, 1], data[:, 0]))]


def _run(n: int, model: Path, out: Path, timeout=120):
    out.mkdir()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    cmd = [sys.executable, __file__, str(model), str(out)]
    if n > 1:
        cmd = [shutil.which("mpiexec"), "-n", str(n), "--oversubscribe"] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


@pytest.mark.skipif(shutil.which("mpiexec") is None, reason="mpiexec not installed (apt-get install openmpi-bin)")
def test_two_ranks_give_the_spikes_of_one(probe_path, tmp_path):
    one = _run(1, probe_path, tmp_path / "one")
    two = _run(2, probe_path, tmp_path / "two")
    s1, s2 = _collect(one, "spikes"), _collect(two, "spikes")
    assert len(list(two.glob("spikes_*.txt"))) == 2
    surrogate = s1[s1[:, 1] < N_SUR]
    assert len(surrogate) >= 10 and (s1[:, 1] >= N_SUR).any(), s1  # a network that does something
    assert_same_spikes(s2.tolist(), s1.tolist())  # batches of another size: float32 rounding (conftest)
    assert_same_spikes(_collect(two, "crossings").tolist(), _collect(one, "crossings").tolist())
    for f in two.glob("threads_*.txt"):  # 2 ranks on this machine: no torch oversubscription
        threads, late, played = map(int, f.read_text().split())
        assert threads <= max(1, (os.cpu_count() or 1) // 2)
        assert late == 0 and played > 0


if __name__ == "__main__":
    build_and_run(sys.argv[1], sys.argv[2])
