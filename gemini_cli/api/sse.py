"""Server-sent events -> JSON events, until the `[DONE]` sentinel.

Framing (event/data/id lines, comments, CR/LF variants, multi-line data) is left
to httpx-sse; this module adds the Interactions API's conventions on top.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from httpx_sse import EventSource

DONE = "[DONE]"


def is_event_stream(response: httpx.Response) -> bool:
    return "text/event-stream" in response.headers.get("content-type", "")


def iter_events(
    response: httpx.Response, on_malformed: Callable[[str], None] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (raw JSON text, parsed event) for each data frame; stop at [DONE].

    A frame whose data is not a JSON object is reported through `on_malformed`
    and skipped: one bad frame should not cost the rest of the answer.
    """
    for sse in EventSource(response).iter_sse():
        data = sse.data
        if not data:
            continue
        if data == DONE:
            return
        try:
            event = json.loads(data)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            if on_malformed:
                on_malformed(data)
            continue
        yield data, event
