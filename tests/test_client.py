"""The HTTP layer: backoff, Retry-After, error messages, and (through the CLI)
HTTP status -> exit code, retries, timeouts and the --max-time deadline; what we rely on
httpx's transport for: the transport seam, headers that cannot carry a key, HTTPS with
SSL_CERT_FILE, proxies from the environment."""

from __future__ import annotations

import email.utils
import json
import random
import os
import shutil
import ssl
import subprocess
import threading
import time

import httpx
import pytest
from werkzeug import Response

from conftest import API_KEY, INTERACTION_ID, closed_port_url, interaction, sse, text_events
from conftest import run_checked as run
from gemini_cli.api.client import ApiClient, api_error, parse_json_body, retry_after
from gemini_cli.errors import ApiError, ExitCode, NetworkError


def make_client(**kwargs) -> ApiClient:
    options = {"base_url": "http://127.0.0.1:9/", "api_version": "v1beta", "api_key": "k" * 20}
    options.update(kwargs)
    return ApiClient(**options)


# -- backoff -----------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", range(8))
def test_backoff_stays_within_the_jitter_bounds(attempt):
    client = make_client(retry_delay=0.5)
    nominal = 0.5 * 2**attempt
    for _ in range(200):
        delay = client.backoff(attempt)
        assert min(nominal * 0.75, 8.0) <= delay <= min(nominal, 8.0)


def test_backoff_endpoints_and_cap(monkeypatch):
    client = make_client(retry_delay=0.5)
    monkeypatch.setattr(random, "uniform", lambda low, high: low)
    assert [client.backoff(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    assert [client.backoff(n) for n in range(5)] == [0.375, 0.75, 1.5, 3.0, 6.0]
    assert client.backoff(30) == 8.0


def test_backoff_follows_retry_delay():
    client = make_client(retry_delay=0.01)
    assert all(0.0075 <= client.backoff(0) <= 0.01 for _ in range(50))


# -- Retry-After -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({}, None),
        ({"retry-after-ms": "300"}, 0.3),
        ({"retry-after-ms": "0"}, 0.0),
        ({"retry-after-ms": "-5"}, 0.0),
        ({"Retry-After": "2"}, 2.0),
        ({"Retry-After": "0.25"}, 0.25),
        ({"Retry-After": "-1"}, 0.0),
        ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),  # ms wins
        ({"retry-after-ms": "soon", "Retry-After": "3"}, 3.0),  # bad ms: fall back
        ({"Retry-After": "whenever"}, None),
        ({"Retry-After": ""}, None),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past
    ],
)
def test_retry_after(headers, expected):
    assert retry_after(httpx.Headers(headers)) == expected


def test_retry_after_http_date_in_the_future():
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    seconds = retry_after(httpx.Headers({"Retry-After": when}))
    assert 28 <= seconds <= 30.5


# -- error messages ----------------------------------------------------------------------


def response(status: int, body=None, *, content: bytes | None = None, content_type: str | None = None) -> httpx.Response:
    headers = {"content-type": content_type} if content_type else {}
    if body is not None:
        return httpx.Response(status, json=body, headers=headers)
    return httpx.Response(status, content=content or b"", headers=headers)


@pytest.mark.parametrize(
    "resp, message, exit_code",
    [
        (response(400, {"error": {"code": 400, "message": "Invalid value at 'input'", "status": "INVALID_ARGUMENT"}}),
         "HTTP 400 INVALID_ARGUMENT: Invalid value at 'input'", ExitCode.REJECTED),
        (response(400, {"error": {"code": "invalid_request", "message": "model is required"}}),
         "HTTP 400 invalid_request: model is required", ExitCode.REJECTED),
        (response(404, {"error": {"code": 404, "message": "Interaction not found"}}),
         "HTTP 404 Not Found: Interaction not found", ExitCode.REJECTED),
        (response(401, {"error": {"code": 401, "message": "API key not valid.", "status": "UNAUTHENTICATED"}}),
         "HTTP 401 UNAUTHENTICATED: API key not valid. (check GEMINI_API_KEY)", ExitCode.AUTH),
        (response(403, {"error": {"code": 403, "message": "Denied", "status": "PERMISSION_DENIED"}}),
         "HTTP 403 PERMISSION_DENIED: Denied (check that the API key is valid and allowed to use this API)", ExitCode.AUTH),
        (response(429, {"error": {"code": 429, "message": "Quota", "status": "RESOURCE_EXHAUSTED"}}),
         "HTTP 429 RESOURCE_EXHAUSTED: Quota (rate limit or quota exhausted; try again later)", ExitCode.RATE_LIMITED),
        (response(503, {"error": {"code": 503, "message": "Overloaded", "status": "UNAVAILABLE"}}),
         "HTTP 503 UNAVAILABLE: Overloaded", ExitCode.SERVER),
        (response(500, {"message": "flat body"}), "HTTP 500 Internal Server Error: flat body", ExitCode.SERVER),
        (response(502, content=b"<html><body>Bad Gateway</body></html>", content_type="text/html; charset=UTF-8"),
         "HTTP 502 Bad Gateway: (the body is not JSON: text/html)", ExitCode.SERVER),
        (response(503), "HTTP 503 Service Unavailable: (empty body)", ExitCode.SERVER),
        (response(401, {"error": {}}), "HTTP 401 Unauthorized (check GEMINI_API_KEY)", ExitCode.AUTH),
        (response(408, ["not", "an", "object"]), "HTTP 408 Request Timeout", ExitCode.NETWORK),
        (response(422, {"error": {"code": 422, "message": "Bad schema"}}), "HTTP 422 Unprocessable Entity: Bad schema",
         ExitCode.REJECTED),
    ],
)
def test_api_error_message_and_exit_code(resp, message, exit_code):
    error = api_error(resp)
    assert isinstance(error, ApiError)
    assert (error.message, error.exit_code, error.status) == (message, exit_code, resp.status_code)


def test_parse_json_body_errors_are_clear():
    with pytest.raises(ApiError) as empty:
        parse_json_body(response(200, content=b"  \n"))
    assert (empty.value.message, empty.value.exit_code) == ("HTTP 200: the API sent an empty body", ExitCode.SERVER)
    with pytest.raises(ApiError) as html:
        parse_json_body(response(200, content=b"<html></html>", content_type="text/html"))
    assert html.value.message == "HTTP 200: the API sent a body that is not JSON (text/html)"
    assert parse_json_body(response(200, {"id": "x"})) == {"id": "x"}


def test_headers_and_url():
    client = make_client(api_key="secret-key-123", api_version="v1")
    assert client.url("interactions") == "http://127.0.0.1:9/v1/interactions"
    headers = client.headers("text/event-stream")
    assert headers["x-goog-api-key"] == "secret-key-123"
    assert headers["Accept"] == "text/event-stream"
    assert headers["Api-Revision"] == "2026-05-20"
    assert headers["User-Agent"].startswith("gemini-cli/")
    assert "x-goog-api-key" not in client.headers(auth=False)
    assert "x-goog-api-key" not in make_client(api_key=None).headers()


# -- HTTP statuses through the CLI -------------------------------------------------------------


@pytest.mark.parametrize(
    "status, api_status, exit_code, line",
    [
        (400, "INVALID_ARGUMENT", 4, "HTTP 400 INVALID_ARGUMENT: the message from the API"),
        (401, "UNAUTHENTICATED", 3, "HTTP 401 UNAUTHENTICATED: the message from the API (check GEMINI_API_KEY)"),
        (403, "PERMISSION_DENIED", 3, "HTTP 403 PERMISSION_DENIED: the message from the API "
                                      "(check that the API key is valid and allowed to use this API)"),
        (404, "NOT_FOUND", 4, "HTTP 404 NOT_FOUND: the message from the API"),
        (409, "ABORTED", 4, "HTTP 409 ABORTED: the message from the API"),
        (422, "FAILED_PRECONDITION", 4, "HTTP 422 FAILED_PRECONDITION: the message from the API"),
    ],
)
@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_client_errors_exit_code_and_are_not_retried(api, status, api_status, exit_code, line, stream):
    api.error(status, "the message from the API", api_status)
    result = run(["generate", stream, "hi"])
    assert (result.exit_code, result.stdout) == (exit_code, "")
    assert result.stderr == f"gemini-cli: error: {line}\n"
    assert len(api.requests()) == 1


def retry_note(label: str, attempt: int, total: int) -> str:
    """A retry note names the failure; the API's message is kept for the final error."""
    return f"gemini-cli: {label}; retrying in 0.0s (attempt {attempt} of {total})"


@pytest.mark.parametrize(
    "status, api_status, exit_code, line",
    [
        (429, "RESOURCE_EXHAUSTED", 5, "HTTP 429 RESOURCE_EXHAUSTED: busy (rate limit or quota exhausted; try again later)"),
        (500, "INTERNAL", 6, "HTTP 500 INTERNAL: busy"),
        (503, "UNAVAILABLE", 6, "HTTP 503 UNAVAILABLE: busy"),
        (504, "DEADLINE_EXCEEDED", 6, "HTTP 504 DEADLINE_EXCEEDED: busy"),
        (408, "DEADLINE_EXCEEDED", 7, "HTTP 408 DEADLINE_EXCEEDED: busy"),
    ],
)
def test_retryable_statuses_are_retried_then_exit(api, status, api_status, exit_code, line):
    for _ in range(3):
        api.error(status, "busy", api_status)
    result = run(["generate", "--retries", "2", "hi"])
    assert (result.exit_code, result.stdout) == (exit_code, "")
    label = line.partition(":")[0]
    assert result.stderr.splitlines() == [retry_note(label, 2, 3), retry_note(label, 3, 3), f"gemini-cli: error: {line}"]
    assert len(api.requests()) == 3
    assert api.bodies() == [{"model": "gemini-3-flash-preview", "input": "hi", "stream": True}] * 3


def test_default_retries_is_four(api):
    for _ in range(5):
        api.error(503, "busy", "UNAVAILABLE")
    result = run(["generate", "hi"])
    assert result.exit_code == 6
    assert len(api.requests()) == 5


def test_retries_zero_means_one_attempt(api):
    api.error(503, "busy", "UNAVAILABLE")
    result = run(["generate", "--retries", "0", "hi"])
    assert result.exit_code == 6
    assert result.stderr == "gemini-cli: error: HTTP 503 UNAVAILABLE: busy\n"
    assert len(api.requests()) == 1


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_503_then_success(api, stream):
    api.error(503, "busy", "UNAVAILABLE")
    if stream == "--stream":
        api.stream(text_events("ok"))
    else:
        api.json(interaction("ok"))
    result = run(["generate", stream, "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert result.stderr == retry_note("HTTP 503 UNAVAILABLE", 2, 5) + "\n"
    assert len(api.requests()) == 2
    assert api.bodies()[0] == api.bodies()[1]


def test_quiet_hides_retry_notes(api):
    api.error(500, "busy", "INTERNAL")
    api.stream(text_events("ok"))
    result = run(["generate", "-q", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")


def test_retry_note_and_error_never_show_the_key(api):
    # An upstream that echoes the request's key in its error message.
    for _ in range(2):
        api.error(503, f"backend rejected key {API_KEY}", "UNAVAILABLE")
    result = run(["generate", "--retries", "1", "hi"])  # run_checked asserts the key is on neither stream
    assert (result.exit_code, result.stdout) == (6, "")
    assert result.stderr.splitlines() == [
        retry_note("HTTP 503 UNAVAILABLE", 2, 2),
        "gemini-cli: error: HTTP 503 UNAVAILABLE: backend rejected key <redacted>",
    ]


def test_error_message_never_shows_the_key(api):
    api.error(400, f"API key {API_KEY} is not valid for this model", "INVALID_ARGUMENT")
    result = run(["generate", "hi"])
    assert result.exit_code == 4
    assert result.stderr == "gemini-cli: error: HTTP 400 INVALID_ARGUMENT: API key <redacted> is not valid for this model\n"


@pytest.mark.parametrize(
    "headers",
    [{"retry-after-ms": "300"}, {"Retry-After": "0.3"}, {"retry-after-ms": "300", "Retry-After": "0"}],
)
def test_retry_after_is_honoured(api, headers):
    api.error(429, "slow down", "RESOURCE_EXHAUSTED", headers=headers)
    api.stream(text_events("ok"))
    start = time.monotonic()
    result = run(["generate", "hi"])
    elapsed = time.monotonic() - start
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert 0.3 <= elapsed < 2.0
    assert "retrying in 0.3s (attempt 2 of 5)" in result.stderr


def test_without_retry_after_the_backoff_is_used(api):
    api.error(503, "busy", "UNAVAILABLE")
    api.stream(text_events("ok"))
    start = time.monotonic()
    assert run(["generate", "hi"]).exit_code == 0
    assert time.monotonic() - start < 0.3  # retry_delay 0.01 from the test config


def test_streamed_create_is_not_retried_once_events_started(api):
    events = sse(text_events("Hel", "lo"))
    cut = events[: events.index("event: step.stop\ndata: {\"event_type\": \"step.stop\", \"index\": 1}")]
    # The server promises more bytes than it sends, then closes the connection.
    api.server.expect_ordered_request("/v1beta/interactions", method="POST").respond_with_response(
        Response(iter([cut]), headers={"Content-Type": "text/event-stream", "Content-Length": str(len(cut) + 500)})
    )
    # what a second POST would get; the stream is resumed with GETs instead, which fail here
    api.server.expect_oneshot_request("/v1beta/interactions", method="POST").respond_with_data(
        sse(text_events("SHOULD NOT BE FETCHED")), content_type="text/event-stream")
    api.server.expect_request(f"/v1beta/interactions/{INTERACTION_ID}", method="GET").respond_with_json(
        {"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}}, status=503)
    result = run(["generate", "--retries", "2", "hi"])
    assert (result.exit_code, result.stdout) == (8, "Hello\n")
    assert result.stderr.splitlines()[-1].startswith("gemini-cli: error: ")
    methods = [request.method for request in api.requests()]
    assert methods.count("POST") == 1 and methods.count("GET") >= 1


def test_cut_stream_without_resume_attempts_exits_8(api):
    events = sse(text_events("Hel", "lo"))
    cut = events[: events.index("event: step.stop\ndata: {\"event_type\": \"step.stop\", \"index\": 1}")]
    api.server.expect_ordered_request("/v1beta/interactions", method="POST").respond_with_response(
        Response(iter([cut]), headers={"Content-Type": "text/event-stream", "Content-Length": str(len(cut) + 500)})
    )
    result = run(["generate", "--retries", "0", "hi"])
    assert (result.exit_code, result.stdout) == (8, "Hello\n")
    assert result.stderr.startswith("gemini-cli: error: the stream was cut off: ")
    assert len(api.requests()) == 1


# -- malformed answers -------------------------------------------------------------------------


def test_html_error_page(api):
    page = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
    for _ in range(2):
        api.server.expect_ordered_request("/v1beta/interactions").respond_with_data(page, status=502, content_type="text/html")
    result = run(["generate", "--retries", "1", "hi"])
    assert (result.exit_code, result.stdout) == (6, "")
    assert result.stderr.splitlines()[-1] == "gemini-cli: error: HTTP 502 BAD GATEWAY: (the body is not JSON: text/html)"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_empty_200_json_body(api, stream):
    api.server.expect_ordered_request("/v1beta/interactions").respond_with_data("", content_type="application/json")
    result = run(["generate", stream, "hi"])
    assert (result.exit_code, result.stdout) == (6, "")
    assert result.stderr == "gemini-cli: error: HTTP 200: the API sent an empty body\n"


def test_empty_200_event_stream(api):
    api.stream("")
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (8, "")
    assert result.stderr == "gemini-cli: error: the stream ended before the interaction completed\n"


def test_200_html_body_no_stream(api):
    api.server.expect_ordered_request("/v1beta/interactions").respond_with_data("<html>hi</html>", content_type="text/html")
    result = run(["generate", "--no-stream", "hi"])
    assert (result.exit_code, result.stdout) == (6, "")
    assert result.stderr == "gemini-cli: error: HTTP 200: the API sent a body that is not JSON (text/html)\n"


# -- network failures, timeouts, deadline -------------------------------------------------------


def test_connection_refused_exits_7(api):
    url = closed_port_url()
    result = run(["generate", "--base-url", url, "--retries", "1", "hi"])
    assert (result.exit_code, result.stdout) == (7, "")
    note, error = result.stderr.splitlines()
    assert note.startswith(f"gemini-cli: network error talking to {url}: ")
    assert note.endswith("; retrying in 0.0s (attempt 2 of 2)")
    assert error.startswith(f"gemini-cli: error: network error talking to {url}: ")
    assert "Connection refused" in error
    assert "Traceback" not in result.stderr


@pytest.fixture
def gate(api):
    """An event a slow handler waits on; released when the test ends so the
    (single-threaded) server is free again for the next test."""
    event = threading.Event()
    yield event
    event.set()
    # The server handles one request at a time: once this one is answered, the slow
    # handler has finished and logged its request, before the log is cleared.
    api.server.expect_request("/__sync__").respond_with_data("")
    httpx.get(api.server.url_for("/__sync__"), timeout=5)


def test_read_timeout_before_the_answer_exits_7(api, gate):
    def slow(request):
        gate.wait(3)
        return Response(json.dumps(interaction("late")), content_type="application/json")

    api.server.expect_ordered_request("/v1beta/interactions").respond_with_handler(slow)
    start = time.monotonic()
    result = run(["generate", "--no-stream", "--timeout", "0.2", "--retries", "0", "hi"])
    assert time.monotonic() - start < 1.5
    assert (result.exit_code, result.stdout) == (7, "")
    assert result.stderr == f"gemini-cli: error: request timed out (ReadTimeout) talking to {api.base_url}\n"


def stalling_stream(gate, before: str, after: str):
    def handler(request):
        def body():
            yield before
            gate.wait(3)
            yield after

        return Response(body(), content_type="text/event-stream")

    return handler


def test_stream_that_stalls_mid_answer_exits_8_with_the_partial_text(api, gate):
    events = sse(text_events("Hel", "lo"))
    split = events.index("event: step.stop\ndata: {\"event_type\": \"step.stop\", \"index\": 1}")
    api.server.expect_ordered_request("/v1beta/interactions").respond_with_handler(
        stalling_stream(gate, events[:split], events[split:])
    )
    start = time.monotonic()
    # --retries 0: no attempt to resume the stream (resuming has its own tests).
    result = run(["generate", "--timeout", "0.3", "--retries", "0", "hi"])
    assert time.monotonic() - start < 1.5
    assert (result.exit_code, result.stdout) == (8, "Hello\n")
    assert result.stderr.startswith("gemini-cli: error: the stream stalled: no data within the read timeout")


def test_max_time_deadline_exits_7(api, gate):
    def slow(request):
        gate.wait(3)
        return Response(json.dumps(interaction("late")), content_type="application/json")

    api.server.expect_ordered_request("/v1beta/interactions").respond_with_handler(slow)
    start = time.monotonic()
    result = run(["generate", "--no-stream", "--max-time", "0.3", "hi"])
    assert 0.25 <= time.monotonic() - start < 1.5
    assert (result.exit_code, result.stdout) == (7, "")
    assert result.stderr == "gemini-cli: error: gave up: the --max-time deadline of 0.3s was reached\n"


def test_max_time_includes_retry_waits(api):
    api.error(503, "busy", "UNAVAILABLE", headers={"retry-after-ms": "5000"})
    start = time.monotonic()
    result = run(["generate", "--max-time", "0.5", "hi"])
    assert time.monotonic() - start < 0.5  # it did not sleep 5 s past the deadline
    assert (result.exit_code, result.stdout) == (6, "")
    assert result.stderr == ("gemini-cli: error: HTTP 503 UNAVAILABLE: busy; the API asked to wait 5s before retrying, "
                             "more than is left of --max-time: giving up\n")
    assert len(api.requests()) == 1


def test_max_time_deadline_mid_stream_exits_7(api, gate):
    events = sse(text_events("Hel", "lo"))
    split = events.index("event: step.stop\ndata: {\"event_type\": \"step.stop\", \"index\": 1}")
    api.server.expect_ordered_request("/v1beta/interactions").respond_with_handler(
        stalling_stream(gate, events[:split], events[split:])
    )
    result = run(["generate", "--max-time", "0.3", "hi"])
    assert (result.exit_code, result.stdout) == (7, "Hello\n")
    assert result.stderr == "gemini-cli: error: gave up: the --max-time deadline of 0.3s was reached\n"


# -- httpx's transport: what we rely on it for (moved from the deleted test_transport.py) -------


def test_the_transport_is_httpx_own_unless_one_is_given():
    client = make_client()
    try:
        assert type(client._http._transport) is httpx.HTTPTransport
    finally:
        client.close()
    mock = httpx.MockTransport(lambda request: httpx.Response(200, json={"id": "v1_x"}))
    client = make_client(transport=mock)
    try:
        assert client._http._transport is mock
        assert client.json("POST", client.url("interactions"), json_body={"input": "hi"}) == {"id": "v1_x"}
    finally:
        client.close()


def test_a_key_a_header_cannot_carry_is_never_echoed_nor_sent(fault):
    client = make_client(base_url=fault.url, api_key="AIzaKeyLine1\nX-Injected: 1", retries=2)
    try:
        with pytest.raises(NetworkError) as caught:
            client.send("GET", client.url("models"))
    finally:
        client.close()
    assert caught.value.message == "a request header holds a character HTTP cannot carry (not shown)"
    assert "AIza" not in str(caught.value) and caught.value.__cause__ is None
    assert fault.requests == []  # nothing went out, and it was not retried


def test_a_key_a_header_cannot_carry_exits_3_without_echoing_it(api):
    result = run(["generate", "hi"], env={"GEMINI_API_KEY": "AIzaKeyLine1\nX-Injected: 1"})
    assert (result.exit_code, result.stdout) == (3, "")
    assert "AIzaKeyLine1" not in result.stderr and "X-Injected" not in result.stderr
    assert api.requests() == []


@pytest.fixture
def fault():
    from fault_server import FaultServer

    server = FaultServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made by the openssl CLI for this test run."""
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
def https_api(certificate, monkeypatch):
    from pytest_httpserver import HTTPServer

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url_for("/").rstrip("/"))
    yield server
    try:
        server.check_assertions()  # as the fake API fixture: an unplanned request fails the test
    finally:
        server.clear()
        server.stop()


def test_https_with_ssl_cert_file(https_api, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    https_api.expect_ordered_request("/v1beta/interactions", method="POST").respond_with_data(
        sse(text_events("Hel", "lo")), content_type="text/event-stream")
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello\n", "")
    assert https_api.url_for("/").startswith("https://127.0.0.1:")


def test_https_without_the_certificate_fails_verification_and_exits_7(https_api, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    result = run(["generate", "--retries", "0", "hi"])
    assert (result.exit_code, result.stdout) == (7, "")
    assert result.stderr.startswith(f"gemini-cli: error: network error talking to {https_api.url_for('/').rstrip('/')}: ")
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr
    assert https_api.log == []


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name == "REQUEST_METHOD":
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("name", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_from_the_environment_is_used(fault, no_proxy_env, name):
    from fault_server import reply

    no_proxy_env.setenv(name, fault.url)
    base = "http://api.example.invalid"  # never resolved: the proxy answers for it
    fault.queue(reply(200, json.dumps(interaction("via the proxy")).encode()))
    result = run(["generate", "--no-stream", "--base-url", base, "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "via the proxy\n", "")
    (request,) = fault.requests
    assert (request.method, request.path, request.headers["host"]) == ("POST", "/v1beta/interactions", "api.example.invalid")
    assert json.loads(request.body)["input"] == "hi"


def test_no_proxy_sends_that_host_directly(api, fault, no_proxy_env):
    no_proxy_env.setenv("HTTP_PROXY", fault.url)
    no_proxy_env.setenv("NO_PROXY", "localhost")  # the fake API's host
    api.json(interaction("direct"))
    result = run(["generate", "--no-stream", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "direct\n", "")
    assert fault.requests == [] and len(api.requests()) == 1


def test_max_time_holds_over_https_against_a_trickle(https_api, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    stop = threading.Event()

    def trickle(request):
        def body():
            while not stop.wait(0.1):
                yield ": keep-alive\n\n"
        return Response(body(), content_type="text/event-stream")

    https_api.expect_ordered_request("/v1beta/interactions", method="POST").respond_with_handler(trickle)
    start = time.monotonic()
    try:
        result = run(["generate", "--max-time", "1", "--timeout", "60", "hi"])
    finally:
        stop.set()
    assert 0.9 < time.monotonic() - start < 3  # the trickle alone would never end
    assert (result.exit_code, result.stdout) == (7, "")
    assert result.stderr == "gemini-cli: error: gave up: the --max-time deadline of 1s was reached\n"
