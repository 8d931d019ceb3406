"""A loopback HTTP/1.1 server for fault injection (used by test_faults.py and test_limits.py).

A raw socket server, one thread per connection, every answer with `Connection: close`:
so an answer can cut a chunked body mid-way, reset the connection, or stall while the
client resumes on a second connection. Answers are functions (conn, request).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class FaultServer:
    """Answers each request with the next scripted answer: a function (conn, request)."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.script: list = []
        self.requests: list[Request] = []
        self.release = threading.Event()  # wakes stalled answers at the end of the test
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def queue(self, *answers) -> None:
        self.script.extend(answers)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                request = read_request(conn)
                with self.lock:
                    self.requests.append(request)
                    answer = self.script.pop(0) if self.script else reply(599, b'{"error": {"message": "unexpected request"}}')
                answer(conn, request)
            except OSError:
                pass  # the client went away (timed out): nothing to do

    def close(self) -> None:
        self.release.set()
        # shutdown wakes the accept() blocked in _serve; a bare close() would leave it waiting
        # on the descriptor number, which a later test's listening socket may reuse.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def read_request(conn: socket.socket) -> Request:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            raise OSError("closed")
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        body += conn.recv(65536)
    url = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    return Request(method, url.path, query, headers, body)


def head(status: int, content_type: str | None, extra: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Whatever')}", "Connection: close"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


REASONS = {200: "OK", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def reply(status: int, body: bytes, content_type: str | None = "application/json", headers: dict[str, str] | None = None):
    def answer(conn, request):
        conn.sendall(head(status, content_type, {"Content-Length": str(len(body)), **(headers or {})}) + body)
    return answer


def error(status: int, message: str, api_status: str, headers: dict[str, str] | None = None):
    return reply(status, json.dumps({"error": {"code": status, "message": message, "status": api_status}}).encode(), headers=headers)


def stream(pieces: list[bytes], *, end: str = "done", server: FaultServer | None = None):
    """A chunked event stream of `pieces`, then: "done" (terminating chunk), "eof" (closed
    mid-body), "reset" (TCP RST) or "stall" (silent until the test ends)."""
    def answer(conn, request):
        conn.sendall(head(200, "text/event-stream", {"Transfer-Encoding": "chunked"}))
        for piece in pieces:
            if piece:
                conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        if end == "done":
            conn.sendall(b"0\r\n\r\n")
        elif end == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif end == "stall":
            server.release.wait(10)
    return answer


# -- hostile answers: trickles, endless bodies, lies, bombs ------------------------------------


def _alive(server: FaultServer, every: float) -> bool:
    """Wait `every` seconds; False once the test is over."""
    return not server.release.wait(every)


def trickle(piece: bytes, every: float, server: FaultServer, *, first: bytes = b""):
    """A chunked event stream that sends `first`, then one chunk of `piece` every `every`
    seconds, forever (an SSE comment keeps a connection busy without an event)."""
    def answer(conn, request):
        conn.sendall(head(200, "text/event-stream", {"Transfer-Encoding": "chunked"}))
        if first:
            conn.sendall(b"%x\r\n%s\r\n" % (len(first), first))
        while _alive(server, every):
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
    return answer


def slow_head(every: float, server: FaultServer):
    """A status line, then a header whose value grows one byte every `every` seconds, forever."""
    def answer(conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Slow: ")
        while _alive(server, every):
            conn.sendall(b"a")
    return answer


def endless(first: bytes, block: bytes):
    """A close-delimited event stream: `first`, then `block` as fast as the client reads,
    until it goes away (a line that never ends when `block` has no newline)."""
    def answer(conn, request):
        conn.sendall(head(200, "text/event-stream") + first)
        while True:
            conn.sendall(block)  # OSError when the client closes: the handler ends
    return answer


def short_body(body: bytes, declared: int, *, end: str = "eof", server: FaultServer | None = None,
               content_type: str = "application/json"):
    """A 200 whose Content-Length (`declared`) is larger than the `body` sent; then "eof"
    (the connection is closed) or "stall" (silent until the test ends)."""
    def answer(conn, request):
        conn.sendall(head(200, content_type, {"Content-Length": str(declared)}) + body)
        if end == "stall":
            server.release.wait(10)
    return answer


_BOMBS: dict[int, bytes] = {}


def gzip_bomb(size: int) -> bytes:
    """gzip of `size` bytes of spaces (about a thousandth of that compressed); cached."""
    if size not in _BOMBS:
        import zlib

        packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
        block = b" " * (1 << 20)
        parts = [packer.compress(block) for _ in range(size >> 20)]
        _BOMBS[size] = b"".join(parts) + packer.flush()
    return _BOMBS[size]


def bomb(status: int, size: int, content_type: str = "application/json"):
    """An answer whose gzip body (Content-Encoding: gzip) decompresses to `size` bytes."""
    def answer(conn, request):
        body = gzip_bomb(size)
        conn.sendall(head(status, content_type, {"Content-Length": str(len(body)), "Content-Encoding": "gzip"}) + body)
    return answer
