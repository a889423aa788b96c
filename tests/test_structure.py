"""The code's shape: no import cycles in src/, utils/ holds leaves, one place puts src/ on the
path, and an install puts nothing importable into site-packages."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(REPO, "src")


def src_modules() -> dict[str, str]:
    """Dotted module name -> file, for every module under src/ (packages by their __init__)."""
    found = {}
    for folder, _, files in os.walk(SRC):
        for name in files:
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, name), SRC)[:-3].split(os.sep)
                if rel[-1] == "__init__":
                    rel = rel[:-1]
                found[".".join(rel)] = os.path.join(folder, name)
    return found


def _target(dotted: str, modules: dict[str, str]) -> str | None:
    """The longest prefix of ``dotted`` that is a src module (None for outside libraries)."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return None


def import_graph(modules: dict[str, str]) -> dict[str, set[str]]:
    """Every import of every module, at any depth (function-level imports count too)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.endswith("__init__.py")
        package = name if is_package else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(open(path).read(), path)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".") if package else []
                    anchor = anchor[:len(anchor) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for dotted in targets:
                target = _target(dotted, modules) if dotted else None
                if target is not None and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_src():
    found = cycles(import_graph(src_modules()))
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_utils_imports_nothing_above_it():
    modules = src_modules()
    graph = import_graph(modules)
    upward = {name: sorted(t for t in targets if t.split(".")[0] != "utils")
              for name, targets in graph.items() if name.split(".")[0] == "utils"}
    assert {name: t for name, t in upward.items() if t} == {}


def _python_files(*folders: str):
    for folder in folders:
        for root, dirs, files in os.walk(os.path.join(REPO, folder)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                if name.endswith(".py"):
                    yield os.path.relpath(os.path.join(root, name), REPO)


def test_one_place_puts_src_on_the_path():
    touching = sorted(path for path in _python_files("src", "scripts", "benchmarks", "tests", "docs")
                      if "sys.path" in open(os.path.join(REPO, path)).read() and path != "tests/test_structure.py")
    assert touching == [os.path.join("scripts", "__init__.py")]


def test_every_script_and_benchmark_runs_as_a_module():
    """``python -m scripts.<name> --help`` works from the repository root (src/ found through scripts/)."""
    for name in ("scripts.table", "benchmarks.bench_buffer"):
        proc = subprocess.run([sys.executable, "-m", name, "--help"], capture_output=True, text=True, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": ""}, timeout=120)
        assert proc.returncode == 0, proc.stderr


def test_install_puts_nothing_importable_in_site_packages(tmp_path):
    """``pip install .`` installs the dependencies only: the wheel holds metadata and nothing else."""
    pytest.importorskip("setuptools")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), REPO], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    wheels = [f for f in os.listdir(tmp_path) if f.endswith(".whl")]
    assert len(wheels) == 1
    names = zipfile.ZipFile(tmp_path / wheels[0]).namelist()
    assert names and all(".dist-info/" in name for name in names), names
