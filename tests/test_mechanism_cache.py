"""Mechanisms compile on first use into a per-user cache, atomically."""
import json
import subprocess
import sys

from surrogate_cell.mechanisms import build_key, cache_root, mod_files
from tests.helpers import ROOT

EXPECTED = {"sc_NaTa_t", "sc_NaTs2_t", "sc_Nap_Et2", "sc_K_Tst", "sc_K_Pst", "sc_SKv3_1", "sc_SK_E2",
            "sc_Im", "sc_Ca_HVA", "sc_Ca_LVAst", "sc_Ih", "sc_CaDynamics_E2", "sc_epsp"}


def test_every_mechanism_is_prefixed():
    names = set()
    for path in mod_files():
        for line in path.read_text().splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in ("SUFFIX", "POINT_PROCESS", "ARTIFICIAL_CELL"):
                names.add(words[1])
    assert EXPECTED <= names
    assert all(n.startswith("sc_") for n in names), names


def test_concurrent_first_use_builds_once(tmp_path):
    cache = tmp_path / "cache"
    code = ("from surrogate_cell.mechanisms import load_mechanisms\n"
            "from neuron import h\nload_mechanisms()\n"
            "s = h.Section(); s.insert('sc_NaTa_t'); print(s(0.5).sc_NaTa_t.gbar)")
    env = {"SURROGATE_CELL_CACHE": str(cache), "PATH": __import__("os").environ["PATH"]}
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=tmp_path) for _ in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert float(out.split()[-1]) == 1e-5
    builds = [d for d in (cache / "mechanisms").iterdir() if d.is_dir()]
    assert [d.name for d in builds] == [build_key()]  # one build, no leftover temp folders
    assert not (tmp_path / "x86_64").exists() and not (tmp_path / "aarch64").exists()


def test_cache_location_is_per_user_and_outside_the_package(monkeypatch, tmp_path):
    monkeypatch.delenv("SURROGATE_CELL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "surrogate_cell"
    import surrogate_cell

    assert not str(cache_root()).startswith(str(ROOT / "surrogate_cell"))
    assert not str(cache_root()).startswith(__import__("os").path.dirname(surrogate_cell.__file__))


def test_build_mechanisms_command_json(tmp_path):
    from .helpers import run_cli

    proc = run_cli("build-mechanisms", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["key"] == build_key() and info["library"].endswith(".so")
