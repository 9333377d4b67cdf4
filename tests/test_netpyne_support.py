"""Test support for the NetPyNE integration: cell rules, a small column spec, running NetPyNE in subprocesses.

NetPyNE keeps global state (``sim``) and integrates every section NEURON
holds, so every NetPyNE run of these tests happens in a fresh Python process
(optionally under ``mpiexec``), which prints one ``RESULT {json}`` line.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.test_neuron_support import export_probe, hay_segments, probe_path  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]

#: A Hay-style template (like the published L5PCtemplate): Import3d morphology, nseg rule, axon replacement.
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


@pytest.fixture(scope="session")
def rule_json(tmp_path_factory) -> Path:
    """The detailed HayCell imported into NetPyNE from a Python file (importCellParams), saved as JSON."""
    out = tmp_path_factory.mktemp("netpyne_rule")
    run_python(RULE_SCRIPT, out, cwd=out)
    return out / "l5pc_rule.json"


@pytest.fixture(scope="session")
def hoc_template(tmp_path_factory) -> tuple[Path, Path]:
    """(template file, SWC morphology): the synthetic L5PC through a Hay-style hoc template."""
    from surrogate_cell.cells import synthetic_l5pc_swc

    out = tmp_path_factory.mktemp("netpyne_hoc")
    (out / "SCTestL5PC.hoc").write_text(HOC_TEMPLATE)
    (out / "synthetic_l5pc.swc").write_text(synthetic_l5pc_swc())
    return out / "SCTestL5PC.hoc", out / "synthetic_l5pc.swc"


@pytest.fixture(scope="session")
def other_probe_path(tmp_path_factory):
    """A probe model of another morphology (the synthetic L5PC with 5 basal trees)."""
    from surrogate_cell.cells import HayCell, SyntheticL5PCParams

    segments = HayCell(synthetic=SyntheticL5PCParams(n_basal=5)).segments
    return export_probe(tmp_path_factory.mktemp("models") / "other.pt", segments)


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


def test_support_section_names():
    """The NetPyNE → model section-name rule (no NetPyNE run)."""
    from surrogate_cell.netpyne import model_section_name

    assert model_section_name("apic_12") == "apic[12]"
    assert model_section_name("soma_0") == "soma[0]"
    assert model_section_name("soma") == "soma[0]"
    assert model_section_name("dend[3]") == "dend[3]"


def test_support_adopt_checks_the_source(probe_path):  # noqa: F811
    """SurrogateCell(source=...) adopts only an sc_Surrogate, and a gid its creator registered."""
    from neuron import h

    from surrogate_cell.errors import NetworkError
    from surrogate_cell.neuron import SurrogateCell, reset_runner

    reset_runner()
    try:
        with pytest.raises(NetworkError, match="sc_Surrogate"):
            SurrogateCell(probe_path, source=h.NetStim())
        with pytest.raises(NetworkError, match="not registered"):
            SurrogateCell(probe_path, gid=12345, source=h.sc_Surrogate())
        src = h.sc_Surrogate()
        cell = SurrogateCell(probe_path, source=src)
        assert cell.source is src and cell.gid is None
    finally:
        reset_runner()
