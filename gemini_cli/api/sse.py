"""Server-sent events: bytes -> frames -> JSON events, until the `[DONE]` sentinel.

`decode` frames the byte stream by the WHATWG event-stream rules: UTF-8 (invalid
bytes become U+FFFD, a leading BOM is dropped), lines ending in CRLF, CR or LF
(possibly split across chunks), `data:` lines joined with "\\n", one leading space
after the colon removed, `:` comment lines ignored, `event:` and `id:` fields, and
a blank line dispatching the frame. A frame without a blank line after it (a cut
stream) is never dispatched. `iter_events` adds the Interactions API's conventions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # httpx is imported by the caller; not needed here at run time
    import httpx

DONE = "[DONE]"
_BOM = "\ufeff"


class Frame:
    """One dispatched event: its data, the last event id seen, and its event type."""

    __slots__ = ("data", "id", "event")

    def __init__(self, data: str, id: str = "", event: str = "message") -> None:
        self.data = data
        self.id = id
        self.event = event

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Frame) and (self.data, self.id, self.event) == (other.data, other.id, other.event)

    def __repr__(self) -> str:
        return f"Frame(data={self.data!r}, id={self.id!r}, event={self.event!r})"


def decode(chunks: Iterable[bytes]) -> Iterator[Frame]:
    """Yield a Frame for each event in the byte stream, however it is split into chunks."""
    tail: list[bytes] = []  # bytes of the line not yet ended
    cr = False  # the previous chunk ended in CR: a LF starting this one is its pair
    first = True
    data: list[str] = []
    event = ""
    last_id = ""
    for chunk in chunks:
        if not chunk:
            continue
        if cr:
            cr = False
            if chunk[0] == 10:  # b"\n"
                chunk = chunk[1:]
                if not chunk:
                    continue
        if 13 in chunk:  # b"\r": normalise CRLF and CR to LF
            cr = chunk[-1] == 13
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = chunk.rfind(b"\n")
        if end < 0:
            tail.append(chunk)
            continue
        if tail:
            tail.append(chunk[:end])
            text = b"".join(tail).decode("utf-8", "replace")
            tail = []
        else:
            text = chunk[:end].decode("utf-8", "replace")
        if end + 1 < len(chunk):
            tail.append(chunk[end + 1:])
        if first:
            first = False
            if text.startswith(_BOM):
                text = text[1:]
        for line in text.split("\n"):
            if not line:  # a blank line dispatches
                if data:
                    yield Frame(data[0] if len(data) == 1 else "\n".join(data), last_id, event or "message")
                    data = []
                event = ""
                continue
            if line.startswith("data:"):  # the common case first
                data.append(line[6:] if line.startswith(" ", 5) else line[5:])
                continue
            colon = line.find(":")
            if colon == 0:
                continue  # a comment
            if colon < 0:
                name, value = line, ""
            else:
                name = line[:colon]
                value = line[colon + 2:] if line.startswith(" ", colon + 1) else line[colon + 1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
            elif name == "id":
                if "\0" not in value:
                    last_id = value
            # "retry" and unknown fields are ignored.


def is_event_stream(response: httpx.Response) -> bool:
    return "text/event-stream" in response.headers.get("content-type", "")


def _body(response: httpx.Response) -> Iterable[bytes]:
    """The body's chunks as they arrive. Without a Content-Encoding, straight from the
    transport: httpx's decoder and chunker layers cost more than the decoding per event."""
    if response.headers.get("content-encoding", "identity") == "identity":
        return response.stream  # type: ignore[return-value]
    return response.iter_bytes()


def _waiting(chunks: Iterable[bytes], before_read: Callable[[], None]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk
        # Resumed only once every event of this chunk was handled: about to wait for more.
        before_read()


def iter_events(
    response: httpx.Response,
    on_malformed: Callable[[str], None] | None = None,
    before_read: Callable[[], None] | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (raw JSON text, parsed event) for each data frame; stop at [DONE].

    A frame whose data is not a JSON object is reported through `on_malformed`
    and skipped: one bad frame should not cost the rest of the answer.
    `before_read` runs each time the events received so far are all handled and
    the stream is about to read (and maybe wait) for more: the place to flush output.
    """
    loads = json.loads
    chunks = _body(response)
    for frame in decode(_waiting(chunks, before_read) if before_read else chunks):
        data = frame.data
        if not data:
            continue
        if data == DONE:
            return
        try:
            event = loads(data)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            event = None
        if type(event) is not dict:
            if on_malformed:
                on_malformed(data)
            continue
        yield data, event
