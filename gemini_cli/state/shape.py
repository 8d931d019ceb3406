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
    return None


TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", dict: "an object",
              list: "a list", type(None): "null"}


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    for t, name in TYPE_NAMES.items():
        if isinstance(value, t):
            return name
    return "a number" if isinstance(value, float) else type(value).__name__
