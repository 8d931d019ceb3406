"""The package's layers: no import cycles between gemini_cli modules (function-level imports
included), imports go down from cli to runs to the rest, the api layer never reaches up into
cli, runs or render, and at most six modules sit directly under gemini_cli/."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gemini_cli"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(name: str) -> set[str]:
    """The gemini_cli modules that module name imports, anywhere in its body."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..api import y
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                # `from package import module` imports the module; `from module import name` the module
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports(name) for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_parser_sees_function_level_and_package_imports():
    assert "gemini_cli.cli.complete" in GRAPH["gemini_cli.app"]  # inside main()
    assert "gemini_cli.cli.options" in GRAPH["gemini_cli.cli.history"]  # from gemini_cli.cli import options
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# The package root holds __version__ (app.py reads it) and the console script's main(), which
# imports app.py only when called, so that Ctrl-C while the modules load is caught: an edge
# that runs after both modules are loaded, never a cycle at import time.
ENTRY_POINT = ("gemini_cli", "gemini_cli.app")


def test_no_import_cycles_between_modules():
    graph = {name: deps - {ENTRY_POINT[1]} if name == ENTRY_POINT[0] else deps for name, deps in GRAPH.items()}
    assert ENTRY_POINT[1] in GRAPH[ENTRY_POINT[0]]  # drop the exception once it is gone
    assert cycles(graph) == []


def test_api_never_imports_cli_runs_or_render():
    upward = {name: sorted(m for m in deps if m.split(".")[1:2] in (["cli"], ["runs"], ["render"]))
              for name, deps in GRAPH.items() if name.startswith("gemini_cli.api.")}
    assert {name: deps for name, deps in upward.items() if deps} == {}


def layer(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 2 else ""


def test_imports_go_down_from_cli_to_runs_to_the_rest():
    upward = sorted((name, dep) for name, deps in GRAPH.items() for dep in deps
                    if (layer(name) in ("request", "api", "state", "render") and layer(dep) in ("cli", "runs"))
                    or (layer(name) == "runs" and layer(dep) == "cli"))
    assert upward == []


def test_at_most_six_modules_directly_under_the_package():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 6, top
