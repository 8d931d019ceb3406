"""Record and replay HTTP exchanges (--record / --replay): cassettes in JSON Lines.

One line per exchange, appended when the exchange ends:

  {"request": {"method", "path" (with the query), "headers",
               "body" (JSON) | "body_size" + "body_sha256" (any other body, e.g. an upload chunk)},
               (an inline attachment's base64 "data" longer than INLINE_SHOWN: by size and SHA-256)
   "response": {"status", "reason", "headers",
                "events" (a text/event-stream, one SSE event per item) | "body" (text) | "body_base64"},
   "error": {"type", "message"}}  # an httpx error instead of a response, or after the events read

Recording (here) wraps the client the normal code opens (whatever transport or proxy it
chose) in a transport that tees each exchange to the file. Replaying (api/replay.py) replaces
that client with a transport that answers from the file and never opens a socket. Both sit
under httpx, so everything above (retries, SSE decoding, stream resume, uploads) runs as it
always does. ApiClient takes the cassette and calls its `client(open_http, base_url)`.

Bodies are recorded decoded (no Content-Encoding), secrets never: header values whose name
says key, token, secret, password, auth or cookie, the headers of an `mcp_server` tool in a
request body, and every string given in `secrets`.
Never prints; never reads argv.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from gemini_cli.errors import UsageError

REDACTED = "<redacted>"
SECRET_HEADER = re.compile(r"key|token|secret|passw|auth|cookie|credential", re.IGNORECASE)
# Bodies are matched as JSON without these fields (at any depth): values that change from
# run to run by themselves. display_name: an upload's is the local file's name, which a CI
# job's temporary folder changes every run (the bytes are still matched by size and SHA-256).
VOLATILE = frozenset({"display_name"})
# Headers that describe the bytes on the wire, not the decoded body that is recorded.
WIRE_HEADERS = frozenset({"content-encoding", "content-length"})
INLINE_SHOWN = 256  # longer inline `data` is recorded by size and SHA-256
EVENT_END = re.compile(r"\r\n\r\n|\n\n|\r\r")


# -- what a request is, for the file and for matching --------------------------------------


def base_path(base_url: str) -> str:
    return urlsplit(base_url).path.rstrip("/")


def request_path(request: httpx.Request, prefix: str) -> str:
    """Path and query, without the base URL's own path: the host and prefix do not matter."""
    path = request.url.raw_path.decode("ascii")
    return path[len(prefix):] if prefix and path.startswith(prefix + "/") else path


def body_fields(content: bytes, content_type: str | None) -> dict[str, Any]:
    """A request body as recorded: JSON as JSON, anything else by size and SHA-256."""
    if not content:
        return {}
    if (content_type or "").split(";")[0].strip().lower() == "application/json":
        try:
            return {"body": tool_headers_redacted(digest_inline(json.loads(content)))}
        except ValueError:
            pass
    return {"body_size": len(content), "body_sha256": hashlib.sha256(content).hexdigest()}


def digest_inline(data: Any) -> Any:
    """Inline bytes (an attachment's base64 `data`) by size and SHA-256, as an upload is."""
    if isinstance(data, dict):
        return {
            key: f"<{len(value)} characters, sha256 {hashlib.sha256(value.encode()).hexdigest()}>"
            if key == "data" and isinstance(value, str) and len(value) > INLINE_SHOWN else digest_inline(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [digest_inline(value) for value in data]
    return data


def tool_headers_redacted(body: Any) -> Any:
    """The headers of the body's `mcp_server` tools (the values the API sends to a remote MCP
    server, tokens as a rule) as <redacted>, whatever their names or lengths. Replay compares
    a request the same way, so a recorded request matches the one a later run sends."""
    tools = body.get("tools") if isinstance(body, dict) else None
    if not isinstance(tools, list):
        return body
    return {**body, "tools": [
        {**tool, "headers": {name: REDACTED for name in tool["headers"]}}
        if isinstance(tool, dict) and tool.get("type") == "mcp_server" and isinstance(tool.get("headers"), dict) else tool
        for tool in tools]}


class _Hashing(httpx.SyncByteStream):
    """A streamed request body (an upload chunk), passed through while it is measured."""

    def __init__(self, stream: Any):
        self.stream, self.size, self.hash = stream, 0, hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for part in self.stream:
            self.size += len(part)  # memoryview of a bytearray: len is the byte count
            self.hash.update(part)
            yield part

    def fields(self) -> dict[str, Any]:
        return {"body_size": self.size, "body_sha256": self.hash.hexdigest()} if self.size else {}


def describe(request: httpx.Request, prefix: str, *, consume: bool) -> tuple[dict[str, Any], _Hashing | None]:
    """The request as recorded, and for a streamed body the _Hashing that will know it once
    it has been sent (consume=True reads it here instead: nothing will send it)."""
    entry: dict[str, Any] = {"method": request.method, "path": request_path(request, prefix)}
    entry["headers"] = [[name, REDACTED if SECRET_HEADER.search(name) else value] for name, value in request.headers.multi_items()]
    try:
        content = request.content
    except httpx.RequestNotRead:
        hashing = _Hashing(request.stream)
        if not consume:
            request.stream = hashing
            return entry, hashing
        for _ in hashing:
            pass
        entry.update(hashing.fields())
        return entry, None
    entry.update(body_fields(content, request.headers.get("content-type")))
    return entry, None


def error_fields(exc: BaseException) -> dict[str, Any]:
    return {"type": type(exc).__name__, "message": str(exc)}


def scrub(data: Any, secrets: set[str]) -> Any:
    if isinstance(data, dict):
        return {key: scrub(value, secrets) for key, value in data.items()}
    if isinstance(data, list):
        return [scrub(value, secrets) for value in data]
    if isinstance(data, str):
        for secret in secrets:
            data = data.replace(secret, REDACTED)
    return data


# -- recording -------------------------------------------------------------------------------


class Recording:
    """The file being recorded (created 0600; appended to, one line per exchange)."""

    def __init__(self, path: str):
        self.path = path
        self.secrets: set[str] = set()
        try:
            # O_NOFOLLOW: a link planted at the name would make us append to (or create) its target
            self.fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UsageError(f"the cassette {path} is a symbolic link; refusing to follow it") from None
            raise UsageError(f"cannot write the cassette {path}: {exc.strerror or exc}") from None

    def client(self, open_http: Callable[[], httpx.Client], base_url: str) -> httpx.Client:
        return httpx.Client(transport=Recorder(self, open_http(), base_path(base_url)), trust_env=False, follow_redirects=False)

    def write(self, entry: dict[str, Any]) -> None:
        if self.fd is None:
            return
        data = (json.dumps(scrub(entry, self.secrets), ensure_ascii=False) + "\n").encode("utf-8")
        try:
            while data:  # one line per write: O_APPEND keeps lines whole
                data = data[os.write(self.fd, data):]
        except OSError as exc:
            raise UsageError(f"cannot write the cassette {self.path}: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class Recorder(httpx.BaseTransport):
    """Sends through the real client; every exchange is written when its response is done."""

    def __init__(self, recording: Recording, inner: httpx.Client, prefix: str):
        self.recording, self.inner, self.prefix = recording, inner, prefix
        self.open: list[_Tee] = []
        self.lock = threading.Lock()  # batch sends from several threads

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        entry, hashing = describe(request, self.prefix, consume=False)
        record = {"request": entry}
        try:
            response = self.inner.send(request, stream=True)
        except httpx.HTTPError as exc:
            if hashing is not None:
                entry.update(hashing.fields())
            self.recording.write({**record, "error": error_fields(exc)})
            raise
        if hashing is not None:
            entry.update(hashing.fields())
        reason = response.reason_phrase
        headers = [(name, value) for name, value in response.headers.multi_items() if name.lower() not in WIRE_HEADERS]
        record["response"] = {
            "status": response.status_code, "reason": reason,
            "headers": [[name, REDACTED if SECRET_HEADER.search(name) else value] for name, value in headers],
        }
        tee = _Tee(response, record, self)
        with self.lock:
            self.open.append(tee)
        return httpx.Response(
            response.status_code, headers=headers, stream=tee,
            extensions={"reason_phrase": reason.encode("latin-1", "replace"), "http_version": b"HTTP/1.1"},
        )

    def close(self) -> None:
        with self.lock:
            unclosed = list(self.open)
        for tee in unclosed:  # responses nobody closed: record what was read
            tee.finish()
        self.inner.close()


class _Tee(httpx.SyncByteStream):
    """The decoded body, passed on as it arrives and kept for the record."""

    def __init__(self, response: httpx.Response, record: dict[str, Any], recorder: Recorder):
        self.response, self.record, self.recorder = response, record, recorder
        self.parts: list[bytes] = []
        self.error: BaseException | None = None
        self.done = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self.response.iter_bytes():
                self.parts.append(chunk)
                yield chunk
        except httpx.HTTPError as exc:
            self.error = exc
            raise

    def close(self) -> None:
        try:
            self.response.close()
        finally:
            self.finish()

    def finish(self) -> None:
        with self.recorder.lock:
            if self.done:
                return
            self.done = True
            self.recorder.open.remove(self)
        self.record["response"].update(response_body(b"".join(self.parts), self.response.headers.get("content-type"),
                                                     self.recorder.recording.secrets))
        if self.error is not None:
            self.record["error"] = error_fields(self.error)
        self.recorder.recording.write(self.record)


def response_body(data: bytes, content_type: str | None, secrets: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """A response body as recorded: an event stream as its events, text as text; bytes that
    are not UTF-8 as base64, with the secrets taken out first (scrub sees only the base64)."""
    if not data:
        return {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        for secret in secrets:
            data = data.replace(secret.encode("utf-8", "surrogateescape"), REDACTED.encode("ascii"))
        return {"body_base64": base64.b64encode(data).decode("ascii")}
    if (content_type or "").split(";")[0].strip().lower() == "text/event-stream":
        return {"events": split_events(text)}
    return {"body": text}


def split_events(text: str) -> list[str]:
    """Each SSE event with the blank line that ends it; joined, they are the text again."""
    events, start = [], 0
    for match in EVENT_END.finditer(text):
        events.append(text[start:match.end()])
        start = match.end()
    if start < len(text):
        events.append(text[start:])
    return events
