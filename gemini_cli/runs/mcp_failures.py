"""What is shown when an MCP server fails (runs/mcp.py): the tail of a local server's stderr,
kept as it runs, and the errors the SDK raises (inside anyio's exception groups, JSON-RPC
error codes) read as one line.
"""

from __future__ import annotations

import os
import threading
from typing import Callable

from gemini_cli.errors import GeminiCliError, one_line

STDERR_TAIL = 4096  # bytes of a server's stderr kept, shown when it fails
CONNECTION_CLOSED = -32000  # the SDK's JSON-RPC code for a connection that closed
REQUEST_TIMEOUT = -32001  # ... and for a request that was not answered in time


class StderrTail:
    """A local server's stderr: a pipe read on a daemon thread, the last bytes kept (bounded),
    each line also passed to `forward` (with --debug)."""

    def __init__(self, forward: Callable[[str], None] | None = None):
        read_fd, write_fd = os.pipe()
        self.file = os.fdopen(write_fd, "w")  # given to the server as its stderr
        self._tail = bytearray()
        self._lock = threading.Lock()
        self._forward = forward
        self._thread = threading.Thread(target=self._read, args=(read_fd,), daemon=True, name="mcp-stderr")
        self._thread.start()

    def _read(self, fd: int) -> None:
        partial = b""
        try:
            while chunk := os.read(fd, 65536):
                with self._lock:
                    self._tail += chunk
                    del self._tail[:-STDERR_TAIL]
                if self._forward:
                    lines = (partial + chunk).split(b"\n")
                    partial = lines.pop()[-STDERR_TAIL:]
                    for line in lines:
                        self._forward(line.decode("utf-8", "replace"))
        except OSError:
            pass
        finally:
            os.close(fd)

    def close_writer(self) -> None:
        """Once the server has started: only it holds the pipe now, so its exit ends the reader."""
        if not self.file.closed:
            self.file.close()

    def text(self, wait: float = 0.5) -> str:
        self._thread.join(wait)
        with self._lock:
            return self._tail.decode("utf-8", "replace").strip()

    def report(self, server: str) -> str:
        """The stderr's last lines under a heading naming the server; "" when it wrote nothing."""
        tail = self.text()
        if not tail:
            return ""
        lines = "\n".join("  " + line for line in tail.splitlines()[-20:])
        return f"gemini-cli: MCP server {server} stderr:\n{lines}\n"


def leaf(exc: BaseException) -> BaseException:
    """The first real error inside exception groups (anyio task groups wrap them)."""
    while isinstance(group := getattr(exc, "exceptions", None), tuple) and group:  # (Base)ExceptionGroup
        inner = [e for e in group if not _is_cancel(e)]
        exc = (inner or list(group))[0]
    return exc


def _is_cancel(exc: BaseException) -> bool:
    return type(exc).__name__ in ("CancelledError", "Cancelled")


def connection_closed(exc: BaseException) -> bool:
    return getattr(exc, "code", None) == CONNECTION_CLOSED or "connection closed" in str(exc).lower() or isinstance(
        exc, (EOFError, BrokenPipeError, ConnectionError))


def describe(exc: BaseException) -> str:
    """One line: our own error's message, else the error's type and text."""
    exc = leaf(exc)
    if isinstance(exc, GeminiCliError):
        return exc.message
    text = one_line(str(exc))[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
