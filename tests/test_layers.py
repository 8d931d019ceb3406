"""The package's layers: no import cycles between gemini_cli modules (function-level imports
included), imports go down from cli to runs to the rest, the api layer never reaches up into
cli, runs or render, at most six modules sit directly under gemini_cli/; and, read from the
source, only render/ (with the I/O context, render/context.py) touches the standard streams,
with no `global` statements and no sys.modules reads anywhere."""

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
    assert "gemini_cli.cli.shell_complete" in GRAPH["gemini_cli.app"]  # inside main()
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


# -- the I/O context (render/context.py) ------------------------------------------------------

STREAMS = {"stdin", "stdout", "stderr", "__stdin__", "__stdout__", "__stderr__"}
ECHOES = {("typer", "echo"), ("typer", "secho"), ("click", "echo"), ("click", "secho")}
# The console script's wrapper: Ctrl-C while the modules load, before any context can exist.
STREAM_EXCEPTIONS = {"gemini_cli"}


def stream_uses(source: str) -> list[str]:
    """What in source reaches the standard streams behind the I/O context's back: sys.stdout,
    sys.stderr, sys.stdin (and their __dunder__ twins, `from sys import stdout`), print(),
    typer/click echo, os.write to descriptor 1 or 2."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "sys" \
                and node.attr in STREAMS:
            found.append(f"line {node.lineno}: sys.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "sys" \
                and any(alias.name in STREAMS for alias in node.names):
            found.append(f"line {node.lineno}: from sys import")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "print":
                found.append(f"line {node.lineno}: print()")
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                if (func.value.id, func.attr) in ECHOES:
                    found.append(f"line {node.lineno}: {func.value.id}.{func.attr}()")
                elif (func.value.id, func.attr) == ("os", "write") and node.args \
                        and isinstance(node.args[0], ast.Constant) and node.args[0].value in (1, 2):
                    found.append(f"line {node.lineno}: os.write({node.args[0].value})")
    return found


def globals_and_module_reads(source: str) -> list[str]:
    """`global` statements, and reads of sys.modules (another module's globals, looked up)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Global):
            found.append(f"line {node.lineno}: global {', '.join(node.names)}")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "sys" \
                and node.attr == "modules":
            found.append(f"line {node.lineno}: sys.modules")
        elif isinstance(node, ast.ImportFrom) and node.module == "sys" and any(a.name == "modules" for a in node.names):
            found.append(f"line {node.lineno}: from sys import modules")
    return found


def test_the_source_checks_see_what_they_forbid():
    sample = ("import sys, os\nfrom sys import stderr\nsys.stdout.write('x')\nprint('x')\ntyper.echo('x')\n"
              "os.write(2, b'x')\nos.write(fd, b'x')\nsys.__stdin__.read()\nfile.stdout.write('fine')\n")
    assert sorted(stream_uses(sample)) == ["line 2: from sys import", "line 3: sys.stdout", "line 4: print()",
                                           "line 5: typer.echo()", "line 6: os.write(2)", "line 8: sys.__stdin__"]
    sample = "import sys\ndef f():\n    global X\n    return sys.modules.get('m')\n"
    assert sorted(globals_and_module_reads(sample)) == ["line 3: global X", "line 4: sys.modules"]


def test_only_render_and_the_context_touch_the_standard_streams():
    """Everything else writes through the invocation's render.context.IOContext (or a
    render.output.Console built on it), so a test can hand a turn fake streams."""
    found = {name: stream_uses(path.read_text(encoding="utf-8")) for name, path in MODULES.items()
             if layer(name) != "render" and name not in STREAM_EXCEPTIONS}
    assert {name: uses for name, uses in found.items() if uses} == {}
    assert all(stream_uses(MODULES[name].read_text(encoding="utf-8")) for name in STREAM_EXCEPTIONS)  # drop one once it is gone


def test_no_global_statements_or_sys_modules_reads():
    """Process-wide state (quiet, the secrets, the cassette) lives on the I/O context."""
    found = {name: globals_and_module_reads(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}
    assert {name: uses for name, uses in found.items() if uses} == {}


# -- imports: under their own names, inside a function only for a measured start-up cost --------

# Split by another lane of issue 20, which applies the same rule there: drop each once it is clean.


def module_aliases(source: str) -> list[str]:
    """Imports in `source` that bind a gemini_cli module under another name
    (`from gemini_cli.request import body as request`, `import gemini_cli.x as y`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"line {node.lineno}: {a.name} as {a.asname}" for a in node.names
                      if a.asname and a.name.startswith("gemini_cli")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gemini_cli"):
            found += [f"line {node.lineno}: {node.module}.{a.name} as {a.asname}" for a in node.names
                      if a.asname and a.asname != a.name and f"{node.module}.{a.name}" in MODULES]
    return found


def function_imports(source: str) -> list[tuple[int, list[str]]]:
    """(line, the modules named) of each import statement inside a function."""
    found = []
    for fn in ast.walk(ast.parse(source)):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    found.append((node.lineno, [a.name for a in node.names]))
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    found.append((node.lineno, [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                                                for a in node.names]))
    return sorted(set((line, tuple(names)) for line, names in found))  # type: ignore[misc]


def explains_its_imports(source: str) -> bool:
    """A comment saying what is "imported inside" (and why) next to the top-level imports:
    between the first of them and a few lines after the last."""
    tree = ast.parse(source)
    tops = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    if not tops:
        return False
    lines = source.splitlines()[tops[0].lineno - 1: max(n.end_lineno or n.lineno for n in tops) + 4]
    comments = " ".join(line.strip().lstrip("#").strip() if line.lstrip().startswith("#") else "\n" for line in lines)
    return "imported inside" in comments


def test_the_import_checks_see_what_they_forbid():
    sample = "import os\nx = 1\n\ndef f():\n    import json\n    from gemini_cli.errors import UsageError\n"
    assert [(line, list(names)) for line, names in function_imports(sample)] == [(5, ["json"]), (6, ["gemini_cli.errors"])]
    assert not explains_its_imports(sample)
    assert explains_its_imports("import os\n# json is imported inside f: ~1 ms of --version\n")
    assert module_aliases("from gemini_cli.cli import options as opt\nimport gemini_cli.errors as e\n"
                          "from gemini_cli.errors import UsageError as Refused\n") == [
        "line 1: gemini_cli.cli.options as opt", "line 2: gemini_cli.errors as e"]


def test_no_gemini_cli_module_is_imported_under_another_name():
    """`body as request`, `schema as structured`, `options as opt`: a module is named for what it
    is; import it as itself, or the names used from it (aliasing a name only where a clash forces it)."""
    found = {name: module_aliases(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}
    assert {name: uses for name, uses in found.items() if uses} == {}


STARTUP_ARGS = [["--version"], ["--help"], *([name, "--help"] for name in (
    "generate", "chat", "batch", "upload", "files", "jobs", "history", "config", "completion", "models", "demo")),
    ["history", "show", "--help"], ["completion", "bash"]]
STARTUP_TABS = ["gemini-cli ", "gemini-cli generate --mo", "gemini-cli generate --cid ", "gemini-cli history show "]
PRINT_MODULES = ("import atexit, runpy, sys\n"
                 "atexit.register(lambda: sys.__stderr__.write('\\nMODULES ' + ' '.join(sorted(sys.modules)) + '\\n'))\n"
                 "sys.argv = ['gemini-cli'] + sys.argv[1:]\n"
                 "runpy.run_module('gemini_cli', run_name='__main__')\n")


def startup_modules(tmp_path) -> set[str]:
    """The gemini_cli modules that start-up loads: `--version`, each command's --help, a TAB."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, HOME=str(tmp_path), GEMINI_CLI_HOME=str(tmp_path), GEMINI_API_KEY="")
    runs = [(args, env) for args in STARTUP_ARGS]
    runs += [([], dict(env, COMP_WORDS=words, COMP_CWORD=str(len(words.split())), _GEMINI_CLI_COMPLETE="bash_complete"))
             for words in STARTUP_TABS]
    found: set[str] = set()
    for args, run_env in runs:
        proc = subprocess.run([sys.executable, "-c", PRINT_MODULES, *args], env=run_env, capture_output=True,
                              text=True, timeout=60, cwd=PACKAGE.parent)
        modules = proc.stderr.rpartition("\nMODULES ")[2].split()
        assert "gemini_cli.app" in modules, (args, proc.stderr[-500:])
        found.update(m for m in modules if m in MODULES)
    return found


# Modules loaded only after a command's boundary that still import a gemini_cli module inside a
# function: a module that one path needs, measured (each module's comment names the cost).
LAZY_ON_ONE_PATH = {
    "gemini_cli.runs.pipeline": {"gemini_cli.runs.media", "gemini_cli.request.remote_mcp"},  # attachments, --remote-mcp
    "gemini_cli.runs.batch": {"gemini_cli.runs.media"},  # rows with attachments
    "gemini_cli.runs.connection": {"gemini_cli.request.remote_mcp", "gemini_cli.request.mcp_servers"},  # --remote-mcp
    "gemini_cli.runs.tool_setup": {"gemini_cli.runs.mcp"},  # --mcp
    "gemini_cli.render.output": {"gemini_cli.render.markdown", "gemini_cli.render.media", "gemini_cli.render.tools"},
}


def test_function_level_imports_only_where_start_up_pays_otherwise(tmp_path):
    """A module that start-up loads (app.py, cli/, the state/ and render/ modules under them)
    keeps what start-up need not load inside the functions that need it; every other module
    imports gemini_cli modules at its top (LAZY_ON_ONE_PATH names the few exceptions). Any
    module with imports inside functions says why, once, next to its top-level imports."""
    startup = startup_modules(tmp_path)
    assert {"gemini_cli.app", "gemini_cli.cli.generate", "gemini_cli.cli.options", "gemini_cli.state.config",
            "gemini_cli.cli.shell_complete"} <= startup
    assert not startup & {"gemini_cli.runs.pipeline", "gemini_cli.api.client", "gemini_cli.render.output"}
    inside = {name: function_imports(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}
    misplaced = {name: sorted({m for _, names in found for m in names if m in MODULES}
                              - LAZY_ON_ONE_PATH.get(name, set()))
                 for name, found in inside.items() if name not in startup}
    assert {name: deps for name, deps in misplaced.items() if deps} == {}
    unexplained = sorted(name for name, found in inside.items()
                         if found and not explains_its_imports(MODULES[name].read_text(encoding="utf-8")))
    assert unexplained == []
