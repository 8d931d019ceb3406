"""step.delta events (interactions-api.md §5.1): what each delta type holds, where on its step
(or block) it goes, and the check of a step event's shape before any of it is read.

StepDeltas keeps what a hop's deltas leave pending (a text block's pieces, a call's argument
fragments) and the deltas that have no place on their step; api/events.py gives it each
step.delta with the step it belongs to.
"""

from __future__ import annotations

import json
from typing import Any

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
# The fields of a delta that the builder and the renderers read, and the type each must have.
DELTA_TYPES: dict[str, dict[str, type | tuple[type, ...]]] = {
    "text": {"text": str},
    "thought_summary": {"content": dict},
    "thought_signature": {"signature": str},
    "arguments_delta": {"arguments": str},
    "text_annotation_delta": {"annotations": list},
    **{kind: {"data": str, "uri": str, "mime_type": str} for kind in BLOCK_FIELDS},
}


def malformed(event: dict[str, Any]) -> str:
    """What is wrong with a step event's shape ("" when nothing is): a hostile server's
    `"index": [1]` or `"text": 5` must be dropped, not crash the turn."""
    event_type = event.get("event_type")
    if event_type == "step.delta":  # nearly every event: a text delta and nothing else, checked at once
        delta = event.get("delta")
        if (type(delta) is dict and len(delta) == 2 and delta.get("type") == "text" and type(delta.get("text")) is str
                and type(event.get("index", 0)) is int):
            return ""
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
    for name, expected in DELTA_TYPES.get(kind, {}).items() if isinstance(kind, str) else ():
        if name in delta and not isinstance(delta[name], expected):
            return f"step.delta ({kind}) whose {name} has the wrong type"
    content = delta.get("content") if kind == "thought_summary" else None
    if content is not None and "text" in content and not isinstance(content["text"], str):
        return "step.delta (thought_summary) whose text is not a string"
    return ""


class StepDeltas:
    """The deltas of one turn put onto their steps. A slot is a step's place in the turn's
    steps (api/events.py maps each hop's indexes onto it)."""

    def __init__(self) -> None:
        # Deltas (or the fields of one) that have no place on their step: kept beside the
        # steps as {"index", "delta"}, never on a step that stateless mode resends.
        self.unplaced: list[dict[str, Any]] = []
        self._arguments: dict[int, list[str]] = {}
        # slot -> (text block, pieces): joined once at step.stop, not on every delta,
        # so a long answer costs linear time.
        self._text: dict[int, tuple[dict[str, Any], list[str]]] = {}

    def new_hop(self) -> None:
        """A new hop's indexes name other slots: what the last one left pending is done."""
        self.join_text()
        self._arguments.clear()

    def start(self, slot: int) -> None:
        """step.start: the slot holds a new step; what an earlier one left pending is dropped."""
        self._text.pop(slot, None)
        self._arguments.pop(slot, None)

    def stop(self, slot: int, step: dict[str, Any] | None) -> None:
        """step.stop: the step's text joined, its argument fragments parsed."""
        self.join_text(slot)
        fragments = self._arguments.pop(slot, None)
        if fragments is not None and step is not None:
            text = "".join(fragments)
            try:
                step["arguments"] = json.loads(text) if text else {}
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                step["arguments"] = text  # keep the raw text rather than lose it

    def add(self, slot: int, step: dict[str, Any], delta: dict[str, Any]) -> None:
        """One delta (its shape checked by malformed()) onto the step in slot."""
        kind = delta.get("type")
        if kind == "text" and len(delta) == 2 and "text" in delta:  # nearly every delta: no other field
            self._add_text(slot, step, delta["text"])
            return
        # The delta's own fields are handled below; the rest (fields no type defines) go
        # where its fields go, kept verbatim; NO_PLACE fields go beside the steps.
        known = {"type", *DELTA_TYPES.get(kind, {})} if isinstance(kind, str) else {"type"}
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
            self.join_text(slot)
            self._add_annotations(step, delta.get("annotations") or [])
            step["content"][-1].update(unknown)
        elif kind in BLOCK_FIELDS or (isinstance(kind, str) and step.get("type") == "model_output"
                                      and kind not in STEP_FIELDS and kind not in DELTA_TYPES):
            # An image/audio/... delta is a content block; so is a delta of a type we do not
            # know on a model_output step (a new content type), kept whole.
            self.join_text(slot)
            placed = {k: v for k, v in delta.items() if k not in NO_PLACE.get(kind, ())}
            step.setdefault("content", []).append(placed)
            self._unplaced(slot, delta, frozenset(placed))
        elif isinstance(kind, str) and kind not in DELTA_TYPES and (
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

    def _add_text(self, slot: int, step: dict[str, Any], text: str) -> None:
        content = step.setdefault("content", [])
        pending = self._text.get(slot)
        if pending and content and pending[0] is content[-1]:
            pending[1].append(text)
            return
        self.join_text(slot)
        if content and content[-1].get("type") == "text":
            block = content[-1]
        else:
            block = {"type": "text", "text": ""}
            content.append(block)
        self._text[slot] = (block, [block.get("text", ""), text])

    def join_text(self, slot: int | None = None) -> None:
        """The pending text of slot (of every slot: None) joined into its block."""
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
