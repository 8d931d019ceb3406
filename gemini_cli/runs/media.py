"""Attachments -> the request's ``input``, uploading through the Files API when needed,
and the local cache of uploads shared with ``gemini-cli upload``.

build_turn_input (called by runs.pipeline.run_turn for -a/--attach):
1. every attachment is resolved first (inputs.resolve_attachment), so a missing file,
   a directory, empty stdin or an unsupported type exits 2 before anything is sent;
   ``--mime`` applies to every attachment of the turn;
2. the attachments to upload are chosen (inputs.plan_uploads): when the whole request
   (prompt, attachments as base64, and a stateless conversation's resent history) would
   pass inputs.INLINE_LIMIT (20 MB), the largest inline ones; one over the Files API's
   2 GiB limit exits 2; the others' blocks are built now (a text file that is not UTF-8
   exits 2 here, still before anything is sent);
3. Files API names (``files/<id>``, or a Files API uri without --mime) are looked up
   (GET files/<id>) for their uri and MIME type; a file still PROCESSING is waited for;
4. the chosen attachments are uploaded (or found in the upload cache) with the progress
   bar of ``upload``, and waited for until ACTIVE; their blocks reference the uri;
5. the blocks go before the prompt, in the order given (inputs.build_input).
Without a client (--dry-run) nothing is uploaded or looked up: the request shows
placeholders (PLACEHOLDER_UPLOAD, ``<... looked up at run time>``) instead.

The upload cache: ``uploads.json`` in the state folder, written atomically (0600). An entry
``{sha256, name, uri, mime, size, expiration_time, base_url}`` is found by the SHA-256 of
the content (hashed from disk in blocks, never whole in memory), the MIME type and the
base URL. Before reuse the file is fetched (GET): if it is gone (404, 403) or FAILED the
entry is dropped and the content uploaded again. Entries that expire within
EXPIRY_MARGIN are dropped when the cache is read. A corrupt cache is ignored (and
replaced at the next upload); a cache written by a newer gemini-cli is left alone.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from gemini_cli.request import inputs

from gemini_cli.state import paths
from gemini_cli.state.conversation import parse_time
from gemini_cli.api import files
from gemini_cli.errors import ApiError, UsageError
from gemini_cli.render.progress import ProgressBar, human_bytes
from gemini_cli.state.atomic import write_atomic

CACHE_NAME = "uploads.json"
CACHE_FORMAT = "gemini-cli.uploads"
CACHE_VERSION = 1
EXPIRY_MARGIN = timedelta(minutes=10)  # an entry this close to expiry is not reused
HASH_BLOCK = 1024 * 1024
PLACEHOLDER_UPLOAD = "<uploaded at run time>"


# -- build_turn_input ----------------------------------------------------------------------


def build_turn_input(
    text: str | None, attachments: list[str], mime: str | None, *, client: Any, console: Any, overhead: int = 0,
    max_time: float | None = None,
) -> Any:
    """The request ``input`` for a prompt and its -a specs (see the module docstring).

    ``overhead``: bytes of the rest of the request that count towards the 20 MB (the
    stateless history resent with this turn, see history_size).
    """
    # --dry-run (no client) sends nothing, so it copies nothing either
    atts = resolve_all(attachments, mime, console.io.stdin, copy=client is not None, max_time=max_time)
    text_size = len(text.encode("utf-8")) if text else 0
    limit = inputs.INLINE_LIMIT
    planned = inputs.plan_uploads(atts, limit, overhead=overhead + text_size)
    upload = [any(a is p for p in planned) for a in atts]
    for att in planned:
        if (att.size or 0) > files.MAX_FILE_SIZE:
            raise UsageError(
                f"{att.name or 'stdin'}: {human_bytes(att.size or 0)} is too large to send inline and over the "
                f"Files API's limit of {human_bytes(files.MAX_FILE_SIZE)} per file"
            )
    # Everything local first (files read, text checked to be UTF-8): a bad attachment
    # exits 2 before anything is looked up or uploaded.
    blocks = [inputs.content_block(a) if a.inline and not up else None for a, up in zip(atts, upload, strict=False)]
    atts = [lookup(client, a, console) if a.needs_lookup else a for a in atts]
    if planned:
        count = len(planned)
        console.note(
            f"the request would be over {human_bytes(limit)} with everything inline: "
            f"{'uploading' if client is not None else 'would upload'} {count} attachment{'s' if count > 1 else ''} "
            "through the Files API"
        )
    out = []
    for att, up, block in zip(atts, upload, blocks, strict=False):
        if up:
            att = upload_attachment(client, att, console)
        out.append(block if block is not None else inputs.content_block(att))
    return inputs.build_input(text, out)


def history_size(session: Any, store: bool) -> int:
    """Bytes of the stateless history resent with the next turn (0 in server-side mode)."""
    conversation = getattr(session, "conversation", None)
    if store or conversation is None:
        return 0
    return len(json.dumps(conversation.history_steps(), ensure_ascii=False).encode("utf-8"))


def resolve_all(specs: list[str], mime: str | None, stdin: Any, *, copy: bool = True,
                max_time: float | None = None) -> list[inputs.Attachment]:
    """Resolve every spec; binary stdin ("-": the I/O context's) is read once and may be attached once."""
    if specs.count("-") > 1:
        raise UsageError("--attach - (stdin) can be given only once")
    return [inputs.resolve_attachment(spec, mime, lambda: _open_stdin(stdin), max_size=files.MAX_FILE_SIZE,
                                      copy=copy, max_time=max_time)
            for spec in specs]


def _open_stdin(stdin: Any) -> Any:
    """Binary stdin to read once, or None when there is none."""
    if stdin is None or stdin.closed:
        return None
    try:
        tty = stdin.isatty()
    except (AttributeError, OSError, ValueError):
        tty = False
    if tty:  # never wait on a terminal
        raise UsageError("--attach -: stdin is a terminal; pipe the data in (for example: gemini-cli generate -a - < photo.jpg)")
    return stdin.buffer if hasattr(stdin, "buffer") else io.BytesIO(stdin.read().encode("utf-8"))


def lookup(client: Any, att: inputs.Attachment, console: Any) -> inputs.Attachment:
    """Complete a Files API attachment from its File resource (uri, mimeType)."""
    if client is None:
        pending = f"<{att.file_name} {{}}, looked up at run time>"
        return replace(
            att, uri=att.uri or pending.format("uri"), mime=att.mime or pending.format("MIME type"),
            kind=att.kind or pending.format("block type"),
        )
    assert att.file_name is not None  # called for an attachment that needs_lookup
    file = files.get(client, att.file_name)  # a 404 says which file, once
    file = wait_for(client, file, console)
    uri, file_mime = file.get("uri"), file.get("mimeType")
    if not uri:
        raise ApiError(f"{att.source}: the Files API returned no uri for this file", status=502)
    mime = att.mime or file_mime
    if not mime:
        raise UsageError(f"{att.source}: the Files API does not say the file's type; pass --mime")
    return inputs.complete_remote(att, uri=uri, mime=mime)


def wait_for(client: Any, file: dict[str, Any], console: Any) -> dict[str, Any]:
    """wait_active, with a note while the Files API is still processing the file."""

    def waiting(f: dict[str, Any]) -> None:
        console.note(f"waiting for {f.get('name')} to be processed by the Files API (state PROCESSING)")

    return files.wait_active(client, file, on_wait=waiting)


def upload_attachment(client: Any, att: inputs.Attachment, console: Any) -> inputs.Attachment:
    """Upload an inline attachment (or reuse a cached upload), wait until ACTIVE, and
    return it referencing the file's uri. Without a client: a placeholder uri."""
    if client is None:
        return replace(att, uri=PLACEHOLDER_UPLOAD, path=None, data=None)
    label = att.name or "stdin"
    file = upload_cached(
        client, path=att.path, data=att.data, size=att.size or 0, mime=att.mime or "application/octet-stream",
        display_name=att.name, file_name=att.name, label=label, console=console,
    )
    file = wait_for(client, file, console)
    if not file.get("uri"):
        raise ApiError(f"{label}: the Files API returned no uri for the uploaded file", status=502)
    return replace(att, uri=file["uri"], path=None, data=None)


# -- uploading with the cache --------------------------------------------------------------


def upload_cached(
    client: Any,
    *,
    path: str | None = None,
    data: bytes | None = None,
    size: int,
    mime: str,
    display_name: str | None,
    file_name: str | None,
    label: str,
    console: Any,
    force: bool = False,
    chunk_size: int | None = None,
) -> dict[str, Any]:
    """The File for this content: a live cached upload, or a new upload (with progress).
    ``file_name``: sent as X-Goog-Upload-File-Name (not the path: that may be a temporary copy)."""
    recording = console.io.recording

    digest = sha256_of(path=path, data=data)
    cache = UploadCache.load(warn=console.warn)
    # With a cassette the upload always happens: a recording must hold it, whatever this
    # machine's cache says, and a replay must ask for what was recorded.
    cached = not force and not recording.in_use()
    if cached:
        entry = cache.find(digest, mime, client.base_url)
        if entry is not None:
            file = _alive(client, entry["name"])
            if file is not None:
                console.note(f"{label}: already uploaded as {file.get('name')} (same content); reusing it (--force uploads again)")
                return file
            stale = entry["name"]
            cache.update(lambda entries: [e for e in entries if e.get("name") != stale])
    bar = ProgressBar(size, label, stream=console.stderr, enabled=False if console.quiet else None)

    def note(message: str) -> None:
        bar.clear()
        console.note(message)

    try:
        with _open_source(path, data, label) as stream:
            file = files.upload(
                client, stream, size=size, mime=mime, display_name=display_name,
                file_name_header=file_name,
                progress=bar, chunk_size=chunk_size, note=note,
            )
    finally:
        bar.close()
    entry = {
        "sha256": digest, "name": file.get("name"), "uri": file.get("uri"), "mime": mime, "size": size,
        "expiration_time": file.get("expirationTime"), "base_url": client.base_url,
    }
    if entry["name"] and not recording.replaying():  # a replayed upload is no real file
        cache.update(lambda entries: [e for e in entries if e.get("name") != entry["name"]] + [entry])
    return file


def _alive(client: Any, name: str) -> dict[str, Any] | None:
    """The cached file if it still exists and is usable, else None."""
    try:
        file = files.get(client, name)
    except ApiError as exc:
        if exc.status in (403, 404):
            return None
        raise
    if file.get("state") == "FAILED" or _expires_soon(file.get("expirationTime"), _now()):
        return None
    return file


def _open_source(path: str | None, data: bytes | None, label: str) -> Any:
    if data is not None:
        return io.BytesIO(data)
    try:
        return open(path, "rb")  # type: ignore[arg-type]
    except OSError as exc:
        raise UsageError(f"{label}: cannot read: {exc.strerror or exc}") from None


def sha256_of(*, path: str | None = None, data: bytes | None = None) -> str:
    """Hex SHA-256 of the bytes, or of the file read in HASH_BLOCK blocks."""
    if data is not None:
        return hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    buffer = bytearray(HASH_BLOCK)
    view = memoryview(buffer)
    assert path is not None  # the bytes are in path when not in data
    try:
        with open(path, "rb", buffering=0) as f:
            while n := f.readinto(buffer):
                digest.update(view[:n])
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return digest.hexdigest()


# -- the cache file ------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _expires_soon(value: Any, now: datetime) -> bool:
    when = parse_time(value)
    return when is not None and when - EXPIRY_MARGIN <= now


def cache_path() -> Any:
    return paths.state_dir() / CACHE_NAME


class UploadCache:
    """Entries of uploads.json (expired ones already dropped)."""

    def __init__(self, entries: list[dict[str, Any]], *, writable: bool = True, warn: Callable[[str], None] | None = None):
        self.entries = entries
        self.writable = writable
        self.warn = warn or (lambda message: None)

    @classmethod
    def load(cls, *, warn: Callable[[str], None] | None = None, now: datetime | None = None) -> "UploadCache":
        path = cache_path()
        warn = warn or (lambda message: None)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls([], warn=warn)
        except OSError as exc:
            warn(f"upload cache {path} cannot be read ({exc.strerror or exc}); not using it")
            return cls([], writable=False, warn=warn)
        try:
            doc = json.loads(raw)
            if not isinstance(doc, dict) or doc.get("format") != CACHE_FORMAT:
                raise ValueError("not an upload cache")
            version = doc.get("version")
            if isinstance(version, int) and version > CACHE_VERSION:
                warn(f"upload cache {path} was written by a newer gemini-cli (version {version}); not using it")
                return cls([], writable=False, warn=warn)
            entries = [e for e in doc.get("entries") or [] if isinstance(e, dict) and isinstance(e.get("sha256"), str)]
        except (ValueError, AttributeError, TypeError):
            warn(f"upload cache {path} is corrupt; it will be replaced")
            return cls([], warn=warn)
        now = now or _now()
        return cls([e for e in entries if not _expires_soon(e.get("expiration_time"), now)], warn=warn)

    def find(self, sha256: str, mime: str, base_url: str) -> dict[str, Any] | None:
        for entry in reversed(self.entries):
            if entry.get("sha256") == sha256 and entry.get("mime") == mime and entry.get("base_url") == base_url:
                return entry
        return None

    def update(self, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
        """Re-read the file (another process may have written it), change it, save it."""
        if not self.writable:
            return
        fresh = UploadCache.load()  # quietly: this process has warned already
        if not fresh.writable:
            return
        self.entries = change(fresh.entries)

        doc = {"format": CACHE_FORMAT, "version": CACHE_VERSION, "entries": self.entries}
        try:
            write_atomic(cache_path(), json.dumps(doc, indent=1, ensure_ascii=False) + "\n", durable=False)
        except UsageError as exc:  # a cache: losing it costs an upload, not the run
            self.warn(f"upload cache not saved: {exc.message}")


def forget(names: set[str]) -> None:
    """Drop cache entries for deleted files."""
    cache = UploadCache.load()
    if any(e.get("name") in names for e in cache.entries):
        cache.update(lambda entries: [e for e in entries if e.get("name") not in names])
