"""One MCP server as a run names it (ServerSpec) and one header's value as given
(HeaderValue, a reference or a literal), with the checks of their parts: server names, URLs,
header names, variable names. request/mcp_servers.py reads them from flags and files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from gemini_cli.errors import UsageError

REDACTED = "<redacted>"

# A server's name starts its tools' declared names (SERVER__TOOL, request/mcp_tools.py): no
# double underscore, so the separator stays unambiguous, and short enough to leave room.
SERVER_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9-]|_(?!_))*")
SERVER_NAME_MAX = 24
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class HeaderValue:
    """One header's value as given: `env` (a variable's name), `cmd` (a command whose stdout is
    the value), `template` (a config file's "Bearer ${TOKEN}", variables filled in), `literal`
    (the value itself, warned about), `redacted` (a literal remembered by a conversation,
    whose value was never saved), `saved_cmd` (a `cmd:` remembered by a conversation: kept,
    never run from there, as a conversation file never makes a run execute anything), or
    `saved_env` (an `env:`/`template:` reference remembered by a conversation, `value` the whole
    reference: kept, never filled in from there, as a file, perhaps someone else's, must not
    have a variable of ours sent to a URL it names)."""

    kind: str
    value: str

    def reference(self) -> str:
        """What may be written anywhere: never a literal's value."""
        if self.kind in ("literal", "redacted"):
            return REDACTED
        if self.kind == "saved_env":
            return self.value
        return f"cmd:{self.value}" if self.kind == "saved_cmd" else f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class ServerSpec:
    """One MCP server. `command` (an argv list) for a local stdio server, else `url`."""

    name: str
    source: str  # where it was named, for messages: "--mcp", "--mcp-config FILE", "profile work"
    command: tuple[str, ...] = ()
    url: str = ""
    env: Mapping[str, str] = field(default_factory=dict)  # values given to a local server's process
    env_pass: tuple[str, ...] = ()  # our variables passed through although they look secret
    cwd: str | None = None
    headers: Mapping[str, HeaderValue] = field(default_factory=dict)
    allow: tuple[str, ...] | None = None  # only these tools (None: all)
    exclude: tuple[str, ...] = ()
    confirm: bool = False  # ask before each call of its tools (runs/toolbox.py Tool.confirm)
    remote: bool = False  # called by Google's servers (--remote-mcp), not by this tool

    @property
    def local(self) -> bool:
        return bool(self.command)

    def allows(self, tool: str, declared: str = "") -> bool:
        if tool in self.exclude or (declared and declared in self.exclude):
            return False
        return self.allow is None or tool in self.allow or (bool(declared) and declared in self.allow)


def check_name(name: str, where: str) -> str:
    if not SERVER_NAME.fullmatch(name) or len(name) > SERVER_NAME_MAX:
        raise UsageError(f"{where}: bad MCP server name {name!r}: use up to {SERVER_NAME_MAX} letters, digits, "
                         "'-' or single '_', starting with a letter")
    return name


def is_url(text: str) -> bool:
    return bool(re.match(r"https?://", text.strip(), re.IGNORECASE))


def check_url(url: str, where: str) -> str:
    url = url.strip()
    if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", url, re.IGNORECASE):
        raise UsageError(f"{where}: bad URL {url!r} (give http:// or https://HOST[/PATH])")
    return url


def parse_header_value(text: str) -> HeaderValue:
    for kind in ("env", "cmd"):
        if text.startswith(kind + ":"):
            return HeaderValue(kind, text[len(kind) + 1:].strip())
    return HeaderValue("literal", text)


def check_header_name(header: str, where: str) -> str:
    if not HEADER_NAME.fullmatch(header):
        raise UsageError(f"{where}: bad HTTP header name {header!r}")
    return header


def check_header_value(value: HeaderValue, where: str) -> HeaderValue:
    if value.kind == "env" and not ENV_NAME.fullmatch(value.value):
        raise UsageError(f"{where}: bad variable name in env:{value.value}")
    if value.kind == "cmd" and not value.value:
        raise UsageError(f"{where}: cmd: needs a command")
    return value
