"""The docs' Python examples run as written (each in a fresh interpreter).

Every ```python block of docs/*.md and README.md is either run here as
written (``CASES``) or is an excerpt whose calls a named example or test runs
(``COVERED``); a new block that is neither fails
``test_every_python_block_is_run_or_covered``. The examples in examples/ are
run by test_neuron_example.py and test_netpyne_example.py; the CLI examples
by the command tests.
"""
import re
import subprocess
import sys

import pytest

from tests.helpers import ROOT

CASES = [("api.md", 0), ("neuron.md", 0), ("neuron.md", 1), ("lfp.md", 0), ("netpyne.md", 1)]

#: excerpts (they name files, variables or hardware they do not create) and where their calls run
COVERED = {
    ("README.md", 0): "the three uses in brief; run whole by docs/neuron.md 0, docs/api.md 0 and "
                      "examples/netpyne_column.py (tests/test_netpyne_example.py)",
    ("dataset.md", 0): "reads a generated data.h5; Dataset.window and iter_windows run in tests/test_data_reader.py",
    ("gpu.md", 0): "needs CUDA; RunnerConfig(device='cuda') runs in tests/test_neuron_cell.py where a GPU is present",
    ("models.md", 0): "the step interface; run whole by docs/api.md 0",
    ("netpyne.md", 0): "a spec excerpt; swap, recordTraces and recordLFP run in examples/netpyne_column.py "
                       "(tests/test_netpyne_example.py) and tests/test_netpyne_swap.py",
    ("lfp.md", 1): "LFPRecorder on voltages held by the user; runs in tests/test_lfp_network.py and "
                   "tests/test_lfp_mpi.py",
    ("lfp.md", 2): "Population.record_lfp; runs in tests/test_lfp_network_runner.py and tests/test_lfp_mpi.py",
    ("lfp.md", 3): "record_detailed_lfp; runs in tests/test_lfp_exactness.py",
    ("lfp.md", 4): "setup_detailed_lfp and fill_netpyne_lfp; run in tests/test_lfp_netpyne.py",
}


def _page(name):
    return ROOT / name if name == "README.md" else ROOT / "docs" / name


def _python_blocks(name):
    return re.findall(r"```python\n(.*?)```", _page(name).read_text(), flags=re.S)


def test_every_python_block_is_run_or_covered():
    pages = ["README.md"] + sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    blocks = {(name, i) for name in pages for i in range(len(_python_blocks(name)))}
    assert blocks - set(CASES) - set(COVERED) == set(), "docs Python blocks neither run nor covered"
    assert set(CASES) | set(COVERED) <= blocks, "CASES/COVERED name blocks that no longer exist"
    for where in COVERED.values():  # the named examples and tests exist
        for path in re.findall(r"((?:tests|examples)/\w+\.py)", where):
            assert (ROOT / path).is_file(), path


@pytest.mark.parametrize("name,index", CASES)
def test_docs_example_runs(name, index, tmp_path):
    code = _python_blocks(name)[index]
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, f"docs/{name} example {index} failed:\n{proc.stderr[-3000:]}"
