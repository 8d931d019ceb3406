"""Reading a conversation file's dict back into a Conversation (design.md §6).

The data is untrusted (hand-edited, truncated, written by another version): every key is
checked and a problem is named by its exact place (CorruptConversation, never a
traceback); files written by older versions are upgraded on the way in. The model and
the writing side are conversation.py's; the types both keep to are shape.py's.
"""

from __future__ import annotations

from typing import Any, Callable

from gemini_cli.errors import UsageError
from gemini_cli.state.conversation import CURRENT_VERSION, FORMAT, Conversation, Turn
from gemini_cli.state.shape import TURN_TYPES, TYPE_NAMES, is_a, step_problem, type_name

_TOP_KEYS = ("format", "version", "id", "title", "created", "updated", "model", "store",
             "system_instruction", "generation_config", "tools", "response_format", "turns")
_TURN_KEYS = ("interaction_id", "status", "created", "model", "input", "steps", "usage")


class CorruptConversation(UsageError):
    """The data is not a well-formed conversation; `problem` says what is wrong."""

    def __init__(self, source: Any, problem: str):
        where = f"conversation file {source}" if source is not None else "conversation data"
        super().__init__(f"{where} is corrupt: {problem}")
        self.problem = problem


class NewerVersion(UsageError):
    def __init__(self, source: Any, version: int):
        where = f"conversation file {source}" if source is not None else "conversation data"
        super().__init__(
            f"{where} was written by a newer gemini-cli (format version {version}; this one reads "
            f"up to {CURRENT_VERSION}): upgrade gemini-cli to open it"
        )
        self.version = version


def conversation_from_dict(d: Any, source: Any = None) -> Conversation:
    """Check and build; raises CorruptConversation or NewerVersion (both UsageError)."""
    return _Reader(source).conversation(d)


# -- older versions -------------------------------------------------------------------
#
# UPGRADES[n] turns a version-n dict into a version-(n+1) dict without touching its
# argument. Version 0 was the pre-release layout: no "store" key (every conversation was
# server-side), the turns were called "messages", each with its answer steps under
# "output" and no per-turn "model":
#   {"format": "gemini-cli.conversation", "version": 0, "id", "title", "created",
#    "updated", "model", "system_instruction", "generation_config", "tools",
#    "response_format", "messages": [{"interaction_id", "status", "created", "input",
#    "output", "usage"}]}


def _upgrade_v0(d: dict[str, Any]) -> dict[str, Any]:
    d = dict(d)
    messages = d.pop("messages", [])
    d.setdefault("store", True)
    if isinstance(messages, list):
        turns = []
        for m in messages:
            if isinstance(m, dict):
                m = dict(m)
                m["steps"] = m.pop("output", [])
                m.setdefault("model", d.get("model"))
            turns.append(m)
        messages = turns
    d["turns"] = messages
    d["version"] = 1
    return d


UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _upgrade_v0}


def upgrade(d: dict[str, Any], version: int, source: Any = None) -> dict[str, Any]:
    while version < CURRENT_VERSION:
        step = UPGRADES.get(version)
        if step is None:
            raise CorruptConversation(source, f"format version {version} is not one gemini-cli ever wrote")
        d = step(d)
        version += 1
    return d


# -- validation -----------------------------------------------------------------------

_MISSING = object()


class _Reader:
    """Builds a Conversation from a dict, naming the exact place of any problem."""

    def __init__(self, source: Any):
        self.source = source

    def fail(self, problem: str) -> CorruptConversation:
        return CorruptConversation(self.source, problem)

    def get(self, d: dict[str, Any], key: str, where: str, types: tuple, default: Any = _MISSING) -> Any:
        value = d.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise self.fail(f"{where}{key} is missing")
            return default() if callable(default) else default
        if not is_a(value, types):
            wanted = " or ".join(TYPE_NAMES[t] for t in types)
            raise self.fail(f"{where}{key} should be {wanted}, not {type_name(value)}")
        return value

    def conversation(self, d: Any) -> Conversation:
        if not isinstance(d, dict):
            raise self.fail(f"expected a JSON object at the top level, found {type_name(d)}")
        if d.get("format") != FORMAT:
            raise self.fail(f"format is {d.get('format')!r}, expected {FORMAT!r}")
        version = self.get(d, "version", "", (int,))
        if version > CURRENT_VERSION:
            raise NewerVersion(self.source, version)
        if version < 0:
            raise self.fail(f"version {version} is negative")
        d = upgrade(d, version, self.source)
        g = self.get
        conv = Conversation(
            id=g(d, "id", "", (str,)), model=g(d, "model", "", (str,)), store=g(d, "store", "", (bool,)),
            title=g(d, "title", "", (str,), ""), created=g(d, "created", "", (str,), ""),
            updated=g(d, "updated", "", (str,), ""),
            system_instruction=g(d, "system_instruction", "", (str, type(None)), None),
            generation_config=g(d, "generation_config", "", (dict, type(None)), dict) or {},
            tools=g(d, "tools", "", (list, type(None)), list) or [],
            response_format=g(d, "response_format", "", (dict, list, type(None)), None),
            turns=[self.turn(t, f"turns[{i}]") for i, t in enumerate(g(d, "turns", "", (list,)))],
            extra={k: v for k, v in d.items() if k not in _TOP_KEYS},
        )
        if not conv.id:
            raise self.fail("id is empty")
        for turn in conv.turns:
            turn.model = turn.model or conv.model
            move_invented_keys(turn)
        return conv

    def turn(self, t: Any, where: str) -> Turn:
        if not isinstance(t, dict):
            raise self.fail(f"{where} should be an object, not {type_name(t)}")
        g, w, ty = self.get, where + ".", TURN_TYPES
        return Turn(
            interaction_id=g(t, "interaction_id", w, ty["interaction_id"], None),
            status=g(t, "status", w, ty["status"]), created=g(t, "created", w, ty["created"], ""),
            model=g(t, "model", w, ty["model"], "") or "",
            input=self.steps(g(t, "input", w, ty["input"], list), w + "input"),
            steps=self.steps(g(t, "steps", w, ty["steps"], list), w + "steps"),
            usage=g(t, "usage", w, ty["usage"], None),
            extra={k: v for k, v in t.items() if k not in _TURN_KEYS},
        )

    def steps(self, steps: list[Any], where: str) -> list[dict[str, Any]]:
        for i, step in enumerate(steps):
            problem = step_problem(step)
            if problem:
                raise self.fail(f"{where}[{i}] {problem}")
        return steps


def move_invented_keys(turn: Turn) -> None:
    """Files written by earlier builds kept an unknown delta as `unknown_deltas` on its step and an
    audio delta's `rate` on the audio block: keys the API does not define, which made the
    next stateless turn fail with 400. They move to the turn's `unplaced_deltas` on read."""
    moved = turn.extra.get("unplaced_deltas")
    moved = list(moved) if isinstance(moved, list) else []
    for index, step in enumerate(turn.steps):
        deltas = step.pop("unknown_deltas", None)
        if isinstance(deltas, list):
            moved += [{"index": index, "delta": delta} for delta in deltas]
        content = step.get("content")
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "audio" and "rate" in block:
                moved.append({"index": index, "delta": {"type": "audio", "rate": block.pop("rate")}})
    if moved:
        turn.extra["unplaced_deltas"] = moved
