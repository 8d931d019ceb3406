"""Server-sent events: an httpx response -> (raw JSON, event) pairs, until the `[DONE]` sentinel.

httpx-sse frames the stream by the event-stream rules: lines ending in CRLF, CR or LF
(possibly split across reads), `data:` lines joined with "\\n", one leading space after the
colon removed, `:` comment lines ignored, `event:` and `id:` fields, a blank line dispatching
the event, and an event without a blank line after it (a cut stream) never dispatched.

What we add around it, on the bytes it reads:
- UTF-8 whatever the Content-Type says, invalid bytes as U+FFFD, a leading BOM dropped;
- a bound on memory: an event (bytes since the last blank line) larger than MAX_EVENT stops
  the stream with EventTooLarge, however the server sends it (one endless line, many lines);
- `before_read`: called each time every event read so far was handled and the stream is
  about to read (and maybe wait) for more: the place to flush output.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
from httpx_sse import EventSource, ServerSentEvent

from gemini_cli.api import surrogates
from gemini_cli.errors import ExitCode, GeminiCliError

DONE = "[DONE]"
MAX_EVENT = 16 * 1024 * 1024  # bytes; the largest real event (an inline image) is far smaller


class EventTooLarge(GeminiCliError):
    """An event grew past MAX_EVENT without ending: the server is broken; stop reading."""

    exit_code = ExitCode.SERVER


def is_event_stream(response: httpx.Response) -> bool:
    return "text/event-stream" in response.headers.get("content-type", "")


def iter_frames(
    response: httpx.Response,
    before_read: Callable[[], None] | None = None,
    limit: int = MAX_EVENT,
) -> Iterator[ServerSentEvent]:
    """The stream's events as httpx-sse decodes them, read through the checks above."""
    # Without a Content-Encoding the body's bytes come straight from the transport's stream:
    # one layer of httpx's decoders less per read. With one, httpx decompresses it.
    if response.headers.get("content-encoding", "identity") == "identity":
        chunks: Iterable[bytes] = response.stream  # type: ignore[assignment]
    else:
        chunks = response.iter_bytes()
    return EventSource(_Checked(chunks, before_read, limit)).iter_sse()


def iter_events(
    response: httpx.Response,
    on_malformed: Callable[[str], None] | None = None,
    before_read: Callable[[], None] | None = None,
    limit: int = MAX_EVENT,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (raw JSON text, parsed event) for each event with data; stop at [DONE].

    An event whose data is not a JSON object is reported through `on_malformed` and
    skipped: one bad event should not cost the rest of the answer. Event types are not
    filtered: an unknown one is yielded like the others (kept by `-o jsonl`).
    """
    loads = json.loads
    for frame in iter_frames(response, before_read, limit):
        data = frame.data
        if not data:
            continue
        if data == DONE:
            return
        try:
            event = loads(data)
            if "\\u" in data:  # only an escape decodes to a lone surrogate (the test is cheap)
                event = surrogates.repaired_from(event, data, response)  # one: U+FFFD, the response marked
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            event = None
        if type(event) is not dict:
            if on_malformed:
                on_malformed(data)
            continue
        yield data, event


class _Checked(httpx.Response):
    """What EventSource reads: the body as text (UTF-8, a leading BOM dropped, invalid bytes as
    U+FFFD), with `before_read` before each read after the first, and the event size counted:
    bytes since the last blank line (LF LF, LF CR or CR CR ends one, whatever the line endings)."""

    def __init__(self, chunks: Iterable[bytes], before_read: Callable[[], None] | None, limit: int):
        super().__init__(200, headers={"content-type": "text/event-stream"})
        self._chunks = chunks
        self._before_read = before_read
        self._limit = limit

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        before_read, limit = self._before_read, self._limit
        decode = codecs.getincrementaldecoder("utf-8-sig")("replace").decode
        pending = 0  # bytes of the event not yet ended
        last = b""  # the previous chunk's last byte: a blank line may straddle two chunks
        for chunk in self._chunks:
            if not chunk:
                continue
            end = max(chunk.rfind(b"\n\n"), chunk.rfind(b"\n\r"), chunk.rfind(b"\r\r"))
            if end >= 0:
                pending = len(chunk) - end - 2
            elif last in (b"\n", b"\r") and chunk[:1] in (b"\n", b"\r") and not (last == b"\r" and chunk[:1] == b"\n"):
                pending = len(chunk) - 1
            else:
                pending += len(chunk)
            if pending > limit:
                size = f"{limit >> 20} MiB" if limit % (1 << 20) == 0 else f"{limit} bytes"
                raise EventTooLarge(f"the stream sent an event larger than {size} without ending it; stopped reading")
            last = chunk[-1:]
            text = decode(chunk)
            if text:
                yield text
            # Resumed once every event of this chunk was handled: about to read (and wait) for more.
            if before_read is not None:
                before_read()
        text = decode(b"", True)
        if text:
            yield text
