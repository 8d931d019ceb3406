"""Opening the API client a command talks through: the settings' base URL, timeouts and
retries, the API key, and the run's --record / --replay cassette."""

from __future__ import annotations

import os
import weakref
from contextlib import contextmanager
from typing import Any, Iterator

from gemini_cli.api.client import ApiClient
from gemini_cli.state import apikey
from gemini_cli.state.config import Settings, check_base_url
# request/remote_mcp.py is imported inside open_client: only a --remote-mcp server needs it (~7 ms of
# every other run).

_warned: weakref.WeakSet[Any] = weakref.WeakSet()  # the consoles told about literal MCP header values


@contextmanager
def open_client(settings: Settings, key: str | None, console: Any, **options: Any) -> Iterator[Any]:
    """An ApiClient for the settings; `options` override its arguments (batch: retries, connections)."""
    arguments: dict[str, Any] = dict(
        cassette=cassette_for(key, console.io),
        base_url=check_base_url(settings),
        api_version=settings.api_version,
        api_key=key,
        key_source=apikey.source_of(console.io, key),
        timeout=settings.timeout,
        retries=settings.retries,
        retry_delay=settings.retry_delay,
        max_time=settings.max_time,
        note=console.note,
    )
    client = ApiClient(**{**arguments, **options})
    if remote_mcp_named(settings):
        # Remote MCP servers: their header values go in as each body is sent, nowhere else.
        from gemini_cli.request import remote_mcp
        from gemini_cli.request.mcp_servers import literal_warnings

        io = console.io

        def keep_secret(values: list[str]) -> None:  # redacted on stderr, in error documents, in a cassette
            io.secrets.update(values)
            if io.recording.in_use():
                io.recording.open(values)

        servers = remote_mcp.servers(settings)
        client.body_filter = remote_mcp.HeaderFiller(servers, keep_secret, replaying=io.recording.replaying())
        if console not in _warned:  # once per run (a chat session opens a client per turn)
            _warned.add(console)
            for warning in literal_warnings(servers):
                console.warn(warning)
    try:
        yield client
    finally:
        client.close()


def remote_mcp_named(settings: Settings) -> bool:
    """Whether the settings may name a remote MCP server (request/remote_mcp.py parses them)."""
    return bool(settings.remote_mcp or settings.mcp_header or settings.mcp_allow or settings.mcpServers)


def cassette_for(key: str | None, io: Any) -> Any:
    """The run's --record / --replay cassette (None without one; io: the I/O context that
    holds it), told which secrets to keep out."""
    if not io.recording.in_use():
        return None
    secrets = [key or ""] + [(os.environ.get(name) or "").strip() for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY")]
    return io.recording.open(secrets + sorted(io.secrets))  # io.secrets: keys read from the config file


def connect(settings: Settings, console: Any) -> Any:
    """open_client with the API key (exit 3 without one), for commands that always need it."""
    return open_client(settings, apikey.get(console.io, max_time=settings.max_time), console)
