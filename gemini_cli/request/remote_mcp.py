"""MCP servers the API calls itself (`--remote-mcp NAME=URL`, interactions-api.md §11): the
servers a turn names, the `mcp_server` tools its body carries, what its conversation
remembers, and the header values put in as the body is sent.

Every body this tool keeps or shows (the conversation file, --dry-run, -o json, a batch
record) holds the headers' references (`env:VAR`, `cmd:COMMAND`, `<redacted>` for a literal).
HeaderFiller, the API client's last step before a body is encoded, puts the values in; they
are resolved there, once per client, and never kept anywhere else.
"""

from __future__ import annotations

from typing import Any, Mapping

from gemini_cli.errors import UsageError
from gemini_cli.request import mcp_servers
from gemini_cli.request.mcp_spec import REDACTED, ServerSpec
from gemini_cli.state import paths

NONE = "none"  # `--remote-mcp none`: forget the servers the conversation remembers
SAVED_KEY = "remote_mcp"  # the conversation file's top-level key (settings table: extra.remote_mcp)


def servers(settings: Any) -> list[ServerSpec]:
    """The remote servers of a turn: those the conversation remembers (unless `--remote-mcp`
    is given), the `remote: true` entries of the mcpServers mappings (config file, profile,
    template), the `--remote-mcp` flags; a later one replaces an earlier
    one of the same name. Then `--mcp-header` / `--mcp-allow` applied to the one they name."""
    given = list(settings.remote_mcp or [])
    if NONE in given:
        if len(given) > 1:
            raise UsageError("--remote-mcp none means no remote MCP servers; it cannot be combined with other --remote-mcp values")
        given = []
    remembered = [mcp_servers.remote_from_saved(s) for s in given if isinstance(s, Mapping)]
    flags = [s for s in given if isinstance(s, str)]
    # One collection of every server the run names (an --mcp-header may name a local one),
    # the remote ones kept here; runs/tool_setup.py keeps the others.
    mappings = [(mapping, _label(source)) for mapping, source in settings.mcpServers or ()]
    specs = mcp_servers.collect(mcp=settings.mcp or (), remote=flags, configs=settings.mcp_config or (),
                                headers=settings.mcp_header or (), allow=settings.mcp_allow or (),
                                mappings=mappings, earlier=remembered)
    return [spec for spec in specs if spec.remote]


def _label(source: str) -> str:
    """A layer's name in messages (runs/tool_setup.py names them the same way)."""
    if source == "config file":
        return f"config file {paths.config_file()}"
    return source


def tools(specs: list[ServerSpec]) -> list[dict[str, Any]]:
    """The body's `mcp_server` tools, in the reference form (HeaderFiller sends the values)."""
    return [mcp_servers.remote_tool(spec) for spec in specs]


def remember(conversation: Any, specs: list[ServerSpec]) -> None:
    """What the conversation keeps so that `-c` sends the same servers: never a value."""
    if specs:
        conversation.extra[SAVED_KEY] = [mcp_servers.remote_to_saved(spec) for spec in specs]
    else:
        conversation.extra.pop(SAVED_KEY, None)


class HeaderFiller:
    """The client's body filter: each `mcp_server` tool of a body being sent gets its server's
    header values in place of the references. The values are resolved on the first body
    that needs them (so --dry-run never runs a `cmd:`), once per client, and registered as
    secrets: stderr, error documents and a --record cassette show `<redacted>` instead.
    Under --replay nothing leaves the machine: the values are never resolved, and the body
    carries `<redacted>`, as the cassette recorded it."""

    def __init__(self, specs: list[ServerSpec], keep_secret: Any, *, replaying: bool = False):
        self.specs = {spec.name: spec for spec in specs if spec.headers}
        self.keep_secret = keep_secret  # values -> None: the run redacts them everywhere it writes
        self.replaying = replaying
        self._values: dict[str, dict[str, str]] = {}

    def __call__(self, body: Any) -> Any:
        tools = body.get("tools") if isinstance(body, dict) else None
        if not isinstance(tools, list) or not any(self._ours(tool) for tool in tools):
            return body
        return {**body, "tools": [{**tool, "headers": self.values(self.specs[tool["name"]])} if self._ours(tool) else tool
                                  for tool in tools]}

    def _ours(self, tool: Any) -> bool:
        return (isinstance(tool, dict) and tool.get("type") == "mcp_server" and "headers" in tool
                and tool.get("name") in self.specs)

    def values(self, spec: ServerSpec) -> dict[str, str]:
        if spec.name not in self._values:
            if self.replaying:
                self._values[spec.name] = {header: REDACTED for header in spec.headers}
            else:
                resolved = mcp_servers.resolve_headers(spec)
                self.keep_secret(mcp_servers.secret_values(resolved))
                self._values[spec.name] = resolved
        return self._values[spec.name]
