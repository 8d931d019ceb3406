"""Files API (interactions-api.md §8): resumable upload, get, list, delete, wait for ACTIVE.

Knows HTTP; never prints (messages go through the ``note`` callback) and never reads argv.

Upload (§8.1): a ``start`` POST to ``{base}/upload/{v}/files`` returns the session's upload
URL in ``X-Goog-Upload-URL``; its scheme and host are rewritten to the configured base URL,
as the official SDK does. The bytes then go in CHUNK_SIZE pieces read from the file one at
a time (never the whole file in memory), ``X-Goog-Upload-Command: upload`` and, on the last,
``upload, finalize``, each with its ``X-Goog-Upload-Offset``. Chunk requests carry no API key:
the upload URL authorises them.

When a chunk fails (connection error, timeout, 408/429/5xx), we wait (the client's backoff),
ask the server how many bytes it has (``X-Goog-Upload-Command: query`` ->
``X-Goog-Upload-Size-Received``) and go on from there. The retry budget (``--retries``) counts
consecutive failures: it starts again after every chunk the server accepts. When it is spent
the last error is raised (exit 6 for a 5xx, 7 for the network); the ``--max-time`` deadline
stops it too.
"""

from __future__ import annotations

import re
import time
from typing import Any, BinaryIO, Callable, Iterator
from urllib.parse import quote, urlsplit, urlunsplit

from gemini_cli.api.client import ApiClient, parse_json_body
from gemini_cli.api.errors import retry_label
from gemini_cli.api.pages import every_page
from gemini_cli.backoff import Backoff, Deadline, Soonest
from gemini_cli.errors import ApiError, ExitCode, GeminiCliError, NetworkError, UsageError

CHUNK_SIZE = 8 * 1024 * 1024  # as the official SDK; a multiple of the protocol's 256 KiB
MAX_FILE_SIZE = 2 * 1024**3  # "2 GB per file" (§8.4), read as 2 GiB
PAGE_SIZE = 100  # the largest page the Files API returns
POLL_INITIAL = 1.0  # seconds between state polls while PROCESSING, growing ...
POLL_MAX = 10.0  # ... up to this

Progress = Callable[[int, int], None]  # (bytes the server has, total)

_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
_URI_ID = re.compile(r"/files/([a-z0-9-]+)")


class FileFailed(GeminiCliError):
    """The Files API could not process the file (state FAILED): the API rejected it."""

    exit_code = ExitCode.REJECTED


def file_name(name: str) -> str:
    """``files/<id>`` for ``files/abc``, ``abc`` or the file's uri; UsageError otherwise."""
    value = name.strip()
    if value.lower().startswith(("http://", "https://")):
        m = _URI_ID.search(urlsplit(value).path)
        value = m.group(1) if m else ""
    elif value.startswith("files/"):
        value = value[len("files/"):]
    if not _ID.fullmatch(value):
        raise UsageError(
            f"{name!r} is not a Files API file name: expected files/<id>, <id> or the file's uri "
            "(ids are up to 40 lowercase letters, digits and dashes)"
        )
    return f"files/{value}"


# -- get, list, delete ---------------------------------------------------------------------


def get(client: ApiClient, name: str) -> dict[str, Any]:
    """GET /{v}/files/<id>: the File resource (camelCase)."""
    try:
        return parse_json_body(client.send("GET", client.url(file_name(name))))
    except ApiError as exc:
        raise _naming(exc, name) from None


def iter_files(client: ApiClient, page_size: int = PAGE_SIZE) -> Iterator[dict[str, Any]]:
    """Every file, following nextPageToken until it is empty."""
    for page in every_page(client, "files", page_size):
        yield from page.get("files") or []


def delete(client: ApiClient, name: str) -> None:
    """DELETE /{v}/files/<id>."""
    try:
        client.send("DELETE", client.url(file_name(name))).close()
    except ApiError as exc:
        raise _naming(exc, name) from None


def _naming(exc: ApiError, name: str) -> ApiError:
    """A 404 names the file asked for (files last 48 hours)."""
    if exc.status == 404:
        exc.message = f"{file_name(name)}: no such file (uploads are deleted after 48 hours): {exc.message}"
        exc.args = (exc.message,)
    return exc


def wait_active(
    client: ApiClient,
    file: dict[str, Any],
    *,
    on_wait: Callable[[dict[str, Any]], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll the file until it is no longer PROCESSING; return it when ACTIVE.

    FAILED raises FileFailed (exit 4) with the API's reason. Waiting is bounded by the
    ``--max-time`` deadline when there is one, else by the client's ``--timeout``; past
    that, NetworkError (exit 7). Other states (the enum is open) are returned as they are.
    ``on_wait(file)`` is called once, before the first wait.
    """
    name = file.get("name") or "the file"
    patience = Deadline(client.timeout, clock)
    # Polls back off from POLL_INITIAL to POLL_MAX; the last wait is cut to end at the deadline.
    polls = Backoff(first=POLL_INITIAL, cap=POLL_MAX, jitter=0, fit=True,
                    deadline=Soonest(patience, client), sleep=sleep)
    while True:
        state = file.get("state")
        if state == "FAILED":
            error = file.get("error") or {}
            reason = error.get("message") or "no reason given"
            raise FileFailed(f"{name}: the Files API could not process the file: {reason}")
        if state != "PROCESSING":
            return file
        delay = polls.next()
        if delay is None:
            left = client.remaining()
            if left is not None and left <= 0:
                raise client.deadline_error()
            raise NetworkError(
                f"{name} is still PROCESSING after {client.timeout:g}s; try again later "
                "(gemini-cli files get NAME shows its state) or pass a larger --timeout"
            )
        if on_wait is not None and not polls.attempt:
            on_wait(file)
        polls.sleep(delay)
        file = get(client, name)


# -- resumable upload --------------------------------------------------------------------


def upload(
    client: ApiClient,
    stream: BinaryIO,
    *,
    size: int,
    mime: str,
    display_name: str | None = None,
    file_name_header: str | None = None,
    progress: Progress | None = None,
    chunk_size: int | None = None,
    note: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Upload ``size`` bytes from the seekable binary ``stream``; return the File resource.

    ``progress(sent, total)`` is called after every chunk the server accepts (and after a
    resume, with what the server reports). ``chunk_size`` defaults to CHUNK_SIZE.
    """
    if size <= 0:
        raise UsageError("cannot upload an empty file")
    url = start_upload(client, size=size, mime=mime, display_name=display_name, file_name_header=file_name_header)
    return send_chunks(
        client, url, stream, size=size, chunk_size=chunk_size or CHUNK_SIZE,
        progress=progress, note=note or client.note, sleep=sleep,
    )


def start_upload(
    client: ApiClient, *, size: int, mime: str, display_name: str | None = None, file_name_header: str | None = None
) -> str:
    """The ``start`` request; returns the upload URL (scheme and host rewritten to ours)."""
    headers = client.headers()
    headers.update({
        "X-Goog-Upload-Protocol": "resumable",
        "X-Goog-Upload-Command": "start",
        "X-Goog-Upload-Header-Content-Length": str(size),
        "X-Goog-Upload-Header-Content-Type": mime,
    })
    if file_name_header:
        headers["X-Goog-Upload-File-Name"] = _header_safe(file_name_header)
    meta: dict[str, Any] = {"mime_type": mime, "size_bytes": size}
    if display_name:
        meta = {"display_name": display_name, **meta}
    url = f"{client.base_url}/upload/{client.api_version}/files"
    response = client.send("POST", url, json_body={"file": meta}, headers=headers)
    response.close()
    upload_url = response.headers.get("x-goog-upload-url")
    if not upload_url:
        raise ApiError(f"HTTP {response.status_code}: the API did not return an upload URL (X-Goog-Upload-URL)", status=502)
    return rebase(upload_url, client.base_url)


def rebase(upload_url: str, base_url: str) -> str:
    """The upload URL with the scheme and host of the configured base URL."""
    base = urlsplit(base_url)
    parts = urlsplit(upload_url)
    if not parts.scheme or not parts.netloc:  # a relative URL: resolve against the base
        return base_url.rstrip("/") + "/" + upload_url.lstrip("/")
    return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))


def _header_safe(value: str) -> str:
    """Printable ASCII as it is; everything else (and %) percent-encoded."""
    return quote(value, safe=" !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _chunk_headers(client: ApiClient, command: str, offset: int | None = None) -> dict[str, str]:
    headers = client.headers("application/json", auth=False)
    del headers["Content-Type"]
    headers["X-Goog-Upload-Command"] = command
    if offset is not None:
        headers["X-Goog-Upload-Offset"] = str(offset)
    return headers


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, NetworkError):
        return True
    return isinstance(exc, ApiError) and exc.retryable  # by status, but never a daily quota or a refused key


def send_chunks(
    client: ApiClient,
    url: str,
    stream: BinaryIO,
    *,
    size: int,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
    note: Callable[[str], None] = lambda message: None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Send the bytes from offset 0, resuming through ``query`` after a failed chunk.

    Every chunk is read into one reusable buffer and sent from it (a memoryview, with an
    explicit Content-Length), so memory stays at one chunk whatever the file's size: a
    fresh ``bytes`` per chunk would be kept alive by httpx's request/response reference
    cycles until the garbage collector runs, which piled up 8 chunks and more.
    """
    buffer = bytearray(min(chunk_size, size))
    view = memoryview(buffer)
    offset = 0
    waits = client.retrier(sleep=sleep)  # counts consecutive failures: reset by every accepted chunk
    need_query = False
    while True:
        try:
            if need_query:
                status, received, response = query(client, url)
                need_query = False
                if status == "final":
                    if progress:
                        progress(size, size)
                    return _final_file(response)
                if received > size:
                    raise ApiError(f"upload: the server reports {received} bytes received of {size}", status=502)
                offset = received
                if progress:
                    progress(offset, size)
            stream.seek(offset)
            n = _read_into(stream, view[:min(chunk_size, size - offset)])
            if not n:
                raise UsageError(f"the file became shorter while it was being uploaded (at byte {offset} of {size})")
            last = offset + n >= size
            command = "upload, finalize" if last else "upload"
            headers = _chunk_headers(client, command, offset)
            headers["Content-Length"] = str(n)
            response = client.send("POST", url, content=_once(view[:n]), headers=headers, retry=False)
            response.read()
            response.close()
        except (ApiError, NetworkError) as exc:
            delay = waits.next() if _retryable(exc) else None
            if delay is None:
                raise
            what = "asking the server how much it has" if need_query else f"sending the chunk at byte {offset} of {size}"
            note(
                f"upload: {what} failed: {retry_label(exc)}; asking the server how much it has "
                f"in {delay:.1f}s (retry {waits.attempt + 1} of {client.retries})"
            )
            waits.sleep(delay)
            need_query = True
            continue
        waits.reset()
        status = response.headers.get("x-goog-upload-status", "").lower()
        offset += n
        if progress:
            progress(offset, size)
        if status == "final" or (last and not status):
            return _final_file(response)
        if status != "active" and status:
            raise GeminiCliError(f"upload ended by the server (X-Goog-Upload-Status: {status})", exit_code=ExitCode.REJECTED)
        if last:
            raise ApiError("upload: the server did not finalize the upload after the last chunk", status=502)


def _read_into(stream: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from the stream (short only at end of file); the byte count."""
    filled = 0
    while filled < len(view):
        got = stream.readinto(view[filled:])  # type: ignore[attr-defined]
        if not got:
            break
        filled += got
    return filled


def _once(part: memoryview) -> Iterator[memoryview]:
    """A request body of one part, streamed by httpx without copying it to bytes first."""
    yield part


def query(client: ApiClient, url: str) -> tuple[str, int, Any]:
    """Ask the upload session what it has: (status, bytes received, response)."""
    response = client.send("POST", url, content=b"", headers=_chunk_headers(client, "query"), retry=False)
    response.read()
    response.close()
    status = response.headers.get("x-goog-upload-status", "").lower()
    raw = response.headers.get("x-goog-upload-size-received")
    if status == "final":
        return status, -1, response
    if status != "active":
        raise GeminiCliError(
            f"upload session ended on the server (X-Goog-Upload-Status: {status or 'missing'}); upload again",
            exit_code=ExitCode.REJECTED,
        )
    try:
        received = int(raw or "")
    except ValueError:
        raise ApiError(f"upload query: bad X-Goog-Upload-Size-Received {raw!r}", status=502) from None
    if received < 0:
        raise ApiError(f"upload query: bad X-Goog-Upload-Size-Received {raw!r}", status=502)
    return status, received, response


def _final_file(response: Any) -> dict[str, Any]:
    body = parse_json_body(response)
    file = body.get("file") if isinstance(body, dict) else None
    if not isinstance(file, dict):
        raise ApiError("upload: the final response has no file resource", status=502)
    return file
