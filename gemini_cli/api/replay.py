"""--replay: answer every request from a cassette (the format is in api/cassette.py).

Each request takes the first exchange not used yet with the same method, path and query,
and body (JSON compared as JSON without the VOLATILE fields, an `mcp_server` tool's header
values redacted on both sides; anything else by size and SHA-256). No socket is ever opened; a request with no answer raises ReplayMismatch (exit 12).
Never prints; never reads argv.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from gemini_cli.api import surrogates
from gemini_cli.api.cassette import VOLATILE, base_path, describe
from gemini_cli.errors import ReplayMismatch, UsageError

MAX_CASSETTE = 256 * 1024 * 1024
SHOWN = 160  # characters of a body shown in a mismatch message


class Replay:
    """A cassette read whole; each exchange answers one request, in the order recorded."""

    def __init__(self, path: str):
        self.path = path
        self.secrets: set[str] = set()
        self.exchanges = load(path)
        self.used = [False] * len(self.exchanges)
        self.lock = threading.Lock()  # batch asks from several threads: each exchange answers once

    def client(self, open_http: Callable[[], httpx.Client], base_url: str) -> httpx.Client:
        # open_http is never called: no transport, no proxy, no certificates, no socket.
        return httpx.Client(transport=Replayer(self, base_path(base_url)), trust_env=False, follow_redirects=False)

    def answer(self, request: httpx.Request, prefix: str) -> httpx.Response:
        asked, _ = describe(request, prefix, consume=True)
        with self.lock:
            for n, exchange in enumerate(self.exchanges):
                if not self.used[n] and matches(exchange["request"], asked):
                    self.used[n] = True
                    break
            else:
                raise ReplayMismatch(self.mismatch(asked))
        return respond(exchange, request)

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
        parts = [event.encode("utf-8") for event in recorded["events"]]
    elif "body_base64" in recorded:
        parts = pieces(base64.b64decode(recorded["body_base64"]))
    else:
        parts = pieces(str(recorded.get("body", "")).encode("utf-8"))
    headers = [(name, value) for name, value in recorded.get("headers") or []]
    if "events" not in recorded and failure is None:
        headers.append(("content-length", str(sum(map(len, parts)))))
    reason = str(recorded.get("reason") or "")
    return httpx.Response(
        int(recorded["status"]), headers=headers, stream=_Replayed(parts, failure),
        extensions={"reason_phrase": reason.encode("latin-1", "replace"), "http_version": b"HTTP/1.1"},
    )


READ_SIZE = 65536  # a body is handed over in pieces, as a socket would: httpx decompresses
# (Content-Encoding) one piece at a time, so the live limits hold (a gzip bomb stops at 64 MiB)


def pieces(data: bytes) -> list[bytes]:
    return [data[n:n + READ_SIZE] for n in range(0, len(data), READ_SIZE)] or [b""]


def error_kind(name: Any) -> type | None:
    """The httpx exception class a cassette names, if it is one a live request can raise."""
    kind = getattr(httpx, name, None) if isinstance(name, str) and name.isidentifier() else None
    if isinstance(kind, type) and issubclass(kind, (httpx.TransportError, httpx.DecodingError)):
        return kind
    return None


def recorded_error(error: dict[str, Any], request: httpx.Request) -> httpx.HTTPError:
    """The httpx exception recorded, raised again (load() checked that it names one)."""
    kind = error_kind(error.get("type")) or httpx.ReadError
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
            ok = well_formed(exchange)
        except (ValueError, TypeError, KeyError, RecursionError):  # binascii.Error is a ValueError
            ok = False
        if not ok:
            raise UsageError(f"{path} line {number}: not a recorded exchange (a JSON object with request and response)")
        problem = hostile(exchange)
        if problem:
            raise UsageError(f"{path} line {number}: {problem}")
        exchanges.append(exchange)
    return exchanges


def _header_ok(text: str) -> bool:
    return text.isascii() and text.isprintable()  # no CR/LF, nothing HTTP could not carry


def hostile(exchange: dict[str, Any]) -> str | None:
    """What in a well-formed line a live answer could never hold (None: nothing)."""
    error, response = exchange.get("error"), exchange.get("response")
    if isinstance(error, dict) and error_kind(error.get("type")) is None:
        return f"the error type {str(error.get('type'))[:40]!r} is not a network error httpx raises"
    for name, value in (response or {}).get("headers") or []:
        if not (_header_ok(name) and _header_ok(value)):
            return f"the response header {name[:40]!r} has a character HTTP headers cannot carry"
    if isinstance(response, dict):
        texts = response["events"] if "events" in response else [response.get("body", "")]
        if not all(surrogates.is_text(str(text)) for text in texts):  # "\ud800": a lone surrogate, no bytes a server could send
            return "the response body holds a lone surrogate (\\ud800-\\udfff), which is not text (record it as body_base64)"
    return None


def well_formed(exchange: Any) -> bool:
    """Whether a line can answer a request without surprises (hand-edited files too)."""
    request, response, error = exchange["request"], exchange.get("response"), exchange.get("error")
    if not (isinstance(request["method"], str) and isinstance(request["path"], str)):
        return False
    if response is None:
        return isinstance(error, dict)
    if not isinstance(response, dict) or not 100 <= int(response["status"]) <= 599:
        return False
    headers = response.get("headers") or []
    if not all(isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair) for pair in headers):
        return False
    if "events" in response:
        return isinstance(response["events"], list) and all(isinstance(event, str) for event in response["events"])
    if "body_base64" in response:
        base64.b64decode(response["body_base64"], validate=True)
    return isinstance(response.get("body", ""), str) and (error is None or isinstance(error, dict))


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
        for n, (x, y) in enumerate(zip(a, b, strict=False)):  # a longer one: told below
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
