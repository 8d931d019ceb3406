"""The MCP servers a run connects to (`--mcp`, `--mcp-config`): started once, in parallel, on
one background event loop, and offered to the tool loop as a `Runner` with their `Tool`s.

The SDK is async; the rest of the tool is not. A blocking portal (anyio) runs one task per
server on a daemon thread: it connects (a local command over stdio, or streamable HTTP),
answers `initialize`, lists the tools (every page), then waits for `close()`; each call is
one more task there. Every wait is bounded, and `close()` stops every server (the SDK closes a
local server's stdin, then kills its process group), also after errors and Ctrl-C.

The `mcp` package is imported here only, and only when a server is started: it is an optional
extra, and importing it (pydantic with it) takes about 0.7 s, anyio 15 ms and httpx2 60 ms more,
which a run without MCP servers must not pay; hence the imports inside the functions. What a
failing server shows (its stderr, the SDK's errors in one line) is runs/mcp_failures.py's.
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

from gemini_cli.backoff import capped
from gemini_cli.errors import UsageError
from gemini_cli.render.output import Console
from gemini_cli.request import mcp_servers, mcp_tools
from gemini_cli.request.mcp_spec import ServerSpec
from gemini_cli.runs.mcp_failures import REQUEST_TIMEOUT, StderrTail, connection_closed, describe, leaf
from gemini_cli.runs.toolbox import CallResult, Tool, scrubbed_env

# mcp, anyio and httpx2 are imported inside the functions that start a server (~0.8 s, above).

START_TIMEOUT = 20.0  # seconds for a server to start, answer initialize and list its tools
CALL_TIMEOUT = 60.0  # a call's bound when the tool loop gives none
STOP_TIMEOUT = 10.0  # the SDK's own shutdown is bounded (stdin closed, 2 s, SIGTERM, 2 s, SIGKILL)
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


@dataclass
class _Server:
    spec: ServerSpec
    headers: dict[str, str] = field(default_factory=dict)  # resolved values: sent, never shown
    stderr: StderrTail | None = None
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
                server.dead = describe(exc)
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
            server.stderr = StderrTail(forward)
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
        cause = leaf(exc)
        if isinstance(cause, TimeoutError) or (server.scope is not None and server.scope.cancel_called):
            reason = f"did not answer initialize and tools/list within {self.start_timeout:g} s"
        elif isinstance(cause, FileNotFoundError):
            reason = f"cannot start {spec.command[0]!r}: command not found"
        elif isinstance(cause, OSError) and spec.local:
            reason = f"cannot start {spec.command[0]!r}: {cause.strerror or cause}"
        elif spec.local and connection_closed(cause):
            reason = "exited before it answered initialize"
        else:
            reason = f"failed to start: {describe(cause)}"
        self._show_stderr(server)
        return server.redact(f"MCP server {spec.name} ({spec.source}: {what}) {reason}")

    def _show_stderr(self, server: _Server) -> None:
        """What a local server wrote on stderr, on ours (control characters shown as text)."""
        report = server.stderr.report(server.spec.name) if server.stderr else ""
        if report:
            self.console.write(self.console.clean(report))

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
        limit = capped(timeout) if timeout and timeout > 0 else CALL_TIMEOUT  # 1e10 would overflow a lock's wait
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
        cause = leaf(exc)
        if isinstance(cause, TimeoutError) or getattr(cause, "code", None) == REQUEST_TIMEOUT:
            return self._timed_out(server, tool, CALL_TIMEOUT)
        if connection_closed(cause) or server.dead:
            server.dead = server.dead or "it stopped during a call"
            self._show_stderr(server)
            return CallResult(server.redact(f"MCP server {name} stopped during the call of {tool.name}"), True,
                              f"error: MCP server {name} stopped")
        message = server.redact(describe(cause))
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
