"""What the API-calling commands share: opening a client, running and rendering a turn."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from gemini_cli.config import Settings
from gemini_cli.output import Console, renderer_for, usage_line


@contextmanager
def open_client(settings: Settings, key: str | None, console: Console) -> Iterator[Any]:
    from gemini_cli.api.client import ApiClient

    client = ApiClient(
        base_url=settings.base_url,
        api_version=settings.api_version,
        api_key=key,
        timeout=settings.timeout,
        retries=settings.retries,
        retry_delay=settings.retry_delay,
        max_time=settings.max_time,
        note=console.note,
    )
    try:
        yield client
    finally:
        client.close()


def run_and_render(client: Any, body: dict[str, Any], settings: Settings, console: Console) -> dict[str, Any]:
    """Run one turn, render it, report usage; raise if it did not complete."""
    from gemini_cli import turn

    renderer = renderer_for(settings.output, console, thoughts=settings.thoughts)
    try:
        builder = turn.run(client, body, renderer, on_malformed=lambda data: console.warn(f"skipped a malformed event: {data[:80]!r}"))
    except BaseException as exc:
        partial = getattr(exc, "partial", None)
        if partial is not None:
            renderer.finish(partial.result())
        raise
    result = builder.result()
    renderer.finish(result)
    if settings.usage:
        console.write(usage_line(result.get("usage")) + "\n")
    error = turn.outcome_error(result)
    if error is not None:
        raise error
    return result
