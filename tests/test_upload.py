"""`gemini-cli upload` and `gemini-cli files` against the fake Files API (test_files_api.FakeFiles)."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from conftest import API_KEY, run_checked as run
from test_files_api import FILE_URI, fake_for_cli, in_hours

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10  # 2568 bytes


@pytest.fixture
def fake(api, monkeypatch):
    return fake_for_cli(api, monkeypatch)


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    return path


def cache(home) -> dict:
    return json.loads((home / "uploads.json").read_text())


# -- upload ------------------------------------------------------------------------------------


def test_upload_prints_name_and_uri_after_the_full_exchange(fake, png, home):
    result = run(["upload", str(png)])
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"files/file1\t{FILE_URI.format('file1')}\n", "")
    assert fake.received() == PNG
    assert fake.exchange()[1:] == [("upload", "0", 1024), ("upload", "1024", 1024), ("upload, finalize", "2048", 520)]
    start = fake.upload_requests()[0]
    assert start.headers["X-Goog-Upload-Header-Content-Length"] == str(len(PNG))
    assert start.headers["X-Goog-Upload-Header-Content-Type"] == "image/png"
    assert start.headers["X-Goog-Upload-File-Name"] == "cat.png"
    assert start.headers["x-goog-api-key"] == API_KEY
    assert json.loads(start.get_data()) == {"file": {"display_name": "cat.png", "mime_type": "image/png", "size_bytes": len(PNG)}}
    # The state was ACTIVE at finalize: no polling.
    assert fake.gets() == []
    entry = cache(home)["entries"][0]
    assert entry == {"sha256": hashlib.sha256(PNG).hexdigest(), "name": "files/file1", "uri": FILE_URI.format("file1"),
                     "mime": "image/png", "size": len(PNG), "expiration_time": fake.expiration, "base_url": fake.server.url_for("/").rstrip("/")}
    assert cache(home)["format"] == "gemini-cli.uploads" and cache(home)["version"] == 1
    assert stat.S_IMODE(os.stat(home / "uploads.json").st_mode) == 0o600


def test_display_name_and_mime_flags(fake, png):
    result = run(["upload", str(png), "--display-name", "My cat", "--mime", "image/webp"])
    assert result.exit_code == 0
    start = fake.upload_requests()[0]
    assert start.headers["X-Goog-Upload-Header-Content-Type"] == "image/webp"
    assert json.loads(start.get_data())["file"] == {"display_name": "My cat", "mime_type": "image/webp", "size_bytes": len(PNG)}


def test_the_type_comes_from_the_content_when_the_name_says_nothing(fake, tmp_path):
    path = tmp_path / "picture"
    path.write_bytes(PNG)
    assert run(["upload", str(path)]).exit_code == 0
    assert fake.upload_requests()[0].headers["X-Goog-Upload-Header-Content-Type"] == "image/png"


def test_waits_through_processing_until_active(fake, png):
    fake.states = ["PROCESSING", "PROCESSING", "ACTIVE"]
    result = run(["upload", str(png)])
    assert result.exit_code == 0
    assert result.stdout == f"files/file1\t{FILE_URI.format('file1')}\n"
    assert fake.gets() == ["/v1beta/files/file1", "/v1beta/files/file1"]
    assert "waiting for files/file1 to be processed by the Files API" in result.stderr


def test_no_wait_prints_at_once(fake, png):
    fake.states = ["PROCESSING", "ACTIVE"]
    result = run(["upload", "--no-wait", "--json", str(png)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["state"] == "PROCESSING"
    assert fake.gets() == []


def test_failed_processing_is_exit_4_with_the_reason(fake, png):
    fake.states = ["PROCESSING", "FAILED"]
    result = run(["upload", str(png)])
    assert result.exit_code == 4
    assert result.stdout == ""
    assert "files/file1: the Files API could not process the file: the video codec is not supported" in result.stderr


def test_json_prints_the_file_resource(fake, png):
    result = run(["upload", "--json", str(png)])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document == fake.files["file1"]
    assert result.stdout == json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def test_several_files_one_line_each_or_a_json_array(fake, png, tmp_path):
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + b"x" * 100)
    result = run(["upload", str(png), str(pdf)])
    assert result.stdout == f"files/file1\t{FILE_URI.format('file1')}\nfiles/file2\t{FILE_URI.format('file2')}\n"
    result = run(["upload", "--json", "--force", str(png), str(pdf)])
    assert [f["name"] for f in json.loads(result.stdout)] == ["files/file3", "files/file4"]
    assert [f["mimeType"] for f in json.loads(result.stdout)] == ["image/png", "application/pdf"]


def test_resumes_after_a_failed_chunk(fake, png):
    fake.faults = {1: (503, 512)}
    result = run(["upload", str(png)])
    assert result.exit_code == 0, result.stderr
    assert fake.received() == PNG
    assert [(c, o) for c, o, _ in fake.exchange()] == [
        ("start", None), ("upload", "0"), ("upload", "1024"), ("query", None), ("upload", "1536"), ("upload, finalize", "2560")]
    # The note names the failure; the API's message is kept for a final error.
    assert "failed: HTTP 503 UNAVAILABLE; asking the server how much it has" in result.stderr
    assert "backend unavailable" not in result.stderr


def test_gives_up_after_the_retry_budget_with_exit_6(fake, png):
    fake.faults = {n: (503, 0) for n in range(10)}
    result = run(["upload", "--retries", "1", str(png)])
    assert result.exit_code == 6
    assert result.stdout == ""
    assert [c for c, _, _ in fake.exchange()] == ["start", "upload", "query", "upload"]
    assert "gemini-cli: error: HTTP 503 UNAVAILABLE: backend unavailable" in result.stderr


def test_a_progress_bar_is_drawn_on_a_terminal_only(fake, png, monkeypatch):
    result = run(["upload", str(png)])
    assert "\r" not in result.stderr and "\x1b" not in result.stderr and "%" not in result.stderr
    monkeypatch.setattr("gemini_cli.render.progress.isatty", lambda stream: True)
    result = run(["upload", "--force", str(png)])
    assert result.exit_code == 0
    last = result.stderr.rstrip("\n").rsplit("\x1b[2K", 1)[1]  # the final state, drawn after the last erase
    assert last.startswith("cat.png ") and " 100% 2.5/2.5 KiB " in last
    assert result.stderr.endswith("\n")
    result = run(["upload", "--force", "--quiet", str(png)])
    assert result.stderr == ""


# -- the upload cache -----------------------------------------------------------------------------


def test_the_same_content_is_not_uploaded_twice(fake, png, tmp_path):
    assert run(["upload", str(png)]).exit_code == 0
    copy = tmp_path / "copy-of-cat.png"
    copy.write_bytes(PNG)
    before = len(fake.upload_requests())
    result = run(["upload", str(copy)])
    assert result.exit_code == 0
    assert result.stdout == f"files/file1\t{FILE_URI.format('file1')}\n"
    assert len(fake.upload_requests()) == before  # no upload request at all
    assert fake.gets() == ["/v1beta/files/file1"]  # only the check that it is still alive
    assert "copy-of-cat.png: already uploaded as files/file1 (same content); reusing it" in result.stderr


def test_force_uploads_again(fake, png, home):
    run(["upload", str(png)])
    result = run(["upload", "--force", str(png)])
    assert result.stdout == f"files/file2\t{FILE_URI.format('file2')}\n"
    assert [c for c, _, _ in fake.exchange()].count("start") == 2
    assert [e["name"] for e in cache(home)["entries"]] == ["files/file1", "files/file2"]


def test_another_mime_type_is_another_upload(fake, png):
    run(["upload", str(png)])
    result = run(["upload", "--mime", "image/webp", str(png)])
    assert result.stdout.startswith("files/file2\t")


def test_an_expired_entry_is_dropped_and_uploaded_again(fake, png, home):
    run(["upload", str(png)])
    doc = cache(home)
    doc["entries"][0]["expiration_time"] = in_hours(-1)
    doc["entries"].append(dict(doc["entries"][0], sha256="0" * 64, name="files/other", expiration_time="2000-01-01T00:00:00Z"))
    (home / "uploads.json").write_text(json.dumps(doc))
    result = run(["upload", str(png)])
    assert result.stdout.startswith("files/file2\t")
    assert fake.gets() == []  # an expired entry is not even checked
    assert [e["name"] for e in cache(home)["entries"]] == ["files/file2"]


def test_an_entry_about_to_expire_is_not_reused(fake, png, home):
    run(["upload", str(png)])
    doc = cache(home)
    doc["entries"][0]["expiration_time"] = in_hours(0.1)  # 6 minutes
    (home / "uploads.json").write_text(json.dumps(doc))
    assert run(["upload", str(png)]).stdout.startswith("files/file2\t")


def test_an_entry_whose_file_is_gone_is_dropped_and_uploaded_again(fake, png, home):
    run(["upload", str(png)])
    del fake.files["file1"]  # deleted on the server (or by another tool)
    result = run(["upload", str(png)])
    assert result.exit_code == 0
    assert result.stdout.startswith("files/file2\t")
    assert fake.gets() == ["/v1beta/files/file1"]
    assert [e["name"] for e in cache(home)["entries"]] == ["files/file2"]


def test_a_corrupt_cache_is_replaced(fake, png, home):
    (home / "uploads.json").write_text("{not json")
    result = run(["upload", str(png)])
    assert result.exit_code == 0
    assert "upload cache" in result.stderr and "is corrupt; it will be replaced" in result.stderr
    assert [e["name"] for e in cache(home)["entries"]] == ["files/file1"]


def test_a_cache_from_a_newer_version_is_left_alone(fake, png, home):
    newer = json.dumps({"format": "gemini-cli.uploads", "version": 99, "entries": []})
    (home / "uploads.json").write_text(newer)
    result = run(["upload", str(png)])
    assert result.exit_code == 0
    assert "written by a newer gemini-cli (version 99)" in result.stderr
    assert (home / "uploads.json").read_text() == newer


# -- errors: nothing is sent ---------------------------------------------------------------------


def error_of(args, fake) -> str:
    result = run(args)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert fake.log() == []
    return result.stderr


def test_missing_file(fake, tmp_path, png):
    missing = tmp_path / "nope.png"
    assert f"gemini-cli: error: {missing}: no such file" in error_of(["upload", str(png), str(missing)], fake)


def test_directory(fake, tmp_path):
    assert f"{tmp_path}: is a directory, not a file" in error_of(["upload", str(tmp_path)], fake)


def test_empty_file(fake, tmp_path):
    empty = tmp_path / "empty.png"
    empty.touch()
    assert f"{empty}: file is empty" in error_of(["upload", str(empty)], fake)


def test_unreadable_file(fake, png, monkeypatch):
    real_open = os.open

    def denied(path, *args, **kwargs):  # chmod 0 is not enough when the tests run as root
        if str(path) == str(png):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    assert f"{png}: permission denied" in error_of(["upload", str(png)], fake)


def test_over_2_gib_before_sending_anything(fake, tmp_path):
    big = tmp_path / "huge.mp4"
    with open(big, "wb") as f:
        f.truncate(2 * 1024**3 + 1)  # sparse: no disk used
    stderr = error_of(["upload", str(big)], fake)
    assert f"{big}: 2.00 GiB is over the Files API's limit of 2.00 GiB per file" in stderr


def test_exactly_2_gib_is_allowed(tmp_path):
    from gemini_cli.cli.upload import check_file

    big = tmp_path / "huge.mp4"
    with open(big, "wb") as f:
        f.truncate(2 * 1024**3)
    assert check_file(str(big), None).size == 2 * 1024**3


def test_unknown_type_needs_mime(fake, tmp_path):
    blob = tmp_path / "blob"
    blob.write_bytes(b"\x00\x01\x02\xff" * 10)
    assert f"{blob}: cannot tell the file's type; pass --mime" in error_of(["upload", str(blob)], fake)


def test_bad_mime_flag(fake, png):
    assert "--mime 'png' is not a MIME type" in error_of(["upload", "--mime", "png", str(png)], fake)


def test_stdin_cannot_be_uploaded(fake):
    assert "stdin cannot be uploaded" in error_of(["upload", "-"], fake)


def test_a_pipe_cannot_be_uploaded(fake, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert "not a regular file" in error_of(["upload", str(fifo)], fake)


def test_no_files_is_a_usage_error(fake):
    result = run(["upload"])
    assert result.exit_code == 2 and result.stderr == "gemini-cli: error: upload: missing argument 'files' (see gemini-cli upload --help)\n"


def test_no_key_is_exit_3_after_the_files_are_checked(fake, png, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    result = run(["upload", str(png)])
    assert result.exit_code == 3 and "no API key" in result.stderr
    assert fake.log() == []


# -- files list / get / delete --------------------------------------------------------------------


FILES = [
    {"name": "files/a1", "displayName": "Holiday video", "mimeType": "video/mp4", "sizeBytes": "104857600",
     "state": "ACTIVE", "expirationTime": "2026-05-22T10:00:00.123456789Z", "uri": FILE_URI.format("a1")},
    {"name": "files/b22", "displayName": "notes\nmultiline", "mimeType": "application/pdf", "sizeBytes": "2048",
     "state": "PROCESSING", "expirationTime": "2026-05-23T08:30:00Z", "uri": FILE_URI.format("b22")},
    {"name": "files/c333", "mimeType": "audio/wav", "sizeBytes": "12", "state": "FAILED"},
]


@pytest.fixture
def listing(api):
    pages = {None: {"files": FILES[:1], "nextPageToken": "p2"}, "p2": {"files": FILES[1:2], "nextPageToken": "p3"},
             "p3": {"files": FILES[2:]}}

    def handle(request):
        from test_files_api import json_response

        assert request.headers["x-goog-api-key"] == API_KEY
        return json_response(pages[request.args.get("pageToken")])

    api.server.expect_request("/v1beta/files", method="GET").respond_with_handler(handle)
    return api


def test_files_list_table_follows_every_page(listing):
    result = run(["files", "list"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "NAME        DISPLAY NAME     MIME TYPE        SIZE       STATE       EXPIRES\n"
        "files/a1    Holiday video    video/mp4        100.0 MiB  ACTIVE      2026-05-22 10:00 UTC\n"
        "files/b22   notes multiline  application/pdf  2.00 KiB   PROCESSING  2026-05-23 08:30 UTC\n"
        "files/c333                   audio/wav        12 B       FAILED\n"
    )
    assert [r.args.get("pageToken") for r, _ in listing.server.log] == [None, "p2", "p3"]


def test_files_list_json(listing):
    result = run(["files", "list", "--json"])
    assert json.loads(result.stdout) == FILES


def test_files_list_empty(api):
    api.server.expect_request("/v1beta/files", method="GET").respond_with_json({"files": []})
    result = run(["files", "list"])
    assert (result.exit_code, result.stdout) == (0, "")
    assert "no uploaded files" in result.stderr
    assert run(["files", "list", "--json"]).stdout == "[]\n"


@pytest.mark.parametrize("name", ["files/abc", "abc", FILE_URI.format("abc")])
def test_files_get_accepts_every_form_of_name(fake, name):
    added = fake.add("abc")
    result = run(["files", "get", name])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == added
    assert fake.gets() == ["/v1beta/files/abc"]


def test_files_get_missing_is_exit_4(fake):
    result = run(["files", "get", "nope"])
    assert result.exit_code == 4
    assert "HTTP 404 NOT_FOUND: File nope does not exist." in result.stderr


def test_files_get_bad_name_is_exit_2(fake):
    result = run(["files", "get", "Not A Name"])
    assert result.exit_code == 2 and "not a Files API file name" in result.stderr
    assert fake.log() == []


def test_files_delete_several_and_forget_them_in_the_cache(fake, png, home):
    run(["upload", str(png)])
    fake.add("other")
    result = run(["files", "delete", "files/file1", FILE_URI.format("other")])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "deleted files/file1" in result.stderr and "deleted files/other" in result.stderr
    assert [(r.method, r.path) for r in fake.log() if r.method == "DELETE"] == [
        ("DELETE", "/v1beta/files/file1"), ("DELETE", "/v1beta/files/other")]
    assert cache(home)["entries"] == []


def test_files_delete_stops_at_the_first_failure(fake):
    fake.add("a")
    result = run(["files", "delete", "a", "missing", "a"])
    assert result.exit_code == 4
    assert [r.path for r in fake.log()] == ["/v1beta/files/a", "/v1beta/files/missing"]


def test_files_without_a_subcommand_shows_help():
    result = run(["files"])
    assert "list" in result.stdout + result.stderr and "delete" in result.stdout + result.stderr
