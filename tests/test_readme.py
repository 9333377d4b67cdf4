"""The README's two set-up commands, and CI calling the test command."""
import re

from tests.helpers import ROOT


def _bash_blocks(text):
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_readme_has_exactly_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    blocks = [b.strip() for b in _bash_blocks(setup)]
    assert len(blocks) == 2 and all("\n" not in b for b in blocks), blocks
    main_job, tests = blocks
    assert "surrogate-cell" in main_job and "pytest" in tests


def test_ci_runs_both_readme_commands_as_written():
    """.ci/run reads the two commands from the README itself and runs them on a PATH of the system folders
    only, with an empty mechanism cache: what a newcomer on a fresh machine would do."""
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    commands = [b.strip() for b in _bash_blocks(setup)]
    listed = [ln for ln in readme.splitlines() if ln.startswith("python3 -m venv .venv && ")]
    assert listed == commands  # the lines CI picks out are exactly the two set-up commands
    ci = (ROOT / ".ci" / "run").read_text()
    for line in ("grep -E '^python3 -m venv \\.venv && ' README.md", 'bash -c "$DEMO"', 'bash -c "$TESTS"',
                 "export PATH=/usr/bin:/bin", 'rm -rf "$SURROGATE_CELL_CACHE" .venv demo_out'):
        assert line in ci, line
    assert "nrnivmodl" not in "".join(commands)  # nothing beyond pip and the venv's own tools
