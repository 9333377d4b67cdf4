"""The LFP hooked into the population runner (plain NEURON) and into NetPyNE's cfg.recordLFP.

* plain NEURON: ``record_lfp`` equals ``NetworkLFP.compute`` on the recorded voltages;
* MPI: two ranks sum to the single-process LFP;
* NetPyNE: ``sim.allSimData['LFP']`` has NetPyNE's shape and equals the surrogates' LFP
  (NetworkLFP on their voltages, NetPyNE placement) plus the detailed cells' (NetPyNE's own
  line-source formula on their ``i_membrane_``).
"""
from __future__ import annotations

import numpy as np
import pytest

from surrogate_cell.errors import NetworkError
from surrogate_cell.lfp import ElectrodeError, LFPError, NetworkLFP, Placement, laminar_probe, vmem_to_imem_for
from tests.helpers import run_python


def _network(h, pop, keep, seed=3):
    from surrogate_cell.neuron import connect

    for g, c in pop.cells.items():
        for j, sec in enumerate(["apic[10]", "dend[3]", "apic[40]", "apic[60]"]):
            ns = h.NetStim()
            ns.start, ns.number, ns.interval, ns.noise = 1.0, 1e9, 2.0, 1.0
            ns.noiseFromRandom123(g, j, seed)
            keep.append(ns)
            connect(ns, c.synapse(sec, 0.5, "exc" if j < 3 else "inh"), weight=1.5, delay=1.0)


def _driven_population(h, model_path, n_cells):
    """A Population of ``n_cells`` (gids 0..n-1) driven by :func:`_network`; returns it and the NetStims to keep."""
    from surrogate_cell.neuron import Population

    h.load_file("stdrun.hoc")
    pop = Population(model_path, range(n_cells))
    keep = []
    _network(h, pop, keep)
    return pop, keep


def _run_recorded(h, pop, tstop_ms):
    """Run from finitialize to ``tstop_ms`` with every cell's voltages recorded; returns {gid: recording}."""
    volts = {g: c.record_all() for g, c in pop.cells.items()}
    h.dt = 0.025
    h.tstop = tstop_ms
    h.run()
    return volts


def _reference_lfp(probe, pop, placements, volts, gids=None):
    """NetworkLFP.compute of the recorded voltages of ``gids`` (default: every cell), placed as given."""
    gids = list(pop.gids) if gids is None else list(gids)
    net = NetworkLFP(probe, pop.model.segments, vmem_to_imem_for(pop.model.segments))
    for g in gids:
        net.add_placement(placements[g])
    return net.compute(np.stack([volts[g].v for g in gids]))


def test_runner_lfp_equals_network_compute(fresh_runner, untrained_path):
    """float64: the recorded LFP is NetworkLFP.compute of the recorded voltages (t = 0, 1, ... ms)."""
    from neuron import h

    from surrogate_cell.neuron import get_runner

    pop, keep = _driven_population(h, untrained_path, 4)
    probe = laminar_probe(x_um=40.0, z_um=10.0, y_um=np.arange(-200.0, 1201.0, 100.0))
    placements = {g: Placement((70.0 * g, 15.0 * g, 0.0), (0.0, 0.4 * g, 0.1)) for g in pop.gids}
    rec64 = pop.record_lfp(probe, placements, dtype="float64")
    rec32 = pop.record_lfp(probe, placements)
    sub = get_runner().record_lfp(probe, {pop.cells[1]: placements[1], 3: placements[3]}, dtype="float64")
    volts = _run_recorded(h, pop, 40)
    want = _reference_lfp(probe, pop, placements, volts)
    got = rec64.lfp()
    assert got.shape == want.shape == (15, 41)
    np.testing.assert_array_equal(rec64.t, np.arange(41.0))
    scale = np.abs(want).max()
    assert scale > 0 and np.abs(want[:, 1:] - want[:, :1]).max() > 1e-3 * scale  # inputs move the LFP
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(rec32.lfp(), want, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(sub.lfp(), _reference_lfp(probe, pop, placements, volts, [1, 3]), rtol=0,
                               atol=1e-12 * scale)
    assert get_runner().stats.lfp_s > 0
    # a second run starts a new recording
    h.tstop = 10
    h.run()
    assert rec64.lfp().shape == (15, 11)
    np.testing.assert_allclose(rec64.lfp_at([0.5, 9.25]), np.stack([np.interp([0.5, 9.25], rec64.t, row)
                                                                   for row in rec64.lfp()]))
    with pytest.raises(LFPError, match="holds 0..10 ms"):
        rec64.lfp_at([12.0])
    # steps are multiplied in blocks: a read in the middle of a run (a part block), then more steps, the same sums
    h.finitialize(-65.0)
    h.continuerun(5)
    first = rec64.lfp()
    h.continuerun(37)
    whole = rec64.lfp()
    assert first.shape == (15, 6) and whole.shape == (15, 38)
    np.testing.assert_array_equal(whole[:, :6], first)
    np.testing.assert_allclose(whole, _reference_lfp(probe, pop, placements, volts), rtol=0, atol=1e-12 * scale)


def test_block_limited_by_bytes(fresh_runner, untrained_path, monkeypatch):
    """A batch too large for BLOCK_BYTES multiplies every step (block of 1): the same LFP."""
    from neuron import h

    import surrogate_cell.lfp.recorder as runner_lfp

    pop, keep = _driven_population(h, untrained_path, 2)
    probe = laminar_probe(x_um=40.0, z_um=10.0, y_um=np.arange(-200.0, 1201.0, 200.0))
    placements = {g: Placement((60.0 * g, 0.0, 20.0)) for g in pop.gids}
    monkeypatch.setattr(runner_lfp, "BLOCK_BYTES", 1)
    one = pop.record_lfp(probe, placements, dtype="float64")
    monkeypatch.setattr(runner_lfp, "BLOCK_STEPS", 3)
    monkeypatch.setattr(runner_lfp, "BLOCK_BYTES", 2**30)
    three = pop.record_lfp(probe, placements, dtype="float64")
    assert [g.block for g in one._groups] == [1] and [g.block for g in three._groups] == [3]
    want = _reference_lfp(probe, pop, placements, _run_recorded(h, pop, 20))
    scale = np.abs(want).max()
    np.testing.assert_allclose(one.lfp(), want, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(three.lfp(), want, rtol=0, atol=1e-12 * scale)


@pytest.fixture(scope="module")
def mh_linear_path(tmp_path_factory, hay_segments):
    """An untrained MH surrogate with linear towers: its voltages are a linear readout V = A z + b."""
    from tests.helpers import export_untrained

    return export_untrained(tmp_path_factory.mktemp("models") / "mh_linear.pt", hay_segments, tower_hidden=0,
                            spike_mechanism=False)


def test_readout_form_equals_full(fresh_runner, mh_linear_path, untrained_path):
    """A model with a linear readout gets the reduced kernels K_c A (form 'auto'); same LFP as the full form."""
    from neuron import h

    from surrogate_cell.neuron import Population, get_runner

    pop, keep = _driven_population(h, mh_linear_path, 3)
    probe = laminar_probe(x_um=40.0, z_um=10.0, y_um=np.arange(-200.0, 1201.0, 200.0))
    placements = {g: Placement((80.0 * g, 0.0, 20.0), (0.0, 0.5 * g, 0.0)) for g in pop.gids}
    auto = pop.record_lfp(probe, placements)
    full = pop.record_lfp(probe, placements, form="full", dtype="float64")
    sub = get_runner().record_lfp(probe, {2: placements[2]}, form="readout", dtype="float64")
    assert (auto.forms, full.forms, sub.forms) == (["readout"], ["full"], ["readout"])
    volts = _run_recorded(h, pop, 30)
    want = _reference_lfp(probe, pop, placements, volts)
    scale = np.abs(want).max()
    np.testing.assert_allclose(full.lfp(), want, rtol=0, atol=1e-12 * scale)
    # the readout form is exact in z; the model's float32 voltages differ from A z + b by float32 rounding
    np.testing.assert_allclose(auto.lfp(), want, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(sub.lfp(), _reference_lfp(probe, pop, placements, volts, [2]), rtol=0,
                               atol=1e-5 * scale)
    other = Population(untrained_path, [10])
    with pytest.raises(NetworkError, match="no linear voltage readout"):
        get_runner().record_lfp(probe, {other.cells[10]: (0.0, 0.0, 300.0)}, form="readout")


def test_record_lfp_bad_input(fresh_runner, probe_path):
    from surrogate_cell.neuron import Population, get_runner

    pop = Population(probe_path, range(2))
    probe = laminar_probe(x_um=40.0, z_um=0.0, y_um=np.array([0.0, 500.0]))
    runner = get_runner()
    with pytest.raises(NetworkError, match="gid 7 is no surrogate cell"):
        runner.record_lfp(probe, {7: (0.0, 0.0, 0.0)})
    with pytest.raises(NetworkError, match="ElectrodeConfig"):
        runner.record_lfp([[0.0, 0.0, 0.0]], {0: (0.0, 0.0, 0.0)})
    with pytest.raises(NetworkError, match="dtype"):
        runner.record_lfp(probe, {0: (0.0, 0.0, 0.0)}, dtype="float16")
    with pytest.raises(NetworkError, match="no placement for gid"):
        pop.record_lfp(probe, {0: (0.0, 0.0, 0.0)})
    with pytest.raises(NetworkError, match="no placements, so its LFP would be all zeros"):
        runner.record_lfp(probe, {})
    with pytest.raises(ElectrodeError, match="inside"):
        runner.record_lfp(laminar_probe(x_um=0.0, z_um=0.0, y_um=np.array([0.0])), {0: (0.0, 0.0, 0.0)})


MPI_SCRIPT = """
import json, sys
import numpy as np
from surrogate_cell.mechanisms import load_mechanisms
load_mechanisms()
from neuron import h
h.nrnmpi_init()
from surrogate_cell.lfp import Placement, laminar_probe
from surrogate_cell.neuron import Population
from tests.test_lfp_network_runner import _network
from tests.helpers import emit
h.load_file("stdrun.hoc")
pc = h.ParallelContext()
pop = Population(sys.argv[1], range(6))
keep = []
_network(h, pop, keep)
probe = laminar_probe(x_um=40.0, z_um=10.0, y_um=np.arange(-200.0, 1201.0, 200.0))
rec = pop.record_lfp(probe, lambda g: Placement((50.0 * g, 0.0, 0.0), (0.0, 0.3 * g, 0.0)), dtype="float64")
pc.set_maxstep(10)
h.dt = 0.025
h.stdinit()
pc.psolve(30)
lfp = rec.lfp()      # collective
if pc.id() == 0:
    emit({"nhost": int(pc.nhost()), "local": len(pop.cells), "lfp": lfp.tolist()})
pc.barrier()
pc.done()
h.quit()
"""


def test_runner_lfp_mpi_sum(untrained_path):
    one = run_python(MPI_SCRIPT, untrained_path, timeout=120)
    two = run_python(MPI_SCRIPT, untrained_path, ranks=2, timeout=120)
    assert (one["nhost"], one["local"], two["nhost"], two["local"]) == (1, 6, 2, 3)
    a, b = np.array(one["lfp"]), np.array(two["lfp"])
    assert a.shape == (8, 31)
    # the float32 model runs batches of 6 vs 3 cells: its voltages agree to float32 rounding, not bit for bit
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-5 * np.abs(a).max())


NETPYNE_SCRIPT = """
import json, sys
import numpy as np
from neuron import h
from netpyne import specs, sim
import surrogate_cell.netpyne as scn
from surrogate_cell.lfp import NetworkLFP, vmem_to_imem_for
from surrogate_cell.netpyne.lfp import netpyne_cell_placement, netpyne_electrodes, netpyne_reference_lfp
from tests.helpers import column, emit
netParams, cfg = column(sys.argv[1], n_pyr=3, n_int=2, duration=50, record_step=0.2)
scn.swap(netParams, "L5PC", sys.argv[2], config=scn.SwapConfig(lfp_dtype="float64"))
positions = [[50, 800, 20], [50, 1000, 20], [50, 1200, 20], [-100, 600, 0]]
cfg.recordLFP = positions
sim.create(netParams, cfg)
cells = scn.surrogate_cells()
volts = {g: c.record_all() for g, c in cells.items()}
ints = [c for c in sim.net.cells if type(c).__name__ == "CompartCell"]
imem = {c.gid: [h.Vector().record(seg._ref_i_membrane_, cfg.recordStep) for s in c.secs.values()
                for seg in s["hObj"]] for c in ints}
sim.simulate()
sim.analyze()
lfp = np.asarray(sim.allSimData["LFP"])
n = lfp.shape[0]
times = (np.arange(n) + 1) * cfg.recordStep
model = next(iter(cells.values())).model
net = NetworkLFP(netpyne_electrodes(positions), model.segments, vmem_to_imem_for(model.segments))
gids = sorted(cells)
for g in gids:
    net.add_placement(netpyne_cell_placement(sim, sim.net.cells[sim.net.gid2lid[g]]))
V = np.stack([volts[g].v for g in gids])
sur = net.compute(V)                                    # (contacts, 0..50 ms)
t_ms = volts[gids[0]].t
sur_at = np.stack([np.interp(times, t_ms, row) for row in sur]).T
det = netpyne_reference_lfp(sim, {g: np.array(v)[:, 1:n + 1] for g, v in imem.items()}, positions)
emit({"shape": list(lfp.shape), "lfp": lfp.tolist(), "sur": sur_at.tolist(), "det": det.tolist(),
      "recordLFP": sim.cfg.recordLFP, "spikes": len(sim.allSimData["spkt"])})
"""


def test_netpyne_lfp_adds_surrogates_to_detailed(rule_json, untrained_path):
    """cfg.recordLFP with surrogates: NetPyNE's shape (samples at (k+1)·recordStep, electrodes), the
    surrogates' LFP in NetPyNE's placement and electrode conventions plus the detailed cells'."""
    res = run_python(NETPYNE_SCRIPT, rule_json, untrained_path, timeout=150)
    lfp, sur, det = (np.array(res[k]) for k in ("lfp", "sur", "det"))
    assert res["shape"] == [250, 4] and sur.shape == det.shape == lfp.shape
    assert res["recordLFP"] == [[50, 800, 20], [50, 1000, 20], [50, 1200, 20], [-100, 600, 0]]
    assert np.abs(sur).max() > 0 and np.abs(det).max() > 0
    np.testing.assert_allclose(lfp, sur + det, rtol=0, atol=1e-9 * np.abs(lfp).max())


@pytest.mark.bench
def test_bench_lfp_json(probe_path):
    """``surrogate-cell bench lfp`` runs the same network with and without LFP and reports the ratio."""
    import json

    from tests.helpers import run_cli

    proc = run_cli("bench", "lfp", "--model", probe_path, "--cells", "3", "--ms", "5", "--repeats", "1",
                   "--inputs", "5", "--recurrent", "1", "--contacts", "4", "--threads", "1", "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    fig = json.loads(proc.stdout)
    row = fig["results"][0]
    assert fig["benchmark"] == "lfp" and row["cells"] == 3
    assert row["ratio"] == row["with_lfp_s"] / row["without_lfp_s"]
    assert row["runs"]["with"][0]["lfp_samples"] == 6 and row["lfp_ms_per_sim_ms"] > 0
    assert row["runs"]["without"][0]["lfp_ms_per_sim_ms"] == 0
