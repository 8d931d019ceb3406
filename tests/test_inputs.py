"""gemini_cli.request.inputs: MIME sniffing, attachments, content blocks, upload planning. Offline, pure."""

from __future__ import annotations

import builtins
import io

import pytest

from gemini_cli.request import inputs
from gemini_cli.errors import ExitCode, UsageError
from gemini_cli.request.inputs import (
    Attachment,
    block_type,
    build_input,
    complete_remote,
    content_block,
    detect_mime,
    inline_size,
    plan_uploads,
    resolve_attachment,
    user_input_step,
)

PNG = b"\x89PNG\r\n\x1a\n\xfb\xff\xfe\xff"  # base64 iVBORw0KGgr7//7/ (has "/")
JPEG = b"\xff\xd8\xff\xe0\xfb\xef\xff"  # base64 /9j/4Pvv/w==
PDF = b"%PDF-1.7\n\xfb\xff"  # base64 JVBERi0xLjcK+/8= (has "+" and "/")


def no_stdin():
    raise AssertionError("stdin must not be read")


def usage_error(fn, *args) -> str:
    with pytest.raises(UsageError) as info:
        fn(*args)
    assert info.value.exit_code == ExitCode.USAGE
    return info.value.message


# ---------------------------------------------------------------- detect_mime

EXT_CASES = [
    ("a.png", "image/png"), ("a.jpg", "image/jpeg"), ("a.jpeg", "image/jpeg"), ("a.webp", "image/webp"),
    ("a.heic", "image/heic"), ("a.heif", "image/heif"), ("a.gif", "image/gif"), ("a.bmp", "image/bmp"),
    ("a.tif", "image/tiff"), ("a.tiff", "image/tiff"),
    ("a.wav", "audio/wav"), ("a.mp3", "audio/mp3"), ("a.aiff", "audio/aiff"), ("a.aif", "audio/aiff"),
    ("a.aac", "audio/aac"), ("a.ogg", "audio/ogg"), ("a.oga", "audio/ogg"), ("a.opus", "audio/opus"),
    ("a.flac", "audio/flac"), ("a.m4a", "audio/m4a"), ("a.weba", "audio/webm"),
    ("a.mp4", "video/mp4"), ("a.mpeg", "video/mpeg"), ("a.mpg", "video/mpeg"), ("a.mov", "video/mov"),
    ("a.avi", "video/avi"), ("a.flv", "video/x-flv"), ("a.webm", "video/webm"), ("a.wmv", "video/wmv"),
    ("a.3gp", "video/3gpp"),
    ("a.pdf", "application/pdf"), ("a.csv", "text/csv"),
    ("a.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("a.ppt", "application/vnd.ms-powerpoint"),
    ("a.odp", "application/vnd.oasis.opendocument.presentation"),
    ("a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("a.doc", "application/msword"),
    ("a.dotx", "application/vnd.openxmlformats-officedocument.wordprocessingml.template"),
    ("a.odt", "application/vnd.oasis.opendocument.text"),
    ("a.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("a.xls", "application/vnd.ms-excel"),
    ("a.ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("a.txt", "text/plain"), ("a.md", "text/markdown"), ("a.markdown", "text/markdown"),
    ("a.html", "text/html"), ("a.htm", "text/html"), ("a.xml", "application/xml"),
    ("a.json", "application/json"), ("a.yaml", "application/x-yaml"), ("a.yml", "application/x-yaml"),
    ("a.py", "text/x-python"), ("a.js", "text/javascript"), ("a.ts", "text/x-typescript"),
    ("a.c", "text/x-c"), ("a.h", "text/x-c"), ("a.cpp", "text/x-c++"), ("a.java", "text/x-java"),
    ("a.go", "text/x-go"), ("a.rs", "text/x-rust"), ("a.rb", "text/x-ruby"), ("a.sh", "application/x-sh"),
    ("a.css", "text/css"), ("a.sql", "application/sql"), ("a.toml", "application/toml"),
    ("a.ini", "text/plain"), ("a.log", "text/plain"),
    # case-insensitive, directories and several dots
    ("DIR.d/Photo.JPG", "image/jpeg"), ("archive.tar.pdf", "application/pdf"),
    # not in our table: stdlib mimetypes
    ("a.zip", "application/zip"), ("a.tar.gz", "application/gzip"), ("notes.txt.bz2", "application/x-bzip2"),
]


@pytest.mark.parametrize(("name", "mime"), EXT_CASES)
def test_detect_mime_by_extension(name, mime):
    assert detect_mime(name, b"\x00\x01binary") == mime


MAGIC_CASES = [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    (b"GIF87a\x01\x00", "image/gif"),
    (b"GIF89a\x01\x00", "image/gif"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00", "image/bmp"),
    (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
    (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic"),
    (b"\x00\x00\x00\x18ftypheix\x00\x00\x00\x00", "image/heic"),
    (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00", "image/heif"),
    (b"%PDF-1.4\n%\xe2\xe3", "application/pdf"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
    (b"ID3\x04\x00\x00\x00\x00", "audio/mp3"),
    (b"\xff\xfb\x90\x64\x00", "audio/mp3"),
    (b"\xff\xf3\x90\x64\x00", "audio/mp3"),
    (b"\xff\xf2\x90\x64\x00", "audio/mp3"),
    (b"fLaC\x00\x00\x00\x22", "audio/flac"),
    (b"OggS\x00\x02\x00\x00", "audio/ogg"),
    (b"FORM\x00\x00\x10\x00AIFFCOMM", "audio/aiff"),
    (b"\xff\xf1\x50\x80\x02", "audio/aac"),
    (b"\xff\xf9\x50\x80\x02", "audio/aac"),
    (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "video/mp4"),
    (b"\x00\x00\x00\x20ftypmp41\x00\x00\x00\x00", "video/mp4"),
    (b"\x00\x00\x00\x20ftypmp42\x00\x00\x00\x00", "video/mp4"),
    (b"\x00\x00\x00\x20ftypavc1\x00\x00\x00\x00", "video/mp4"),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", "video/mov"),
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "audio/m4a"),
    (b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x00", "video/3gpp"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
    (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"),
    (b"RIFF\x24\x00\x00\x00AVI LIST", "video/avi"),
    (b"\x00\x00\x01\xba\x44\x00", "video/mpeg"),
    (b"\x00\x00\x01\xb3\x14\x00", "video/mpeg"),
    (b"FLV\x01\x05\x00\x00\x00\x09", "video/x-flv"),
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "application/zip"),
    # text fallback
    (b"hello, world\n", "text/plain"),
    ("caf\u00e9 \u2603\n".encode(), "text/plain"),
    ("ab\u2603".encode()[:-1], "text/plain"),  # a multi-byte char cut off by the head
    (b"BM is a plain text line, not a bitmap", "text/plain"),
    (b"", "text/plain"),
    # nothing fits
    (b"\x00\x01\x02\x03binary", None),
    (b"\xc3\x28\xa0\xa1", None),  # not UTF-8, no NUL
]


@pytest.mark.parametrize(("head", "mime"), MAGIC_CASES)
def test_detect_mime_by_magic(head, mime):
    assert detect_mime(None, head) == mime


def test_detect_mime_magic_when_extension_unknown_or_uninformative():
    assert detect_mime("picture", PNG) == "image/png"
    assert detect_mime("blob.bin", PNG) == "image/png"  # octet-stream says nothing
    assert detect_mime("notes", b"plain words") == "text/plain"
    assert detect_mime("blob.bin", b"\x00\x01") is None


def test_detect_mime_extension_wins_over_magic():
    assert detect_mime("photo.png", JPEG) == "image/png"
    assert detect_mime("data.json", PDF) == "application/json"


def test_detect_mime_opendocument_from_zip_header():
    mt = b"application/vnd.oasis.opendocument.text"
    head = b"PK\x03\x04" + b"\x00" * 14 + len(mt).to_bytes(4, "little") * 2 + b"\x08\x00\x00\x00" + b"mimetype" + mt
    assert detect_mime(None, head) == "application/vnd.oasis.opendocument.text"


# ---------------------------------------------------------------- block_type

@pytest.mark.parametrize(
    ("mime", "kind"),
    [
        ("image/png", "image"), ("image/heic", "image"), ("image/avif", "image"),
        ("audio/mp3", "audio"), ("audio/wav", "audio"), ("Audio/OGG", "audio"),
        ("video/mp4", "video"), ("video/x-flv", "video"),
        ("application/pdf", "document"), ("text/csv", "document"),
        ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "document"),
        ("application/vnd.ms-powerpoint", "document"),
        ("application/vnd.oasis.opendocument.presentation", "document"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document"),
        ("application/msword", "document"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.template", "document"),
        ("application/vnd.oasis.opendocument.text", "document"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "document"),
        ("application/vnd.ms-excel", "document"),
        ("application/vnd.oasis.opendocument.spreadsheet", "document"),
        ("text/plain", "text"), ("text/markdown", "text"), ("text/html", "text"), ("text/x-python", "text"),
        ("application/json", "text"), ("application/xml", "text"), ("application/x-yaml", "text"),
        ("application/javascript", "text"), ("application/x-sh", "text"), ("application/toml", "text"),
        ("application/geo+json", "text"), ("image/svg+xml", "image"),
    ],
)
def test_block_type(mime, kind):
    assert block_type(mime) == kind


def test_block_type_unsupported():
    assert usage_error(block_type, "application/zip", "bundle.zip") == (
        "bundle.zip: type application/zip is not supported by the API; pass --mime to override"
    )
    assert usage_error(block_type, "application/octet-stream") == (
        "type application/octet-stream is not supported by the API; pass --mime to override"
    )


# ---------------------------------------------------------------- resolve_attachment: local files

def test_resolve_local_file_reads_only_the_head(tmp_path, monkeypatch):
    p = tmp_path / "photo.png"
    p.write_bytes(PNG + b"\x00" * 100_000)
    reads = []
    real_open = builtins.open

    def spy_open(*args, **kwargs):
        f = real_open(*args, **kwargs)
        real_read = f.read
        f_read = lambda n=-1: reads.append(n) or real_read(n)  # noqa: E731
        return _Wrapped(f, f_read)

    monkeypatch.setattr(inputs, "open", spy_open, raising=False)
    att = resolve_attachment(str(p), None, no_stdin)
    assert reads == [inputs.HEAD_SIZE]
    assert att == Attachment(source=str(p), name="photo.png", mime="image/png", kind="image",
                             size=len(PNG) + 100_000, path=str(p))
    assert att.inline and not att.needs_lookup


class _Wrapped:
    def __init__(self, f, read):
        self._f, self.read = f, read

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()

    def fileno(self):
        return self._f.fileno()


def test_resolve_local_file_by_magic_and_override(tmp_path):
    p = tmp_path / "scan"
    p.write_bytes(PDF)
    att = resolve_attachment(str(p), None, no_stdin)
    assert (att.name, att.mime, att.kind, att.size) == ("scan", "application/pdf", "document", len(PDF))
    att = resolve_attachment(str(p), " Image/JPEG ", no_stdin)
    assert (att.mime, att.kind) == ("image/jpeg", "image")


def test_resolve_local_text_file(tmp_path):
    p = tmp_path / "notes.md"
    p.write_text("# Title\ncaf\u00e9\n", encoding="utf-8")
    att = resolve_attachment(str(p), None, no_stdin)
    assert (att.mime, att.kind, att.size) == ("text/markdown", "text", 14)
    assert content_block(att) == {"type": "text", "text": "# Title\ncaf\u00e9\n"}
    assert inline_size(att) == 14


def test_resolve_missing_file(tmp_path):
    p = tmp_path / "nope.png"
    assert usage_error(resolve_attachment, str(p), None, no_stdin) == f"{p}: no such file"


def test_resolve_directory(tmp_path):
    assert usage_error(resolve_attachment, str(tmp_path), None, no_stdin) == f"{tmp_path}: is a directory, not a file"


def test_resolve_unreadable_file(tmp_path, monkeypatch):
    p = tmp_path / "secret.png"
    p.write_bytes(PNG)

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(p))

    monkeypatch.setattr(inputs, "open", deny, raising=False)
    assert usage_error(resolve_attachment, str(p), None, no_stdin) == f"{p}: permission denied"


def test_resolve_other_os_error(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(inputs, "open", fail, raising=False)
    assert usage_error(resolve_attachment, "x.png", None, no_stdin) == "x.png: cannot read: Input/output error"


def test_resolve_empty_file(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    assert usage_error(resolve_attachment, str(p), None, no_stdin) == f"{p}: file is empty"


def test_resolve_unsupported_file_type(tmp_path):
    p = tmp_path / "bundle.zip"
    p.write_bytes(b"PK\x03\x04rest")
    assert usage_error(resolve_attachment, str(p), None, no_stdin) == (
        f"{p}: type application/zip is not supported by the API; pass --mime to override"
    )
    # the override is the way out
    assert resolve_attachment(str(p), "application/pdf", no_stdin).kind == "document"


def test_resolve_unknown_binary_file(tmp_path):
    p = tmp_path / "blob"
    p.write_bytes(b"\x00\x01\x02\x03")
    assert usage_error(resolve_attachment, str(p), None, no_stdin) == (
        f"{p}: cannot tell the file's type; pass --mime (for example --mime image/png)"
    )


def test_resolve_bad_mime_override(tmp_path):
    assert usage_error(resolve_attachment, "x.png", "png", no_stdin) == (
        "--mime 'png' is not a MIME type (for example image/png)"
    )


def test_resolve_pipe_is_read_whole(tmp_path):
    import os

    r, w = os.pipe()
    os.write(w, JPEG)
    os.close(w)
    try:
        att = resolve_attachment(f"/dev/fd/{r}", None, no_stdin)
    finally:
        os.close(r)
    assert (att.name, att.mime, att.kind, att.size, att.data, att.path) == (str(r), "image/jpeg", "image", 7, JPEG, None)
    assert content_block(att) == {"type": "image", "data": "/9j/4Pvv/w==", "mime_type": "image/jpeg"}


# ---------------------------------------------------------------- resolve_attachment: stdin

def test_resolve_stdin_binary():
    att = resolve_attachment("-", None, lambda: io.BytesIO(PNG))
    assert att == Attachment(source="-", name=None, mime="image/png", kind="image", size=len(PNG), data=PNG)
    assert content_block(att) == {"type": "image", "data": "iVBORw0KGgr7//7/", "mime_type": "image/png"}


def test_resolve_stdin_text_and_override():
    att = resolve_attachment("-", None, lambda: io.BytesIO(b"some text"))
    assert (att.mime, att.kind) == ("text/plain", "text")
    assert content_block(att) == {"type": "text", "text": "some text"}
    att = resolve_attachment("-", "audio/wav", lambda: io.BytesIO(b"raw"))
    assert content_block(att) == {"type": "audio", "data": "cmF3", "mime_type": "audio/wav"}


def test_resolve_stdin_errors():
    assert usage_error(resolve_attachment, "-", None, lambda: io.BytesIO(b"")) == "stdin is empty"
    assert usage_error(resolve_attachment, "-", None, lambda: io.BytesIO(b"\x00\x01\x02")) == (
        "stdin: cannot tell the type of the data; pass --mime (for example --mime image/png)"
    )
    assert usage_error(resolve_attachment, "-", None, lambda: io.BytesIO(b"PK\x03\x04\x00")) == (
        "stdin: type application/zip is not supported by the API; pass --mime to override"
    )


def test_stdin_text_override_with_binary_content():
    att = resolve_attachment("-", "text/plain", lambda: io.BytesIO(b"ok \xff\xfe"))
    assert usage_error(content_block, att) == (
        "stdin: not UTF-8 text (invalid byte at offset 3); pass --mime to send it as another type"
    )


def test_local_text_file_not_utf8(tmp_path):
    p = tmp_path / "latin.txt"
    p.write_bytes(b"caf\xe9")
    att = resolve_attachment(str(p), None, no_stdin)
    assert usage_error(content_block, att) == (
        f"{p}: not UTF-8 text (invalid byte at offset 3); pass --mime to send it as another type"
    )


# ---------------------------------------------------------------- resolve_attachment: URLs and Files API

def test_resolve_url_by_extension():
    url = "https://example.com/media/clip.MP4?sig=abc"
    att = resolve_attachment(url, None, no_stdin)
    assert att == Attachment(source=url, name="clip.MP4", mime="video/mp4", kind="video", size=None, uri=url)
    assert content_block(att) == {"type": "video", "uri": url, "mime_type": "video/mp4"}
    assert inline_size(att) == 0


def test_resolve_url_override_and_text_as_document():
    url = "http://example.com/download"
    att = resolve_attachment(url, "audio/mp3", no_stdin)
    assert content_block(att) == {"type": "audio", "uri": url, "mime_type": "audio/mp3"}
    att = resolve_attachment("https://example.com/README.md", None, no_stdin)
    assert content_block(att) == {"type": "document", "uri": "https://example.com/README.md", "mime_type": "text/markdown"}


def test_resolve_url_errors():
    assert usage_error(resolve_attachment, "https://example.com/download", None, no_stdin) == (
        "https://example.com/download: cannot tell the type of this URL from its name; "
        "pass --mime (for example --mime image/png)"
    )
    assert usage_error(resolve_attachment, "https://example.com/a.zip", None, no_stdin) == (
        "https://example.com/a.zip: type application/zip is not supported by the API; pass --mime to override"
    )


def test_resolve_files_api_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    att = resolve_attachment("files/abc-123", None, no_stdin)
    assert att == Attachment(source="files/abc-123", name=None, mime=None, kind=None, size=None, file_name="files/abc-123")
    assert att.needs_lookup and not att.inline
    with pytest.raises(ValueError):
        content_block(att)
    done = complete_remote(att, uri="https://generativelanguage.googleapis.com/v1beta/files/abc-123", mime="image/png")
    assert not done.needs_lookup
    assert content_block(done) == {
        "type": "image", "uri": "https://generativelanguage.googleapis.com/v1beta/files/abc-123", "mime_type": "image/png",
    }
    # --mime is kept; the uri still has to come from the Files API
    att = resolve_attachment("files/abc-123", "application/pdf", no_stdin)
    assert (att.kind, att.needs_lookup) == ("document", True)
    done = complete_remote(att, uri="https://h/v1beta/files/abc-123", mime="text/plain; charset=utf-8")
    assert content_block(done) == {"type": "document", "uri": "https://h/v1beta/files/abc-123", "mime_type": "application/pdf"}
    # text uploaded to the Files API is referenced as a document
    done = complete_remote(resolve_attachment("files/abc-123", None, no_stdin), uri="u", mime="text/plain; charset=utf-8")
    assert content_block(done) == {"type": "document", "uri": "u", "mime_type": "text/plain"}


def test_local_path_shaped_like_files_name_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "abc").write_bytes(PNG)
    att = resolve_attachment("files/abc", None, no_stdin)
    assert (att.path, att.mime, att.file_name) == ("files/abc", "image/png", None)


def test_resolve_files_api_uri():
    uri = "https://generativelanguage.googleapis.com/v1beta/files/x7k2q9"
    att = resolve_attachment(uri, None, no_stdin)
    assert (att.uri, att.file_name, att.mime, att.name, att.needs_lookup) == (uri, "files/x7k2q9", None, None, True)
    done = complete_remote(att, uri="ignored", mime="video/mp4")
    assert content_block(done) == {"type": "video", "uri": uri, "mime_type": "video/mp4"}
    att = resolve_attachment(uri, "video/mp4", no_stdin)
    assert not att.needs_lookup
    assert content_block(att) == {"type": "video", "uri": uri, "mime_type": "video/mp4"}


# ---------------------------------------------------------------- content_block

def test_content_block_inline_each_kind_key_order(tmp_path):
    cases = [("a.png", PNG, "image", "image/png", "iVBORw0KGgr7//7/"),
             ("a.jpg", JPEG, "image", "image/jpeg", "/9j/4Pvv/w=="),
             ("a.pdf", PDF, "document", "application/pdf", "JVBERi0xLjcK+/8="),
             ("a.mp3", b"ID3\xfb\xff", "audio", "audio/mp3", "SUQz+/8="),
             ("a.webm", b"\x1a\x45\xdf\xa3\xfb\xff", "video", "video/webm", "GkXfo/v/")]
    for name, data, kind, mime, b64 in cases:
        p = tmp_path / name
        p.write_bytes(data)
        block = content_block(resolve_attachment(str(p), None, no_stdin))
        assert block == {"type": kind, "data": b64, "mime_type": mime}
        assert list(block) == ["type", "data", "mime_type"]


def test_content_block_uri_key_order():
    block = content_block(resolve_attachment("https://e.com/a.wav", None, no_stdin))
    assert list(block) == ["type", "uri", "mime_type"]
    assert block == {"type": "audio", "uri": "https://e.com/a.wav", "mime_type": "audio/wav"}


def test_content_block_file_vanished(tmp_path):
    p = tmp_path / "a.png"
    p.write_bytes(PNG)
    att = resolve_attachment(str(p), None, no_stdin)
    p.unlink()
    assert usage_error(content_block, att) == f"{p}: cannot read: No such file or directory"


# ---------------------------------------------------------------- sizes and upload planning

def _att(size, kind="image", **kw):
    return Attachment(source=f"f{size}", name=None, mime="image/png", kind=kind, size=size, path=f"f{size}", **kw)


@pytest.mark.parametrize(("n", "b64"), [(0, 0), (1, 4), (2, 4), (3, 4), (4, 8), (20, 28), (3_000_000, 4_000_000)])
def test_inline_size_is_base64_length(n, b64):
    assert inline_size(_att(n)) == b64


def test_inline_size_text_and_stdin():
    assert inline_size(_att(10, kind="text")) == 10
    assert inline_size(resolve_attachment("-", None, lambda: io.BytesIO(b"\x89PNG\r\n\x1a\nx"))) == 12


def test_plan_uploads_nothing_when_within_limit():
    atts = [_att(300), _att(450)]  # 400 + 600 base64 bytes
    assert plan_uploads(atts, limit=1000) == []
    assert plan_uploads(atts, limit=999) == [atts[1]]


def test_plan_uploads_largest_first_until_it_fits():
    a, b, c, d = _att(300), _att(900), _att(600), _att(150)  # 400, 1200, 800, 200
    assert plan_uploads([a, b, c, d], limit=2000) == [b]  # 2600 -> 1400
    assert plan_uploads([a, b, c, d], limit=600) == [b, c]  # 2600 -> 1400 -> 600
    assert plan_uploads([a, b, c, d], limit=599) == [b, c, a]  # -> 200
    assert plan_uploads([a, b, c, d], limit=100) == [b, c, a, d]


def test_plan_uploads_skips_text_and_uris_and_counts_overhead():
    text = _att(3000, kind="text")
    url = Attachment("https://e/a.png", "a.png", "image/png", "image", None, uri="https://e/a.png")
    img = _att(300)  # 400
    stdin = resolve_attachment("-", "image/png", lambda: io.BytesIO(b"x" * 30))  # 40
    assert plan_uploads([text, url, img, stdin], limit=3439) == [img]  # 3440 -> 3040
    assert plan_uploads([text, url, img, stdin], limit=3039) == [img, stdin]  # -> 3000
    assert plan_uploads([img], limit=500) == []
    assert plan_uploads([text], limit=100) == []  # over, but text is never uploaded
    assert plan_uploads([img], limit=500, overhead=101) == [img]


def test_plan_uploads_default_limit_is_20_mib():
    just = _att(3 * (20 * 1024 * 1024 // 4))  # base64 exactly 20 MiB
    assert plan_uploads([just]) == []
    assert plan_uploads([just, _att(1)]) == [just]


# ---------------------------------------------------------------- build_input / user_input_step

def test_build_input_plain_prompt():
    assert build_input("Hello", []) == "Hello"


def test_build_input_blocks_then_prompt():
    img = {"type": "image", "data": "AAAA", "mime_type": "image/png"}
    doc = {"type": "document", "uri": "u", "mime_type": "application/pdf"}
    assert build_input("What is this?", [img, doc]) == [img, doc, {"type": "text", "text": "What is this?"}]
    assert build_input(None, [img]) == [img]
    assert build_input("", [img]) == [img]


def test_build_input_nothing():
    assert usage_error(build_input, None, []) == "nothing to send: give a prompt or an attachment"


def test_user_input_step():
    assert user_input_step("hi") == {"type": "user_input", "content": [{"type": "text", "text": "hi"}]}
    blocks = [{"type": "image", "uri": "u", "mime_type": "image/png"}, {"type": "text", "text": "q"}]
    step = user_input_step(blocks)
    assert step == {"type": "user_input", "content": blocks}
    assert step["content"] is not blocks
    assert user_input_step({"type": "text", "text": "x"}) == {"type": "user_input", "content": [{"type": "text", "text": "x"}]}


# ---------------------------------------------------------------- streams too big to keep in memory


class Recording(io.BytesIO):
    """A stream that remembers the size of every read asked of it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, size=-1):
        self.asked.append(size)
        return super().read(size)


def test_a_stream_that_fits_inline_stays_in_memory(monkeypatch):
    monkeypatch.setattr(inputs, "INLINE_LIMIT", 100)
    data = b"\x89PNG\r\n\x1a\n" + b"x" * 92  # exactly the limit
    assert inputs.read_once(Recording(data), "stdin") == (data, None, 100)


def test_a_stream_past_the_inline_limit_goes_to_a_private_temporary_copy(monkeypatch, tmp_path):
    import os
    import stat as stat_module

    monkeypatch.setattr(inputs, "INLINE_LIMIT", 100)
    monkeypatch.setattr(inputs, "SPILL_BLOCK", 64)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read again
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2
    stream = Recording(data)
    att = resolve_attachment("-", None, lambda: stream)
    # Never more than the inline limit (+1, to know it is past it) in one read, then blocks.
    assert stream.asked[0] == 101 and all(0 < n <= 64 for n in stream.asked[1:])
    assert (att.source, att.name, att.mime, att.kind, att.size, att.data) == ("-", None, "image/png", "image", len(data), None)
    # The copy was made in TMPDIR and unlinked at once: reached through its descriptor only,
    # so nothing is left behind, even after SIGKILL.
    assert os.readlink(att.path).startswith(str(tmp_path / "gemini-cli-attachment-"))
    assert os.readlink(att.path).endswith(" (deleted)") and os.listdir(tmp_path) == ["home"]  # only the fixture's
    assert open(att.path, "rb").read() == data
    assert open(att.path, "rb").read() == data  # each open reads from the start
    assert stat_module.S_IMODE(os.stat(att.path).st_mode) == 0o600
    assert plan_uploads([att], limit=100) == [att]  # it is uploaded, from the copy


def test_a_big_pipe_attachment_is_copied_too(monkeypatch, tmp_path):
    import os
    import threading

    monkeypatch.setattr(inputs, "INLINE_LIMIT", 1000)
    data = b"%PDF-1.7\n" + b"y" * 5000
    r, w = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(w, data), os.close(w)))
    writer.start()
    try:
        att = resolve_attachment(f"/dev/fd/{r}", None, no_stdin)
    finally:
        writer.join()
        os.close(r)
    assert (att.name, att.mime, att.kind, att.size, att.data) == (str(r), "application/pdf", "document", len(data), None)
    assert open(att.path, "rb").read() == data


def test_a_copy_that_cannot_be_written_is_a_usage_error(monkeypatch):
    import tempfile

    monkeypatch.setattr(inputs, "INLINE_LIMIT", 10)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    with pytest.raises(UsageError) as info:
        inputs.read_once(io.BytesIO(b"z" * 20), "stdin")
    assert str(info.value) == "stdin: cannot keep a temporary copy for the upload: No space left on device"
