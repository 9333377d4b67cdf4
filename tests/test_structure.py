"""The package's structure: no import circles, training code only where it belongs, imports at the top.

Read from the source with ``ast`` (nothing is imported), so every module is
checked, including those a test run never imports.
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from tests.helpers import ROOT

PACKAGE = ROOT / "surrogate_cell"
#: Third-party libraries a module may import inside a function (each with a comment saying why).
HEAVY = {"neuron", "torch", "netpyne", "matplotlib", "h5py", "tqdm", "LFPy", "lfpykit", "mpi4py"}
#: Our packages that pull heavy libraries at import: a module outside them may import them lazily.
HEAVY_OURS = ("surrogate_cell.training", "surrogate_cell.netpyne", "surrogate_cell.neuron")


def _modules() -> dict:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path):
    """(target module, names, node, at top level?) of every import of ``name``'s source."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, [a.name for a in node.names], node, id(node) in top
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node, id(node) in top


def _graph() -> dict:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        edges = set()
        for target, names, _, _ in _imports(name, path):
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            if subs:  # `from package import module`: the modules, not the package
                edges.update(subs)
            elif target in modules:
                edges.add(target)
        graph[name] = edges - {name}
    return graph


def _cycles(graph: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    sys.setrecursionlimit(10_000)

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    assert _cycles(_graph()) == []


def test_training_code_is_imported_only_by_training_and_the_command_line():
    for name, path in _modules().items():
        if name.startswith(("surrogate_cell.training", "surrogate_cell.cli")):
            continue
        for target, _, node, _ in _imports(name, path):
            assert not target.startswith("surrogate_cell.training"), f"{path}:{node.lineno} imports {target}"


def test_the_runtime_reads_no_attribute_of_a_training_class():
    """The runtime talks to an exported model through its TorchScript interface (init_state, step,
    linear_readout, readout_features) and its metadata, never through the training model's attributes."""
    attrs = set()
    tree = ast.parse((PACKAGE / "training" / "model.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self" \
                and isinstance(node.ctx, ast.Store):
            attrs.add(node.attr)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "register_buffer" and node.args \
                and isinstance(node.args[0], ast.Constant):
            attrs.add(node.args[0].value)
    interface = {"init_state", "step", "linear_readout", "readout_features"}
    private = attrs - interface - {"training"}
    for name, path in _modules().items():
        if name.startswith(("surrogate_cell.training", "surrogate_cell.cli")):
            continue
        text = path.read_text()
        for attr in sorted(private):
            hit = re.search(rf"module\.{attr}\b", text)
            assert hit is None, f"{path} reads the training model's attribute {attr!r}"


def test_imports_inside_functions_are_heavy_and_say_why():
    stdlib = sys.stdlib_module_names
    for name, path in _modules().items():
        lines = path.read_text().splitlines()
        for target, _, node, top in _imports(name, path):
            if top:
                continue
            where = f"{path}:{node.lineno}"
            root = target.split(".")[0]
            ours = target.startswith("surrogate_cell")
            assert root not in stdlib or root == "__future__", f"{where}: the standard library goes at the top"
            if ours:
                heavy = [pkg for pkg in HEAVY_OURS if target.startswith(pkg)]
                assert heavy and not name.startswith(heavy[0]), f"{where}: {target} is light, import it at the top"
            else:
                assert root in HEAVY, f"{where}: {target} is not a heavy dependency; import it at the top"
            assert "#" in lines[node.end_lineno - 1], f"{where}: say why {target} is imported here"


def test_no_library_function_switches_the_matplotlib_backend():
    for path in sorted(PACKAGE.rglob("*.py")):
        assert "matplotlib.use(" not in path.read_text(), path


def test_every_benchmark_lives_under_the_command_lines_bench_package():
    for path in sorted(PACKAGE.rglob("*.py")):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        assert "bench" not in path.stem, path
        assert "register_bench" not in path.read_text(), path
