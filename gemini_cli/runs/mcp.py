"""The MCP servers a run connects to (`--mcp`, `--mcp-config`): started once, in parallel, on
one background event loop, and offered to the tool loop as a `Runner` with their `Tool`s.

The SDK is async; the rest of the tool is not. A blocking portal (anyio) runs one task per
server on a daemon thread: it connects (a local command over stdio, or streamable HTTP),
answers `initialize`, lists the tools (every page), then waits for `close()`; each call is
one more task there. Every wait is bounded, and `close()` stops every server (the SDK closes a
local server's stdin, then kills its process group), also after errors and Ctrl-C.

The `mcp` package is imported here only, and only when a server is started.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import math
import os
import threading
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from gemini_cli.errors import GeminiCliError, UsageError, one_line
from gemini_cli.render.output import Console
from gemini_cli.request import mcp_servers, mcp_tools
from gemini_cli.request.mcp_spec import ServerSpec
from gemini_cli.runs.toolbox import CallResult, Tool, scrubbed_env

START_TIMEOUT = 20.0  # seconds for a server to start, answer initialize and list its tools
CALL_TIMEOUT = 60.0  # a call's bound when the tool loop gives none
STOP_TIMEOUT = 10.0  # the SDK's own shutdown is bounded (stdin closed, 2 s, SIGTERM, 2 s, SIGKILL)
STDERR_TAIL = 4096  # bytes of a server's stderr kept, shown when it fails
MAX_PAGES = 100  # tools/list pages read from one server
MAX_TOOLS = 512  # tools declared from one server
DESCRIPTION_MAX = 8192
HTTP_TIMEOUT = 30.0  # connect/write for HTTP servers; reads may wait for a long call


def require_sdk(specs: Iterable[ServerSpec]) -> None:
    """UsageError (exit 2) naming the servers when the `mcp` extra is not installed."""
    names = [s.name for s in specs]
    try:
        import mcp  # noqa: F401
    except ImportError:
        servers = f"MCP server {names[0]} needs" if len(names) == 1 else f"MCP servers {', '.join(names)} need"
        raise UsageError(f"{servers} the MCP SDK, which is not installed: {mcp_servers.INSTALL_HINT}") from None


class _StderrTail:
    """A local server's stderr: a pipe read on a daemon thread, the last bytes kept (bounded),
    each line also passed to `forward` (with --debug)."""

    def __init__(self, forward=None):
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


@dataclass
class _Server:
    spec: ServerSpec
    headers: dict[str, str] = field(default_factory=dict)  # resolved values: sent, never shown
    stderr: _StderrTail | None = None
    client: Any = None
    ready: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)  # its MCP tools
    task: concurrent.futures.Future | None = None
    stop: Any = None  # an anyio.Event, set by close()
    scope: Any = None  # the task's cancel scope (its start deadline)
    dead: str = ""  # why it stopped answering, once it has

    def redact(self, text: str) -> str:
        for value in self.headers.values():
            if len(value) >= 4:
                text = text.replace(value, "<redacted>")
        return text


class McpServers:
    """The `Runner` of every MCP tool of a run. `start()` gives it running; `tools` are the
    declarations (SERVER__TOOL, request/mcp_tools.py), `dropped` what their schemas lost."""

    def __init__(self, specs: Iterable[ServerSpec], *, console: Console | None = None, debug: bool = False,
                 start_timeout: float = START_TIMEOUT, environ: Mapping[str, str] | None = None,
                 text_max: int = mcp_tools.TEXT_MAX):
        self.servers = [_Server(s) for s in specs if not s.remote]
        self.console = console or Console()
        self.debug = debug
        self.start_timeout = start_timeout
        self.environ = os.environ if environ is None else environ
        self.text_max = text_max
        self.tools: list[Tool] = []
        self.dropped: dict[str, list[str]] = {}  # declared name -> what its input schema lost
        self._targets: dict[str, tuple[_Server, str]] = {}  # declared name -> (server, its own name)
        self._portal: Any = None
        self._thread: threading.Thread | None = None
        self._closed = False

    @classmethod
    def start(cls, specs: Iterable[ServerSpec], **options: Any) -> McpServers:
        """Start every local and HTTP server in `specs` (remote ones are the API's) and list
        their tools; UsageError naming each server that failed. Nothing is left running then."""
        servers = cls(specs, **options)
        try:
            servers._start()
        except BaseException:
            servers.close()
            raise
        return servers

    @property
    def secrets(self) -> list[str]:
        """The header values sent to HTTP servers: to redact from anything shown or written."""
        return sorted({v for s in self.servers for v in s.headers.values() if v})

    # --- start ---

    def _start(self) -> None:
        if not self.servers:
            return
        require_sdk(s.spec for s in self.servers)
        for server in self.servers:  # resolved before anything starts: a bad reference is exit 2
            server.headers = mcp_servers.resolve_headers(server.spec, self.environ)
        self._portal, self._thread = _start_portal()
        atexit.register(self.close)  # a last resort: the tool loop calls close() itself
        for server in self.servers:
            server.task = self._portal.start_task_soon(self._serve, server, name=f"mcp-{server.spec.name}")
        concurrent.futures.wait([s.ready for s in self.servers], timeout=self.start_timeout + STOP_TIMEOUT)
        failures = []
        for server in self.servers:
            try:
                listed = server.ready.result(timeout=0)
            except BaseException as exc:  # noqa: BLE001 - every failure is reported, by server
                failures.append(self._start_failure(server, exc))
                continue
            try:
                self._declare(server, listed)
            except UsageError as exc:
                failures.append(exc.message)
        if failures:
            raise UsageError("; ".join(failures))

    async def _serve(self, server: _Server) -> None:
        import anyio

        server.stop = anyio.Event()
        try:
            with anyio.CancelScope() as scope:
                server.scope = scope
                scope.deadline = anyio.current_time() + self.start_timeout
                async with AsyncExitStack() as stack:
                    try:
                        server.client = await self._connect(server, stack)
                    finally:
                        if server.stderr:
                            server.stderr.close_writer()
                    listed = await self._list(server)
                    scope.deadline = math.inf  # started: from now on only close() ends it
                    server.ready.set_result(listed)
                    await server.stop.wait()
            if not server.ready.done():
                server.ready.set_exception(TimeoutError())
        except BaseException as exc:
            if not server.ready.done():
                server.ready.set_exception(exc)
            if not server.dead:
                server.dead = _describe(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            server.dead = server.dead or "stopped"

    async def _connect(self, server: _Server, stack: AsyncExitStack) -> Any:
        from mcp import Client

        spec = server.spec
        if spec.local:
            from mcp import StdioServerParameters
            from mcp.client.stdio import stdio_client

            forward = None
            if self.debug:
                def forward(line: str, name: str = spec.name) -> None:
                    self.console.write(self.console.dim(f"[{name}] {line}") + "\n")
            server.stderr = _StderrTail(forward)
            params = StdioServerParameters(command=spec.command[0], args=list(spec.command[1:]), cwd=spec.cwd,
                                           env=scrubbed_env(spec.env_pass, spec.env, self.environ),
                                           encoding_error_handler="replace")
            transport = stdio_client(params, errlog=server.stderr.file)
        else:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            http = await stack.enter_async_context(httpx2.AsyncClient(
                headers=server.headers, timeout=httpx2.Timeout(HTTP_TIMEOUT, read=None)))
            transport = streamable_http_client(spec.url, http_client=http)
        return await stack.enter_async_context(Client(transport))

    async def _list(self, server: _Server) -> list[dict[str, Any]]:
        """tools/list, every page (a cursor seen before, or too many pages or tools, ends it)."""
        tools: list[dict[str, Any]] = []
        cursor, seen = None, set()
        for _ in range(MAX_PAGES):
            page = await server.client.list_tools(cursor=cursor)
            tools += [t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in page.tools]
            cursor = page.next_cursor
            if not cursor or cursor in seen or len(tools) >= MAX_TOOLS:
                break
            seen.add(cursor)
        return tools[:MAX_TOOLS]

    def _declare(self, server: _Server, listed: list[dict[str, Any]]) -> None:
        spec = server.spec
        own = [str(t.get("name", "")) for t in listed]
        names = mcp_tools.declared_names(spec.name, own)
        by_own = {own_name: declared for declared, own_name in names.items()}
        missing = [a for a in spec.allow or () if a not in by_own and a not in names]
        if missing:
            raise UsageError(f"--mcp-allow {spec.name}:{missing[0]}: MCP server {spec.name} has no tool {missing[0]!r} "
                             f"(it has: {', '.join(own) or 'none'})")
        for tool in listed:
            own_name = str(tool.get("name", ""))
            declared = by_own[own_name]
            if not spec.allows(own_name, declared):
                continue
            parameters, dropped = mcp_tools.clean_schema(tool.get("inputSchema"), f"MCP tool {declared}")
            if dropped:
                self.dropped[declared] = dropped
                if self.debug:
                    self.console.note(f"MCP tool {declared}: input schema cleaned: dropped {', '.join(dropped)}")
            description = str(tool.get("description") or tool.get("title") or "")[:DESCRIPTION_MAX]
            self.tools.append(Tool(declared, description, parameters, confirm=spec.confirm, origin=f"mcp:{spec.name}"))
            self._targets[declared] = (server, own_name)

    def _start_failure(self, server: _Server, exc: BaseException) -> str:
        spec = server.spec
        what = " ".join(spec.command) if spec.local else spec.url
        leaf = _leaf(exc)
        if isinstance(leaf, TimeoutError) or (server.scope is not None and server.scope.cancel_called):
            reason = f"did not answer initialize and tools/list within {self.start_timeout:g} s"
        elif isinstance(leaf, FileNotFoundError):
            reason = f"cannot start {spec.command[0]!r}: command not found"
        elif isinstance(leaf, OSError) and spec.local:
            reason = f"cannot start {spec.command[0]!r}: {leaf.strerror or leaf}"
        elif spec.local and _connection_closed(leaf):
            reason = "exited before it answered initialize"
        else:
            reason = f"failed to start: {_describe(leaf)}"
        if server.stderr:
            tail = server.stderr.text()
            if tail:
                self.console.write(self.console.clean(f"gemini-cli: MCP server {spec.name} stderr:\n{_indent(tail)}\n"))
        return server.redact(f"MCP server {spec.name} ({spec.source}: {what}) {reason}")

    # --- calls ---

    def call(self, tool: Tool, arguments: dict[str, Any], timeout: float | None) -> CallResult:
        """tools/call on the tool's server: a failure of the server (it died, it did not answer
        in time) is an is_error result naming it, never an exception; the run goes on."""
        target = self._targets.get(tool.name)
        if target is None:
            return CallResult(f"{tool.name} is not a tool of the MCP servers of this run", True, "error: not declared")
        server, own_name = target
        name = server.spec.name
        if server.dead or self._closed:
            return CallResult(f"MCP server {name} is not running ({server.dead or 'closed'}); {tool.name} was not called",
                              True, f"error: MCP server {name} not running")
        limit = timeout if timeout and timeout > 0 else CALL_TIMEOUT
        future = self._portal.start_task_soon(self._call, server, own_name, arguments, limit)
        try:
            raw = future.result(timeout=limit + 5)
        except concurrent.futures.TimeoutError:
            future.cancel()
            return self._timed_out(server, tool, limit)
        except TimeoutError:
            return self._timed_out(server, tool, limit)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                future.cancel()
                raise
            return self._call_failed(server, tool, exc)
        result, is_error, summary = mcp_tools.function_result(raw, self.text_max)
        # A server may echo the headers it was sent: their values never reach the request,
        # the conversation file, -o json or a cassette.
        return CallResult(_redacted(result, server.redact), is_error, server.redact(summary))

    async def _call(self, server: _Server, name: str, arguments: dict[str, Any], limit: float) -> dict[str, Any]:
        import anyio

        with anyio.fail_after(limit):
            result = await server.client.call_tool(name, arguments or {}, read_timeout_seconds=limit)
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)

    def _timed_out(self, server: _Server, tool: Tool, limit: float) -> CallResult:
        return CallResult(f"MCP server {server.spec.name} did not answer {tool.name} within {limit:g} s", True,
                          f"error: timed out after {limit:g} s")

    def _call_failed(self, server: _Server, tool: Tool, exc: Exception) -> CallResult:
        name = server.spec.name
        leaf = _leaf(exc)
        if isinstance(leaf, TimeoutError) or getattr(leaf, "code", None) == -32001:  # REQUEST_TIMEOUT
            return self._timed_out(server, tool, CALL_TIMEOUT)
        if _connection_closed(leaf) or server.dead:
            server.dead = server.dead or "it stopped during a call"
            if server.stderr:
                tail = server.stderr.text()
                if tail:
                    self.console.write(self.console.clean(f"gemini-cli: MCP server {name} stderr:\n{_indent(tail)}\n"))
            return CallResult(server.redact(f"MCP server {name} stopped during the call of {tool.name}"), True,
                              f"error: MCP server {name} stopped")
        message = server.redact(_describe(leaf))
        return CallResult(f"MCP server {name}: {message}", True, "error: " + message[:80])

    # --- stop ---

    def close(self) -> None:
        """Stop every server (and its processes) and the event loop; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        portal = self._portal
        if portal is not None:
            for server in self.servers:
                if server.stop is not None:
                    try:
                        portal.call(server.stop.set)
                    except RuntimeError:  # the loop is gone already
                        pass
            tasks = [s.task for s in self.servers if s.task is not None]
            concurrent.futures.wait(tasks, timeout=STOP_TIMEOUT)
            try:
                portal.call(portal.stop, True)
            except RuntimeError:
                pass
            if self._thread is not None:
                self._thread.join(STOP_TIMEOUT)
        for server in self.servers:
            if server.stderr:
                server.stderr.close_writer()

    def __enter__(self) -> McpServers:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _redacted(value: Any, redact: Any) -> Any:
    """Every string in a result (text, content blocks, a structured object) through `redact`."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted(v, redact) for v in value]
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v, redact) for k, v in value.items()}
    return value


def _start_portal() -> tuple[Any, threading.Thread]:
    """A blocking portal on a daemon thread (it never holds the interpreter's exit)."""
    import anyio
    from anyio.from_thread import BlockingPortal

    ready: concurrent.futures.Future = concurrent.futures.Future()

    async def run() -> None:
        async with BlockingPortal() as portal:
            ready.set_result(portal)
            await portal.sleep_until_stopped()

    def main() -> None:
        try:
            anyio.run(run)
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that waits
            if not ready.done():
                ready.set_exception(exc)

    thread = threading.Thread(target=main, daemon=True, name="gemini-cli-mcp")
    thread.start()
    return ready.result(timeout=STOP_TIMEOUT), thread


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside exception groups (anyio task groups wrap them)."""
    while isinstance(group := getattr(exc, "exceptions", None), tuple) and group:  # (Base)ExceptionGroup
        inner = [e for e in group if not _is_cancel(e)]
        exc = (inner or list(group))[0]
    return exc


def _is_cancel(exc: BaseException) -> bool:
    return type(exc).__name__ in ("CancelledError", "Cancelled")


def _connection_closed(exc: BaseException) -> bool:
    return getattr(exc, "code", None) == -32000 or "connection closed" in str(exc).lower() or isinstance(
        exc, (EOFError, BrokenPipeError, ConnectionError))


def _describe(exc: BaseException) -> str:
    exc = _leaf(exc)
    if isinstance(exc, GeminiCliError):
        return exc.message
    text = one_line(str(exc))[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines()[-20:])
