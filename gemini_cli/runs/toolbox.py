"""What the model may call in a turn: a declared tool, the result of one call, and the
environment a tool's process gets.

Shared by the two kinds of runner, local commands (`--function`, `--functions`) and MCP
servers (`--mcp`), so that the turn's tool loop asks one thing of both: run this
`function_call`, give back what its `function_result` says.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Protocol


@dataclass(frozen=True)
class Tool:
    """One function the model may call, as declared to the API."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    confirm: bool = False  # ask on a terminal before each call (refused where no one can answer)
    origin: str = "function"  # "function" (a local command) or "mcp:SERVER"

    def declaration(self) -> dict[str, Any]:
        """Exactly what `tools` carries for it (interactions-api.md §10)."""
        return {"type": "function", "name": self.name, "description": self.description, "parameters": self.parameters}


@dataclass
class CallResult:
    """What one call gave: `result` goes into the function_result as it is (a string, an
    object, or a content list); `summary` is the short stderr line without its arrow (`1 line`,
    `exit 2`, `error: timed out after 5 s`): the tool loop prints it as `← SUMMARY`."""

    result: Any
    is_error: bool = False
    summary: str = ""


class Runner(Protocol):
    """Runs the calls of the tools it declared. `close` stops what it started (processes,
    connections); it is called once, also after errors and Ctrl-C."""

    def call(self, tool: Tool, arguments: dict[str, Any], timeout: float | None) -> CallResult: ...

    def close(self) -> None: ...


# A variable whose name holds one of these words is taken for a secret (API keys, tokens).
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)


def scrubbed_env(passed: Iterable[str] = (), extra: Mapping[str, str] | None = None,
                 environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a tool's process: ours without the secrets, except the variables
    named in `passed` (a function's `env`); then `extra` (values a config gives) on top."""
    environ = os.environ if environ is None else environ
    keep = set(passed)
    env = {name: value for name, value in environ.items() if name in keep or not SECRET_NAME.search(name)}
    env.update(extra or {})
    return env
