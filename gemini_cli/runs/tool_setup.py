"""The turn's tool loop from the settings: one place every command (generate, chat, batch,
history fetch) builds it.

Functions come from the `functions:` mappings of the config file, a profile and a template,
then `--functions FILE` and `--function NAME=COMMAND` (request/functions.py); MCP servers
from `mcpServers:` mappings, `--mcp-config`, `--mcp` (request/mcp_servers.py). Nothing comes
from a conversation file: it holds calls, never commands.

`open_tools` gives a ToolSet for the whole run (a chat session): its MCP servers started once,
in parallel; `close()` (or leaving the `with`) stops them and every command still running,
also on Ctrl-C and errors. Its loop is always a FunctionLoop, even with nothing declared: a
call to a name declared only through --body-extra, or a resumed conversation's pending call,
is answered (as not declared) instead of stranding the conversation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from gemini_cli.errors import UsageError
from gemini_cli.runs.toolbox import Runner, Tool
from gemini_cli.request import functions, mcp_servers
from gemini_cli.request.functions import parse_function_flag
from gemini_cli.request.mcp_servers import literal_warnings
from gemini_cli.runs.commands import CommandRunner
from gemini_cli.runs.toolcalls import FunctionLoop, undeclared_note
from gemini_cli.state import paths
from gemini_cli.state.config import Settings
# runs/mcp.py is imported inside open_tools: only --mcp needs it (~20 ms of every other turn).


class RunLoop(FunctionLoop):
    """The run's FunctionLoop, plus the one note a resumed conversation gets when functions
    it called earlier are not declared in this run."""

    warn: Callable[[str], None] = staticmethod(lambda text: None)
    noted = False

    def pending(self, conversation: Any) -> list[dict[str, Any]]:
        if not self.noted:
            self.noted = True
            note = undeclared_note(conversation, self.tools)
            if note:
                self.warn(note)
        return super().pending(conversation)

    def add(self, tool: Any, runner: Any) -> None:
        """One more function (chat's /function): a name already declared is refused."""
        if tool.name in self.tools:
            raise UsageError(f"function {tool.name!r} is already declared ({self.tools[tool.name][0].origin})")
        self.tools[tool.name] = (tool, runner)


class RowLoop(FunctionLoop):
    """A batch row's loop: its own count and refusals over the batch's runners, no one to
    ask (a confirm-only call is refused), and the calls it made for the row's record
    (`made`: name, arguments, is_error)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.made: list[dict[str, Any]] = []

    def answer(self, result: dict[str, Any]) -> list[dict[str, Any]] | None:
        steps = super().answer(result)
        calls = {s.get("id"): s for s in result.get("steps") or [] if isinstance(s, dict) and s.get("type") == "function_call"}
        for step in steps or []:
            call = calls.get(step.get("call_id"), {})
            self.made.append({"name": step.get("name"), "arguments": call.get("arguments"),
                              "is_error": bool(step.get("is_error"))})
        return steps

    def close(self) -> None:
        pass  # the runners are the batch's: ToolSet.close stops them once


class ToolSet:
    """What a run holds of its tools: the loop (the pipeline's ToolLoop), the MCP servers
    it started, and the secrets (MCP header values) to keep out of everything written."""

    def __init__(self, loop: RunLoop, servers: Any = None):
        self.loop = loop
        self.servers = servers

    @property
    def secrets(self) -> list[str]:
        return list(self.servers.secrets) if self.servers is not None else []

    def names(self) -> list[str]:
        return list(self.loop.tools)

    def for_row(self, row_id: Any) -> RowLoop:
        """A batch row's own loop over the same tools and runners; its call lines name the row."""
        loop = self.loop
        prefix = f"row {row_id}: "
        note = loop.note
        return RowLoop(loop.tools.values(), max_calls=loop.max_calls, timeout=loop.timeout, confirm_all=loop.confirm_all,
                       ask=None, note=lambda text: note(prefix + text), workers=loop.workers)

    def close(self) -> None:
        self.loop.close()  # the MCP servers are one of its runners
        if self.servers is not None:
            self.servers.close()

    def __enter__(self) -> ToolSet:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- what the settings declare --------------------------------------------------------------


def function_specs(settings: Settings) -> list[Any]:
    """The run's functions, lowest priority first: config file, profile, template, then the
    command line (--functions files and --function flags, one layer)."""
    layers = [functions.functions_from_mapping(mapping, _label(settings, source), _base_dir(settings, source))
              for mapping, source in settings.functions or ()]
    flags = [spec for path in settings.functions_file or () for spec in functions.load_functions_file(path)]
    flags += [functions.parse_function_flag(text) for text in settings.function or ()]
    return functions.combine([*layers, flags])


def server_specs(settings: Settings) -> list[Any]:
    """Every MCP server the run names (remote ones too: the loop skips them, the request
    declares them)."""
    mappings = [(mapping, _label(settings, source)) for mapping, source in settings.mcpServers or ()]
    remembered = [mcp_servers.remote_from_saved(s) for s in settings.remote_mcp or () if isinstance(s, dict)]
    return mcp_servers.collect(mcp=settings.mcp or (), remote=remote_flags(settings),
                               configs=settings.mcp_config or (), headers=settings.mcp_header or (),
                               allow=settings.mcp_allow or (), mappings=mappings, earlier=remembered)


def remote_flags(settings: Settings) -> list[str]:
    """The --remote-mcp texts given now (not the servers a conversation remembers, nor `none`),
    so that an --mcp-header or --mcp-allow naming one of them is known here too."""
    return [text for text in settings.remote_mcp or () if isinstance(text, str) and text != "none"]


def local_tool_flags(settings: Settings) -> list[str]:
    """The flags and the config, profile or template layers that name a local function or an
    MCP server (what `batch --remote` cannot take: nothing runs on this machine there)."""
    given = [("--function", settings.function), ("--functions", settings.functions_file), ("--mcp", settings.mcp),
             ("--mcp-config", settings.mcp_config)]
    layers = [(f"functions: of the {_label(settings, source)}", mapping) for mapping, source in settings.functions or ()]
    layers += [(f"mcpServers: of the {_label(settings, source)}", mapping)
               for mapping, source in settings.mcpServers or ()]
    return [flag for flag, value in given + layers if value]


# -- the run's tools ------------------------------------------------------------------------


def open_tools(settings: Settings, console: Any, *, ask: Callable[[str], str | None] | None = None,
               debug: bool = False) -> ToolSet:
    """The run's ToolSet: functions checked (exit 2 naming the bad one) and MCP servers
    started, before anything is sent. `ask` confirms a call (None: no one can answer, so a
    confirm-only call is refused)."""
    specs = function_specs(settings)
    servers = [s for s in server_specs(settings) if not s.remote]
    runner = CommandRunner(specs)
    started = None
    if servers:
        from gemini_cli.runs.mcp import McpServers, require_sdk

        require_sdk(servers)
        for warning in literal_warnings(servers):
            console.warn(warning)
        started = McpServers.start(servers, console=console, debug=debug)
        _keep_secret(console.io, started.secrets)
    try:
        extra: list[tuple[Tool, Runner]] = [(tool, started) for tool in started.tools] if started is not None else []
        loop = RunLoop([(tool, runner) for tool in runner.tools()] + extra, max_calls=settings.max_tool_calls,
                       timeout=settings.tool_timeout, confirm_all=settings.confirm, ask=ask, note=tool_note(console))
    except BaseException:
        runner.close()
        if started is not None:
            started.close()
        raise
    loop.warn = console.warn
    return ToolSet(loop, started)


def add_function(tools: ToolSet, text: str) -> str:
    """chat's `/function NAME=COMMAND`: one more function for the rest of the session; its name."""
    spec = parse_function_flag(text)
    runner = CommandRunner([spec])
    tool = runner.tools()[0]
    try:
        tools.loop.add(tool, runner)
    except UsageError:
        runner.close()
        raise
    return tool.name


def tool_lines(tools: ToolSet) -> list[str]:
    """chat's `/tools`: one line per declared function (name, where from, description)."""
    lines = []
    for name, (tool, _) in tools.loop.tools.items():
        origin = "MCP server " + tool.origin[4:] if tool.origin.startswith("mcp:") else "command"
        confirm = ", asks first" if tool.confirm or tools.loop.confirm_all else ""
        description = f": {tool.description}" if tool.description else ""
        lines.append(f"{name} ({origin}{confirm}){description}")
    return lines


def tool_note(console: Any) -> Callable[[str], None]:
    """The → / ← lines on stderr: dimmed on a terminal, silenced by -q (the loop has made
    control characters visible already)."""

    def note(text: str) -> None:
        if not console.quiet:
            console.write(console.dim(text) + "\n")

    return note


def terminal_ask(console: Any) -> Callable[[str], str | None] | None:
    """A confirmation on the terminal (stdin and stderr both one), else None: with no one to
    answer, a call that needs confirming is refused, never waited on."""
    stdin = console.io.stdin
    if stdin is None or stdin.closed or not stdin.isatty() or not console.terminal:
        return None

    def ask(prompt: str) -> str | None:
        console.write(prompt)
        line = stdin.readline()
        return line if line else None  # end of input: no answer

    return ask


def _keep_secret(io: Any, values: list[str]) -> None:
    """Header values join the run's redaction (stderr, -o json, cassettes), as API keys do."""
    values = [v for v in values if len(v) >= 4]
    if not values:
        return
    io.secrets.update(values)
    if io.recording.in_use():
        io.recording.open(values)


def _label(settings: Settings, source: str) -> str:
    """A layer's name in messages: `config file PATH`, `profile work`, `template NAME`."""
    if source == "config file":
        return f"config file {paths.config_file()}"
    return source


def _base_dir(settings: Settings, source: str) -> Path | None:
    """Where a layer's relative `cwd` starts: the template's folder, else the config's."""
    if source.startswith("template") and settings.template is not None:
        return Path(settings.template.path).parent

    return paths.config_file().parent
