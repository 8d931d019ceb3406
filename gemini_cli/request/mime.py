"""MIME types: the extension table, magic-byte sniffing, and which content block type
(interactions-api.md §3.2) each MIME type maps to. Pure; used by inputs.py and `upload`.

Detection order (detect_mime): the file name's extension (EXTENSIONS, then the stdlib's
mimetypes) > the magic bytes of the content's head (sniff) > "text/plain" when the head
is UTF-8 without NULs. Block types (block_type): image/*, audio/*, video/* -> the same
name; DOCUMENT_TYPES -> document; text/*, TEXT_APPLICATION_TYPES and +json/+xml/+yaml ->
text; anything else is refused (UsageError, exit 2).
"""

from __future__ import annotations

import codecs
import mimetypes
import re

from gemini_cli.errors import UsageError

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

    guess, encoding = mimetypes.guess_type(base, strict=False)
    if encoding:  # x.tar.gz is gzip data, not a tar file
        return "application/gzip" if encoding == "gzip" else f"application/x-{encoding}"
    # octet-stream says nothing; let the content decide.
    return guess if guess and guess != "application/octet-stream" else None


def sniff(head: bytes) -> str | None:
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


def looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False

    try:  # incremental: a multi-byte character cut off at the end of the head is fine
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_mime(name: str | None, head: bytes) -> str | None:
    """MIME type from the name's extension, else the content's magic bytes, else text/plain
    for UTF-8 text without NULs; None when nothing fits."""
    return mime_from_name(name) or sniff(head) or ("text/plain" if looks_like_text(head) else None)


def is_text(mime: str) -> bool:
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
    if is_text(mime):
        return "text"
    where = f"{name}: " if name else ""
    raise UsageError(f"{where}type {mime} is not supported by the API; pass --mime to override")


def check_mime(mime: str | None) -> str | None:
    """A --mime value, lower-cased; UsageError when it is not type/subtype."""
    if mime is None:
        return None
    mime = mime.strip().lower()
    if not re.fullmatch(r"[a-z0-9][\w.+-]*/[\w.+-]+", mime):
        raise UsageError(f"--mime {mime!r} is not a MIME type (for example image/png)")
    return mime


# MIME types of answers (response_format, §3.3) that no attachment extension names.
_ANSWER_EXTENSIONS = {"audio/mpeg": "mp3", "audio/ogg_opus": "ogg", "audio/l16": "pcm", "audio/pcm": "pcm",
                      "audio/alaw": "alaw", "audio/mulaw": "mulaw", "audio/x-wav": "wav", "video/jpeg2000": "jp2"}


def extension_for(mime: str | None) -> str:
    """A file extension (no dot) for a media answer's MIME type; parameters such as
    `;rate=24000` are ignored; "bin" when the type is unknown."""
    base = (mime or "").split(";", 1)[0].strip().lower()
    if base in _ANSWER_EXTENSIONS:
        return _ANSWER_EXTENSIONS[base]
    for ext, known in EXTENSIONS.items():
        if known == base:
            return ext
    return "bin"
