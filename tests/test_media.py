"""`generate -a/--attach` (and chat's /attach) against loopback fakes of the Interactions
API and the Files API (test_files_api.FakeFiles): the exact request body for every kind of
attachment, the Files API lookups, the 20 MB switch to uploading, --dry-run, attachments in
saved conversations, and every error path (exit 2, nothing sent)."""

from __future__ import annotations

import base64
import json
import os
import sys

import pytest

from conftest import run_checked as run
from conftest import sse, text_events
from gemini_cli.request import inputs
from gemini_cli.runs import media
from gemini_cli.api import files as files_api
from gemini_cli.api.client import user_agent
from gemini_cli.errors import UsageError
from test_files_api import FILE_URI, FakeFiles, fake_for_cli

PNG = b"\x89PNG\r\n\x1a\n\xfb\xff\xfe\xff"  # base64 iVBORw0KGgr7//7/
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00audio"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2video"
PDF = b"%PDF-1.7\n\xfb\xff"  # base64 JVBERi0xLjcK+/8=
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00"
INTERACTIONS = "/v1beta/interactions"
MODEL = "gemini-3-flash-preview"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture
def fake(api, monkeypatch):
    return fake_for_cli(api, monkeypatch)


def answer(api, text: str = "ok", **kwargs) -> None:
    """Queue one streamed answer (a one-shot handler: Files API requests may come first)."""
    api.server.expect_oneshot_request(INTERACTIONS, method="POST").respond_with_data(
        sse(text_events(text, **kwargs)), content_type="text/event-stream"
    )


def sent(api) -> list[dict]:
    """The bodies POSTed to /interactions, in order. In server mode a turn with attachments
    sends its content list in one user_input step (as the SDK does; checked here): its
    `input` is shown as those blocks, which is what these tests look at."""
    bodies = [json.loads(r.get_data()) for r, _ in api.server.log if r.path == INTERACTIONS]
    for body in bodies:
        if body.get("store", True) and isinstance(body.get("input"), list):
            [step] = body["input"]
            assert set(step) == {"type", "content"} and step["type"] == "user_input", step
            body["input"] = step["content"]
    return bodies


def shown_blocks(stdout: str) -> list[dict]:
    """The content blocks of the one user_input step a --dry-run request shows."""
    [step] = json.loads(stdout.split("\n\n", 1)[1])["input"]
    assert step["type"] == "user_input"
    return step["content"]


def body(input) -> dict:
    return {"model": MODEL, "input": input, "stream": True}


def nothing_sent(api) -> bool:
    return [r.path for r, _ in api.server.log] == []


@pytest.fixture
def files(tmp_path):
    """Write a file in tmp_path: files("cat.png", PNG) -> its path as a string."""

    def write(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return write


# -- inline: one block per type --------------------------------------------------------------


@pytest.mark.parametrize("name, data, block", [
    ("cat.png", PNG, {"type": "image", "data": "iVBORw0KGgr7//7/", "mime_type": "image/png"}),
    ("photo.JPG", b"\xff\xd8\xff\xe0jpeg", {"type": "image", "data": b64(b"\xff\xd8\xff\xe0jpeg"), "mime_type": "image/jpeg"}),
    ("voice.mp3", MP3, {"type": "audio", "data": b64(MP3), "mime_type": "audio/mp3"}),
    ("song.wav", b"RIFF\x00\x00\x00\x00WAVEfmt ", {"type": "audio", "data": b64(b"RIFF\x00\x00\x00\x00WAVEfmt "), "mime_type": "audio/wav"}),
    ("clip.mp4", MP4, {"type": "video", "data": b64(MP4), "mime_type": "video/mp4"}),
    ("report.pdf", PDF, {"type": "document", "data": "JVBERi0xLjcK+/8=", "mime_type": "application/pdf"}),
    ("table.csv", b"a,b\n1,2\n", {"type": "document", "data": b64(b"a,b\n1,2\n"), "mime_type": "text/csv"}),
    ("notes.txt", "héllo\nworld\n".encode(), {"type": "text", "text": "héllo\nworld\n"}),
    ("config.json", b'{"a": 1}', {"type": "text", "text": '{"a": 1}'}),
    ("main.py", b"print('hi')\n", {"type": "text", "text": "print('hi')\n"}),
])
def test_inline_body_for_each_block_type(api, files, name, data, block):
    answer(api)
    result = run(["generate", "-a", files(name, data), "Describe it"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")
    assert sent(api) == [body([block, {"type": "text", "text": "Describe it"}])]


@pytest.mark.parametrize("name, data, mime", [
    ("picture", PNG, "image/png"),
    ("doc", PDF, "application/pdf"),
    ("sound.bin", MP3, "audio/mp3"),
    ("movie", MP4, "video/mp4"),
])
def test_the_content_decides_when_the_name_does_not(api, files, name, data, mime):
    answer(api)
    assert run(["generate", "-a", files(name, data), "q"]).exit_code == 0
    assert sent(api)[0]["input"][0] == {"type": mime.split("/")[0].replace("application", "document"),
                                        "data": b64(data), "mime_type": mime}


def test_several_attachments_keep_their_order_and_the_prompt_goes_last(api, files):
    answer(api)
    a, b = files("b.pdf", PDF), files("a.png", PNG)
    assert run(["generate", "-a", a, "--attach", b, "Compare"]).exit_code == 0
    assert sent(api) == [body([
        {"type": "document", "data": b64(PDF), "mime_type": "application/pdf"},
        {"type": "image", "data": b64(PNG), "mime_type": "image/png"},
        {"type": "text", "text": "Compare"},
    ])]


def test_an_attachment_without_a_prompt(api, files):
    answer(api)
    assert run(["generate", "-a", files("cat.png", PNG)]).exit_code == 0
    assert sent(api) == [body([{"type": "image", "data": b64(PNG), "mime_type": "image/png"}])]


def test_piped_text_is_the_prompt_when_a_file_is_attached(api, files):
    answer(api)
    assert run(["generate", "-a", files("cat.png", PNG), "and this"], input="from stdin\n").exit_code == 0
    assert sent(api)[0]["input"][1] == {"type": "text", "text": "from stdin\n\nand this"}


# -- URLs and Files API names ----------------------------------------------------------------


@pytest.mark.parametrize("url, block", [
    ("https://example.com/pics/cat.jpg", {"type": "image", "mime_type": "image/jpeg"}),
    ("http://example.com/talk.MP3?sig=1#t", {"type": "audio", "mime_type": "audio/mp3"}),
    ("https://storage.googleapis.com/b/paper.pdf", {"type": "document", "mime_type": "application/pdf"}),
    ("https://example.com/readme.txt", {"type": "document", "mime_type": "text/plain"}),  # text by uri: a document
])
def test_urls_are_passed_by_uri_not_downloaded(api, url, block):
    answer(api)
    result = run(["generate", "-a", url, "q"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert sent(api) == [body([{"type": block["type"], "uri": url, "mime_type": block["mime_type"]}, {"type": "text", "text": "q"}])]
    assert [r.path for r, _ in api.server.log] == [INTERACTIONS]


def test_a_url_without_a_type_needs_mime(api):
    result = run(["generate", "-a", "https://example.com/picture", "q"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "gemini-cli: error: https://example.com/picture: cannot tell the type of this URL from its name; "
        "pass --mime (for example --mime image/png)\n"
    )
    assert nothing_sent(api)
    answer(api)
    assert run(["generate", "-a", "https://example.com/picture", "--mime", "image/webp", "q"]).exit_code == 0
    assert sent(api)[0]["input"][0] == {"type": "image", "uri": "https://example.com/picture", "mime_type": "image/webp"}


def test_a_files_api_name_is_looked_up_and_waited_for(api, fake):
    fake.add("abc", mime="video/mp4", states=("PROCESSING", "PROCESSING", "PROCESSING", "ACTIVE"))
    answer(api)
    result = run(["generate", "-a", "files/abc", "What happens?"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "gemini-cli: waiting for files/abc to be processed by the Files API (state PROCESSING)\n"
    assert [(r.method, r.path) for r, _ in api.server.log] == [("GET", "/v1beta/files/abc")] * 3 + [("POST", INTERACTIONS)]
    assert sent(api) == [body([
        {"type": "video", "uri": FILE_URI.format("abc"), "mime_type": "video/mp4"},
        {"type": "text", "text": "What happens?"},
    ])]


def test_an_upload_uri_is_looked_up_for_its_type_and_sent_as_given(api, fake):
    fake.add("xyz-1", mime="application/pdf", states=("PROCESSING", "ACTIVE"))
    uri = "https://generativelanguage.googleapis.com/v1beta/files/xyz-1"
    answer(api)
    result = run(["generate", "-q", "-a", uri, "Summarise"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert fake.gets() == ["/v1beta/files/xyz-1"]
    assert sent(api)[0]["input"][0] == {"type": "document", "uri": uri, "mime_type": "application/pdf"}


def test_an_upload_uri_with_mime_is_not_looked_up(api, fake):
    uri = FILE_URI.format("xyz")
    answer(api)
    assert run(["generate", "-a", uri, "--mime", "audio/ogg", "q"]).exit_code == 0
    assert fake.gets() == []
    assert sent(api)[0]["input"][0] == {"type": "audio", "uri": uri, "mime_type": "audio/ogg"}


def test_a_files_api_name_with_mime_keeps_the_given_type(api, fake):
    fake.add("abc", mime="video/mp4")
    answer(api)
    assert run(["generate", "-a", "files/abc", "--mime", "video/webm", "q"]).exit_code == 0
    assert sent(api)[0]["input"][0] == {"type": "video", "uri": FILE_URI.format("abc"), "mime_type": "video/webm"}


def test_a_local_file_named_like_a_files_api_name_wins(api, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "abc").write_bytes(PNG)
    answer(api)
    assert run(["generate", "-a", "files/abc", "q"]).exit_code == 0
    assert sent(api)[0]["input"][0] == {"type": "image", "data": b64(PNG), "mime_type": "image/png"}


def test_a_missing_files_api_file_is_exit_4_and_nothing_is_generated(api, fake):
    result = run(["generate", "-a", "files/gone", "q"])
    assert (result.exit_code, result.stdout) == (4, "")
    # said once (as `files get` says it), not once more by the attachment
    assert result.stderr == ("gemini-cli: error: files/gone: no such file (uploads are deleted after 48 hours): "
                             "HTTP 404 NOT_FOUND: File gone does not exist.\n")
    assert sent(api) == []


def test_a_failed_files_api_file_is_exit_4_with_the_reason(api, fake):
    fake.add("bad", states=("PROCESSING", "FAILED"))
    result = run(["generate", "-q", "-a", "files/bad", "q"])
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr == "gemini-cli: error: files/bad: the Files API could not process the file: the video codec is not supported\n"
    assert sent(api) == []


# -- binary stdin and --mime -----------------------------------------------------------------


@pytest.mark.parametrize("data, block", [
    (PNG, {"type": "image", "data": b64(PNG), "mime_type": "image/png"}),
    (PDF, {"type": "document", "data": b64(PDF), "mime_type": "application/pdf"}),
    (MP3, {"type": "audio", "data": b64(MP3), "mime_type": "audio/mp3"}),
    (MP4, {"type": "video", "data": b64(MP4), "mime_type": "video/mp4"}),
    ("plain words\n".encode(), {"type": "text", "text": "plain words\n"}),
])
def test_binary_stdin_is_sniffed_from_its_magic_bytes(api, data, block):
    answer(api)
    result = run(["generate", "-a", "-", "What is this?"], input=data)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")
    assert sent(api) == [body([block, {"type": "text", "text": "What is this?"}])]


def test_mime_overrides_detection(api, files):
    answer(api)
    assert run(["generate", "--mime", "audio/wav", "-a", "-", "q"], input=b"\x00\x01raw pcm").exit_code == 0
    answer(api)
    assert run(["generate", "-a", files("scan.txt", PDF), "--mime", "Application/PDF", "q"]).exit_code == 0
    assert [b["input"][0] for b in sent(api)] == [
        {"type": "audio", "data": b64(b"\x00\x01raw pcm"), "mime_type": "audio/wav"},
        {"type": "document", "data": b64(PDF), "mime_type": "application/pdf"},
    ]


def test_mime_applies_to_every_attachment(api, files):
    answer(api)
    result = run(["generate", "-a", files("a.dat", b"\x01\x02"), "-a", files("b.png", b"\x03"), "--mime", "image/heic", "q"])
    assert result.exit_code == 0, result.stderr
    assert sent(api)[0]["input"][:2] == [
        {"type": "image", "data": b64(b"\x01\x02"), "mime_type": "image/heic"},
        {"type": "image", "data": b64(b"\x03"), "mime_type": "image/heic"},
    ]


def test_a_bad_mime_value_is_exit_2(api, files):
    result = run(["generate", "-a", files("cat.png", PNG), "--mime", "png", "q"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "gemini-cli: error: --mime 'png' is not a MIME type (for example image/png)\n"
    assert nothing_sent(api)


def test_stdin_attached_twice_is_exit_2(api):
    result = run(["generate", "-a", "-", "-a", "-", "q"], input=PNG)
    assert (result.exit_code, result.stderr) == (2, "gemini-cli: error: --attach - (stdin) can be given only once\n")
    assert nothing_sent(api)


def test_stdin_at_a_terminal_is_refused_without_waiting():
    class Tty:
        closed = False

        def isatty(self):
            return True

        def read(self):
            raise AssertionError("must not wait on a terminal")

    with pytest.raises(UsageError) as info:
        media.resolve_all(["-"], None, Tty())
    assert info.value.message.startswith("--attach -: stdin is a terminal; pipe the data in")


# -- the 20 MB switch to the Files API ---------------------------------------------------------


@pytest.fixture
def small_limit(monkeypatch):
    """A 3000-byte request limit instead of 20 MB (the rule is the same, the test fast)."""
    monkeypatch.setattr(inputs, "INLINE_LIMIT", 3000)


def test_over_the_limit_the_largest_is_uploaded_first_then_referenced(api, fake, files, small_limit):
    fake.states = ["PROCESSING", "ACTIVE"]
    big = MP4 + bytes(range(256)) * 9  # 2337 bytes: base64 3116
    video, picture = files("big.mp4", big), files("cat.png", PNG)
    answer(api)
    result = run(["generate", "-a", picture, "-a", video, "Describe both"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert result.stderr == (
        "gemini-cli: the request would be over 2.93 KiB with everything inline: uploading 1 attachment through the Files API\n"
        "gemini-cli: waiting for files/file1 to be processed by the Files API (state PROCESSING)\n"
    )
    assert fake.received() == big
    start = fake.upload_requests()[0]
    assert json.loads(start.get_data()) == {"file": {"display_name": "big.mp4", "mime_type": "video/mp4", "size_bytes": len(big)}}
    assert start.headers["X-Goog-Upload-File-Name"] == "big.mp4"
    assert [c for c, _, _ in fake.exchange()] == ["start", "upload", "upload", "upload, finalize"]
    paths = [r.path for r, _ in api.server.log]
    assert paths[-2:] == ["/v1beta/files/file1", INTERACTIONS]  # ACTIVE before the request
    assert sent(api) == [body([
        {"type": "image", "data": b64(PNG), "mime_type": "image/png"},
        {"type": "video", "uri": FILE_URI.format("file1"), "mime_type": "video/mp4"},
        {"type": "text", "text": "Describe both"},
    ])]


def test_under_the_limit_nothing_is_uploaded(api, fake, files, small_limit):
    answer(api)
    data = b"\x00" * 2200  # base64 2936 + a 10-byte prompt: under 3000
    assert run(["generate", "-a", files("a.wav", data), "--mime", "audio/wav", "0123456789"]).exit_code == 0
    assert fake.upload_requests() == []
    assert sent(api)[0]["input"][0]["data"] == b64(data)


def test_the_prompt_counts_towards_the_limit(api, fake, files, small_limit):
    answer(api)
    data = b"\x00" * 2200
    assert run(["generate", "-q", "-a", files("a.wav", data), "x" * 100]).exit_code == 0
    assert fake.received() == data
    assert sent(api)[0]["input"][0] == {"type": "audio", "uri": FILE_URI.format("file1"), "mime_type": "audio/wav"}


def test_the_largest_are_chosen_to_upload_text_never(api, fake, files, small_limit):
    answer(api)
    text = "t" * 1700  # never uploaded: with it, both others must go
    a, b, c = files("a.png", PNG + b"a" * 1000), files("b.pdf", PDF + b"b" * 1500), files("c.txt", text.encode())
    result = run(["generate", "-a", a, "-a", b, "-a", c, "q"])
    assert result.exit_code == 0, result.stderr
    assert "uploading 2 attachments through the Files API" in result.stderr
    assert [s["mime"] for s in fake.sessions.values()] == ["image/png", "application/pdf"]  # in the order given
    assert sent(api)[0]["input"] == [
        {"type": "image", "uri": FILE_URI.format("file1"), "mime_type": "image/png"},
        {"type": "document", "uri": FILE_URI.format("file2"), "mime_type": "application/pdf"},
        {"type": "text", "text": text},
        {"type": "text", "text": "q"},
    ]


def test_large_binary_stdin_is_uploaded_without_a_name(api, fake, small_limit):
    data = PDF + b"p" * 3000
    answer(api)
    result = run(["generate", "-q", "-a", "-", "Summarise"], input=data)
    assert result.exit_code == 0, result.stderr
    start = fake.upload_requests()[0]
    assert json.loads(start.get_data()) == {"file": {"mime_type": "application/pdf", "size_bytes": len(data)}}
    assert "X-Goog-Upload-File-Name" not in start.headers
    assert fake.received() == data
    assert sent(api)[0]["input"][0] == {"type": "document", "uri": FILE_URI.format("file1"), "mime_type": "application/pdf"}


def test_an_upload_is_reused_from_the_cache(api, fake, files, small_limit):
    path = files("big.mp4", MP4 + b"v" * 3000)
    answer(api)
    answer(api)
    assert run(["generate", "-a", path, "one"]).exit_code == 0
    result = run(["generate", "-a", path, "two"])
    assert result.exit_code == 0
    assert "big.mp4: already uploaded as files/file1 (same content); reusing it" in result.stderr
    assert len(fake.sessions) == 1
    assert [b["input"][0]["uri"] for b in sent(api)] == [FILE_URI.format("file1")] * 2


def test_a_failed_upload_is_exit_4_and_nothing_is_generated(api, fake, files, small_limit):
    fake.states = ["PROCESSING", "FAILED"]
    result = run(["generate", "-q", "-a", files("big.mp4", MP4 + b"v" * 3000), "q"])
    assert result.exit_code == 4
    assert result.stderr == "gemini-cli: error: files/file1: the Files API could not process the file: the video codec is not supported\n"
    assert sent(api) == []


def test_an_attachment_over_the_files_api_limit_is_exit_2_before_anything_is_sent(api, fake, files, small_limit, monkeypatch):
    monkeypatch.setattr(files_api, "MAX_FILE_SIZE", 3000)
    result = run(["generate", "-a", files("huge.mp4", MP4 + b"v" * 3000), "q"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "gemini-cli: error: huge.mp4: 2.96 KiB is too large to send inline and over the Files API's limit of 2.93 KiB per file\n"
    )
    assert nothing_sent(api)


def test_a_stateless_conversation_counts_its_resent_history(api, fake, files, small_limit):
    answer(api, "1", interaction_id="v1_1")
    answer(api, "2", interaction_id="v1_2")
    first = files("one.png", PNG + b"1" * 1200)  # base64 ~1.6 KB: fits alone
    second = files("two.png", PNG + b"2" * 1200)
    assert run(["generate", "--no-store", "-a", first, "q1"]).exit_code == 0
    assert fake.upload_requests() == []
    assert run(["generate", "-q", "-c", "-a", second, "q2"]).exit_code == 0
    assert fake.received() == PNG + b"2" * 1200  # history + both inline would pass 3000
    history, _, _, new = sent(api)[1]["input"]
    assert history["content"][0]["data"] == b64(PNG + b"1" * 1200)
    assert new == {"type": "user_input", "content": [
        {"type": "image", "uri": FILE_URI.format("file1"), "mime_type": "image/png"},
        {"type": "text", "text": "q2"},
    ]}


# -- --dry-run ----------------------------------------------------------------------------------


def dry_run_text(url: str, payload: dict) -> str:
    return "\n".join([
        f"POST {url}", "Content-Type: application/json", "Accept: text/event-stream", "Api-Revision: 2026-05-20",
        f"User-Agent: {user_agent()}", "x-goog-api-key: <redacted>", "", json.dumps(payload, ensure_ascii=False, indent=2),
    ]) + "\n"


def test_dry_run_shows_inline_attachments_and_sends_nothing(api, files):
    result = run(["generate", "--dry-run", "-a", files("cat.png", PNG), "-a", "https://example.com/a.mp3", "q"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == dry_run_text(f"{api.base_url}/v1beta/interactions", body([{"type": "user_input", "content": [
        {"type": "image", "data": b64(PNG), "mime_type": "image/png"},
        {"type": "audio", "uri": "https://example.com/a.mp3", "mime_type": "audio/mp3"},
        {"type": "text", "text": "q"},
    ]}]))
    assert nothing_sent(api)


def test_dry_run_neither_looks_up_nor_uploads(api, fake, files, small_limit):
    result = run(["generate", "--dry-run", "-a", files("big.mp4", MP4 + b"v" * 3000), "-a", "files/abc", "q"])
    assert result.exit_code == 0
    assert result.stderr == (
        "gemini-cli: the request would be over 2.93 KiB with everything inline: would upload 1 attachment through the Files API\n"
    )
    assert shown_blocks(result.stdout) == [
        {"type": "video", "uri": "<uploaded at run time>", "mime_type": "video/mp4"},
        {"type": "<files/abc block type, looked up at run time>", "uri": "<files/abc uri, looked up at run time>",
         "mime_type": "<files/abc MIME type, looked up at run time>"},
        {"type": "text", "text": "q"},
    ]
    assert nothing_sent(api)


def test_dry_run_with_binary_stdin(api):
    result = run(["generate", "--dry-run", "-a", "-"], input=PDF)
    assert result.exit_code == 0
    assert shown_blocks(result.stdout) == [
        {"type": "document", "data": b64(PDF), "mime_type": "application/pdf"}
    ]
    assert nothing_sent(api)


# -- saved conversations -----------------------------------------------------------------------


def only_conversation(home) -> dict:
    (path,) = [p for p in (home / "conversations").glob("*.json") if not p.name.startswith(".")]
    return json.loads(path.read_text())


def test_attachments_are_saved_as_sent_and_resent_verbatim_when_stateless(api, fake, files, home, small_limit):
    big = MP4 + b"v" * 3000
    answer(api, "1", interaction_id="v1_1", signature="c2ln+/==")
    answer(api, "2", interaction_id="v1_2")
    result = run(["generate", "-q", "--no-store", "-a", files("cat.png", PNG), "-a", files("big.mp4", big), "q1"])
    assert result.exit_code == 0, result.stderr
    first_input = [
        {"type": "image", "data": b64(PNG), "mime_type": "image/png"},
        {"type": "video", "uri": FILE_URI.format("file1"), "mime_type": "video/mp4"},
        {"type": "text", "text": "q1"},
    ]
    assert sent(api)[0] == {"model": MODEL, "input": [{"type": "user_input", "content": first_input}], "store": False, "stream": True}
    conv = only_conversation(home)
    assert conv["turns"][0]["input"] == [{"type": "user_input", "content": first_input}]

    os.remove(files("cat.png", b"x"))  # the files are not read again on resume
    os.remove(files("big.mp4", b"x"))
    assert run(["generate", "-c", "q2"]).exit_code == 0
    assert sent(api)[1]["input"] == [
        {"type": "user_input", "content": first_input},
        {"type": "thought", "signature": "c2ln+/=="},
        {"type": "model_output", "content": [{"type": "text", "text": "1"}]},
        {"type": "user_input", "content": [{"type": "text", "text": "q2"}]},
    ]
    assert len(fake.sessions) == 1  # nothing uploaded again


def test_server_side_turns_save_the_attachment_and_chain_by_id(api, files, home):
    answer(api, "1", interaction_id="v1_1")
    answer(api, "2", interaction_id="v1_2")
    assert run(["generate", "-a", files("cat.png", PNG), "q1"]).exit_code == 0
    assert run(["generate", "-c", "q2"]).exit_code == 0
    assert only_conversation(home)["turns"][0]["input"] == [{"type": "user_input", "content": [
        {"type": "image", "data": b64(PNG), "mime_type": "image/png"}, {"type": "text", "text": "q1"},
    ]}]
    second = sent(api)[1]
    assert (second["input"], second["previous_interaction_id"]) == ("q2", "v1_1")


# -- errors: exit 2 naming the file, nothing sent -------------------------------------------------


def usage_failure(api, args, input=None) -> str:
    result = run(args, input=input)
    assert (result.exit_code, result.stdout) == (2, "")
    assert nothing_sent(api)
    return result.stderr


def test_missing_file(api, tmp_path):
    missing = tmp_path / "nope.png"
    assert usage_failure(api, ["generate", "-a", str(missing), "q"]) == f"gemini-cli: error: {missing}: no such file\n"


def test_directory(api, tmp_path):
    assert usage_failure(api, ["generate", "-a", str(tmp_path), "q"]) == f"gemini-cli: error: {tmp_path}: is a directory, not a file\n"


def test_unreadable_file(api, files, monkeypatch):
    path = files("secret.png", PNG)
    real_open = open

    def denied(file, *args, **kwargs):  # chmod 0 is not enough: the tests may run as root
        if str(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(inputs, "open", denied, raising=False)
    assert usage_failure(api, ["generate", "-a", path, "q"]) == f"gemini-cli: error: {path}: permission denied\n"


def test_empty_file(api, files):
    path = files("empty.png", b"")
    assert usage_failure(api, ["generate", "-a", path, "q"]) == f"gemini-cli: error: {path}: file is empty\n"


def test_empty_stdin(api):
    assert usage_failure(api, ["generate", "-a", "-", "q"], input=b"") == "gemini-cli: error: stdin is empty\n"


@pytest.mark.parametrize("name, data, mime", [
    ("archive.zip", ZIP, "application/zip"),
    ("tool.exe", b"MZ\x90\x00", "application/x-msdos-program"),
    ("blob", ZIP, "application/zip"),  # no extension: the magic bytes say zip
])
def test_unsupported_type_names_the_file_and_the_type(api, files, name, data, mime):
    path = files(name, data)
    assert usage_failure(api, ["generate", "-a", path, "q"]) == (
        f"gemini-cli: error: {path}: type {mime} is not supported by the API; pass --mime to override\n"
    )


def test_unsupported_mime_override(api, files):
    path = files("cat.png", PNG)
    assert usage_failure(api, ["generate", "-a", path, "--mime", "application/octet-stream", "q"]) == (
        f"gemini-cli: error: {path}: type application/octet-stream is not supported by the API; pass --mime to override\n"
    )


def test_unsupported_stdin(api):
    assert usage_failure(api, ["generate", "-a", "-", "q"], input=ZIP) == (
        "gemini-cli: error: stdin: type application/zip is not supported by the API; pass --mime to override\n"
    )


def test_unknown_binary_content(api, files):
    path = files("mystery", b"\x00\x01\x02\x03")
    assert usage_failure(api, ["generate", "-a", path, "q"]) == (
        f"gemini-cli: error: {path}: cannot tell the file's type; pass --mime (for example --mime image/png)\n"
    )


def test_one_bad_attachment_stops_everything_even_uploads(api, fake, files, small_limit, tmp_path):
    big = files("big.mp4", MP4 + b"v" * 3000)
    missing = tmp_path / "missing.png"
    assert usage_failure(api, ["generate", "-a", big, "-a", "files/abc", "-a", str(missing), "q"]) == (
        f"gemini-cli: error: {missing}: no such file\n"
    )


def test_text_that_is_not_utf8_is_refused_before_any_upload(api, fake, files, small_limit):
    big = files("big.mp4", MP4 + b"v" * 3000)
    latin = files("notes.txt", "café".encode("latin-1"))
    assert usage_failure(api, ["generate", "-a", big, "-a", latin, "q"]) == (
        f"gemini-cli: error: {latin}: not UTF-8 text (invalid byte at offset 3); pass --mime to send it as another type\n"
    )


# -- chat /attach ---------------------------------------------------------------------------------


def test_chat_attach_a_url_and_a_file(api, files):
    path = files("cat.png", PNG)
    answer(api, "1", interaction_id="v1_1")
    result = run(["chat"], input=f"/attach https://example.com/a.pdf\n/attach {path}\nboth\n")
    assert result.exit_code == 0, result.stderr
    assert f"attached to the next message: https://example.com/a.pdf, {path}" in result.stderr
    assert sent(api)[0]["input"] == [
        {"type": "document", "uri": "https://example.com/a.pdf", "mime_type": "application/pdf"},
        {"type": "image", "data": b64(PNG), "mime_type": "image/png"},
        {"type": "text", "text": "both"},
    ]


def test_chat_attach_a_files_api_name(api, fake):
    fake.add("abc", mime="audio/mp3", states=("PROCESSING", "ACTIVE"))
    answer(api, "1", interaction_id="v1_1")
    result = run(["chat", "-q"], input="/attach files/abc\nlisten\n")
    assert result.exit_code == 0, result.stderr
    assert sent(api)[0]["input"][0] == {"type": "audio", "uri": FILE_URI.format("abc"), "mime_type": "audio/mp3"}


def test_stdin_past_20_mb_is_uploaded_from_a_temporary_copy_removed_at_exit(api, tmp_path):
    """A real process and the real 20 MB limit: stdin is uploaded whole and the temporary
    copy is gone when the process ends. (That the copy is made in bounded reads is checked
    in test_inputs.py; the peak memory is measured by bench_upload.py --stdin.)"""
    import os
    import subprocess
    import sys

    fake = FakeFiles(api.server)
    answer(api)
    data = MP4 + bytes(range(256)) * (inputs.INLINE_LIMIT // 256 + 1)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    result = subprocess.run([sys.executable, "-m", "gemini_cli", "generate", "-q", "-a", "-", "Describe"],
                            input=data, capture_output=True, env={**os.environ, "TMPDIR": str(tmp)}, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"ok\n", b"")
    assert fake.received() == data
    assert sent(api)[0]["input"][0] == {"type": "video", "uri": FILE_URI.format("file1"), "mime_type": "video/mp4"}
    assert list(tmp.iterdir()) == []
