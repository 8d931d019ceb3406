"""Record and replay HTTP exchanges (--record / --replay): cassettes in JSON Lines.

One line per exchange, appended when the exchange ends:

  {"request": {"method", "path" (with the query), "headers",
               "body" (JSON) | "body_size" + "body_sha256" (any other body, e.g. an upload chunk)},
   "response": {"status", "reason", "headers",
                "events" (a text/event-stream, one SSE event per item) | "body" (text) | "body_base64"},
   "error": {"type", "message"}}  # an httpx error instead of a response, or after the events read

Recording wraps the client the normal code opens (whatever transport or proxy it chose)
in a transport that tees each exchange to the file. Replaying replaces that client with a
transport that answers from the file and never opens a socket. Both sit under httpx, so
everything above (retries, SSE decoding, stream resume, uploads) runs as it always does.

Bodies are recorded decoded (no Content-Encoding), secrets never: header values whose name
says key, token, secret, password, auth or cookie, and every string given in `secrets`.
Never prints; never reads argv.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from gemini_cli.errors import ReplayMismatch, UsageError

REDACTED = "<redacted>"
SECRET_HEADER = re.compile(r"key|token|secret|passw|auth|cookie|credential", re.IGNORECASE)
# Bodies are matched as JSON without these fields (at any depth): values that change from
# run to run by themselves. display_name: an upload's is the local file's name, which a CI
# job's temporary folder changes every run (the bytes are still matched by size and SHA-256).
VOLATILE = frozenset({"display_name"})
# Headers that describe the bytes on the wire, not the decoded body that is recorded.
WIRE_HEADERS = frozenset({"content-encoding", "content-length"})
EVENT_END = re.compile(r"\r\n\r\n|\n\n|\r\r")
MAX_CASSETTE = 256 * 1024 * 1024
SHOWN = 160  # characters of a body shown in a mismatch message


def open_cassette(*, record: str | None, replay: str | None) -> Recording | Replay | None:
    if replay:
        return Replay(replay)
    if record:
        return Recording(record)
    return None


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
            return {"body": json.loads(content)}
        except ValueError:
            pass
    return {"body_size": len(content), "body_sha256": hashlib.sha256(content).hexdigest()}


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
            self.fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
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
        self.open.append(tee)
        return httpx.Response(
            response.status_code, headers=headers, stream=tee,
            extensions={"reason_phrase": reason.encode("latin-1", "replace"), "http_version": b"HTTP/1.1"},
        )

    def close(self) -> None:
        for tee in list(self.open):  # responses nobody closed: record what was read
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
        if self.done:
            return
        self.done = True
        if self in self.recorder.open:
            self.recorder.open.remove(self)
        self.record["response"].update(response_body(b"".join(self.parts), self.response.headers.get("content-type")))
        if self.error is not None:
            self.record["error"] = error_fields(self.error)
        self.recorder.recording.write(self.record)


def response_body(data: bytes, content_type: str | None) -> dict[str, Any]:
    """A response body as recorded: an event stream as its events, text as text."""
    if not data:
        return {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
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


# -- replaying -------------------------------------------------------------------------------


class Replay:
    """A cassette read whole; each exchange answers one request, in the order recorded."""

    def __init__(self, path: str):
        self.path = path
        self.secrets: set[str] = set()
        self.exchanges = load(path)
        self.used = [False] * len(self.exchanges)

    def client(self, open_http: Callable[[], httpx.Client], base_url: str) -> httpx.Client:
        # open_http is never called: no transport, no proxy, no certificates, no socket.
        return httpx.Client(transport=Replayer(self, base_path(base_url)), trust_env=False, follow_redirects=False)

    def answer(self, request: httpx.Request, prefix: str) -> httpx.Response:
        asked, _ = describe(request, prefix, consume=True)
        for n, exchange in enumerate(self.exchanges):
            if not self.used[n] and matches(exchange["request"], asked):
                self.used[n] = True
                return respond(exchange, request)
        raise ReplayMismatch(self.mismatch(asked))

    def mismatch(self, asked: dict[str, Any]) -> str:
        unused = [exchange["request"] for n, exchange in enumerate(self.exchanges) if not self.used[n]]
        message = f"replay: no unused exchange in the cassette {self.path} matches {show(asked)}"
        if not self.exchanges:
            return message + "; the cassette is empty"
        if not unused:
            return message + f"; all its {len(self.exchanges)} exchanges were already used"
        held = []
        for recorded in unused[:5]:
            line = f"{recorded['method']} {recorded['path']}"
            if recorded["method"] == asked["method"] and recorded["path"] == asked["path"]:
                line += f" ({body_difference(recorded, asked)})"
            held.append(line)
        more = f", and {len(unused) - 5} more" if len(unused) > 5 else ""
        return message + f"; its {len(unused)} unused exchange(s): " + "; ".join(held) + more

    def close(self) -> None:
        pass


class Replayer(httpx.BaseTransport):
    def __init__(self, replay: Replay, prefix: str):
        self.replay, self.prefix = replay, prefix

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.replay.answer(request, self.prefix)


class _Replayed(httpx.SyncByteStream):
    def __init__(self, parts: list[bytes], error: BaseException | None):
        self.parts, self.error = parts, error

    def __iter__(self) -> Iterator[bytes]:
        yield from self.parts
        if self.error is not None:
            raise self.error


def respond(exchange: dict[str, Any], request: httpx.Request) -> httpx.Response:
    error = exchange.get("error")
    failure = recorded_error(error, request) if isinstance(error, dict) else None
    recorded = exchange.get("response")
    if not isinstance(recorded, dict):
        raise failure or httpx.ReadError("the cassette recorded neither a response nor an error", request=request)
    if "events" in recorded:
        parts = [str(event).encode("utf-8") for event in recorded["events"]]
    elif "body_base64" in recorded:
        parts = [base64.b64decode(recorded["body_base64"])]
    else:
        parts = [str(recorded.get("body", "")).encode("utf-8")]
    headers = [(str(name), str(value)) for name, value in recorded.get("headers") or []]
    if "events" not in recorded and failure is None:
        headers.append(("content-length", str(sum(map(len, parts)))))
    reason = str(recorded.get("reason") or "")
    return httpx.Response(
        int(recorded["status"]), headers=headers, stream=_Replayed(parts, failure),
        extensions={"reason_phrase": reason.encode("latin-1", "replace"), "http_version": b"HTTP/1.1"},
    )


def recorded_error(error: dict[str, Any], request: httpx.Request) -> httpx.HTTPError:
    """The httpx exception recorded, raised again (a read error for an unknown kind)."""
    kind = getattr(httpx, str(error.get("type")), None)
    if not (isinstance(kind, type) and issubclass(kind, httpx.RequestError)):
        kind = httpx.ReadError
    return kind(str(error.get("message", "")), request=request)


def load(path: str) -> list[dict[str, Any]]:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CASSETTE + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the cassette {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_CASSETTE:
        raise UsageError(f"the cassette {path} is over {MAX_CASSETTE // 2**20} MiB")
    exchanges = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            exchange = json.loads(line)
            request = exchange["request"]
            ok = isinstance(request["method"], str) and isinstance(request["path"], str)
            ok = ok and (isinstance(exchange.get("response"), dict) or isinstance(exchange.get("error"), dict))
            if isinstance(exchange.get("response"), dict):
                int(exchange["response"]["status"])
        except (ValueError, TypeError, KeyError, RecursionError):
            ok = False
        if not ok:
            raise UsageError(f"{path} line {number}: not a recorded exchange (a JSON object with request and response)")
        exchanges.append(exchange)
    return exchanges


# -- matching -------------------------------------------------------------------------------


def matches(recorded: dict[str, Any], asked: dict[str, Any]) -> bool:
    return (
        recorded["method"].upper() == asked["method"].upper()
        and recorded["path"] == asked["path"]
        and body_of(recorded) == body_of(asked)
    )


def body_of(request: dict[str, Any]) -> Any:
    """What a body is compared by: JSON without the volatile fields, or size and hash."""
    if "body" in request:
        return {"json": without_volatile(request["body"])}
    if "body_sha256" in request:
        return {"size": request.get("body_size"), "sha256": request["body_sha256"]}
    return None


def without_volatile(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: without_volatile(value) for key, value in data.items() if key not in VOLATILE}
    if isinstance(data, list):
        return [without_volatile(value) for value in data]
    return data


def body_difference(recorded: dict[str, Any], asked: dict[str, Any]) -> str:
    if "body" in recorded and "body" in asked:
        where = first_difference(without_volatile(recorded["body"]), without_volatile(asked["body"]))
        return f"the body differs at {where}" if where else "the body differs"
    return "the body differs"


def first_difference(a: Any, b: Any, where: str = "") -> str | None:
    """Where two bodies first differ, as a path like input[1].content (None if equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [key for key in b if key not in a]:
            if key not in a or key not in b:
                return f"{where}.{key}".lstrip(".")
            found = first_difference(a[key], b[key], f"{where}.{key}")
            if found is not None:
                return found.lstrip(".")
        return None
    if isinstance(a, list) and isinstance(b, list):
        for n, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{where}[{n}]")
            if found is not None:
                return found
        return None if len(a) == len(b) else f"{where}[{min(len(a), len(b))}]".lstrip(".")
    return None if a == b else (where.lstrip(".") or None)


def show(request: dict[str, Any]) -> str:
    text = f"{request['method']} {request['path']}"
    if "body" in request:
        body = json.dumps(request["body"], ensure_ascii=False, separators=(",", ":"))
        return text + " " + (body if len(body) <= SHOWN else body[:SHOWN] + "...")
    if "body_sha256" in request:
        return text + f" ({request['body_size']} bytes, sha256 {request['body_sha256'][:12]}...)"
    return text
