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


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    test_command = _bash_blocks(setup)[1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()
