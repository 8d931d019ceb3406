"""What a conversation file may hold: the types the loader (loader._Reader) checks
and the writer (Turn.record) keeps to, in one place so that they cannot disagree: nothing
is written that the loader would refuse.
"""

from __future__ import annotations

from typing import Any

# The type each turn field must have.
TURN_TYPES: dict[str, tuple] = {
    "interaction_id": (str, type(None)), "status": (str,), "created": (str,), "model": (str, type(None)),
    "input": (list,), "steps": (list,), "usage": (dict, type(None)),
}


def is_a(value: Any, types: tuple) -> bool:
    # bool is an int subclass: "version": true must not pass as 1.
    return isinstance(value, types) and (not isinstance(value, bool) or bool in types)


def step_problem(step: Any) -> str | None:
    """What makes a stored step unusable (None: it is fine); the loader's rule and the writer's."""
    if not isinstance(step, dict):
        return f"should be a step object, not {type_name(step)}"
    if not isinstance(step.get("type"), str):
        return "has no string \"type\""
    return blocks_problem(step)


# The block lists the renderers read: a model_output's content, a thought's summary.
_BLOCKS = {"model_output": "content", "thought": "summary"}


def blocks_problem(step: dict[str, Any]) -> str | None:
    """What makes a step's text unreadable: blocks that are not objects, or a text that is
    not a string (None: fine, or not a step type whose blocks are read)."""
    kind = step.get("type")
    field = _BLOCKS.get(kind) if isinstance(kind, str) else None  # a list as "type" is unhashable
    if field is None or field not in step:
        return None
    blocks = step[field]
    if not isinstance(blocks, list) or not all(isinstance(block, dict) for block in blocks):
        return f"has a {field} that is not a list of objects"
    if any(block.get("type") == "text" and not isinstance(block.get("text", ""), str) for block in blocks):
        return f"has a text block in its {field} whose text is not a string"
    return None


# Fields of a content block (and of an annotation) that the renderers and media writer read
# as strings: one of another JSON type is dropped from the block, not trusted.
_BLOCK_STRINGS = ("mime_type", "data", "uri", "resolution")


def repair_blocks(step: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A step's blocks made safe to read: (the step, what was wrong). A block whose `type`
    is not a string is dropped; `annotations` that are not a list of objects with a string
    `type`, and a `mime_type`/`data`/`uri` that is not a string, are dropped from their block."""
    problems: list[str] = []
    kind = step.get("type")
    field = _BLOCKS.get(kind, "content") if isinstance(kind, str) else "content"
    blocks = step.get(field)
    if not isinstance(blocks, list) or not all(isinstance(block, dict) for block in blocks):
        return step, problems  # not a list of blocks here (a tool step's content, say): kept as sent
    kept = []
    for block in blocks:
        if not isinstance(block.get("type"), str):
            problems.append(f"has a block in its {field} whose type is not a string")
            continue
        bad = [name for name in _BLOCK_STRINGS if name in block and not isinstance(block[name], str)]
        notes = block.get("annotations")
        if notes is not None and not (isinstance(notes, list) and
                                      all(isinstance(n, dict) and isinstance(n.get("type"), str) for n in notes)):
            bad.append("annotations")
        if bad:
            article = "an" if block["type"][:1] in "aeiou" else "a"
            problems.append(f"has {article} {block['type']} block whose {', '.join(bad)} has the wrong type")
            block = {key: value for key, value in block.items() if key not in bad}
        kept.append(block)
    return ({**step, field: kept} if problems else step), problems


TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", dict: "an object",
              list: "a list", type(None): "null"}


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    for t, name in TYPE_NAMES.items():
        if isinstance(value, t):
            return name
    return "a number" if isinstance(value, float) else type(value).__name__
