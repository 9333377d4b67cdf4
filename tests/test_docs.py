"""The docs' Python examples run as written (each in a fresh interpreter).

Covered here: docs/api.md, docs/neuron.md (first example and play_spikes), docs/lfp.md (quick
start). The examples in examples/ are run by test_neuron_example.py and
test_netpyne_example.py; the CLI examples by the command tests.
"""
import re
import subprocess
import sys

import pytest

from .conftest import ROOT

CASES = [("api.md", 0), ("neuron.md", 0), ("neuron.md", 1), ("lfp.md", 0)]


def _python_blocks(name):
    return re.findall(r"```python\n(.*?)```", (ROOT / "docs" / name).read_text(), flags=re.S)


@pytest.mark.parametrize("name,index", CASES)
def test_docs_example_runs(name, index, tmp_path):
    code = _python_blocks(name)[index]
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, f"docs/{name} example {index} failed:\n{proc.stderr[-3000:]}"
