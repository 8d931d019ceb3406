"""gemini_cli.api.files against a fake Files API on loopback: the resumable exchange,
resuming through `query`, waiting for ACTIVE, list pagination, get and delete.

FakeFiles (used by test_upload.py and test_media.py too) implements the upload protocol
of interactions-api.md §8.1 with permanent handlers, so tests read what happened from
the server's request log.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from werkzeug import Response

from conftest import API_KEY
from gemini_cli.api import files
from gemini_cli.api.client import ApiClient
from gemini_cli.errors import ApiError, ExitCode, GeminiCliError, NetworkError, UsageError

UPLOAD_PATH = "/upload/v1beta/files"
FILE_URI = "https://generativelanguage.googleapis.com/v1beta/files/{}"


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def in_hours(hours: float) -> str:
    return iso(datetime.now(timezone.utc) + timedelta(hours=hours))


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status=status, headers=headers or {}, content_type="application/json")


def error_response(status: int, message: str = "boom") -> Response:
    statuses = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 503: "UNAVAILABLE", 500: "INTERNAL"}
    return json_response({"error": {"code": status, "message": message, "status": statuses.get(status, "ERROR")}}, status)


class FakeFiles:
    """The Files API's upload, get and delete, with state.

    states: the states a newly uploaded file goes through: its state at finalize, then
        one more per GET (the last one stays).
    faults: chunk request number (0-based, over the whole test) -> (HTTP status, bytes of
        that chunk the server keeps before failing).
    """

    def __init__(self, server):
        self.server = server
        self.sessions: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.created = 0
        self.pending_states: dict[str, list[str]] = {}
        self.states = ["ACTIVE"]
        self.faults: dict[int, tuple[int, int]] = {}
        self.chunk_requests = 0
        self.failure = {"code": 400, "message": "the video codec is not supported"}
        self.expiration = in_hours(48)
        self.lose_final_answer = False
        server.expect_request(UPLOAD_PATH, method="POST").respond_with_handler(self._upload)
        server.expect_request(re.compile(r"^/v1beta/files/[^/]+$"), method="GET").respond_with_handler(self._get)
        server.expect_request(re.compile(r"^/v1beta/files/[^/]+$"), method="DELETE").respond_with_handler(self._delete)

    # -- handlers --------------------------------------------------------------------

    def _upload(self, request):
        command = request.headers.get("X-Goog-Upload-Command", "")
        if command == "start":
            upload_id = f"up{len(self.sessions) + 1}"
            self.sessions[upload_id] = {
                "meta": json.loads(request.get_data()),
                "size": int(request.headers["X-Goog-Upload-Header-Content-Length"]),
                "mime": request.headers["X-Goog-Upload-Header-Content-Type"],
                "data": bytearray(),
                "file": None,
            }
            url = f"https://upload.example.invalid{UPLOAD_PATH}?upload_id={upload_id}&upload_protocol=resumable"
            return Response("", headers={"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"})
        session = self.sessions.get(request.args.get("upload_id", ""))
        if session is None:
            return error_response(404, "no such upload")
        if command == "query":
            if session["file"] is not None:
                return json_response({"file": session["file"]}, headers={"X-Goog-Upload-Status": "final"})
            return Response("", headers={"X-Goog-Upload-Status": "active", "X-Goog-Upload-Size-Received": str(len(session["data"]))})
        index = self.chunk_requests
        self.chunk_requests += 1
        offset = int(request.headers["X-Goog-Upload-Offset"])
        data = request.get_data()
        if offset != len(session["data"]):
            return error_response(400, f"offset {offset} does not match {len(session['data'])} bytes received")
        if index in self.faults:
            status, keep = self.faults[index]
            session["data"] += data[:keep]
            return error_response(status, "backend unavailable")
        session["data"] += data
        if command == "upload, finalize":
            assert len(session["data"]) == session["size"]
            session["file"] = self._new_file(session)
            if self.lose_final_answer:
                return error_response(503, "lost")
            return json_response({"file": session["file"]}, headers={"X-Goog-Upload-Status": "final"})
        return Response("", headers={"X-Goog-Upload-Status": "active"})

    def _new_file(self, session) -> dict[str, Any]:
        self.created += 1  # ids are never reused, even after a delete
        file_id = f"file{self.created}"
        data = bytes(session["data"])
        meta = session["meta"]["file"]
        file = {
            "name": f"files/{file_id}",
            "mimeType": session["mime"],
            "sizeBytes": str(len(data)),
            "createTime": iso(datetime.now(timezone.utc)),
            "updateTime": iso(datetime.now(timezone.utc)),
            "expirationTime": self.expiration,
            "sha256Hash": base64.b64encode(hashlib.sha256(data).digest()).decode(),
            "uri": FILE_URI.format(file_id),
            "state": self.states[0],
            "source": "UPLOADED",
        }
        if meta.get("display_name"):
            file["displayName"] = meta["display_name"]
        self.files[file_id] = file
        self.pending_states[file_id] = list(self.states[1:])
        return dict(file)

    def _get(self, request):
        file_id = request.path.rsplit("/", 1)[-1]
        file = self.files.get(file_id)
        if file is None:
            return error_response(404, f"File {file_id} does not exist.")
        pending = self.pending_states.get(file_id) or []
        if pending:
            file["state"] = pending.pop(0)
        if file["state"] == "FAILED":
            file["error"] = dict(self.failure)
        return json_response(file)

    def _delete(self, request):
        file_id = request.path.rsplit("/", 1)[-1]
        if self.files.pop(file_id, None) is None:
            return error_response(404, f"File {file_id} does not exist.")
        return json_response({})

    # -- helpers for tests ------------------------------------------------------------

    def add(self, file_id: str, *, mime: str = "video/mp4", states: tuple[str, ...] = ("ACTIVE",), **extra) -> dict[str, Any]:
        file = {"name": f"files/{file_id}", "mimeType": mime, "sizeBytes": "1234", "uri": FILE_URI.format(file_id),
                "state": states[0], "expirationTime": self.expiration, **extra}
        self.files[file_id] = file
        self.pending_states[file_id] = list(states[1:])
        return file

    def received(self, upload_id: str = "up1") -> bytes:
        return bytes(self.sessions[upload_id]["data"])

    def log(self) -> list[Any]:
        return [request for request, _ in self.server.log]

    def upload_requests(self) -> list[Any]:
        return [r for r in self.log() if r.path == UPLOAD_PATH]

    def exchange(self) -> list[tuple[str, str | None, int]]:
        """(command, offset, body length) of every upload request, in order."""
        return [(r.headers.get("X-Goog-Upload-Command"), r.headers.get("X-Goog-Upload-Offset"), len(r.get_data()))
                for r in self.upload_requests()]

    def gets(self) -> list[str]:
        return [r.path for r in self.log() if r.method == "GET"]


@pytest.fixture
def fake(httpserver):
    return FakeFiles(httpserver)


def fake_for_cli(api, monkeypatch) -> FakeFiles:
    """The fake Files API behind the CLI's fake API (test_upload, test_media), with small
    chunks and fast polling."""
    monkeypatch.setattr(files, "CHUNK_SIZE", 1024)
    monkeypatch.setattr(files, "POLL_INITIAL", 0.001)
    monkeypatch.setattr(files, "POLL_MAX", 0.002)
    return FakeFiles(api.server)


@pytest.fixture
def client(httpserver):
    c = ApiClient(base_url=httpserver.url_for("/").rstrip("/"), api_version="v1beta", api_key=API_KEY,
                  retries=2, retry_delay=0.001, timeout=10)
    yield c
    c.close()


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    """Backoff and polling sleep for real but briefly."""
    monkeypatch.setattr(files, "POLL_INITIAL", 0.001)
    monkeypatch.setattr(files, "POLL_MAX", 0.002)


def content(n: int) -> bytes:
    return bytes((i * 7 + 3) % 256 for i in range(n))


# -- names ------------------------------------------------------------------------------


@pytest.mark.parametrize("given", [
    "files/abc-123", "abc-123", " files/abc-123 ",
    "https://generativelanguage.googleapis.com/v1beta/files/abc-123",
    "https://generativelanguage.googleapis.com/v1/files/abc-123?alt=media",
    "https://generativelanguage.googleapis.com/v1beta/files/abc-123:download",
])
def test_file_name_forms(given):
    assert files.file_name(given) == "files/abc-123"


@pytest.mark.parametrize("given", ["", "files/", "Files/ABC", "files/a_b", "-abc", "abc-", "a" * 41,
                                   "https://example.com/v1beta/models/x", "files/abc/def"])
def test_bad_file_names(given):
    with pytest.raises(UsageError) as info:
        files.file_name(given)
    assert "not a Files API file name" in info.value.message
    assert info.value.exit_code == ExitCode.USAGE


def test_rebase_keeps_path_and_query_and_takes_our_scheme_and_host():
    url = "https://upload.googleapis.com/upload/v1beta/files?upload_id=X-1&upload_protocol=resumable"
    assert files.rebase(url, "http://127.0.0.1:8080") == "http://127.0.0.1:8080/upload/v1beta/files?upload_id=X-1&upload_protocol=resumable"
    assert files.rebase("/upload/v1beta/files?upload_id=2", "http://h:1") == "http://h:1/upload/v1beta/files?upload_id=2"


# -- the resumable exchange ------------------------------------------------------------------


def test_full_resumable_exchange(fake, client):
    data = content(2500)
    progress = []
    file = files.upload(client, io.BytesIO(data), size=2500, mime="image/png", display_name="Cat picture",
                        file_name_header="cat é%.png", chunk_size=1024, progress=lambda done, total: progress.append((done, total)))

    assert file["name"] == "files/file1" and file["uri"] == FILE_URI.format("file1")
    assert fake.received() == data
    requests = fake.upload_requests()
    start = requests[0]
    assert start.method == "POST" and start.path == UPLOAD_PATH and start.query_string == b""
    assert start.headers["X-Goog-Upload-Protocol"] == "resumable"
    assert start.headers["X-Goog-Upload-Command"] == "start"
    assert start.headers["X-Goog-Upload-Header-Content-Length"] == "2500"
    assert start.headers["X-Goog-Upload-Header-Content-Type"] == "image/png"
    assert start.headers["X-Goog-Upload-File-Name"] == "cat %C3%A9%25.png"
    assert start.headers["x-goog-api-key"] == API_KEY
    assert start.headers["Content-Type"] == "application/json"
    assert json.loads(start.get_data()) == {"file": {"display_name": "Cat picture", "mime_type": "image/png", "size_bytes": 2500}}
    # The upload URL the server gave (another host) was rewritten to ours, query kept.
    for chunk in requests[1:]:
        assert chunk.query_string == b"upload_id=up1&upload_protocol=resumable"
        assert "x-goog-api-key" not in chunk.headers
        assert chunk.headers["Content-Length"] == str(len(chunk.get_data()))
    assert fake.exchange() == [
        ("start", None, len(start.get_data())),
        ("upload", "0", 1024),
        ("upload", "1024", 1024),
        ("upload, finalize", "2048", 452),
    ]
    assert progress == [(1024, 2500), (2048, 2500), (2500, 2500)]


def test_a_file_of_exactly_one_chunk_is_finalized_in_one_request(fake, client):
    files.upload(client, io.BytesIO(content(1024)), size=1024, mime="video/mp4", chunk_size=1024)
    assert fake.exchange()[1:] == [("upload, finalize", "0", 1024)]
    assert json.loads(fake.upload_requests()[0].get_data()) == {"file": {"mime_type": "video/mp4", "size_bytes": 1024}}


def test_an_empty_upload_is_refused_before_sending(fake, client):
    with pytest.raises(UsageError):
        files.upload(client, io.BytesIO(b""), size=0, mime="image/png")
    assert fake.log() == []


def test_resume_after_a_failed_chunk_continues_from_what_the_server_has(fake, client):
    fake.faults = {1: (503, 100)}  # the second chunk fails after the server kept 100 bytes of it
    data = content(3000)
    notes, progress = [], []
    file = files.upload(client, io.BytesIO(data), size=3000, mime="audio/wav", chunk_size=1024,
                        note=notes.append, progress=lambda done, total: progress.append(done))
    assert file["name"] == "files/file1"
    assert fake.received() == data
    assert fake.exchange()[1:] == [
        ("upload", "0", 1024),
        ("upload", "1024", 1024),  # 503
        ("query", None, 0),  # -> X-Goog-Upload-Size-Received: 1124
        ("upload", "1124", 1024),
        ("upload, finalize", "2148", 852),
    ]
    assert progress == [1024, 1124, 2148, 3000]
    assert len(notes) == 1
    assert notes[0] == ("upload: sending the chunk at byte 1024 of 3000 failed: HTTP 503 UNAVAILABLE; "
                        "asking the server how much it has in 0.0s (retry 1 of 2)")
    assert "(retry 1 of 2)" in notes[0]


def test_the_retry_budget_counts_consecutive_failures(fake, client):
    # Two failures, a success, two more failures: within a budget of 2 each time.
    fake.faults = {0: (500, 0), 1: (503, 0), 3: (502, 10), 4: (504, 0)}
    data = content(2048)
    files.upload(client, io.BytesIO(data), size=2048, mime="image/png", chunk_size=1024)
    assert fake.received() == data
    commands = [c for c, _, _ in fake.exchange()]
    assert commands == ["start", "upload", "query", "upload", "query", "upload", "upload, finalize", "query",
                        "upload, finalize", "query", "upload, finalize"]


def test_the_retry_budget_spent_on_5xx_is_exit_6(fake, client):
    fake.faults = {n: (503, 0) for n in range(10)}
    with pytest.raises(ApiError) as info:
        files.upload(client, io.BytesIO(content(2048)), size=2048, mime="image/png", chunk_size=1024)
    assert info.value.exit_code == ExitCode.SERVER and info.value.status == 503
    commands = [c for c, _, _ in fake.exchange()]
    assert commands == ["start", "upload", "query", "upload", "query", "upload"]  # 1 try + 2 retries


def test_a_rejected_chunk_is_not_retried(fake, client):
    fake.faults = {0: (400, 0)}
    with pytest.raises(ApiError) as info:
        files.upload(client, io.BytesIO(content(2048)), size=2048, mime="image/png", chunk_size=1024)
    assert info.value.exit_code == ExitCode.REJECTED
    assert [c for c, _, _ in fake.exchange()] == ["start", "upload"]


def test_a_query_that_finds_the_upload_final_returns_the_file(fake, client):
    # The last chunk arrived but its answer was lost (here: a 503 after the server took all of it).
    data = content(1500)
    fake.lose_final_answer = True
    file = files.upload(client, io.BytesIO(data), size=1500, mime="image/png", chunk_size=1024)
    assert file["name"] == "files/file1"
    assert [c for c, _, _ in fake.exchange()] == ["start", "upload", "upload, finalize", "query"]


def test_start_without_an_upload_url_is_a_server_error(httpserver, client):
    httpserver.expect_request(UPLOAD_PATH, method="POST").respond_with_data("")
    with pytest.raises(ApiError) as info:
        files.upload(client, io.BytesIO(b"x"), size=1, mime="text/plain")
    assert "X-Goog-Upload-URL" in info.value.message
    assert info.value.exit_code == ExitCode.SERVER


# -- network errors, through a mock transport ----------------------------------------------


class Transport:
    """A scripted upload server: chunk requests fail with a connection error as told."""

    def __init__(self, fail_chunks: set[int], fail_queries: set[int] = frozenset()):
        self.fail_chunks = fail_chunks
        self.fail_queries = fail_queries
        self.data = bytearray()
        self.seen: list[tuple[str, str | None]] = []
        self.chunks = self.queries = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        command = request.headers.get("x-goog-upload-command")
        self.seen.append((command, request.headers.get("x-goog-upload-offset")))
        if command == "start":
            return httpx.Response(200, headers={"x-goog-upload-url": "https://elsewhere/up?upload_id=1"})
        if command == "query":
            self.queries += 1
            if self.queries - 1 in self.fail_queries:
                raise httpx.ReadTimeout("timed out", request=request)
            return httpx.Response(200, headers={"x-goog-upload-status": "active", "x-goog-upload-size-received": str(len(self.data))})
        assert request.url.host == "loopback.test"
        self.chunks += 1
        if self.chunks - 1 in self.fail_chunks:
            raise httpx.ConnectError("connection reset", request=request)
        self.data += request.content
        if command == "upload, finalize":
            return httpx.Response(200, headers={"x-goog-upload-status": "final"}, json={"file": {"name": "files/n1"}})
        return httpx.Response(200, headers={"x-goog-upload-status": "active"})


def mock_client(transport: Transport, retries: int = 2) -> ApiClient:
    c = ApiClient(base_url="http://loopback.test", api_version="v1beta", api_key=API_KEY, retries=retries, retry_delay=0.001)
    c._http = httpx.Client(transport=httpx.MockTransport(transport))
    return c


def test_a_network_error_on_a_chunk_resumes_through_query():
    transport = Transport(fail_chunks={1}, fail_queries={0})
    data = content(2500)
    notes = []
    file = files.upload(mock_client(transport), io.BytesIO(data), size=2500, mime="image/png", chunk_size=1024, note=notes.append)
    assert file == {"name": "files/n1"}
    assert bytes(transport.data) == data
    assert transport.seen == [("start", None), ("upload", "0"), ("upload", "1024"), ("query", None), ("query", None),
                              ("upload", "1024"), ("upload, finalize", "2048")]
    assert "network error" in notes[0] and "sending the chunk at byte 1024" in notes[0]
    assert "asking the server how much it has failed" in notes[1]


def test_network_errors_past_the_budget_are_exit_7():
    transport = Transport(fail_chunks=set(range(10)))
    with pytest.raises(NetworkError) as info:
        files.upload(mock_client(transport, retries=1), io.BytesIO(content(10)), size=10, mime="image/png", chunk_size=4)
    assert info.value.exit_code == ExitCode.NETWORK
    assert [c for c, _ in transport.seen] == ["start", "upload", "query", "upload"]


class DiscardTransport(httpx.BaseTransport):
    """Reads every chunk's body part by part and keeps only the count (no request.read())."""

    def __init__(self):
        self.received = 0
        self.lengths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        command = request.headers.get("x-goog-upload-command")
        if command == "start":
            return httpx.Response(200, headers={"x-goog-upload-url": "http://loopback.test/up?upload_id=1"})
        self.lengths.append(request.headers["content-length"])
        for part in request.stream:
            self.received += len(part)
        if command == "upload, finalize":
            return httpx.Response(200, headers={"x-goog-upload-status": "final"}, json={"file": {"name": "files/big"}})
        return httpx.Response(200, headers={"x-goog-upload-status": "active"})


def test_memory_stays_at_one_chunk_whatever_the_size():
    """Chunks go out of one reused buffer: with a fresh bytes per chunk, httpx's reference
    cycles kept every chunk alive until the garbage collector ran (the benchmark's 1 GiB
    upload peaked far over 64 MiB)."""
    import gc
    import tracemalloc

    chunk, chunks = 64 * 1024, 64
    data = io.BytesIO(bytes(chunk * chunks - 100))  # allocated before tracing starts
    transport = DiscardTransport()
    c = ApiClient(base_url="http://loopback.test", api_version="v1beta", api_key=API_KEY, retries=0)
    c._http = httpx.Client(transport=transport)
    gc.disable()
    tracemalloc.start()
    try:
        files.upload(c, data, size=chunk * chunks - 100, mime="video/mp4", chunk_size=chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        gc.enable()
    assert transport.received == chunk * chunks - 100
    assert transport.lengths == [str(chunk)] * (chunks - 1) + [str(chunk - 100)]
    assert peak < 8 * chunk  # the buffer and bookkeeping, not 64 chunks (4 MiB)


# -- get, wait_active, list, delete ---------------------------------------------------------------


def test_get_normalises_the_name(fake, client):
    fake.add("abc")
    for name in ("files/abc", "abc", FILE_URI.format("abc")):
        assert files.get(client, name)["name"] == "files/abc"
    assert fake.gets() == ["/v1beta/files/abc"] * 3


def test_get_of_a_missing_file_is_exit_4(fake, client):
    with pytest.raises(ApiError) as info:
        files.get(client, "files/nope")
    assert info.value.status == 404 and info.value.exit_code == ExitCode.REJECTED
    assert "File nope does not exist." in info.value.message


def test_wait_active_polls_through_processing(fake, client):
    first = fake.add("vid", states=("PROCESSING", "PROCESSING", "PROCESSING", "ACTIVE"))
    waits, sleeps = [], []
    file = files.wait_active(client, dict(first), on_wait=waits.append, sleep=sleeps.append)
    assert file["state"] == "ACTIVE"
    assert fake.gets() == ["/v1beta/files/vid"] * 3
    assert len(waits) == 1 and waits[0]["state"] == "PROCESSING"
    assert sleeps == [0.001, 0.002, 0.002]


def test_wait_active_returns_an_active_file_without_a_request(fake, client):
    assert files.wait_active(client, {"name": "files/x", "state": "ACTIVE"}) == {"name": "files/x", "state": "ACTIVE"}
    assert fake.log() == []


def test_wait_active_failed_is_exit_4_with_the_reason(fake, client):
    first = fake.add("vid", states=("PROCESSING", "FAILED"))
    with pytest.raises(files.FileFailed) as info:
        files.wait_active(client, dict(first))
    assert info.value.exit_code == ExitCode.REJECTED
    assert info.value.message == "files/vid: the Files API could not process the file: the video codec is not supported"


def test_wait_active_gives_up_after_the_timeout(fake, client):
    fake.add("vid", states=("PROCESSING",))
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    client.timeout = 5
    files.POLL_INITIAL, files.POLL_MAX = 1.0, 2.0
    with pytest.raises(NetworkError) as info:
        files.wait_active(client, {"name": "files/vid", "state": "PROCESSING"}, sleep=sleep, clock=lambda: now[0])
    assert info.value.exit_code == ExitCode.NETWORK
    assert "files/vid is still PROCESSING after 5s" in info.value.message
    assert now[0] == 5.0  # 1 + 2 + 2, the last sleep cut to what was left


def test_wait_active_stops_at_the_max_time_deadline(fake, client):
    fake.add("vid", states=("PROCESSING",))
    client.deadline = 0.0  # long past
    client.max_time = 3
    with pytest.raises(NetworkError) as info:
        files.wait_active(client, {"name": "files/vid", "state": "PROCESSING"}, sleep=lambda s: None)
    assert "--max-time deadline of 3s" in info.value.message


def page_handler(pages: dict[str | None, dict[str, Any]]):
    def handle(request):
        assert request.args["pageSize"] == "100"
        return json_response(pages[request.args.get("pageToken")])

    return handle


def test_list_follows_next_page_token_to_the_end(httpserver, client):
    pages = {
        None: {"files": [{"name": "files/a"}, {"name": "files/b"}], "nextPageToken": "t1"},
        "t1": {"files": [{"name": "files/c"}], "nextPageToken": "t2"},
        "t2": {"files": [], "nextPageToken": "t3"},
        "t3": {"files": [{"name": "files/d"}], "nextPageToken": ""},
    }
    httpserver.expect_request("/v1beta/files", method="GET").respond_with_handler(page_handler(pages))
    assert [f["name"] for f in files.iter_files(client)] == ["files/a", "files/b", "files/c", "files/d"]
    assert [r.args.get("pageToken") for r, _ in httpserver.log] == [None, "t1", "t2", "t3"]


def test_list_of_nothing(httpserver, client):
    httpserver.expect_request("/v1beta/files", method="GET").respond_with_json({})
    assert list(files.iter_files(client)) == []


def test_list_stops_on_a_repeated_page_token(httpserver, client):
    pages = {None: {"files": [{"name": "files/a"}], "nextPageToken": "t1"},
             "t1": {"files": [{"name": "files/b"}], "nextPageToken": "t1"}}
    httpserver.expect_request("/v1beta/files", method="GET").respond_with_handler(page_handler(pages))
    with pytest.raises(ApiError) as info:
        list(files.iter_files(client))
    assert "repeated the page token 't1'" in info.value.message


def test_delete(fake, client):
    fake.add("abc")
    files.delete(client, "abc")
    assert [(r.method, r.path) for r in fake.log()] == [("DELETE", "/v1beta/files/abc")]
    assert "abc" not in fake.files
    with pytest.raises(ApiError) as info:
        files.delete(client, "files/abc")
    assert info.value.exit_code == ExitCode.REJECTED


def test_an_unknown_final_status_ends_the_upload(httpserver, client):
    def handle(request):
        if request.headers.get("X-Goog-Upload-Command") == "start":
            return Response("", headers={"X-Goog-Upload-URL": f"http://x{UPLOAD_PATH}?upload_id=1"})
        return Response("", headers={"X-Goog-Upload-Status": "cancelled"})

    httpserver.expect_request(UPLOAD_PATH, method="POST").respond_with_handler(handle)
    with pytest.raises(GeminiCliError) as info:
        files.upload(client, io.BytesIO(content(10)), size=10, mime="image/png", chunk_size=4)
    assert info.value.exit_code == ExitCode.REJECTED
    assert "X-Goog-Upload-Status: cancelled" in info.value.message
