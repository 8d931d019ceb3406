"""Reassemble an Interaction from stream events (event_type values as the API names them).

One InteractionBuilder follows a whole turn, across continuation hops and resumed
streams. It keeps the raw dicts the API sent and adds deltas onto them, so steps
(thought signatures included) are stored exactly as the API produced them.
"""

from __future__ import annotations

import json
from typing import Any

from gemini_cli.api import usage as usage_sum
from gemini_cli.api.snapshot import BLOCK_LISTS, merge_step, printable
from gemini_cli.state.shape import blocks_problem, repair_blocks

# What each step type may hold (interactions-api.md §4.2). A delta's fields go onto its step
# (or block); the fields a delta type defines that its step or block lacks (NO_PLACE) go beside
# the steps. A field nobody defines is kept where the delta's fields go, and resent verbatim in
# stateless mode, as the SDK keeps unknown fields (extra="allow") on steps it got whole.
STEP_FIELDS: dict[str, frozenset[str]] = {
    kind: frozenset(names.split()) for kind, names in {
        "function_call": "id name arguments",
        "function_result": "call_id result name is_error",
        "code_execution_call": "id arguments signature",
        "code_execution_result": "call_id result is_error signature",
        "url_context_call": "id arguments signature",
        "url_context_result": "call_id result is_error signature",
        "google_search_call": "id arguments search_type signature",
        "google_search_result": "call_id result is_error signature",
        "google_maps_call": "id arguments signature",
        "google_maps_result": "call_id result signature",
        "file_search_call": "id signature",
        "file_search_result": "call_id signature",
        "mcp_server_tool_call": "id name server_name arguments",
        "mcp_server_tool_result": "call_id result name server_name",
        "retrieval_call": "id arguments retrieval_type signature",
        "retrieval_result": "call_id is_error signature",
        "processing_call": "id signature",
        "processing_result": "call_id signature",
    }.items()
}
# A binary delta becomes a content block with the fields that block type has (§3.2);
# e.g. the audio delta's deprecated `rate` has no place on an audio block.
BLOCK_FIELDS: dict[str, frozenset[str]] = {
    "image": frozenset({"data", "uri", "mime_type", "resolution"}),
    "audio": frozenset({"data", "uri", "mime_type", "sample_rate", "channels"}),
    "video": frozenset({"data", "uri", "mime_type", "resolution"}),
    "document": frozenset({"data", "uri", "mime_type"}),
}
# Fields a delta type defines (§5.1) that have no place on its step or block.
NO_PLACE: dict[str, frozenset[str]] = {"audio": frozenset({"rate"}), "file_search_result": frozenset({"result"})}
# The content types a thought's summary may hold (§5.1); other summary deltas have no place.
SUMMARY_TYPES = frozenset({"text", "image"})
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "incomplete", "budget_exceeded", "requires_action"})
# A step index may run at most this far past the steps seen: a hostile `index` (100000000)
# must not make us allocate a list that long.
INDEX_SLACK = 16


class InteractionBuilder:
    def __init__(self) -> None:
        self.interaction: dict[str, Any] = {}
        self.steps: list[dict[str, Any] | None] = []
        self._hop_usage: list[dict[str, Any] | None] = []  # the latest usage each hop reported
        self.hops = 0
        self.completed = False  # the current hop saw interaction.completed
        self.last_event_id: str | None = None
        self.events_since_id = 0  # events handled after the one named by last_event_id
        self.error: dict[str, Any] | None = None
        # The latest mid-stream checkpoint (interaction.status_update): a dropped stream can be
        # re-created from it while no step event came after it (else output would repeat).
        self.checkpoint: dict[str, Any] | None = None  # {"id": issuing interaction, "continuation_token"}
        self.after_checkpoint = 0  # step events handled since the checkpoint
        # Steps, or parts of steps, that arrived other than as deltas (a step.start skeleton's
        # content, steps inside interaction.created/completed): the caller prints them (take_unshown).
        self._unshown: list[dict[str, Any]] = []
        self.received = 0  # bytes of the turn's events and bodies so far (runs/turn.py bounds it)
        self.problems: list[str] = []  # what the server sent wrong and was dropped (each once)
        self._problem_kinds: set[str] = set()
        # Deltas (or the fields of one) that have no place on their step: kept beside the
        # steps as {"index", "delta"}, never on a step that stateless mode resends.
        self.unplaced: list[dict[str, Any]] = []
        self._base = 0  # index of the current hop's step 0 in self.steps
        self._hop_bases: list[int] = []  # where each hop's steps start in self.steps
        self._arguments: dict[int, list[str]] = {}
        # slot -> (text block, pieces): joined once at step.stop, not on every delta,
        # so a long answer costs linear time.
        self._text: dict[int, tuple[dict[str, Any], list[str]]] = {}
        self._handlers = {
            "interaction.created": self._created,
            "interaction.completed": self._completed,
            "interaction.status_update": self._status_update,
            "step.start": self._step_start,
            "step.delta": self._step_delta,
            "step.stop": self._step_stop,
            "error": self._error,
        }

    # -- properties --------------------------------------------------------

    @property
    def id(self) -> str | None:
        value = self.interaction.get("id")
        return value if isinstance(value, str) else None

    @property
    def status(self) -> str | None:
        value = self.interaction.get("status")
        return value if isinstance(value, str) else None

    def problem(self, text: str, kind: str | None = None) -> None:
        """Note what the server sent wrong, once per kind (default: the text itself)."""
        kind = kind or text
        if kind not in self._problem_kinds:
            self._problem_kinds.add(kind)
            self.problems.append(text)

    # -- feeding -----------------------------------------------------------

    def feed(self, event: dict[str, Any]) -> bool:
        """Take one event; False when its shape is wrong (dropped, noted once): the caller
        then keeps it from the renderers too, which read the same fields."""
        wrong = _malformed(event)
        if wrong:
            self.problem(f"a {wrong} (its events were dropped)", wrong)
            return False
        event_id = event.get("event_id")
        if event_id:
            self.last_event_id = event_id
            self.events_since_id = 0
        else:
            self.events_since_id += 1
        event_type = event.get("event_type")
        if event_type in ("step.start", "step.delta"):
            self.after_checkpoint += 1
        handler = self._handlers.get(event_type) if isinstance(event_type, str) else None
        if handler:
            handler(event)
        elif isinstance(event_type, str) and event_type.startswith("interaction."):
            # interaction.in_progress, interaction.requires_action, ... (migration-era names)
            self._status_update(event)
        # Anything else is an event type we do not know: kept by the jsonl renderer, ignored here.
        return True

    def _created(self, event: dict[str, Any]) -> None:
        interaction = _object(event.get("interaction"))
        if self.completed or not self.hops:
            self.begin_hop()
        self._merge(interaction)
        if interaction.get("steps") is not None:
            self._merge_steps(interaction["steps"])

    def begin_hop(self) -> None:
        """A new hop's step indexes start after the steps already collected."""
        self.hops += 1
        self._hop_usage.append(None)
        self.completed = False
        self._join_text()
        self._base = len(self.steps)
        self._hop_bases.append(self._base)
        self._arguments.clear()
        # A hop's token is its own: a later hop that sends none must not go on with an older one.
        self.interaction.pop("continuation_token", None)
        self.checkpoint, self.after_checkpoint = None, 0

    def take_unshown(self) -> list[dict[str, Any]]:
        """What arrived since the last call other than as deltas, as steps to print."""
        unshown, self._unshown = self._unshown, []
        return unshown

    def _merge(self, interaction: dict[str, Any]) -> None:
        for key, value in interaction.items():
            if key == "steps":
                continue
            if key == "usage":
                self._add_usage(value)
            else:
                self.interaction[key] = value

    def _completed(self, event: dict[str, Any]) -> None:
        interaction = _object(event.get("interaction"))
        # The final snapshot is authoritative: no token in it, no continuation (never an
        # older mid-stream checkpoint, which would generate printed text again).
        self.interaction.pop("continuation_token", None)
        self._merge(interaction)
        if interaction.get("steps") is not None:
            self._merge_steps(interaction["steps"])
        self.checkpoint = None
        self.completed = True

    def _status_update(self, event: dict[str, Any]) -> None:
        status = event.get("status") or event.get("event_type", "").partition(".")[2]
        if status:
            self.interaction["status"] = status
        token = event.get("continuation_token")
        if isinstance(token, str) and token:
            issuer = event.get("interaction_id")
            self.checkpoint = {"id": issuer if isinstance(issuer, str) and issuer else self.id,
                               "continuation_token": token}
            self.after_checkpoint = 0
        if "usage" in event:
            self._add_usage(event["usage"])

    @property
    def resumable_checkpoint(self) -> dict[str, Any] | None:
        """The checkpoint to re-create a dropped stream from: None once output came after it."""
        return self.checkpoint if self.checkpoint and not self.after_checkpoint else None

    def _error(self, event: dict[str, Any]) -> None:
        # kept as sent: api/errors.py makes sense of an error that is not an object
        self.error = event.get("error") or {"message": "the stream reported an error"}

    def _slot(self, index: Any) -> int | None:
        """The steps slot of an event's index; None (event dropped) for one far past the steps seen."""
        index = index if isinstance(index, int) and not isinstance(index, bool) else 0
        slot = self._base + index
        if index < 0 or slot > len(self.steps) + INDEX_SLACK:
            self.problem(f"a step index far past the steps seen, such as {index} (its events were dropped)", "index")
            return None
        while len(self.steps) <= slot:
            self.steps.append(None)
        return slot

    def _step_start(self, event: dict[str, Any]) -> None:
        slot = self._slot(event.get("index"))
        if slot is None:
            return
        step = event.get("step")
        self._text.pop(slot, None)
        step = self.steps[slot] = dict(step) if isinstance(step, dict) else {}
        self._arguments.pop(slot, None)
        wrong = blocks_problem(step) if isinstance(step.get("type"), str) else None
        if wrong:
            self.problem(f"a {step['type']} step.start that {wrong} (its blocks were dropped)")
            step.pop(BLOCK_LISTS[step["type"]], None)
        # A skeleton may already hold content (a model_output with text): printed like deltas.
        shown = printable(step)
        if shown:
            self._unshown.append(shown)

    def _step_delta(self, event: dict[str, Any]) -> None:
        slot = self._slot(event.get("index"))
        if slot is None:
            return
        step = self.steps[slot]
        if step is None:
            step = self.steps[slot] = {}
        delta = _object(event.get("delta"))
        metadata = event.get("metadata")
        if isinstance(metadata, dict) and "total_usage" in metadata:
            self._add_usage(metadata["total_usage"])
        kind = delta.get("type")
        # The delta's own fields are handled below; the rest (fields no type defines) go
        # where its fields go, kept verbatim; NO_PLACE fields go beside the steps.
        known = {"type", *_DELTA_TYPES.get(kind, {})} if isinstance(kind, str) else {"type"}
        no_place = NO_PLACE.get(kind, frozenset()) if isinstance(kind, str) else frozenset()
        unknown = {k: v for k, v in delta.items() if k not in known and k not in no_place}
        if kind == "text":
            self._add_text(slot, step, delta.get("text", ""))
            self._text[slot][0].update(unknown)
        elif kind == "thought_summary":
            block = delta.get("content")
            if isinstance(block, dict) and block.get("type", "text") not in SUMMARY_TYPES:
                self._unplaced(slot, delta, frozenset())  # a thought's summary holds text and images only
                return
            self._add_summary(step, block)
            step.update(unknown)
        elif kind == "thought_signature":
            step["signature"] = delta.get("signature", "")
            step.update(unknown)
        elif kind == "arguments_delta":
            self._arguments.setdefault(slot, []).append(delta.get("arguments", ""))
            step.update(unknown)
        elif kind == "text_annotation_delta":
            self._join_text(slot)
            self._add_annotations(step, delta.get("annotations") or [])
            step["content"][-1].update(unknown)
        elif kind in BLOCK_FIELDS or (isinstance(kind, str) and step.get("type") == "model_output"
                                      and kind not in STEP_FIELDS and kind not in _DELTA_TYPES):
            # An image/audio/... delta is a content block; so is a delta of a type we do not
            # know on a model_output step (a new content type), kept whole.
            self._join_text(slot)
            placed = {k: v for k, v in delta.items() if k not in NO_PLACE.get(kind, ())}
            step.setdefault("content", []).append(placed)
            self._unplaced(slot, delta, frozenset(placed))
        elif isinstance(kind, str) and kind not in _DELTA_TYPES and (
                step.get("type") == kind or ("type" not in step and kind in STEP_FIELDS)):
            # A tool delta (or one of a step type we do not know) on its own step.
            step.setdefault("type", kind)
            placed = {k: v for k, v in delta.items() if k not in NO_PLACE.get(kind, ())}
            step.update(placed)
            self._unplaced(slot, delta, frozenset(placed))
        else:
            # No place on any step: a delta without a type, a thought delta on another step
            # type, a tool delta on a step of another type. Kept beside the steps, not lost.
            self._unplaced(slot, delta, frozenset())

    def _unplaced(self, slot: int, delta: dict[str, Any], placed: frozenset[str]) -> None:
        rest = {k: v for k, v in delta.items() if k not in placed}
        if rest:
            if "type" in delta:
                rest["type"] = delta["type"]
            self.unplaced.append({"index": slot, "delta": rest})

    def _step_stop(self, event: dict[str, Any]) -> None:
        slot = self._slot(event.get("index"))
        if slot is None:
            return
        if "usage" in event:  # the interaction's usage so far (step_usage is the step's own)
            self._add_usage(event["usage"])
        self._join_text(slot)
        fragments = self._arguments.pop(slot, None)
        step = self.steps[slot]
        if fragments is not None and step is not None:
            text = "".join(fragments)
            try:
                step["arguments"] = json.loads(text) if text else {}
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                step["arguments"] = text  # keep the raw text rather than lose it

    def _add_text(self, slot: int, step: dict[str, Any], text: str) -> None:
        content = step.setdefault("content", [])
        pending = self._text.get(slot)
        if pending and content and pending[0] is content[-1]:
            pending[1].append(text)
            return
        self._join_text(slot)
        if content and content[-1].get("type") == "text":
            block = content[-1]
        else:
            block = {"type": "text", "text": ""}
            content.append(block)
        self._text[slot] = (block, [block.get("text", ""), text])

    def _join_text(self, slot: int | None = None) -> None:
        slots = list(self._text) if slot is None else [slot]
        for key in slots:
            pending = self._text.pop(key, None)
            if pending:
                pending[0]["text"] = "".join(pending[1])

    @staticmethod
    def _add_summary(step: dict[str, Any], block: Any) -> None:
        if not isinstance(block, dict):
            return
        summary = step.setdefault("summary", [])
        if block.get("type") == "text" and summary and summary[-1].get("type") == "text":
            summary[-1]["text"] = summary[-1].get("text", "") + block.get("text", "")
        else:
            summary.append(dict(block))

    @staticmethod
    def _add_annotations(step: dict[str, Any], annotations: list[Any]) -> None:
        content = step.setdefault("content", [])
        if not content or content[-1].get("type") != "text":
            content.append({"type": "text", "text": ""})
        content[-1].setdefault("annotations", []).extend(annotations)

    # -- whole interactions (non-streamed hops) ----------------------------

    def add_interaction(self, interaction: dict[str, Any]) -> dict[str, Any]:
        """Merge a complete Interaction resource (one non-streamed hop); returns it with
        what the server sent malformed (steps that are not step objects) left out."""
        self.begin_hop()
        interaction = dict(interaction)
        steps = self._clean_steps(interaction.get("steps"))
        interaction["steps"] = steps
        if self.hops > 1:
            # Later hops may echo the input; the SDK drops leading user_input steps too.
            while steps and steps[0].get("type") == "user_input":
                steps = steps[1:]
        self.steps.extend(steps)
        self._merge(interaction)
        self.completed = True
        return interaction

    def _merge_steps(self, steps: Any) -> None:
        """Steps inside interaction.created/completed (the SDK type allows them), merged with
        what this hop's step events built: a step no event gave is added, and a streamed one
        gains the fields and blocks its deltas lacked (a thought signature); where both have a
        field, the deltas' value stays. What is new is queued for printing."""
        self._join_text()
        given = self._clean_steps(steps)
        while given and given[0].get("type") == "user_input":
            given = given[1:]  # an echo of our input, which the turn already keeps
        built = [slot for slot, built_step in enumerate(self.steps[self._base:], self._base)
                 if built_step is not None and built_step.get("type") != "user_input"]
        for n, step in enumerate(given):
            if n >= len(built):
                self.steps.append(dict(step))
                shown = printable(step, whole=True)
            elif ((target := self.steps[built[n]]) is not None  # built: slots that hold a step
                  and target.get("type", step.get("type")) == step.get("type")):
                shown = merge_step(target, step)
            else:
                self.problem("steps in the final interaction that do not match the streamed ones "
                             "(the streamed steps were kept)")
                return
            if shown:
                self._unshown.append(shown)

    def _clean_steps(self, steps: Any) -> list[dict[str, Any]]:
        if steps is None:
            return []
        if not isinstance(steps, list):
            self.problem("steps that is not a list (dropped)")
            return []
        kept = [step for step in steps if isinstance(step, dict)]
        if len(kept) < len(steps):
            self.problem("a step that is not an object (dropped)")
        for step in kept:
            wrong = blocks_problem(step)
            if wrong:
                self.problem(f"a {step['type']} step that {wrong} (dropped)")
        return [self._repaired(step) for step in kept if blocks_problem(step) is None]

    def _repaired(self, step: dict[str, Any]) -> dict[str, Any]:
        """The step with block fields of the wrong type dropped (state/shape.py), noted once each."""
        fixed, problems = repair_blocks(step)
        kind = step.get("type")
        for wrong in problems:
            self.problem(f"a {kind if isinstance(kind, str) else 'malformed'} step that {wrong} (repaired)")
        return fixed

    def _add_usage(self, usage: Any) -> None:
        if usage is not None and not isinstance(usage, dict):
            self.problem("usage that is not an object (ignored)")
        if isinstance(usage, dict):
            if not self._hop_usage:
                self._hop_usage.append(None)
            self._hop_usage[-1] = usage  # a later report within a hop supersedes an earlier one

    @property
    def usage(self) -> dict[str, Any] | None:
        """Token counts summed across hops (initial_input_tokens is the first hop's)."""
        return usage_sum.total([usage for usage in self._hop_usage if usage])

    # -- results -----------------------------------------------------------

    def result(self) -> dict[str, Any]:
        """The reassembled Interaction, with `output_text` as the SDK computes it, hop by hop."""
        self._join_text()
        interaction = dict(self.interaction)
        self.steps = [None if step is None else self._repaired(step) for step in self.steps]
        steps = [step for step in self.steps if step is not None]
        interaction["steps"] = steps
        usage = self.usage
        if usage is not None:
            interaction["usage"] = usage
        # Each hop's text as the SDK computes it for that interaction, joined: a continued
        # answer is one answer, and the thought step that opens each hop must not cut it.
        bounds = [*(self._hop_bases or [0]), len(self.steps)]
        interaction["output_text"] = "".join(
            output_text([step for step in self.steps[start:end] if step is not None])
            for start, end in zip(bounds, bounds[1:], strict=False))  # consecutive pairs
        if self.unplaced:  # "index": the step's position in `steps`
            position = {slot: n for n, slot in enumerate(i for i, step in enumerate(self.steps) if step is not None)}
            interaction["unplaced_deltas"] = [{**item, "index": position.get(item["index"], item["index"])}
                                              for item in self.unplaced]
        return interaction


# The fields of a delta that the builder and the renderers read, and the type each must have.
_DELTA_TYPES: dict[str, dict[str, type | tuple[type, ...]]] = {
    "text": {"text": str},
    "thought_summary": {"content": dict},
    "thought_signature": {"signature": str},
    "arguments_delta": {"arguments": str},
    "text_annotation_delta": {"annotations": list},
    **{kind: {"data": str, "uri": str, "mime_type": str} for kind in BLOCK_FIELDS},
}


def _malformed(event: dict[str, Any]) -> str:
    """What is wrong with a step event's shape ("" when nothing is): a hostile server's
    `"index": [1]` or `"text": 5` must be dropped, not crash the turn."""
    event_type = event.get("event_type")
    if not isinstance(event_type, str):
        return "stream event whose event_type is not a string"
    if event_type not in ("step.start", "step.delta", "step.stop"):
        return ""
    index = event.get("index", 0)
    if not isinstance(index, int) or isinstance(index, bool):
        return "step event whose index is not a number"
    if event_type != "step.delta":
        return ""
    delta = event.get("delta")
    if not isinstance(delta, dict):
        return "step.delta whose delta is not an object"
    kind = delta.get("type")
    if not isinstance(kind, str) and "type" in delta:
        return "step.delta whose type is not a string"
    for name, expected in _DELTA_TYPES.get(kind, {}).items() if isinstance(kind, str) else ():
        if name in delta and not isinstance(delta[name], expected):
            return f"step.delta ({kind}) whose {name} has the wrong type"
    content = delta.get("content") if kind == "thought_summary" else None
    if content is not None and "text" in content and not isinstance(content["text"], str):
        return "step.delta (thought_summary) whose text is not a string"
    return ""


def _object(value: Any) -> dict[str, Any]:
    """An event's object field; anything else the server sent there counts as empty."""
    return value if isinstance(value, dict) else {}


def output_text(steps: list[dict[str, Any]]) -> str:
    """The trailing run of text blocks of the last model_output steps, as the SDK computes it
    (google-genai 3.3.0, google/genai/_gaos/google_genai.py `_output_properties_from_steps`):
    scanning back, stop at a user_input step; skip other steps until text is found, then stop
    at the first step or block that is not text. Text, image, text gives the last text only."""
    parts: list[str] = []
    collecting = False
    for step in reversed(steps):
        kind = step.get("type")
        if kind == "user_input":
            break
        content = step.get("content")
        if kind != "model_output" or not isinstance(content, list):
            if collecting:
                break
            continue
        for block in reversed(content):
            if isinstance(block, dict) and block.get("type") == "text":
                collecting = True
                text = block.get("text")
                parts.append(text if isinstance(text, str) else "")
            elif collecting:
                return "".join(reversed(parts))
    return "".join(reversed(parts))
