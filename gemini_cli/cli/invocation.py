"""What the commands share on the command-line side: the invocation's I/O context, and
choosing a turn's renderer.

The turn itself (client, request, hops, answer, saving) is runs/pipeline.py's.
"""

from __future__ import annotations

from typing import Any, Callable

import click
# render/output.py (~5 ms) and request/schema.py are imported inside turn_renderer's chooser:
# history --help and completion load this module, and need neither.


def io_context() -> Any:
    """The invocation's render.context.IOContext, built by app.py and kept by click as the
    root context's `obj` (every command's context inherits it)."""
    return click.get_current_context().obj


def turn_renderer(console: Any) -> Callable[[Any, dict], Any]:
    """The renderer a turn's answer goes through, chosen from the checked settings and the
    body: text (Markdown unless JSON is asked for), -o json or -o jsonl."""

    def choose(settings: Any, body: dict) -> Any:
        from gemini_cli.render.output import renderer_for
        from gemini_cli.request.schema import json_format

        return renderer_for(
            settings.output, console, thoughts=settings.thoughts, hold=settings.extract or settings.extract_last,
            markdown=settings.markdown and json_format(body.get("response_format")) is None,
        )

    return choose


def debugging() -> bool:
    """Whether the root --debug was given (MCP servers' stderr and schema notes then shown)."""
    ctx = click.get_current_context(silent=True)
    while ctx is not None and ctx.parent is not None:
        ctx = ctx.parent
    return bool(ctx is not None and ctx.params.get("debug"))
