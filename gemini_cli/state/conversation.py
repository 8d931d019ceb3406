"""The conversation model: what one conversation file holds (design.md §6).

Plain data and stdlib only, so `history list` and friends stay quick to start. Reading
and writing files is store.py's job; this module holds the model, turns it into the dict
a file holds, and picks the history a stateless turn resends. Turning a file's dict back
into a Conversation (checks, upgrades of older versions) is loader.py's job.

Output steps are kept verbatim (the dicts the API sent): stateless mode must resend
them unchanged, thought and tool `signature` strings included. Stream data that has no
place on a step is kept on the turn as `unplaced_deltas` (never sent), so a resent step
holds no key the API does not define.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from gemini_cli.state.shape import TURN_TYPES, is_a, step_problem, type_name

FORMAT = "gemini-cli.conversation"
CURRENT_VERSION = 1
TITLE_MAX = 80

# Statuses after which the server's record of a turn can be built on: chained with
# previous_interaction_id (server mode) or resent as history (stateless mode).
USABLE_STATUSES = frozenset({"completed", "incomplete", "requires_action"})



def now_iso() -> str:
    """UTC now as ISO-8601 with milliseconds and "Z" (sorts as text)."""
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + ".%03dZ" % (ns // 1_000_000 % 1000)


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (``Z`` or an offset), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"  # Python 3.10's fromisoformat knows no Z
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def without_keys(value: Any, secrets: Any = ()) -> tuple[Any, bool]:
    """`value` with every API key in play replaced by <redacted> in its strings, and whether
    one was there: a key a server echoes into an answer must not reach the conversation file.
    Done on the JSON text (no recursion of ours, however deep the steps). `secrets`: the keys
    read from the config file (the I/O context's), beside the environment's."""
    keys = [(os.environ.get(name) or "").strip() for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY")]
    keys += sorted(secrets)
    # Only keys that JSON writes as they are (Google keys are letters, digits, '-', '_').
    keys = [key for key in keys if len(key) >= 8 and json.dumps(key, ensure_ascii=False)[1:-1] == key]
    if not keys:
        return value, False
    text = json.dumps(value, ensure_ascii=False)
    if not any(key in text for key in keys):
        return value, False
    for key in keys:
        text = text.replace(key, "<redacted>")
    return json.loads(text), True


ECHOED = "a secret, echoed in the answer"  # a problem Turn.record reports that is no malformed data


def record_warnings(problems: list[str]) -> list[str]:
    """The warnings for what Turn.record left out: a secret the answer repeats (an API key, an
    MCP header value), then the malformed data, each in one line."""
    warnings = []
    if ECHOED in problems:
        warnings.append("the answer repeats a secret (the API key or an MCP header value): saved as <redacted>")
    malformed = [problem for problem in problems if problem != ECHOED]
    if malformed:
        warnings.append(f"the server sent malformed data, saved without it: {'; '.join(malformed)}")
    return warnings


def new_id() -> str:
    # What secrets.token_hex(6) does, without importing secrets (hmac, hashlib, random).
    return "c" + os.urandom(6).hex()


def make_title(text: str) -> str:
    """The first non-blank line, at most TITLE_MAX characters."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = " ".join(line.split())
    return line if len(line) <= TITLE_MAX else line[: TITLE_MAX - 1].rstrip() + "…"


def step_texts(step: dict[str, Any]) -> list[str]:
    """The text blocks of a step's content (a bare string counts: the docs send one)."""
    content = step.get("content")
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [b["text"] for b in content
            if isinstance(b, dict) and b.get("type", "text") == "text" and isinstance(b.get("text"), str)]


def output_text(turn: Turn) -> str:
    """The answer's text: every text block of the turn's model_output steps, joined."""
    return "".join(t for s in turn.steps if s.get("type") == "model_output" for t in step_texts(s))


def answered_steps(turn: Turn, answered: set[Any] | frozenset[Any] = frozenset()) -> list[dict[str, Any]] | None:
    """A requires_action turn's steps without its unanswered function calls; None when nothing
    the model said is left (the turn is then not resent at all). A call is answered by a
    function_result in the turn itself or in `answered` (the call ids the next turn's input,
    a tool hop's results, answers)."""
    answered = set(answered) | {s.get("call_id") for s in turn.steps if s.get("type") == "function_result"}
    steps = [s for s in turn.steps if s.get("type") != "function_call" or s.get("id") in answered]
    if not any(s.get("type") in ("model_output", "function_call") for s in steps):
        return None
    return steps


def result_ids(steps: list[dict[str, Any]]) -> set[Any]:
    """The call ids the function_result steps among `steps` answer."""
    return {s.get("call_id") for s in steps if isinstance(s, dict) and s.get("type") == "function_result"}


@dataclass
class Turn:
    interaction_id: str | None = None
    status: str = "pending"
    created: str = ""
    model: str = ""
    input: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, kept for round trip

    @property
    def usable(self) -> bool:
        return self.status in USABLE_STATUSES

    def record(self, interaction: dict[str, Any], secrets: Any = ()) -> list[str]:
        """Take id, status, output steps and usage from an Interaction resource.

        A GET (and some unary answers) repeat our input as leading user_input steps;
        we already keep the input, so those are dropped rather than stored twice.
        What the loader would refuse (a step without a type, a status that is not a
        string, ...) is dropped here instead; the returned list says what, for a warning.
        """
        problems: list[str] = []
        steps = interaction.get("steps") or []
        if not isinstance(steps, list):
            problems.append(f"steps was {type_name(steps)}, not a list")
            steps = []
        steps = list(steps)
        while steps and isinstance(steps[0], dict) and steps[0].get("type") == "user_input":
            steps.pop(0)
        kept = [step for step in steps if step_problem(step) is None]
        if len(kept) < len(steps):
            problems.append(f"{len(steps) - len(kept)} malformed step(s) (no string \"type\")")
        kept, echoed = without_keys(kept, secrets)
        if echoed:
            problems.append(ECHOED)
        fields = {}
        for name, key in (("interaction_id", "id"), ("status", "status"), ("usage", "usage")):
            value = interaction.get(key)
            if value is not None and not is_a(value, TURN_TYPES[name]):
                problems.append(f"{key} was {type_name(value)}")
                value = "unknown" if key == "status" else None  # not usable: never chained on
            fields[name] = value
        self.interaction_id = fields["interaction_id"] or self.interaction_id
        self.status = fields["status"] or self.status
        self.steps = kept
        if fields["usage"] is not None:
            self.usage = fields["usage"]
        unplaced = interaction.get("unplaced_deltas")
        if unplaced:
            # Stream deltas with no place on their step (events.py): kept on the turn, which
            # is never sent, so a resent step holds only what the API defines.
            if isinstance(unplaced, list):
                self.extra["unplaced_deltas"] = list(unplaced)
            else:
                problems.append(f"unplaced_deltas was {type_name(unplaced)}")
        return problems

    def to_dict(self) -> dict[str, Any]:
        d = {"interaction_id": self.interaction_id, "status": self.status, "created": self.created,
             "model": self.model, "input": self.input, "steps": self.steps, "usage": self.usage}
        d.update((k, v) for k, v in self.extra.items() if k not in d)
        return d


@dataclass
class Conversation:
    id: str
    model: str
    store: bool = True
    title: str = ""
    created: str = ""
    updated: str = ""
    system_instruction: str | None = None
    generation_config: dict[str, Any] = field(default_factory=dict)
    tools: list[Any] = field(default_factory=list)
    response_format: Any = None
    turns: list[Turn] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown top-level keys

    @classmethod
    def new(cls, model: str, store: bool, system_instruction: str | None = None,
            generation_config: dict[str, Any] | None = None, tools: list[Any] | None = None,
            response_format: Any = None) -> Conversation:
        now = now_iso()
        return cls(id=new_id(), model=model, store=store, created=now, updated=now,
                   system_instruction=system_instruction, generation_config=dict(generation_config or {}),
                   tools=list(tools or []), response_format=response_format)

    @property
    def mode(self) -> str:
        return "server" if self.store else "stateless"

    def add_turn(self, input: list[dict[str, Any]], *, model: str | None = None, status: str = "pending",
                 interaction_id: str | None = None, steps: list[dict[str, Any]] | None = None,
                 usage: dict[str, Any] | None = None) -> Turn:
        """Append a turn (pending until the answer is recorded); the first one names the conversation."""
        turn = Turn(interaction_id=interaction_id, status=status, created=now_iso(), model=model or self.model,
                    input=list(input), steps=list(steps or []), usage=usage)
        self.turns.append(turn)
        if not self.title:
            self.title = make_title(next(iter(self.user_texts()), ""))
        return turn

    def last_interaction_id(self) -> str | None:
        """The id to send as previous_interaction_id: the newest usable turn's.

        A failed, cancelled, interrupted or pending turn is skipped, so the next turn
        builds on the last answer the server actually finished.
        """
        for turn in reversed(self.turns):
            if turn.interaction_id and turn.usable:
                return turn.interaction_id
        return None

    def history_steps(self, pending: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Stateless mode's history: each usable turn's input steps then its output steps.

        Exactly the turns server mode would chain through are included. Turns that are
        pending, interrupted (partial output the server never finished, possibly a cut
        signature), failed, cancelled or over budget are left out whole: their input is
        dropped too, so the model never sees a question without its answer.

        A `requires_action` turn ends with function calls, and the API rejects a call
        without its result: calls that the next usable turn's input (the results a tool
        hop sent), or `pending` (the results about to be sent after the last turn), does not
        answer are left out, and the whole turn too when nothing the model said remains.
        """
        usable = [turn for turn in self.turns if turn.usable]
        history: list[dict[str, Any]] = []
        for n, turn in enumerate(usable):
            steps: list[dict[str, Any]] | None = turn.steps
            if turn.status == "requires_action":
                following = usable[n + 1].input if n + 1 < len(usable) else (pending or [])
                steps = answered_steps(turn, result_ids(following))
            if steps is not None:
                history.extend(turn.input)
                history.extend(steps)
        return history

    def user_texts(self) -> list[str]:
        return [t for turn in self.turns for s in turn.input if s.get("type") == "user_input" for t in step_texts(s)]

    def model_texts(self) -> list[str]:
        return [text for text in map(output_text, self.turns) if text]

    def contains_text(self, needle: str) -> bool:
        """Case-insensitive search through what the user typed and what the model answered."""
        needle = needle.casefold()
        return any(needle in text.casefold() for text in self.user_texts() + self.model_texts())

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "created": self.created, "updated": self.updated,
                "model": self.model, "turns": len(self.turns), "mode": self.mode}

    def to_dict(self) -> dict[str, Any]:
        d = {"format": FORMAT, "version": CURRENT_VERSION, "id": self.id, "title": self.title,
             "created": self.created, "updated": self.updated, "model": self.model, "store": self.store,
             "system_instruction": self.system_instruction, "generation_config": self.generation_config,
             "tools": self.tools, "response_format": self.response_format,
             "turns": [turn.to_dict() for turn in self.turns]}
        d.update((k, v) for k, v in self.extra.items() if k not in d)
        return d

