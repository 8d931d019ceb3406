"""Limits the server cannot push past: the --max-time watchdog and capped body reads.

httpx applies a timeout to each socket read, not to a whole answer: a server that sends a
byte every half second (headers, a comment, a line that never ends) never trips it. The
watchdog makes --max-time a wall-clock deadline: at the deadline it shuts down every
connection the client opened, so the read blocked on one returns at once, and the client
reports the deadline (exit 7). It learns the sockets through httpcore's `trace` request
extension (a documented httpx extension), so httpx's own transport stays in charge.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

MAX_JSON_BODY = 64 * 1024 * 1024  # a JSON answer (decompressed); images inline stay far below
# A Batch API job resource (or a page of them): an inline job's results ride inside it, up to
# INLINE_ROWS answers (runs/remote_submit.py), ~512 KiB each at this bound: more than the
# largest answer (65,536 output tokens) with its thoughts.
MAX_JOB_BODY = 256 * 1024 * 1024
MAX_ERROR_BODY = 1024 * 1024  # an error answer: a message and details, a few KiB in practice


class BodyTooLarge(Exception):
    """The body went past its limit (counted after decompression); reading stopped."""

    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit


def read_body(response: httpx.Response, limit: int) -> bytes:
    """Read (and decompress) the body, stopping past `limit` bytes with BodyTooLarge.

    Afterwards `response.content` is the body, as after `response.read()`. httpx decompresses
    one network read at a time, so a gzip bomb costs at most one read's expansion past the limit.
    """
    if hasattr(response, "_content"):  # read already
        return response.content
    parts, size = [], 0
    try:
        for part in response.iter_bytes():
            size += len(part)
            if size > limit:
                raise BodyTooLarge(limit)
            parts.append(part)
    finally:
        response.close()
    data = b"".join(parts)
    response._content = data  # what Response.read() does: .content, .json() and .text now work
    return data


def mib(size: int) -> str:
    return f"{size / 1024 / 1024:g} MiB"


class Watchdog:
    """At `seconds` from now, shut down every socket seen through `trace` (and later ones at once)."""

    def __init__(self, seconds: float):
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(min(max(seconds, 0.0), threading.TIMEOUT_MAX), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: keep the socket of each new connection (TCP, then TLS)."""
        if not name.endswith((".connect_tcp.complete", ".start_tls.complete")):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sockets = [s for s in self._sockets if s.fileno() != -1]
            self._sockets.append(sock)
            if self.fired:
                _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shutdown(sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    try:
        # socket.socket's own method: SSLSocket.shutdown would also drop its SSL object under
        # the thread reading from it. Shutting the socket down wakes that read with an EOF.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed
