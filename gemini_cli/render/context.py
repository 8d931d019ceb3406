"""The I/O context of one invocation, in the manner of httpie's `Environment`.

The standard streams and whether each is a terminal, colour (NO_COLOR), --quiet, --debug,
the secrets to redact and the run's --record / --replay cassette: what used to be read from
`sys.stdout`, module globals and other modules' globals. app.py builds one per invocation
(the tests run many invocations in one process) and hands it down: to the commands as the
click context's `obj`, from them to runs/ and render/ (a render.output.Console carries it).
A test can build one over io.StringIO streams and drive a turn in-process.

Only this module and render/ touch `sys.stdout` / `sys.stderr` (tests/test_layers.py checks).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Iterable, TextIO

from gemini_cli.render.terminal import for_stream, isatty
from gemini_cli.state.recording import RunCassette

KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove the API key from text for stderr (an API message may echo it back): the
    environment's keys and `secrets` (those read from the config file this run)."""
    keys = [(os.environ.get(name) or "").strip() for name in KEY_VARIABLES] + sorted(secrets)
    for key in keys:
        if len(key) >= 4:
            text = text.replace(key, "<redacted>")
    return text


class IOContext:
    """One invocation's streams and what it knows about them. A stream is None when the
    process was started with it closed (`>&-`)."""

    def __init__(self, stdin: TextIO | None, stdout: TextIO | None, stderr: TextIO | None):
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        # asked once: a terminal does not stop being one mid-run
        self.stdin_isatty, self.stdout_isatty, self.stderr_isatty = isatty(stdin), isatty(stdout), isatty(stderr)
        self.no_color = bool(os.environ.get("NO_COLOR"))
        self.quiet = False  # -q or `quiet: true`: set once the settings are resolved (state/config.py)
        self.debug = False  # --debug: tracebacks for internal errors
        self.secrets: set[str] = set()  # keys read from the config file or api_key_command
        self.key_sources: dict[str, str] = {}  # key -> where it came from, never the key itself
        self.recording = RunCassette()  # --record / --replay, set by the root command
        self.escaped = 0  # characters stdout's encoding could not hold (app.py)

    @classmethod
    def from_process(cls) -> "IOContext":
        """The process's own streams (app.py, once per invocation)."""
        return cls(sys.stdin, sys.stdout, sys.stderr)

    def colour(self, stream: Any) -> bool:
        """Whether to style what goes to stream: a terminal, and no NO_COLOR."""
        return not self.no_color and isatty(stream)

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def warn(self, message: str) -> None:
        """A warning before any Console exists (settings, templates, the key); not with --quiet."""
        if not self.quiet and self.stderr is not None:
            self.stderr.write(self.redact(f"gemini-cli: warning: {for_stream(message, self.stderr)}\n"))
            self.stderr.flush()

    def error(self, message: str, label: str = "error") -> None:
        """The one error line of a failed run; nothing when stderr is closed or broken
        (the exit code says it all)."""
        if self.stderr is None:
            return
        prefix = f"gemini-cli: {label}: " if label else "gemini-cli: "
        try:
            self.stderr.write(self.redact(f"{prefix}{for_stream(message, self.stderr)}\n"))
            self.stderr.flush()
        except (OSError, ValueError):
            pass
