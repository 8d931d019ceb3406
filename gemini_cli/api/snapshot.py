"""Steps that arrive whole in a stream (inside interaction.created/completed, whose SDK types
allow `steps`, or a step.start skeleton that already holds content), merged with what the
step events built, and the part of them the renderers have not printed yet.

Where both have a field, the streamed value stays; the snapshot fills what the deltas lacked
(a thought signature, annotations, the rest of a text the stream cut short)."""

from __future__ import annotations

from typing import Any

# The block lists the renderers print: a model_output's content, a thought's summary.
BLOCK_LISTS = {"model_output": "content", "thought": "summary"}


def printable(step: dict[str, Any], whole: bool = False) -> dict[str, Any] | None:
    """What of a step the text renderer prints (its text and summary blocks), or None.
    `whole`: a step no event announced, tool steps included (described on stderr)."""
    kind = step.get("type", "")
    field = BLOCK_LISTS.get(kind)
    if field and step.get(field):
        return {"type": kind, field: list(step[field])}
    return dict(step) if whole and field is None else None


def merge_step(built: dict[str, Any], given: dict[str, Any]) -> dict[str, Any] | None:
    """Fill a streamed step from the snapshot's copy; returns the part not yet printed."""
    field = BLOCK_LISTS.get(given.get("type", ""))
    new: list[dict[str, Any]] = []
    for key, value in given.items():
        if key not in built:
            built[key] = value
            if key == field:
                new.extend(value)
        elif key == field and isinstance(built[key], list):
            new.extend(_merge_blocks(built[key], value))
    return {"type": given["type"], field: new} if new and field else None  # new: blocks of `field`


def _merge_blocks(built: list[Any], given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Blocks the deltas lacked, and fields or text missing from those they gave; returns
    what is new, to print (a text block the deltas cut short: only its rest)."""
    new: list[dict[str, Any]] = []
    for n, block in enumerate(given):
        if n >= len(built):
            built.append(dict(block))
            new.append(block)
            continue
        mine = built[n]
        if not isinstance(mine, dict) or mine.get("type") != block.get("type"):
            break  # the two disagree: the streamed blocks stay as they are
        text, more = mine.get("text"), block.get("text")
        if isinstance(text, str) and isinstance(more, str) and len(more) > len(text) and more.startswith(text):
            mine["text"] = more
            new.append({"type": "text", "text": more[len(text):]})
        for name, value in block.items():
            mine.setdefault(name, value)
    return new
