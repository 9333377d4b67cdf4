"""Helpers of the tests: commands in subprocesses, hand-made models, NetPyNE scripts, recorded runs.

Fixtures live in ``conftest.py``; everything a test imports lives here.

The probe model makes every number in a test predictable. Its synapses are
the pulses ``PULSE_EXC`` / ``PULSE_INH``: an event of weight w gives a mean
conductance of w nS in the bin where it lands (a 1 µs decay; exact unless the
event lands in the bin's last few µs) and nothing after. Then:

* the voltage of segment n at the end of bin k is -70 + 80 * (excitatory minus
  inhibitory conductance, nS, of segment n's channels in bin k), i.e. of the
  summed weights of the pulses delivered there in bin k;
* the soma (row 0) does the same over every channel, so one excitatory pulse of
  weight 1 lifts it from -70 to +10 mV in the bin where it lands and crosses the
  -10 mV threshold at exactly 0.75 of that bin;
* the last row (an axon segment) reads -70 + the summed conductance so far
  (the model's state), to check that finitialize resets the state;
* the spike probability is the bin's net input clipped to [0, 1].

NetPyNE keeps global state (``sim``) and integrates every section NEURON
holds, so every NetPyNE run of the tests happens in a fresh Python process
(:func:`run_python`, optionally under ``mpiexec``), which reports one
``RESULT {json}`` line or a result file (:func:`emit`).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from surrogate_cell.data.cellspec import input_channels
from surrogate_cell.synapses import RECEPTORS, REVERSAL_MV, Kinetics

ROOT = Path(__file__).resolve().parents[1]


SHARED = ROOT.parent / "shared"


HAY_REFERENCE = SHARED / "reference" / "hay2011"


def run_cli(*args, env=None, timeout=600, cwd=None):
    """Run ``surrogate-cell`` in a subprocess; returns the CompletedProcess (text)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "surrogate_cell.cli", *map(str, args)],
                          capture_output=True, text=True, env=full_env, timeout=timeout, cwd=cwd)


def run_script_result(folder, source: str, timeout=300) -> str:
    """Run ``source`` as a Python script in a subprocess (in ``folder``), for runs whose failure would be an
    abort; it must exit 0 and print a line ``RESULT ...``. Returns the text after the last ``RESULT ``."""
    script = Path(folder) / "run.py"
    script.write_text(source)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=timeout, cwd=folder)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-3000:]
    return lines[-1].split(" ", 1)[1]


def generate_small(path, seconds: float, sim_seconds: float, seed: int):
    """A small real data set on the default cell (one worker, 50 ms settling); returns ``path``."""
    proc = run_cli("generate", "--seconds", seconds, "--sim-seconds", sim_seconds, "--settle-ms", "50",
                   "--workers", "1", "--seed", seed, "--out", path, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return path


def assert_same_spikes(a, b, tol_ms: float = 1e-6):
    """Two spike lists ``[[t_ms, gid], ...]`` hold the same spikes, times equal within ``tol_ms``.

    Runs on different rank counts step the float32 model on batches of other
    sizes, and BLAS rounds a product differently for another batch size, so
    interpolated crossing times may differ in their last bits (about 1e-8 ms),
    never more.
    """
    import numpy as np

    a = np.asarray(sorted(a, key=lambda s: (s[1], s[0])), dtype=np.float64).reshape(-1, 2)
    b = np.asarray(sorted(b, key=lambda s: (s[1], s[0])), dtype=np.float64).reshape(-1, 2)
    assert a.shape == b.shape, f"{len(a)} spikes against {len(b)}"
    np.testing.assert_array_equal(a[:, 1], b[:, 1])
    np.testing.assert_allclose(a[:, 0], b[:, 0], rtol=0, atol=tol_ms)


def assert_one_error_line(proc, *fragments):
    """A failed command: non-zero exit, one 'surrogate-cell: error:' line naming the fragments."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("surrogate-cell: error:")]
    assert len(errors) == 1, proc.stderr
    for frag in fragments:
        assert frag in errors[0], errors[0]
    return errors[0]




#: The probe's synapses (see the module docstring): weight w → w nS of mean conductance in its bin.
PULSE_EXC = Kinetics("ampa", 0.0, 1e-3, 0.0, 1000.0)
PULSE_INH = Kinetics("gaba_a", 0.0, 1e-3, -80.0, 1000.0)
PULSE = {"exc": PULSE_EXC, "inh": PULSE_INH}
#: Ranges wide enough that no test synapse is out of them (the probe and untrained models).
WIDE_RANGES = {r: {"tau_rise_ms": [0.0, 1000.0], "tau_decay_ms": [1e-3, 1000.0], "peak_nS": [0.0, 1e6],
                   "e_mV": REVERSAL_MV[r]} for r in RECEPTORS}


class ProbeModel(nn.Module):
    """See the module docstring; ``channel_sign`` is +1 (AMPA, NMDA) / -1 (GABA_A, GABA_B)."""

    def __init__(self, channel_segment: np.ndarray, channel_sign: np.ndarray, n_segments: int):
        super().__init__()
        C = len(channel_segment)
        sign = torch.as_tensor(channel_sign, dtype=torch.float32)
        M = torch.zeros(C, n_segments)
        M[torch.arange(C), torch.as_tensor(channel_segment)] = sign
        M[:, 0] = sign
        # the grouped input: every segment's net input but the last, the net input, the total conductance
        self.register_buffer("W", torch.cat([M[:, :-1], sign[:, None], torch.ones(C, 1)], dim=1).contiguous())
        self.n_out = n_segments - 1

    @torch.jit.export
    def init_state(self, batch: int) -> Tensor:
        return torch.zeros(batch, 1, device=self.W.device)

    @torch.jit.export
    def input_projection(self) -> Tensor:
        return self.W

    @torch.jit.export
    def step_projected(self, z: Tensor, state: Tensor):
        total = state + z[:, self.n_out + 1:self.n_out + 2]
        v = torch.cat([-70.0 + 80.0 * z[:, : self.n_out], -70.0 + total], dim=1)
        p = torch.clamp(z[:, self.n_out], 0.0, 1.0)
        return v, p, total

    @torch.jit.export
    def step(self, x: Tensor, state: Tensor):
        return self.step_projected(x @ self.W, state)


def channels_of(segments):
    """(channel_segment, channel_kind) of the model input channels of ``segments``."""
    table = input_channels(len(segments))
    return table.segment, table.kind


def export_probe(path, segments, geometry=None):
    """Write the probe model for ``segments`` (of ``geometry``, where given) to ``path``; returns the path."""
    from surrogate_cell.training.export import export_model

    seg, kind = channels_of(segments)
    module = ProbeModel(seg, np.where(np.isin(kind, ("ampa", "nmda")), 1.0, -1.0), len(segments))
    return export_model(module, path, segments=segments, channel_segment=seg, channel_kind=kind,
                        arch="probe", spike_threshold_mV=-10.0, spike_probability=0.5, trained_inputs=WIDE_RANGES,
                        geometry=geometry)


def export_untrained(path, segments, hidden: int = 16, **config):
    """The real (untrained) MH Surrogate of training/model.py for ``segments``."""
    from surrogate_cell.training.export import export_untrained as export
    from surrogate_cell.training.model import ModelConfig

    cfg = ModelConfig(**{"arch": "mh", "hidden": hidden, "n_groups": 8, **config})
    return export(path, segments, cfg, trained_inputs=WIDE_RANGES)


HOC_TEMPLATE = r"""
// A Hay-style L5PC template: the morphology read with Import3d, Hay's nseg rule 1 + 2 int(L / 40),
// and the axon replaced by two 30 um x 1 um stubs from the soma centre along -y (as HayCell does).
begintemplate SCTestL5PC
public init, soma, dend, apic, axon, all, somatic, basal, apical, axonal
objref all, somatic, basal, apical, axonal, this
create soma[1], dend[1], apic[1], axon[1]

proc init() { localobj reader, importer
    all = new SectionList()
    somatic = new SectionList()
    basal = new SectionList()
    apical = new SectionList()
    axonal = new SectionList()
    reader = new Import3d_SWC_read()
    reader.quiet = 1
    reader.input($s1)
    importer = new Import3d_GUI(reader, 0)
    importer.instantiate(this)
    forsec all { nseg = 1 + 2 * int(L / 40) }
    replace_axon()
    forsec all { insert pas  g_pas = 5e-5  e_pas = -75  Ra = 100 }
}

proc replace_axon() { local x0, y0, z0, n
    soma[0] { n = n3d()
        x0 = (x3d(0) + x3d(n - 1)) / 2  y0 = (y3d(0) + y3d(n - 1)) / 2  z0 = (z3d(0) + z3d(n - 1)) / 2 }
    forsec axonal { delete_section() }
    create axon[2]
    axonal = new SectionList()
    axon[0] { L = 30  diam = 1  nseg = 1  axonal.append()  all.append() }
    axon[1] { L = 30  diam = 1  nseg = 1  axonal.append()  all.append() }
    axon[0] { pt3dclear()  pt3dadd(x0, y0, z0, 1)  pt3dadd(x0, y0 - 30, z0, 1) }
    axon[1] { pt3dclear()  pt3dadd(x0, y0 - 30, z0, 1)  pt3dadd(x0, y0 - 60, z0, 1) }
    soma[0] connect axon[0](0), 0.5
    axon[0] connect axon[1](0), 1
}
endtemplate SCTestL5PC
"""


RULE_SCRIPT = r"""
import sys
from pathlib import Path
from netpyne import specs
import surrogate_cell.netpyne as scn   # as docs/netpyne.md shows it: first, it loads the cell's mechanisms
out = Path(sys.argv[1])
(out / "hay_cell.py").write_text("from surrogate_cell.cells import HayCell\n")
netParams = specs.NetParams()
netParams.importCellParams("L5PC", fileName=str(out / "hay_cell.py"), cellName="HayCell")
netParams.saveCellParamsRule("L5PC", str(out / "l5pc_rule.json"))
print("RESULT {}")
"""


def emit(result: dict) -> None:
    """Hand a script's result to :func:`run_python` (a file: long lines of MPI ranks may interleave on stdout)."""
    path = os.environ.get("SC_RESULT_FILE")
    if path:
        Path(path).write_text(json.dumps(result))
        print("RESULT {}", flush=True)
    else:
        print("RESULT " + json.dumps(result), flush=True)


def run_python(code: str, *args, ranks: int = 1, timeout: float = 120, cwd=None) -> dict:
    """Run ``code`` in a fresh process (under ``mpiexec -n ranks`` if ranks > 1); returns its result.

    The script reports with ``print("RESULT " + json)`` or :func:`emit`.
    """
    d = Path(cwd) if cwd is not None else None
    base = (d or Path(os.environ.get("TMPDIR", "/tmp"))) / f"sc_netpyne_{os.getpid()}_{abs(hash(code))}_{ranks}"
    script = base.with_suffix(".py")
    script.write_text(textwrap.dedent(code))
    result_file = base.with_suffix(".json")
    result_file.unlink(missing_ok=True)
    cmd = [sys.executable, str(script), *map(str, args)]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["SC_RESULT_FILE"] = str(result_file)
    if ranks > 1:
        mpiexec = shutil.which("mpiexec")
        if mpiexec is None:
            pytest.skip("mpiexec not found")
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   OMPI_MCA_rmaps_base_oversubscribe="1")
        cmd = [mpiexec, "-n", str(ranks), *cmd]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd or ROOT)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        # under mpiexec a rank's last stdout line can be lost at MPI finalisation; the file is what counts
        assert proc.returncode == 0 and (lines or result_file.is_file()), (
            proc.stdout[-4000:] + "\n--- stderr ---\n" + proc.stderr[-4000:])
        if result_file.is_file():
            return json.loads(result_file.read_text())
        return json.loads(lines[-1][len("RESULT "):])
    finally:
        script.unlink(missing_ok=True)
        result_file.unlink(missing_ok=True)


def column(rule_json: str, *, n_pyr: int = 3, n_int: int = 2, duration: float = 100.0, record_step: float = 0.5,
           bkg_rate: float = 40.0, seed: int = 1):
    """A small cortical column spec: L5 pyramidal cells from the JSON rule, hh interneurons, background NetStims.

    Returns (netParams, cfg). The pyramidal rule is 'L5PC' (detailed until swapped).
    """
    from netpyne import specs

    netParams = specs.NetParams()
    netParams.sizeX, netParams.sizeY, netParams.sizeZ = 200, 1400, 200
    netParams.loadCellParamsRule("L5PC", str(rule_json))
    netParams.cellParams["INT"] = {"secs": {"soma": {
        "geom": {"diam": 15, "L": 15, "Ra": 100, "cm": 1},
        "mechs": {"hh": {"gnabar": 0.12, "gkbar": 0.036, "gl": 0.0003, "el": -65}}}}}
    netParams.popParams["L5"] = {"cellType": "L5PC", "numCells": n_pyr, "yRange": [900, 1100]}
    netParams.popParams["INT"] = {"cellType": "INT", "numCells": n_int, "yRange": [800, 1200]}
    netParams.synMechParams["AMPANMDA"] = {"mod": "sc_AMPANMDA"}
    netParams.synMechParams["GABAA"] = {"mod": "sc_GABAA"}
    netParams.synMechParams["exc"] = {"mod": "Exp2Syn", "tau1": 0.1, "tau2": 5.0, "e": 0}
    netParams.synMechParams["inh"] = {"mod": "Exp2Syn", "tau1": 0.5, "tau2": 8.0, "e": -80}
    netParams.stimSourceParams["bkg"] = {"type": "NetStim", "rate": bkg_rate, "noise": 1.0}
    netParams.stimTargetParams["bkg->L5"] = {"source": "bkg", "conds": {"pop": "L5"}, "sec": "apical",
                                              "synsPerConn": 8, "weight": 1.0, "delay": 1, "synMech": "AMPANMDA"}
    netParams.stimTargetParams["bkg->L5 basal"] = {"source": "bkg", "conds": {"pop": "L5"}, "sec": "basal",
                                                    "synsPerConn": 4, "weight": 1.0, "delay": 1,
                                                    "synMech": "AMPANMDA"}
    netParams.stimTargetParams["bkg->INT"] = {"source": "bkg", "conds": {"pop": "INT"}, "sec": "soma", "loc": 0.5,
                                               "weight": 0.02, "delay": 1, "synMech": "exc"}
    netParams.connParams["L5->INT"] = {"preConds": {"pop": "L5"}, "postConds": {"pop": "INT"}, "weight": 0.02,
                                       "delay": 2, "synMech": "exc", "sec": "soma", "loc": 0.5}
    netParams.connParams["INT->L5"] = {"preConds": {"pop": "INT"}, "postConds": {"pop": "L5"}, "weight": 1.0,
                                       "delay": 1.5, "synMech": "GABAA", "sec": "basal", "synsPerConn": 3}
    netParams.connParams["L5->L5"] = {"preConds": {"pop": "L5"}, "postConds": {"pop": "L5"}, "weight": 0.5,
                                      "delay": 2.5, "synMech": "AMPANMDA", "sec": "apic_10", "loc": 0.3,
                                      "probability": 0.7}
    cfg = specs.SimConfig()
    cfg.duration, cfg.dt, cfg.recordStep = duration, 0.025, record_step
    cfg.hParams = {"celsius": 34, "v_init": -70}
    cfg.seeds = {"conn": seed, "stim": seed, "loc": seed, "cell": seed}
    cfg.recordCells = ["all"]
    cfg.recordTraces = {"V_soma": {"sec": "soma", "loc": 0.5, "var": "v", "conds": {"pop": "INT"}}}
    cfg.verbose = False
    cfg.saveJson = cfg.savePickle = False
    cfg.printRunTime = False
    cfg.analysis = {}
    return netParams, cfg


CELL1 = ROOT.parent / "shared" / "reference" / "hay2011" / "cell1.asc"


def drive_synapses(cell, n: int = 400, weight: float = 2.0, rate_hz: float = 10.0, seed: int = 0) -> list:
    """``n`` AMPA/NMDA synapses on random dendritic segments with Poisson NetStims.

    Weight 2 (× 0.4 nS) at 10 Hz on the synthetic cell gives about 9 somatic
    spikes in 200 ms. Returns the objects, which must be kept alive.
    """
    h = cell.h
    rng = np.random.default_rng(seed)
    sites = [(sec, seg.x) for sec in list(cell.apical) + list(cell.basal) for seg in sec]
    keep = []
    for k in range(n):
        sec, x = sites[int(rng.integers(len(sites)))]
        syn = h.sc_AMPANMDA(sec(x))
        stim = h.NetStim()
        stim.start, stim.number, stim.interval, stim.noise = 0.0, 1e9, 1000.0 / rate_hz, 1.0
        stim.noiseFromRandom123(seed, k, 7)
        nc = h.NetCon(stim, syn)
        nc.weight[0] = weight
        keep.append((syn, stim, nc))
    return keep


def record_run(cell, tstop_ms: float, *, v_init: float = -80.0, extra=None) -> dict:
    """Run with fast_imem at dt 0.025 ms, 34 °C; every segment's v (mV) and i_membrane_ (nA).

    Returns ``{'t': (n,), 'V': (segments, n), 'I': (segments, n)}`` plus
    ``extra`` (name → hoc reference) recorded the same way.
    """
    h = cell.h
    h.load_file("stdrun.hoc")
    h.CVode().active(0)
    h.CVode().use_fast_imem(1)
    h.celsius, h.dt = 34.0, 0.025
    segs = [seg for sec in cell.all for seg in sec]
    vr = [h.Vector().record(seg._ref_v) for seg in segs]
    ir = [h.Vector().record(seg._ref_i_membrane_) for seg in segs]
    tr = h.Vector().record(h._ref_t)
    er = {k: h.Vector().record(ref) for k, ref in (extra or {}).items()}
    h.finitialize(v_init)
    h.continuerun(tstop_ms)
    out = {"t": np.array(tr), "V": np.array(vr), "I": np.array(ir)}
    out.update({k: np.array(v) for k, v in er.items()})
    return out


def somatic_spikes(v_soma, threshold: float = -10.0) -> int:
    return int(np.sum(np.diff((np.asarray(v_soma) > threshold).astype(int)) == 1))
