"""Prompt + attachments -> Interactions API content blocks (interactions-api.md §3.2).

Pure and local: nothing here talks to the network. An attachment is a local file, binary
stdin ("-"), an http(s) URL (sent by ``uri``, never downloaded), or a Files API file
(``files/<id>`` or its ``https://.../v1beta/files/<id>`` uri).

Choices:
* MIME type: ``--mime`` override > file-name extension (our table, then stdlib mimetypes)
  > magic bytes of the first HEAD_SIZE bytes > "text/plain" if the head is UTF-8 without NULs.
* Local files are read only for their head; the size comes from stat. Non-regular files
  (``-a <(cmd)``, /dev/stdin) cannot be re-read, so they are read whole, like stdin.
* Text files (text/*, JSON, YAML, ...) are sent as a text block holding the file's content,
  as-is. The caller may add the file name (``att.name``) as a separate text block when
  several are attached. By uri (URL, Files API) text cannot be inlined, so it goes as a
  ``document`` block with its text MIME type.
* Files API names: when ``files/<id>`` names no local path, it is a Files API name. Its
  uri (and, without ``--mime``, its MIME type) is known only to the Files API: such an
  attachment has ``needs_lookup`` set; the caller GETs the file and calls
  ``complete_remote``. A Files API uri without ``--mime`` needs the same lookup.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, replace
from typing import Any, Callable

from gemini_cli.errors import UsageError

HEAD_SIZE = 512  # bytes read from a file to sniff its type
INLINE_LIMIT = 20 * 1024 * 1024  # whole request, per the docs (§3.2, §8.4)

_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_DOTX = "application/vnd.openxmlformats-officedocument.wordprocessingml.template"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ODP = "application/vnd.oasis.opendocument.presentation"
_ODT = "application/vnd.oasis.opendocument.text"
_ODS = "application/vnd.oasis.opendocument.spreadsheet"

# Extension -> MIME type, using the names the API enumerates (§3.2) where it has one.
EXTENSIONS: dict[str, str] = {
    # images
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
    "heic": "image/heic", "heif": "image/heif", "gif": "image/gif", "bmp": "image/bmp",
    "tif": "image/tiff", "tiff": "image/tiff",
    # audio
    "wav": "audio/wav", "mp3": "audio/mp3", "aiff": "audio/aiff", "aif": "audio/aiff",
    "aac": "audio/aac", "ogg": "audio/ogg", "oga": "audio/ogg", "opus": "audio/opus",
    "flac": "audio/flac", "m4a": "audio/m4a", "weba": "audio/webm",
    # video
    "mp4": "video/mp4", "mpeg": "video/mpeg", "mpg": "video/mpeg", "mov": "video/mov",
    "avi": "video/avi", "flv": "video/x-flv", "webm": "video/webm", "wmv": "video/wmv",
    "3gp": "video/3gpp",
    # documents
    "pdf": "application/pdf", "csv": "text/csv", "pptx": _PPTX,
    "ppt": "application/vnd.ms-powerpoint", "odp": _ODP, "docx": _DOCX,
    "doc": "application/msword", "dotx": _DOTX, "odt": _ODT, "xlsx": _XLSX,
    "xls": "application/vnd.ms-excel", "ods": _ODS,
    # text (sent as text blocks)
    "txt": "text/plain", "md": "text/markdown", "markdown": "text/markdown",
    "html": "text/html", "htm": "text/html", "xml": "application/xml",
    "json": "application/json", "yaml": "application/x-yaml", "yml": "application/x-yaml",
    "py": "text/x-python", "js": "text/javascript", "ts": "text/x-typescript",
    "c": "text/x-c", "h": "text/x-c", "cpp": "text/x-c++", "java": "text/x-java",
    "go": "text/x-go", "rs": "text/x-rust", "rb": "text/x-ruby", "sh": "application/x-sh",
    "css": "text/css", "sql": "application/sql", "toml": "application/toml",
    "ini": "text/plain", "log": "text/plain",
}

DOCUMENT_TYPES = frozenset({
    "application/pdf", "text/csv", _PPTX, "application/vnd.ms-powerpoint", _ODP, _DOCX,
    "application/msword", _DOTX, _ODT, _XLSX, "application/vnd.ms-excel", _ODS,
})

# Non-text/* types whose content is text.
TEXT_APPLICATION_TYPES = frozenset({
    "application/json", "application/xml", "application/x-yaml", "application/yaml",
    "application/javascript", "application/x-javascript", "application/ecmascript",
    "application/x-sh", "application/x-shellscript", "application/sql", "application/toml",
    "application/x-python", "application/x-httpd-php", "application/ld+json",
    "application/x-ndjson", "application/xhtml+xml",
})

# ftyp brands (ISO base media file format, bytes 8..12)
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"heif"}
_M4A_BRANDS = {b"M4A ", b"M4B "}


def mime_from_name(name: str | None) -> str | None:
    """MIME type from a file name's extension: our table, then stdlib mimetypes."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base.strip("."):
        return None
    ext = base.rsplit(".", 1)[-1].lower()
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    import mimetypes

    guess, encoding = mimetypes.guess_type(base, strict=False)
    if encoding:  # x.tar.gz is gzip data, not a tar file
        return "application/gzip" if encoding == "gzip" else f"application/x-{encoding}"
    # octet-stream says nothing; let the content decide.
    return guess if guess and guess != "application/octet-stream" else None


def _sniff(head: bytes) -> str | None:
    """MIME type from magic bytes, or None."""
    h = head
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if h.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if h[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if h[:4] == b"RIFF" and len(h) >= 12:
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/avi"}.get(h[8:12])
    # "BM" alone matches plain text; also require a known DIB header size.
    if h[:2] == b"BM" and len(h) >= 18 and int.from_bytes(h[14:18], "little") in (12, 40, 52, 56, 64, 108, 124):
        return "image/bmp"
    if h[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if h[4:8] == b"ftyp":
        brand = h[8:12]
        if brand in _HEIC_BRANDS:
            return "image/heic"
        if brand in _HEIF_BRANDS:
            return "image/heif"
        if brand == b"avif":
            return "image/avif"
        if brand in _M4A_BRANDS:
            return "audio/m4a"
        if brand == b"qt  ":
            return "video/mov"
        if brand.startswith(b"3g"):
            return "video/3gpp"
        return "video/mp4"  # isom, iso2, mp41, mp42, avc1, dash, M4V ...
    if h.startswith(b"%PDF-"):
        return "application/pdf"
    if h.startswith(b"ID3") or h[:2] in (b"\xff\xfb", b"\xff\xfa", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mp3"
    if h[:2] in (b"\xff\xf1", b"\xff\xf9"):
        return "audio/aac"
    if h.startswith(b"fLaC"):
        return "audio/flac"
    if h.startswith(b"OggS"):
        return "audio/ogg"
    if h[:4] == b"FORM" and h[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if h.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/x-matroska" if b"matroska" in h else "video/webm"
    if h[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "video/mpeg"
    if h.startswith(b"FLV\x01"):
        return "video/x-flv"
    if h.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "video/wmv"  # ASF container
    if h.startswith(b"PK\x03\x04"):
        # OpenDocument stores its MIME type uncompressed as the first zip member.
        if h[30:38] == b"mimetype":
            n = int.from_bytes(h[18:22], "little")
            odf = h[38:38 + n]
            if len(odf) == n and odf.startswith(b"application/vnd.oasis.opendocument."):
                return odf.decode("ascii")
        return "application/zip"
    return None


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    import codecs

    try:  # incremental: a multi-byte character cut off at the end of the head is fine
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_mime(name: str | None, head: bytes) -> str | None:
    """MIME type from the name's extension, else the content's magic bytes, else text/plain
    for UTF-8 text without NULs; None when nothing fits."""
    return mime_from_name(name) or _sniff(head) or ("text/plain" if _looks_like_text(head) else None)


def _is_text(mime: str) -> bool:
    return (
        mime.startswith("text/")
        or mime in TEXT_APPLICATION_TYPES
        or mime.endswith(("+json", "+xml", "+yaml"))
    )


def block_type(mime: str, name: str | None = None) -> str:
    """Content block type for a MIME type: image | audio | video | document | text.

    Raises UsageError naming ``name`` (the attachment as given) for anything else.
    """
    mime = mime.lower()
    for prefix in ("image", "audio", "video"):
        if mime.startswith(prefix + "/"):
            return prefix
    if mime in DOCUMENT_TYPES:
        return "document"
    if _is_text(mime):
        return "text"
    where = f"{name}: " if name else ""
    raise UsageError(f"{where}type {mime} is not supported by the API; pass --mime to override")


@dataclass(frozen=True)
class Attachment:
    """One attachment. Its bytes are in exactly one place: ``path``, ``data`` or ``uri``
    (a Files API name alone, ``file_name``, until ``complete_remote`` adds the uri)."""

    source: str  # as given: path, URL, "files/<id>" or "-"
    name: str | None  # display name (file basename), None for stdin and Files API
    mime: str | None  # None only while needs_lookup
    kind: str | None  # block type; None only while needs_lookup
    size: int | None  # bytes; None for URLs and Files API files
    path: str | None = None
    data: bytes | None = None  # stdin (and non-regular files) only
    uri: str | None = None
    file_name: str | None = None  # "files/<id>" when it is a Files API file

    @property
    def needs_lookup(self) -> bool:
        """True when the Files API must be asked for the uri or the MIME type."""
        return self.file_name is not None and (self.uri is None or self.mime is None)

    @property
    def inline(self) -> bool:
        return self.uri is None and self.file_name is None


_FILES_NAME = re.compile(r"files/[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
_FILES_URI_PATH = re.compile(r"(?:/[^/]+)*/v1[a-z0-9]*/(files/[a-z0-9-]{1,40})")


def _check_mime(mime: str | None) -> str | None:
    if mime is None:
        return None
    mime = mime.strip().lower()
    if not re.fullmatch(r"[a-z0-9][\w.+-]*/[\w.+-]+", mime):
        raise UsageError(f"--mime {mime!r} is not a MIME type (for example image/png)")
    return mime


def _remote_kind(mime: str, source: str) -> str:
    # Text by uri cannot become a text block (we never download it): send it as a document.
    kind = block_type(mime, source)
    return "document" if kind == "text" else kind


def resolve_attachment(
    spec: str,
    mime_override: str | None,
    stdin_bytes_reader: Callable[[], bytes],
) -> Attachment:
    """Turn one ``--attach`` value into an Attachment (see the module docstring).

    Raises UsageError for a missing, unreadable, empty or unsupported file, empty stdin,
    and a URL whose type cannot be told without ``--mime``.
    """
    mime = _check_mime(mime_override)
    if spec == "-":
        data = stdin_bytes_reader()
        if not data:
            raise UsageError("stdin is empty")
        return _from_bytes("stdin", None, data, mime, source="-")

    lowered = spec[:8].lower()
    if lowered.startswith(("http://", "https://")):
        return _from_url(spec, mime)

    path = os.path.expanduser(spec)
    if _FILES_NAME.fullmatch(spec) and not os.path.lexists(path):
        kind = _remote_kind(mime, spec) if mime else None
        return Attachment(spec, None, mime, kind, None, file_name=spec)
    return _from_path(spec, path, mime)


def _from_url(spec: str, mime: str | None) -> Attachment:
    from urllib.parse import unquote, urlsplit

    url_path = unquote(urlsplit(spec).path)
    m = _FILES_URI_PATH.fullmatch(url_path)
    file_name = m.group(1) if m else None
    base = url_path.rsplit("/", 1)[-1] or None
    if mime is None and file_name is None:
        mime = mime_from_name(base)
        if mime is None:
            raise UsageError(f"{spec}: cannot tell the type of this URL from its name; pass --mime (for example --mime image/png)")
    kind = _remote_kind(mime, spec) if mime else None
    return Attachment(spec, None if file_name else base, mime, kind, None, uri=spec, file_name=file_name)


def _from_path(spec: str, path: str, mime: str | None) -> Attachment:
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if stat.S_ISREG(st.st_mode):
                head, data, size = f.read(HEAD_SIZE), None, st.st_size
            else:  # a pipe or device: can be read once only
                data = f.read()
                head, size = data[:HEAD_SIZE], len(data)
    except FileNotFoundError:
        raise UsageError(f"{spec}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{spec}: is a directory, not a file") from None
    except PermissionError:
        raise UsageError(f"{spec}: permission denied") from None
    except OSError as e:
        raise UsageError(f"{spec}: cannot read: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):  # some platforms open directories
        raise UsageError(f"{spec}: is a directory, not a file")
    if size == 0:
        raise UsageError(f"{spec}: file is empty")
    name = os.path.basename(path.rstrip("/\\")) or spec
    if data is not None:
        return _from_bytes(spec, name, data, mime, source=spec)
    mime = mime or detect_mime(name, head)
    if mime is None:
        raise UsageError(f"{spec}: cannot tell the file's type; pass --mime (for example --mime image/png)")
    return Attachment(spec, name, mime, block_type(mime, spec), size, path=path)


def _from_bytes(label: str, name: str | None, data: bytes, mime: str | None, *, source: str) -> Attachment:
    mime = mime or detect_mime(name, data[:HEAD_SIZE])
    if mime is None:
        raise UsageError(f"{label}: cannot tell the type of the data; pass --mime (for example --mime image/png)")
    return Attachment(source, name, mime, block_type(mime, label), len(data), data=data)


def complete_remote(att: Attachment, *, uri: str, mime: str) -> Attachment:
    """Fill in a Files API attachment from the File resource (``uri``, ``mimeType``).
    A ``--mime`` given by the user is kept."""
    mime = att.mime or mime.split(";")[0].strip().lower()
    return replace(att, uri=att.uri or uri, mime=mime, kind=_remote_kind(mime, att.source))


def _read_all(att: Attachment) -> bytes:
    if att.data is not None:
        return att.data
    try:
        with open(att.path, "rb") as f:  # type: ignore[arg-type]
            return f.read()
    except OSError as e:
        raise UsageError(f"{att.source}: cannot read: {e.strerror or e}") from None


def content_block(att: Attachment) -> dict[str, Any]:
    """The API content block for an attachment (keys: type, data|uri, mime_type)."""
    if att.uri is not None or att.file_name is not None:
        if att.needs_lookup:
            raise ValueError(f"{att.source}: look the file up with the Files API first (complete_remote)")
        return {"type": att.kind, "uri": att.uri, "mime_type": att.mime}
    raw = _read_all(att)
    if att.kind == "text":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            label = "stdin" if att.source == "-" else att.source
            raise UsageError(
                f"{label}: not UTF-8 text (invalid byte at offset {e.start}); pass --mime to send it as another type"
            ) from None
        return {"type": "text", "text": text}
    import base64

    return {"type": att.kind, "data": base64.b64encode(raw).decode("ascii"), "mime_type": att.mime}


def inline_size(att: Attachment) -> int:
    """Bytes the attachment adds to the request: base64 length inline, the raw size for
    text, 0 by uri."""
    if not att.inline:
        return 0
    n = att.size or 0
    return n if att.kind == "text" else 4 * ((n + 2) // 3)


def plan_uploads(attachments: list[Attachment], limit: int = INLINE_LIMIT, *, overhead: int = 0) -> list[Attachment]:
    """Attachments to send through the Files API so the request stays within ``limit``.

    ``overhead`` counts the rest of the body (prompt, history). Nothing is uploaded while
    the total fits; otherwise the largest inline non-text attachments (local files and
    stdin bytes) go first until the rest fits. Text is never uploaded. Order: as chosen.
    """
    total = overhead + sum(inline_size(a) for a in attachments)
    if total <= limit:
        return []
    candidates = [a for a in attachments if a.inline and a.kind != "text"]
    candidates.sort(key=inline_size, reverse=True)  # stable: ties keep their order
    chosen = []
    for att in candidates:
        if total <= limit:
            break
        chosen.append(att)
        total -= inline_size(att)
    return chosen


def build_input(prompt_text: str | None, blocks: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """The request's ``input``: the plain prompt when nothing is attached, else the
    attachment blocks followed by the prompt as a text block (media before the question)."""
    if not blocks:
        if not prompt_text:
            raise UsageError("nothing to send: give a prompt or an attachment")
        return prompt_text
    out = list(blocks)
    if prompt_text:
        out.append({"type": "text", "text": prompt_text})
    return out


def user_input_step(input: str | dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any]:
    """A ``user_input`` step for an input (to record and resend stateless history)."""
    if isinstance(input, str):
        content = [{"type": "text", "text": input}]
    elif isinstance(input, dict):
        content = [input]
    else:
        content = list(input)
    return {"type": "user_input", "content": content}
