"""Shared fixtures: an isolated GEMINI_CLI_HOME per test and a fake Interactions API.

The fake API is pytest-httpserver on loopback; tests queue canned JSON or SSE
answers and then assert the request bodies the server received.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner

from gemini_cli.app import app

API_KEY = "test-key-7f3a9c1e5b2d4f60a8c3"
INTERACTION_ID = "v1_abc123"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Every test gets its own config/state folder, a key, and no stray settings."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("GEMINI_CLI_HOME", str(home))
    monkeypatch.setenv("GEMINI_API_KEY", API_KEY)
    for name in ("GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL", "NO_COLOR", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    # Fast retries: the backoff figures themselves are tested in test_client.py.
    (home / "config.yaml").write_text("retry_delay: 0.01\n")
    return home


@pytest.fixture
def httpserver(httpserver):
    """pytest-httpserver's server, checked at teardown: a request no test planned for (it
    answers 500 "No handler found") fails the test that made it, even when the CLI's answer
    to that 500 looked right. Every fake API below is built on it."""
    yield httpserver
    httpserver.check_assertions()


@pytest.fixture
def fault_server(monkeypatch):
    """A raw socket server that misbehaves on purpose (tests/fault_server.py), as the API."""
    from fault_server import FaultServer

    fake = FaultServer()
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", fake.url)
    yield fake
    fake.close()


@pytest.fixture
def api(httpserver, monkeypatch):
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", httpserver.url_for("/").rstrip("/"))
    return FakeApi(httpserver)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run(args: list[str], input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
    """Run the CLI in-process, as the console script would (through the error funnel)."""
    result = CliRunner().invoke(app, args, input=input, env=env, catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


# -- canned API answers -------------------------------------------------------


def sse(events: list[dict[str, Any]], done: bool = True) -> str:
    """Frame events as the API does: `event:` line, `data:` line, blank line; then [DONE]."""
    frames = [f"event: {e.get('event_type', 'message')}\ndata: {json.dumps(e)}\n\n" for e in events]
    if done:
        frames.append("event: done\ndata: [DONE]\n\n")
    return "".join(frames)


USAGE = {"total_input_tokens": 5, "total_output_tokens": 7, "total_thought_tokens": 3, "total_tokens": 15}


def text_events(
    *chunks: str,
    interaction_id: str = INTERACTION_ID,
    status: str = "completed",
    usage: dict[str, Any] | None = USAGE,
    thought: str | None = None,
    signature: str = "c2lnbmF0dXJlLWJ5dGVz+/==",
    completed: bool = True,
    extra: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The event sequence of a text answer, as in the API's streaming docs."""
    events: list[dict[str, Any]] = [
        {"event_type": "interaction.created", "event_id": "e0",
         "interaction": {"id": interaction_id, "status": "in_progress", "object": "interaction", "model": "gemini-3-flash-preview"}},
        {"event_type": "interaction.status_update", "event_id": "e1", "interaction_id": interaction_id, "status": "in_progress"},
        {"event_type": "step.start", "event_id": "e2", "index": 0, "step": {"type": "thought"}},
    ]
    if thought:
        events.append({"event_type": "step.delta", "index": 0, "delta": {"type": "thought_summary", "content": {"type": "text", "text": thought}}})
    events += [
        {"event_type": "step.delta", "index": 0, "delta": {"type": "thought_signature", "signature": signature}},
        {"event_type": "step.stop", "index": 0},
        {"event_type": "step.start", "index": 1, "step": {"type": "model_output"}},
    ]
    for n, chunk in enumerate(chunks):
        events.append({"event_type": "step.delta", "event_id": f"t{n}", "index": 1, "delta": {"type": "text", "text": chunk}})
    events.append({"event_type": "step.stop", "index": 1})
    if completed:
        interaction = {"id": interaction_id, "status": status, "object": "interaction", "model": "gemini-3-flash-preview"}
        if usage:
            interaction["usage"] = usage
        interaction.update(extra or {})
        events.append({"event_type": "interaction.completed", "event_id": "e9", "interaction": interaction})
    return events


def interaction(text: str, *, interaction_id: str = INTERACTION_ID, status: str = "completed", **extra: Any) -> dict[str, Any]:
    """A whole (non-streamed) Interaction resource with one text answer."""
    body = {
        "id": interaction_id, "object": "interaction", "status": status, "model": "gemini-3-flash-preview",
        "steps": [
            {"type": "thought", "signature": "c2ln"},
            {"type": "model_output", "content": [{"type": "text", "text": text}]},
        ],
        "usage": USAGE,
    }
    body.update(extra)
    return body


class FakeApi:
    def __init__(self, server):
        self.server = server

    @property
    def base_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def stream(self, events: list[dict[str, Any]] | str, *, path: str = "/v1beta/interactions", method: str = "POST", **kwargs):
        body = events if isinstance(events, str) else sse(events)
        self.server.expect_ordered_request(path, method=method, **kwargs).respond_with_data(
            body, content_type="text/event-stream"
        )

    def json(self, payload: Any, *, status: int = 200, path: str = "/v1beta/interactions", method: str = "POST",
             headers: dict[str, str] | None = None, **kwargs):
        self.server.expect_ordered_request(path, method=method, **kwargs).respond_with_json(
            payload, status=status, headers=headers
        )

    def error(self, status: int, message: str = "boom", api_status: str = "ERROR", headers: dict[str, str] | None = None,
              path: str = "/v1beta/interactions", method: str = "POST"):
        self.json({"error": {"code": status, "message": message, "status": api_status}}, status=status,
                  headers=headers, path=path, method=method)

    def requests(self):
        return [request for request, _ in self.server.log]

    def bodies(self) -> list[Any]:
        return [json.loads(request.get_data() or b"null") for request in self.requests()]


# -- helpers added for the generate/client test suite --------------------------


def _secrets(env: dict[str, str] | None) -> set[str]:
    import os

    values = {API_KEY, os.environ.get("GEMINI_API_KEY", ""), os.environ.get("GOOGLE_API_KEY", "")}
    values.update((env or {}).get(name) or "" for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"))
    return {value.strip() for value in values if value and len(value.strip()) >= 8}


def run_checked(args: list[str], input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
    """run(), then check that no API key in play was printed to stdout or stderr."""
    secrets = _secrets(env)
    result = run(args, input=input, env=env)
    for secret in secrets:
        assert secret not in result.stdout, "an API key was printed to stdout"
        assert secret not in result.stderr, "an API key was printed to stderr"
    return result


def closed_port_url() -> str:
    """A loopback base URL on which nothing listens (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
