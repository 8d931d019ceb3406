"""Prompt + attachments -> Interactions API content blocks (interactions-api.md §3.2).

Pure and local: nothing here talks to the network. An attachment is a local file, binary
stdin ("-"), an http(s) URL (sent by ``uri``, never downloaded), or a Files API file
(``files/<id>`` or its ``https://.../v1beta/files/<id>`` uri).

Choices:
* MIME type (tables and sniffing in mime.py): ``--mime`` override > file-name extension
  (our table, then stdlib mimetypes) > magic bytes of the first HEAD_SIZE bytes >
  "text/plain" if the head is UTF-8 without NULs.
* Local files are read only for their head; the size comes from stat. Non-regular files
  (``-a <(cmd)``, /dev/stdin) cannot be re-read, so they are read once, like stdin: kept
  in memory up to INLINE_LIMIT; past it (it will be uploaded) copied in blocks to a
  private temporary file, removed at exit, so a big stream is never whole in memory.
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

import base64
import os
import re
import select
import stat
import tempfile
import time
from dataclasses import dataclass, replace
from typing import Any, BinaryIO, Callable
from urllib.parse import unquote, urlsplit

from gemini_cli.backoff import capped
from gemini_cli.errors import NetworkError, UsageError
from gemini_cli.request.mime import block_type, check_mime, detect_mime, mime_from_name

HEAD_SIZE = 512  # bytes read from a file to sniff its type
INLINE_LIMIT = 20 * 1024 * 1024  # whole request, per the docs (§3.2, §8.4)


def read_within(stream: Any, limit: int, seconds: float | None) -> bytes:
    """Up to `limit` bytes of a text stream's binary side, to its end; with `seconds`
    (--max-time), a writer that keeps the pipe open without sending ends the wait: exit 7."""
    if seconds is None or not hasattr(stream, "buffer"):
        return stream.buffer.read(limit) if hasattr(stream, "buffer") else stream.read(limit).encode()
    return within(stream.buffer, seconds, "stdin").read(limit)


def within(stream: Any, seconds: float | None, what: str) -> Any:
    """A binary stream (stdin, a pipe, a device) whose reads end at the --max-time deadline
    `seconds` from now (exit 7 naming `what`), when it has a descriptor; else the stream."""
    if seconds is None:
        return stream
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):  # a test runner's stdin: no descriptor
        return stream
    return _Within(fd, seconds, what)


class _Within:
    """read(n) on a descriptor, waiting in select() no longer than the deadline: a writer that
    keeps the pipe open without sending cannot hold the run past --max-time."""

    def __init__(self, fd: int, seconds: float, what: str):
        self.fd, self.seconds, self.what = fd, seconds, what
        self.end = time.monotonic() + seconds

    def read(self, limit: int = -1) -> bytes:
        parts, size = [], 0
        while limit < 0 or size < limit:
            left = self.end - time.monotonic()
            ready = select.select([self.fd], [], [], capped(left))[0] if left > 0 else []
            if not ready:
                if self.end - time.monotonic() > 0:  # a wait cut to MAX_WAIT: the deadline is further away
                    continue
                raise NetworkError(f"gave up: the --max-time deadline of {self.seconds:g}s was reached (reading {self.what})")
            data = os.read(self.fd, 1 << 20 if limit < 0 else min(1 << 20, limit - size))
            if not data:
                break
            parts.append(data)
            size += len(data)
        return b"".join(parts)
SPILL_BLOCK = 1024 * 1024  # copy size when a big stream goes to a temporary file


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


def _remote_kind(mime: str, source: str) -> str:
    # Text by uri cannot become a text block (we never download it): send it as a document.
    kind = block_type(mime, source)
    return "document" if kind == "text" else kind


def resolve_attachment(
    spec: str,
    mime_override: str | None,
    open_stdin: Callable[[], BinaryIO | None],
    *,
    max_size: int | None = None,
    copy: bool = True,
    max_time: float | None = None,
) -> Attachment:
    """Turn one ``--attach`` value into an Attachment (see the module docstring).

    Raises UsageError for a missing, unreadable, empty or unsupported file, empty stdin,
    and a URL whose type cannot be told without ``--mime``. ``max_size`` and ``copy``
    are read_once's, for stdin and pipes; ``max_time`` (--max-time) bounds the wait for them.
    """
    mime = check_mime(mime_override)
    once: dict[str, Any] = {"max_size": max_size, "copy": copy, "max_time": max_time}
    if spec == "-":
        stream = open_stdin()
        data, copy_path, size = read_once(stream, "stdin", **once) if stream is not None else (b"", None, 0)
        if not size:
            raise UsageError("stdin is empty")
        return _from_bytes("stdin", None, data, mime, source="-", copy=copy_path, size=size)

    lowered = spec[:8].lower()
    if lowered.startswith(("http://", "https://")):
        return _from_url(spec, mime)

    path = os.path.expanduser(spec)
    if _FILES_NAME.fullmatch(spec) and not os.path.lexists(path):
        kind = _remote_kind(mime, spec) if mime else None
        return Attachment(spec, None, mime, kind, None, file_name=spec)
    return _from_path(spec, path, mime, once)


def _from_url(spec: str, mime: str | None) -> Attachment:
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


def open_error(spec: str, exc: OSError) -> UsageError:
    """The exit-2 error for a local file that cannot be opened, naming it."""
    if isinstance(exc, FileNotFoundError):
        return UsageError(f"{spec}: no such file")
    if isinstance(exc, IsADirectoryError):
        return UsageError(f"{spec}: is a directory, not a file")
    if isinstance(exc, PermissionError):
        return UsageError(f"{spec}: permission denied")
    return UsageError(f"{spec}: cannot read: {exc.strerror or exc}")


def _from_path(spec: str, path: str, mime: str | None, once: dict[str, Any]) -> Attachment:
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if stat.S_ISREG(st.st_mode):
                head, data, size = f.read(HEAD_SIZE), None, st.st_size
            elif stat.S_ISDIR(st.st_mode):  # some platforms open directories
                raise UsageError(f"{spec}: is a directory, not a file")
            else:  # a pipe or device: can be read once only
                data, copy, size = read_once(f, spec, **once)
    except OSError as exc:
        raise open_error(spec, exc) from None
    if size == 0:
        raise UsageError(f"{spec}: file is empty")
    name = os.path.basename(path.rstrip("/\\")) or spec
    if data is not None:
        return _from_bytes(spec, name, data, mime, source=spec, copy=copy, size=size)
    mime = mime or detect_mime(name, head)
    if mime is None:
        raise UsageError(f"{spec}: cannot tell the file's type; pass --mime (for example --mime image/png)")
    return Attachment(spec, name, mime, block_type(mime, spec), size, path=path)


def _from_bytes(label: str, name: str | None, data: bytes, mime: str | None, *, source: str,
                copy: str | None = None, size: int | None = None) -> Attachment:
    """Bytes read once (stdin, a pipe); ``copy``: the temporary file holding them all,
    when there were too many to keep (``data`` is then only their head)."""
    mime = mime or detect_mime(name, data[:HEAD_SIZE])
    if mime is None:
        raise UsageError(f"{label}: cannot tell the type of the data; pass --mime (for example --mime image/png)")
    if copy is not None or (size or 0) > len(data):  # a copy, or (--dry-run) only the head was read
        return Attachment(source, name, mime, block_type(mime, label), size, path=copy)
    return Attachment(source, name, mime, block_type(mime, label), len(data), data=data)


def read_once(f: BinaryIO, label: str, *, max_size: int | None = None, copy: bool = True,
              max_time: float | None = None) -> tuple[bytes, str | None, int]:
    """Read a stream that cannot be read again: (bytes, None, size) when it fits in
    INLINE_LIMIT; else (its first HEAD_SIZE bytes, a temporary copy's path, size). A
    stream that big must be uploaded anyway, and the upload reads the copy in chunks.

    The copy stops (exit 2, copy removed) past ``max_size`` (the upload limit): an endless
    stream (``-a /dev/urandom``) must not fill the disk. ``copy=False`` (--dry-run, which
    uploads nothing) copies nothing: the size is then only known to be over INLINE_LIMIT.
    ``max_time``: a stream that stays open without sending ends the wait at --max-time (exit 7)."""
    f = within(f, max_time, label)
    data = f.read(INLINE_LIMIT + 1)
    if len(data) <= INLINE_LIMIT or not copy:
        return data if len(data) <= INLINE_LIMIT else data[:HEAD_SIZE], None, len(data)

    try:
        fd, name = tempfile.mkstemp(prefix="gemini-cli-attachment-")  # 0600, O_EXCL
        # Unlinked at once and reached through the descriptor: nothing is left in $TMPDIR,
        # even after SIGKILL. The descriptor stays open (in _COPIES) until the process ends.
        os.unlink(name)
        _COPIES.append(fd)
        path = _fd_path(fd)
        with open(os.dup(fd), "wb") as out:
            out.write(data)
            size = len(data)
            while block := f.read(SPILL_BLOCK):
                size += len(block)
                if max_size is not None and size > max_size:
                    break
                out.write(block)
    except OSError as exc:
        raise UsageError(f"{label}: cannot keep a temporary copy for the upload: {exc.strerror or exc}") from None
    if max_size is not None and size > max_size:
        _COPIES.remove(fd)
        os.close(fd)  # the copy's blocks are freed with its last descriptor
        raise UsageError(f"{label}: more than {max_size // 1024**3} GiB, over the upload limit per file (stopped reading there)")
    return data[:HEAD_SIZE], path, size


_COPIES: list[int] = []  # descriptors of the unlinked temporary copies


def _fd_path(fd: int) -> str:
    """A name that opens the file behind `fd` afresh (its own offset), though it is unlinked."""
    proc = f"/proc/self/fd/{fd}"
    return proc if os.path.exists(proc) else f"/dev/fd/{fd}"


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
