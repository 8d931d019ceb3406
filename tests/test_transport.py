"""The lean HTTP/1.1 transport (gemini_cli/api/transport.py), offline on loopback.

(1) `dechunk` as a pure function: framing, extensions, trailers, every split of the
    bytes, the one-block-per-read design, and the errors for cut or malformed bodies.
(2) Through httpx against pytest-httpserver: request bodies and headers as sent,
    streamed, chunked and gzip answers, status, reason phrase and repeated headers.
(3) Keep-alive against a raw socket server that counts connections: reuse, no reuse of
    a connection mid-body, and a fresh connection when the server closed an idle one.
(4) Failures map to httpx's exception classes, with httpx's messages.
(5) HTTPS with a self-signed certificate made by the openssl CLI.
(6) `for_url` and proxies; (7) a start-up that never imports httpcore.
"""

from __future__ import annotations

import errno
import gzip
import http.client
import json
import os
import select
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Response

from conftest import closed_port_url
from gemini_cli.api import transport as transport_module
from gemini_cli.api.client import ApiClient
from gemini_cli.api.transport import Transport, dechunk, for_url

ROOT = Path(__file__).resolve().parent.parent
REFUSED = f"[Errno {errno.ECONNREFUSED}] {os.strerror(errno.ECONNREFUSED)}"
CUT = "peer closed connection without sending complete message body"


# -- (1) dechunk -----------------------------------------------------------------------------


def reader(*pieces: bytes):
    """A read() giving `pieces` in turn, then b"" (the end); it fails if called once more."""
    queue = list(pieces)
    ended = []

    def read() -> bytes:
        if queue:
            return queue.pop(0)
        assert not ended, "read() called again after the end of the stream"
        ended.append(True)
        return b""
    return read


def strict_reader(*pieces: bytes):
    """A read() giving `pieces` in turn that fails if asked for more: the body must end there."""
    queue = list(pieces)

    def read() -> bytes:
        assert queue, "dechunk read past the end of the chunked body"
        return queue.pop(0)
    return read


def chunked(*chunks: bytes, trailer: bytes = b"") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n" + trailer + b"\r\n"


SIMPLE = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"


def test_dechunk_simple_body():
    assert list(dechunk(strict_reader(SIMPLE))) == [b"hello world"]


def test_dechunk_hex_sizes_upper_and_lower_case():
    data = bytes(range(256)) * 11  # 2816 = 0xb00 bytes
    body = b"a\r\n0123456789\r\nB\r\nabcdefghijk\r\nb00\r\n" + data + b"\r\n0\r\n\r\n"
    assert list(dechunk(strict_reader(body))) == [b"0123456789abcdefghijk" + data]


def test_dechunk_ignores_chunk_extensions():
    body = b"5;name=val\r\nhello\r\n6 ; a=b;c\r\n world\r\n0;last=yes\r\n\r\n"
    assert list(dechunk(strict_reader(body))) == [b"hello world"]


def test_dechunk_skips_trailers_after_the_last_chunk():
    body = b"5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
    assert list(dechunk(strict_reader(body))) == [b"hello"]


def test_dechunk_empty_body():
    assert list(dechunk(strict_reader(b"0\r\n\r\n"))) == []


def test_dechunk_does_not_read_past_the_end_even_with_bytes_after_it():
    # A kept-alive connection has nothing more to read: one read too many would hang.
    # Bytes after the end (which a server should not send) are left alone.
    assert list(dechunk(strict_reader(b"5\r\nhel", b"lo\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n"))) == [b"hel", b"lo"]


def test_dechunk_one_byte_per_read_gives_one_block_per_data_byte():
    pieces = [SIMPLE[i:i + 1] for i in range(len(SIMPLE))]
    blocks = list(dechunk(strict_reader(*pieces)))
    assert blocks == [bytes([byte]) for byte in b"hello world"]


def test_dechunk_every_two_way_split_gives_the_same_data():
    body = chunked(b"hello", b" ", b"world!" * 3, trailer=b"X-T: 1\r\n")
    for cut in range(1, len(body)):
        blocks = list(dechunk(strict_reader(body[:cut], body[cut:])))
        assert b"".join(blocks) == b"hello world!world!world!", cut
        assert all(blocks), cut  # never an empty block
        assert len(blocks) <= 2, cut


def test_dechunk_whole_chunks_in_one_read_come_out_as_one_block():
    events = [b"event: step.delta\ndata: {\"n\": %d}\n\n" % n for n in range(50)]
    blocks = list(dechunk(strict_reader(chunked(*events))))
    assert blocks == [b"".join(events)]


def test_dechunk_one_block_per_read_that_brought_data():
    body = chunked(b"aaaa", b"bbbb", b"cccc", b"dddd")
    middle = body.index(b"cccc") + 2  # the second read starts mid-way through "cccc"
    blocks = list(dechunk(strict_reader(body[:middle], body[middle:])))
    assert blocks == [b"aaaabbbbcc", b"ccdddd"]


@pytest.mark.parametrize("body, data", [
    (b"", b""),
    (b"5\r\nhel", b"hel"),
    (b"5\r\nhello", b"hello"),
    (b"5\r\nhello\r\n", b"hello"),
    (b"5\r\nhello\r\n0\r\n", b"hello"),
    (b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n", b"hello"),
    (b"5\r", b""),
])
def test_dechunk_body_cut_short_raises_incomplete_read(body, data):
    got = []
    with pytest.raises(http.client.IncompleteRead) as caught:
        for block in dechunk(reader(body)):
            got.append(block)
    assert b"".join(got) == data
    assert caught.value.partial == b""


@pytest.mark.parametrize("body, message", [
    (b"zz\r\nhello\r\n0\r\n\r\n", "invalid literal for int() with base 16: b'zz'"),
    (b"\r\nhello\r\n0\r\n\r\n", "invalid literal for int() with base 16: b''"),
    (b"-5\r\nhello\r\n0\r\n\r\n", "negative chunk size b'-5'"),
])
def test_dechunk_bad_size_line_raises_value_error(body, message):
    with pytest.raises(ValueError) as caught:
        list(dechunk(reader(body)))
    assert str(caught.value) == message


@pytest.mark.parametrize("body", [
    b"5\r\nhelloXX\r\n0\r\n\r\n",
    b"5\r\nhello world\r\n0\r\n\r\n",  # the size was too small
])
def test_dechunk_data_not_followed_by_crlf_raises_value_error(body):
    with pytest.raises(ValueError) as caught:
        list(dechunk(reader(body)))
    assert str(caught.value) == "a chunk's data is not followed by CRLF"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chunks=st.lists(st.binary(min_size=1, max_size=40), max_size=10),
    extension=st.sampled_from([b"", b";x=1", b" ; name=\"v\""]),
    trailer=st.sampled_from([b"", b"X-Checksum: 1\r\n", b"A: 1\r\nB: 2\r\n"]),
    data=st.data(),
)
def test_dechunk_property_any_chunks_any_split(chunks, extension, trailer, data):
    body = b"".join(b"%x%s\r\n%s\r\n" % (len(chunk), extension, chunk) for chunk in chunks)
    body += b"0" + extension + b"\r\n" + trailer + b"\r\n"
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(body) - 1), max_size=12))))
    pieces = [body[start:end] for start, end in zip([0, *cuts], [*cuts, len(body)])]
    blocks = list(dechunk(strict_reader(*pieces)))
    assert b"".join(blocks) == b"".join(chunks)
    assert all(blocks)
    assert len(blocks) <= len(pieces)


# -- (2) through httpx, against pytest-httpserver --------------------------------------------


@pytest.fixture
def client():
    with httpx.Client(transport=Transport()) as client:
        yield client


def test_json_post_sends_exact_body_and_headers(httpserver, client):
    body = json.dumps({"input": "héllo", "n": [1, 2, 3]}, ensure_ascii=False).encode()
    httpserver.expect_request("/v1beta/interactions", method="POST", query_string="alt=sse").respond_with_json({"id": "x"})
    response = client.post(
        httpserver.url_for("/v1beta/interactions?alt=sse"), content=body,
        headers={"Content-Type": "application/json", "User-Agent": "test-agent/1.0", "x-goog-api-key": "secret-key"},
    )
    assert response.status_code == 200
    assert response.json() == {"id": "x"}
    assert response.http_version == "HTTP/1.1"
    (request, _), = httpserver.log
    assert request.get_data() == body
    assert request.headers["Content-Length"] == str(len(body))
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "test-agent/1.0"
    assert request.headers["x-goog-api-key"] == "secret-key"
    assert request.headers["Host"] == f"{httpserver.host}:{httpserver.port}"
    assert request.headers["Accept-Encoding"] == response.request.headers["Accept-Encoding"]
    assert "Transfer-Encoding" not in request.headers


@pytest.fixture(scope="module")
def threaded_server():
    """A threaded pytest-httpserver: werkzeug then speaks HTTP/1.1 (keep-alive, chunked answers)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def http11_server(threaded_server):
    threaded_server.clear()
    return threaded_server


def test_chunked_streaming_response(http11_server, client):
    events = [b"event: step.delta\ndata: {\"n\": %d}\n\n" % n for n in range(20)]

    def answer(request):
        return Response(iter(events), content_type="text/event-stream")  # no length: werkzeug sends it chunked

    http11_server.expect_request("/stream").respond_with_handler(answer)
    with client.stream("GET", http11_server.url_for("/stream")) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.headers["content-type"] == "text/event-stream"
        data = b"".join(response.iter_bytes())
    assert data == b"".join(events)


def test_gzip_response_is_decoded_by_httpx(httpserver, client):
    payload = json.dumps({"text": "hello " * 500}).encode()
    httpserver.expect_request("/gz").respond_with_data(
        gzip.compress(payload), headers={"Content-Encoding": "gzip"}, content_type="application/json")
    response = client.get(httpserver.url_for("/gz"))
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) == len(gzip.compress(payload))
    assert response.content == payload


def test_status_reason_phrase_and_repeated_headers(httpserver, client):
    httpserver.expect_request("/teapot").respond_with_response(Response(
        b"short and stout", status="299 Custom Reason Here",
        headers=[("X-Dup", "one"), ("X-Dup", "two"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]))
    response = client.get(httpserver.url_for("/teapot"))
    assert response.status_code == 299
    assert response.reason_phrase == "Custom Reason Here"
    assert response.headers.get_list("x-dup") == ["one", "two"]
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.text == "short and stout"


def test_iterator_body_with_content_length_is_sent_as_is(httpserver, client):
    httpserver.expect_request("/upload", method="PUT").respond_with_data("ok")
    response = client.put(httpserver.url_for("/upload"), content=iter([b"hello", b"", b" world"]),
                          headers={"Content-Length": "11"})
    assert response.text == "ok"
    (request, _), = httpserver.log
    assert request.get_data() == b"hello world"
    assert request.headers["Content-Length"] == "11"
    assert "Transfer-Encoding" not in request.headers


def test_iterator_body_without_content_length_is_sent_chunked(httpserver, client):
    parts = [b"part-%d;" % n * 100 for n in range(30)]
    httpserver.expect_request("/upload", method="POST").respond_with_data("ok")
    response = client.post(httpserver.url_for("/upload"), content=iter(parts))
    assert response.text == "ok"
    (request, _), = httpserver.log
    assert request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in request.headers
    assert request.get_data() == b"".join(parts)


def test_plain_http_never_loads_certificates(httpserver):
    httpserver.expect_request("/").respond_with_data("ok")
    transport = Transport()
    with httpx.Client(transport=transport) as client:
        assert client.get(httpserver.url_for("/")).text == "ok"
        assert transport._ssl is None


# -- a raw socket server: keep-alive, exact wire bytes, broken answers -------------------------


class RawServer:
    """A loopback HTTP/1.1 server that keeps each connection open and answers the requests
    on it in turn with the next scripted answer: a function (conn, head, body) that returns
    True to close the connection afterwards."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.script: list = []
        self.requests: list[tuple[int, bytes, bytes]] = []  # (connection number, head, body)
        self.accepted = 0
        self.closed = 0
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.release = threading.Event()  # wakes silent answers at the end of the test
        threading.Thread(target=self._serve, daemon=True).start()

    def queue(self, *answers) -> None:
        self.script.extend(answers)

    def wait_closed(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.closed >= count, timeout=5)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                number = self.accepted
            threading.Thread(target=self._handle, args=(conn, number), daemon=True).start()

    def _handle(self, conn: socket.socket, number: int) -> None:
        buffer = b""
        try:
            while True:
                request, buffer = receive(conn, buffer)
                if request is None:
                    break
                head, body = request
                with self.lock:
                    self.requests.append((number, head, body))
                    answer = self.script.pop(0)
                if answer(conn, head, body):
                    break
        except OSError:
            pass  # the client went away
        finally:
            conn.close()
            with self.changed:
                self.closed += 1
                self.changed.notify_all()

    def close(self) -> None:
        self.release.set()
        self.sock.close()


def receive(conn: socket.socket, buffer: bytes):
    """One request (head, body) from the connection, or None at its end; and the rest."""
    while b"\r\n\r\n" not in buffer:
        piece = conn.recv(65536)
        if not piece:
            return None, b""
        buffer += piece
    head, _, rest = buffer.partition(b"\r\n\r\n")
    fields = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    if fields.get(b"transfer-encoding") == b"chunked":
        while not (rest.startswith(b"0\r\n\r\n") or b"\r\n0\r\n\r\n" in rest):
            rest += conn.recv(65536)
        end = 5 if rest.startswith(b"0\r\n\r\n") else rest.index(b"\r\n0\r\n\r\n") + 7
    else:
        end = int(fields.get(b"content-length", b"0"))
        while len(rest) < end:
            rest += conn.recv(65536)
    return (head, rest[:end]), rest[end:]


def ok(body: bytes = b"ok", *, close: bool = False, headers: bytes = b""):
    """A 200 with a Content-Length body; `close` drops the connection afterwards, unannounced."""
    def answer(conn, head, request_body):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), headers, body))
        return close
    return answer


def chunked_ok(*chunks: bytes):
    def answer(conn, head, request_body):
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(*chunks))
        return False
    return answer


def raw(data: bytes):
    """Send these bytes, whatever they are, then close the connection."""
    def answer(conn, head, request_body):
        conn.sendall(data)
        return True
    return answer


def silent(server: RawServer):
    def answer(conn, head, request_body):
        server.release.wait(10)
        return True
    return answer


@pytest.fixture
def raw_server():
    server = RawServer()
    yield server
    server.close()


def wait_readable(transport: Transport, timeout: float = 5.0) -> None:
    """Wait until the FIN of the server's close reached the transport's idle connection."""
    ((conn,),) = transport._idle.values()
    assert select.select([conn.sock], [], [], timeout)[0]


def test_wire_bytes_of_a_post_are_exactly_what_httpx_built(raw_server, client):
    raw_server.queue(ok(b"{}"))
    body = b'{"input": "hi"}'
    response = client.post(raw_server.url + "/v1beta/interactions?alt=sse&x=%20y", content=body,
                           headers={"Content-Type": "application/json", "User-Agent": "test-agent/1.0"})
    assert response.status_code == 200
    ((_, head, received),) = raw_server.requests
    lines = [b"POST /v1beta/interactions?alt=sse&x=%20y HTTP/1.1"]
    lines += [name + b": " + value for name, value in response.request.headers.raw]
    assert head == b"\r\n".join(lines)
    assert received == body
    assert dict(response.request.headers.raw)[b"Host"] == f"127.0.0.1:{raw_server.port}".encode()
    assert dict(response.request.headers.raw)[b"Content-Length"] == b"15"


def test_wire_bytes_of_a_chunked_upload(raw_server, client):
    raw_server.queue(ok())
    response = client.post(raw_server.url + "/up", content=iter([b"hello", b"", b" world", b"!" * 26]))
    assert response.text == "ok"
    ((_, head, received),) = raw_server.requests
    assert b"\r\nTransfer-Encoding: chunked" in head
    assert received == b"5\r\nhello\r\n6\r\n world\r\n1a\r\n" + b"!" * 26 + b"\r\n0\r\n\r\n"  # the empty part is skipped


def test_several_chunks_in_one_segment_reach_the_reader_as_one_block(raw_server, client):
    events = [b"data: %d\n\n" % n for n in range(40)]
    raw_server.queue(chunked_ok(*events))
    with client.stream("GET", raw_server.url + "/sse") as response:
        assert list(response.iter_raw()) == [b"".join(events)]


def test_non_ascii_response_header_bytes_are_kept(raw_server, client):
    raw_server.queue(raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Name: caf\xc3\xa9\r\n"
                         b"X-Latin: \xe9t\xe9\r\nConnection: close\r\n\r\nok"))
    response = client.get(raw_server.url + "/")
    assert response.headers.raw[1:3] == [(b"X-Name", b"caf\xc3\xa9"), (b"X-Latin", b"\xe9t\xe9")]
    assert response.text == "ok"


# -- (3) keep-alive --------------------------------------------------------------------------


def test_sequential_requests_reuse_one_connection(raw_server, client):
    raw_server.queue(ok(b"one"), chunked_ok(b"tw", b"o"), ok(b"three"))
    assert client.get(raw_server.url + "/1").text == "one"
    assert client.get(raw_server.url + "/2").text == "two"
    assert client.post(raw_server.url + "/3", content=b"x" * 1000).text == "three"
    assert raw_server.accepted == 1
    assert [(number, head.split(b" ")[1]) for number, head, _ in raw_server.requests] == [(1, b"/1"), (1, b"/2"), (1, b"/3")]


def test_werkzeug_connection_close_answers_are_never_reused(http11_server):
    # werkzeug's server answers every request with `Connection: close`: one connection each.
    http11_server.expect_request("/port").respond_with_handler(lambda request: Response(str(request.environ["REMOTE_PORT"])))
    transport = Transport()
    with httpx.Client(transport=transport) as client:
        responses = [client.get(http11_server.url_for("/port")) for _ in range(3)]
        assert transport._idle == {}
    assert [response.headers["connection"] for response in responses] == ["close"] * 3
    assert len({response.text for response in responses}) == 3


def test_a_response_closed_mid_body_is_not_reused(raw_server, client):
    big = bytes(range(256)) * 4096  # 1 MiB: far more than one read
    raw_server.queue(ok(big), ok(b"two"))
    with client.stream("GET", raw_server.url + "/big") as response:
        first = next(response.iter_raw())
        assert 0 < len(first) < len(big)
        assert first == big[:len(first)]
    assert client._transport._idle == {}  # closed, not kept for the next request
    assert client.get(raw_server.url + "/2").text == "two"
    assert raw_server.accepted == 2
    assert [number for number, _, _ in raw_server.requests] == [1, 2]


def test_a_streamed_response_left_unread_is_not_reused(raw_server, client):
    raw_server.queue(chunked_ok(b"abc"), ok(b"two"))
    with client.stream("GET", raw_server.url + "/1") as response:
        assert response.status_code == 200  # body never read
    assert client._transport._idle == {}
    assert client.get(raw_server.url + "/2").text == "two"
    assert raw_server.accepted == 2


def test_connection_close_answer_is_not_reused(raw_server, client):
    raw_server.queue(ok(b"one", close=True, headers=b"Connection: close\r\n"), ok(b"two"))
    assert client.get(raw_server.url + "/1").text == "one"
    assert client.get(raw_server.url + "/2").text == "two"
    assert raw_server.accepted == 2


def test_idle_connection_closed_by_the_server_is_replaced():
    server = RawServer()
    transport = Transport()
    try:
        server.queue(ok(b"one", close=True), ok(b"two"))  # the close is not announced
        with httpx.Client(transport=transport) as client:
            assert client.get(server.url + "/1").text == "one"
            server.wait_closed(1)
            wait_readable(transport)
            assert client.get(server.url + "/2").text == "two"
        assert server.accepted == 2
        assert [number for number, _, _ in server.requests] == [1, 2]
    finally:
        server.close()


def test_closing_the_client_closes_the_idle_connection(raw_server):
    raw_server.queue(ok(b"one"))
    transport = Transport()
    with httpx.Client(transport=transport) as client:
        assert client.get(raw_server.url + "/").text == "one"
        assert len(transport._idle) == 1
    assert transport._idle == {}
    raw_server.wait_closed(1)


# -- (4) errors ------------------------------------------------------------------------------


def test_connection_refused_is_connect_error(client):
    with pytest.raises(httpx.ConnectError) as caught:
        client.get(closed_port_url() + "/")
    assert str(caught.value) == REFUSED


def test_no_answer_within_the_read_timeout_is_read_timeout(raw_server, client):
    raw_server.queue(silent(raw_server))
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout) as caught:
        client.get(raw_server.url + "/", timeout=0.2)
    assert str(caught.value) == "timed out"
    assert 0.15 < time.monotonic() - started < 2


def test_stall_mid_body_is_read_timeout(raw_server, client):
    def stall(conn, head, body):
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        raw_server.release.wait(10)
        return True

    raw_server.queue(stall)
    got = []
    with client.stream("GET", raw_server.url + "/", timeout=0.2) as response:
        with pytest.raises(httpx.ReadTimeout) as caught:
            for block in response.iter_raw():
                got.append(block)
    assert got == [b"abc"]
    assert str(caught.value) == "timed out"


def test_server_closing_without_an_answer_is_remote_protocol_error(raw_server, client):
    raw_server.queue(raw(b""))
    with pytest.raises(httpx.RemoteProtocolError) as caught:
        client.get(raw_server.url + "/")
    assert str(caught.value) == "Server disconnected without sending a response."


def test_chunked_body_cut_mid_way_is_remote_protocol_error(raw_server, client):
    raw_server.queue(raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n9\r\nabc"))
    got = []
    with client.stream("GET", raw_server.url + "/") as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            for block in response.iter_bytes():
                got.append(block)
    assert b"".join(got) == b"helloabc"
    assert str(caught.value) == CUT


def test_content_length_body_cut_short_is_remote_protocol_error(raw_server, client):
    raw_server.queue(raw(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
                     raw(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
    with pytest.raises(httpx.RemoteProtocolError) as caught:
        client.get(raw_server.url + "/")
    assert str(caught.value) == CUT
    got = []
    with client.stream("GET", raw_server.url + "/") as response:
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            for block in response.iter_raw():
                got.append(block)
    assert got == [b"abc"]
    assert str(caught.value) == CUT


def test_malformed_chunk_size_is_remote_protocol_error(raw_server, client):
    raw_server.queue(raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"))
    with pytest.raises(httpx.RemoteProtocolError) as caught:
        client.get(raw_server.url + "/")
    assert str(caught.value) == "malformed HTTP response: invalid literal for int() with base 16: b'zz'"


def test_malformed_status_line_is_remote_protocol_error(raw_server, client):
    raw_server.queue(raw(b"SPDY/3 200 OK\r\n\r\n"))
    with pytest.raises(httpx.RemoteProtocolError) as caught:
        client.get(raw_server.url + "/")
    assert str(caught.value) == "malformed HTTP response: SPDY/3 200 OK\r\n"


def test_unsupported_scheme_is_unsupported_protocol(client):
    with pytest.raises(httpx.UnsupportedProtocol) as caught:
        client.get("ftp://127.0.0.1/file")
    assert str(caught.value) == "unsupported URL scheme 'ftp'"


def test_illegal_header_value_is_local_protocol_error_and_nothing_is_sent(raw_server, client):
    raw_server.queue(ok(b"fine"))
    with pytest.raises(httpx.LocalProtocolError) as caught:
        client.get(raw_server.url + "/", headers={"x-goog-api-key": "AIzaKeyLine1\nX-Injected: 1"})
    assert str(caught.value) == "illegal character in a request header"  # the value (a key) is not echoed
    with pytest.raises(httpx.LocalProtocolError) as caught:
        client.request("GET\r\nX-Injected:", raw_server.url + "/")
    assert str(caught.value) == "illegal character in a request line"
    assert client.get(raw_server.url + "/after").text == "fine"
    assert [head.split(b"\r\n")[0] for _, head, _ in raw_server.requests] == [b"GET /after HTTP/1.1"]


def test_errors_are_transport_errors_that_the_api_client_catches():
    # ApiClient.send turns httpx.TransportError into NetworkError: every mapped error must be one.
    request = httpx.Request("GET", "http://127.0.0.1/")
    for exc in (TimeoutError("timed out"), http.client.IncompleteRead(b""), http.client.RemoteDisconnected("x"),
                http.client.BadStatusLine("x"), ValueError("x"), ConnectionResetError(errno.ECONNRESET, "reset")):
        error = transport_module._read_error(exc, request)
        assert isinstance(error, httpx.TransportError), exc
        assert error.request is request
    assert str(transport_module._read_error(ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), request)) \
        == f"[Errno {errno.ECONNRESET}] Connection reset by peer"
    interrupt = KeyboardInterrupt()
    assert transport_module._read_error(interrupt, request) is interrupt


# -- (5) HTTPS -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    openssl = shutil.which("openssl")
    assert openssl, "the openssl CLI is needed to make the test certificate"
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_server(certificate):
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def test_https_with_ssl_cert_file_succeeds(https_server, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    https_server.expect_request("/v1beta/models", method="POST").respond_with_json({"ok": True})
    url = https_server.url_for("/v1beta/models")
    assert url.startswith("https://127.0.0.1:")
    transport = Transport()
    with httpx.Client(transport=transport) as client:
        first = client.post(url, content=b'{"a": 1}')
        https_server.clear()
        https_server.expect_request("/v1beta/models", method="POST").respond_with_json({"ok": 2})
        second = client.post(url, content=b'{"a": 2}')
    assert (first.json(), second.json()) == ({"ok": True}, {"ok": 2})
    assert [request.get_data() for request, _ in https_server.log] == [b'{"a": 2}']
    assert transport._ssl is not None


def test_https_without_the_certificate_fails_verification(https_server, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with httpx.Client(transport=Transport()) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            client.get(https_server.url_for("/"))
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert "self-signed certificate" in str(caught.value)
    assert https_server.log == []


# -- (6) for_url and proxies -----------------------------------------------------------------


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name == "REQUEST_METHOD":
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "https://generativelanguage.googleapis.com"])
def test_for_url_without_proxy_is_our_transport(no_proxy_env, url):
    assert type(for_url(url)) is Transport


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "all_proxy"])
def test_for_url_with_a_proxy_is_none(no_proxy_env, name):
    no_proxy_env.setenv(name, "http://127.0.0.1:3128")
    assert for_url("https://generativelanguage.googleapis.com") is None
    assert for_url("http://127.0.0.1:8080") is None


@pytest.mark.parametrize("name", ["NO_PROXY", "no_proxy"])
def test_no_proxy_alone_sets_no_proxy(no_proxy_env, name):
    no_proxy_env.setenv(name, "localhost,127.0.0.1")
    assert type(for_url("http://127.0.0.1:8080")) is Transport


def make_client(base_url: str) -> ApiClient:
    return ApiClient(base_url=base_url, api_version="v1beta", api_key="k" * 20)


def test_api_client_uses_our_transport_without_proxy(no_proxy_env):
    client = make_client("https://generativelanguage.googleapis.com")
    try:
        assert type(client._http._transport) is Transport
    finally:
        client.close()


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "https_proxy"])
def test_api_client_with_a_proxy_uses_httpx_transport(no_proxy_env, name):
    no_proxy_env.setenv(name, "http://127.0.0.1:3128")
    client = make_client("https://generativelanguage.googleapis.com")
    try:
        assert not isinstance(client._http._transport, Transport)
        assert type(client._http._transport) is httpx.HTTPTransport
    finally:
        client.close()


# -- (7) start-up ----------------------------------------------------------------------------

STARTUP = """
import sys
from gemini_cli.api.client import ApiClient
client = ApiClient(base_url=sys.argv[1], api_version="v1beta", api_key="k" * 20)
answer = client.json("POST", client.url("interactions"), json_body={"input": "hi"})
print(answer["id"], type(client._http._transport).__name__, "httpcore" in sys.modules)
"""


def test_a_request_over_http_never_imports_httpcore(httpserver):
    httpserver.expect_request("/v1beta/interactions", method="POST", json={"input": "hi"}).respond_with_json({"id": "v1_x"})
    env = {name: value for name, value in os.environ.items() if not name.lower().endswith("_proxy")}
    result = subprocess.run(
        [sys.executable, "-c", STARTUP, httpserver.url_for("/").rstrip("/")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "v1_x Transport False\n"
    assert len(httpserver.log) == 1
