"""A lean HTTP/1.1 transport for httpx, on the standard library's http.client.

Why not httpx's own (httpcore + h11): importing httpcore costs every run about 13 ms,
creating its transport loads the CA bundle even for a plain-http URL, and it hands a
streamed body over one HTTP chunk at a time: for a 20,000-event answer that framing
was half the run. Here a chunked body is de-chunked in blocks of whatever the socket
has, so a burst of events reaches the SSE decoder as one piece.

httpx stays the client: requests, responses, content decoding and the exception
classes the rest of the code catches. Proxies stay httpx's job too: `for_url` gives
None when the environment sets one, and the client then uses httpx's transport.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import ssl

READ_SIZE = 65536
_Key = tuple[str, str, int]


def for_url(url: str, keep_alive: int = 1) -> Transport | None:
    """Our transport, unless a proxy is configured (httpx then handles it and NO_PROXY)."""
    from urllib.request import getproxies  # already imported by httpx

    proxies = getproxies()
    proxies.pop("no", None)  # NO_PROXY alone configures no proxy
    return None if proxies else Transport(keep_alive)


class Transport(httpx.BaseTransport):
    """Up to `keep_alive` kept-alive connections per origin (one per request in flight, for
    `batch -j N`); certificates loaded on the first https use. Safe to share between threads."""

    def __init__(self, keep_alive: int = 1) -> None:
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._keep = max(keep_alive, 1)
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
        key = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeout = request.extensions.get("timeout", {})
        with self._lock:
            idle = self._idle.get(key)
            conn = idle.pop() if idle else None
            if idle == []:
                del self._idle[key]
        if conn is None or not _idle_alive(conn):
            conn = self._connect(key, timeout.get("connect"), request)
        return self._exchange(conn, key, request, timeout)

    def close(self) -> None:
        with self._lock:
            for idle in self._idle.values():
                for conn in idle:
                    conn.close()
            self._idle.clear()

    # -- one request -------------------------------------------------------------------

    def _connect(self, key: _Key, timeout: float | None, request: httpx.Request) -> http.client.HTTPConnection:
        scheme, host, port = key
        if scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()  # certifi, or SSL_CERT_FILE / SSL_CERT_DIR
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.connect()
        except TimeoutError as exc:
            conn.close()
            raise httpx.ConnectTimeout(str(exc) or "timed out", request=request) from None
        except OSError as exc:
            conn.close()
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        return conn

    def _exchange(self, conn: http.client.HTTPConnection, key: _Key, request: httpx.Request,
                  timeout: dict[str, float | None]) -> httpx.Response:
        sock = conn.sock
        try:
            sock.settimeout(timeout.get("write"))
            _send(conn, request)
        except TimeoutError as exc:
            conn.close()
            raise httpx.WriteTimeout(str(exc) or "timed out", request=request) from None
        except OSError as exc:
            conn.close()
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from None
        try:
            sock.settimeout(timeout.get("read"))
            response = conn.getresponse()
        except BaseException as exc:
            conn.close()
            raise _read_error(exc, request) from None
        body = Body(response, request, conn, lambda: self._release(key, conn))
        return httpx.Response(
            response.status,
            # http.client decodes header bytes as latin-1: back to the bytes, which httpx keeps
            # (a str must be ASCII for httpx: a UTF-8 header value would raise UnicodeEncodeError).
            headers=[(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.getheaders()],
            stream=body,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason.encode("latin-1", "replace")},
        )

    def _release(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            idle.append(conn)
            old = idle.pop(0) if len(idle) > self._keep else None
        if old is not None:
            old.close()


def _idle_alive(conn: http.client.HTTPConnection) -> bool:
    """False when the server closed the idle connection (or sent something unasked)."""
    import select

    if conn.sock is not None:
        try:
            if not select.select([conn.sock], [], [], 0)[0]:
                return True
        except (OSError, ValueError):
            pass
    conn.close()
    return False


def _send(conn: http.client.HTTPConnection, request: httpx.Request) -> None:
    chunked = False
    try:
        conn.putrequest(request.method, request.url.raw_path.decode("ascii"), skip_host=True, skip_accept_encoding=True)
        for name, value in request.headers.raw:
            conn.putheader(name, value)
            if name.lower() == b"transfer-encoding" and value.lower() == b"chunked":
                chunked = True
    except ValueError as exc:  # http.client refuses a control character in the method, path or a header
        conn.close()  # (its message would echo the header's value: maybe the API key)
        what = "header" if "header" in str(exc) else "line"
        raise httpx.LocalProtocolError(f"illegal character in a request {what}", request=request) from None
    stream = request.stream
    if isinstance(stream, httpx.ByteStream):  # a body already in memory: one send with the headers
        conn.endheaders(b"".join(stream) or None)
        return
    conn.endheaders()
    for part in stream:  # type: ignore[union-attr]
        if not part:
            continue
        if chunked:
            conn.send(b"%x\r\n" % len(part))
        conn.send(part)
        if chunked:
            conn.send(b"\r\n")
    if chunked:
        conn.send(b"0\r\n\r\n")


def _read_error(exc: BaseException, request: httpx.Request) -> Exception | BaseException:
    """The httpx exception for a failure while reading the response."""
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(str(exc) or "timed out", request=request)
    if isinstance(exc, http.client.IncompleteRead):
        return httpx.RemoteProtocolError("peer closed connection without sending complete message body", request=request)
    if isinstance(exc, http.client.RemoteDisconnected):
        return httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
    if isinstance(exc, (http.client.HTTPException, ValueError)):
        return httpx.RemoteProtocolError(f"malformed HTTP response: {exc or type(exc).__name__}", request=request)
    if isinstance(exc, OSError):
        return httpx.ReadError(str(exc) or type(exc).__name__, request=request)
    return exc


class Body(httpx.SyncByteStream):
    """A response body as it arrives: de-chunked in blocks, or read as the bytes come."""

    def __init__(self, response: http.client.HTTPResponse, request: httpx.Request,
                 conn: http.client.HTTPConnection, release: Callable[[], None]):
        self._response = response
        self._request = request
        self._conn = conn
        self._release = release
        self._done = False  # the whole body was read

    def __iter__(self) -> Iterator[bytes]:
        response = self._response
        try:
            if response.chunked:
                fp: Any = response.fp
                yield from dechunk(lambda: fp.read1(READ_SIZE))
            else:
                read = response.read1
                while chunk := read(READ_SIZE):
                    yield chunk
                if response.length:  # Content-Length promised more than came
                    raise http.client.IncompleteRead(b"", response.length)
        except BaseException as exc:
            error = _read_error(exc, self._request)
            if error is exc:
                raise
            raise error from None
        self._done = True

    def close(self) -> None:
        response = self._response
        keep = self._done and not response.will_close
        response.close()  # closes the response's file object; the socket is the connection's
        if keep:
            self._release()
        else:  # not read to the end, or the server closes it: never reuse a connection mid-body
            self._conn.close()


def dechunk(read: Callable[[], bytes]) -> Iterator[bytes]:
    """The data of a chunked body, one block per read: every whole or part chunk that read
    brought, joined. Raises IncompleteRead if the body ends early, ValueError if malformed."""
    buffer = b""
    pos = 0
    need = 0  # data bytes of the current chunk still to come
    after_data = False  # the next line must be the CRLF ending a chunk's data
    last = False  # the zero-size chunk was seen: only trailers remain
    while True:
        parts = []
        while True:
            if need:
                end = min(pos + need, len(buffer))
                if end > pos:  # never an empty block (a read that brought only a size line)
                    parts.append(buffer[pos:end])
                need -= end - pos
                pos = end
                if need:
                    break
                after_data = True
            eol = buffer.find(b"\n", pos)
            if eol < 0:
                break
            line = buffer[pos:eol].rstrip(b"\r")
            pos = eol + 1
            if after_data:
                if line:
                    raise ValueError("a chunk's data is not followed by CRLF")
                after_data = False
            elif last:
                if not line:  # the blank line after the trailers: the body is over
                    if parts:
                        yield b"".join(parts)
                    return
            else:
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size < 0:
                    raise ValueError(f"negative chunk size {line!r}")
                need = size
                last = size == 0
        if parts:
            yield b"".join(parts)
        buffer = buffer[pos:]
        pos = 0
        data = read()
        if not data:
            raise http.client.IncompleteRead(b"")
        buffer = buffer + data if buffer else data
