"""Reassemble an Interaction from stream events (event_type values as the API names them).

One InteractionBuilder follows a whole turn, across continuation hops and resumed
streams. It keeps the raw dicts the API sent and adds deltas onto them, so steps
(thought signatures included) are stored exactly as the API produced them. Where each
step.delta goes on its step is api/deltas.py's; steps that arrive whole, api/snapshot.py's.
"""

from __future__ import annotations

from typing import Any

from gemini_cli.api import usage
from gemini_cli.api.deltas import StepDeltas, malformed
from gemini_cli.api.snapshot import BLOCK_LISTS, merge_step, printable
from gemini_cli.state.shape import blocks_problem, repair_blocks

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
        self._base = 0  # index of the current hop's step 0 in self.steps
        self._hop_bases: list[int] = []  # where each hop's steps start in self.steps
        self.deltas = StepDeltas()  # what the deltas left pending, and those with no place
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
        wrong = malformed(event)
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
        self.deltas.new_hop()
        self._base = len(self.steps)
        self._hop_bases.append(self._base)
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
        self.deltas.start(slot)
        step = self.steps[slot] = dict(step) if isinstance(step, dict) else {}
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
        self.deltas.add(slot, step, delta)

    def _step_stop(self, event: dict[str, Any]) -> None:
        slot = self._slot(event.get("index"))
        if slot is None:
            return
        if "usage" in event:  # the interaction's usage so far (step_usage is the step's own)
            self._add_usage(event["usage"])
        self.deltas.stop(slot, self.steps[slot])

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
        self.deltas.join_text()
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
        return usage.total([report for report in self._hop_usage if report])

    # -- results -----------------------------------------------------------

    def result(self) -> dict[str, Any]:
        """The reassembled Interaction, with `output_text` as the SDK computes it, hop by hop."""
        self.deltas.join_text()
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
        if self.deltas.unplaced:  # "index": the step's position in `steps`
            position = {slot: n for n, slot in enumerate(i for i, step in enumerate(self.steps) if step is not None)}
            interaction["unplaced_deltas"] = [{**item, "index": position.get(item["index"], item["index"])}
                                              for item in self.deltas.unplaced]
        return interaction


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
