"""Run one turn: create (streamed or not), follow continuation hops, feed a renderer.

Shared by `generate`, `chat` and `history fetch`. Returns an Outcome: what arrived, and the
error that cut the turn short, which the caller raises once the partial answer is saved.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Callable

import httpx

from gemini_cli.api import interactions, surrogates
from gemini_cli.api.client import ApiClient
from gemini_cli.api.errors import stream_error
from gemini_cli.api.events import InteractionBuilder
from gemini_cli.api.sse import is_event_stream, iter_events
from gemini_cli.errors import ExitCode, GeminiCliError, NotCompleted, ReplayMismatch, StreamInterrupted

MAX_HOPS = 50
# generation_config fields google-genai 3.3.0 marks deprecated on Interactions: still sent
# (a user asked for them), noted once per run, i.e. per console (or batch progress) noting it.
DEPRECATED = ("temperature", "top_p")
_noted: weakref.WeakSet[Any] = weakref.WeakSet()
# What one turn may bring, all hops and resumes together (event data, JSON bodies): a
# server that never stops must not grow the process and the conversation file without end.
MAX_TURN = 256 * 1024 * 1024


class TurnTooLarge(GeminiCliError):
    """The turn's answer passed MAX_TURN: stop; the partial turn is saved."""

    exit_code = ExitCode.SERVER


@dataclass
class Outcome:
    """One turn as far as it got: the reassembled Interaction, and the error to raise once it
    is rendered and saved. Not finished: the error cut the turn short (an API or network
    error, Ctrl-C, SIGTERM), and the partial answer is saved as interrupted. Finished: the
    turn ran to its end and any error came after (a media file that could not be written)."""

    result: dict[str, Any]
    error: BaseException | None = None
    finished: bool = False
    saved: bool = False  # the turn is in its conversation file (run_turn)
    problems: tuple[str, ...] = ()  # what the server sent wrong and was dropped (each kind once)


def run(
    client: ApiClient,
    body: dict[str, Any],
    renderer: Any,
    *,
    on_malformed: Callable[[str], None] | None = None,
) -> Outcome:
    _note_deprecated(client, body)
    builder = InteractionBuilder()
    try:
        for _ in range(MAX_HOPS):
            if body.get("stream"):
                _stream_hop(client, body, builder, renderer, on_malformed)
            else:
                response = interactions.create(client, body)
                builder.received += len(response.content)
                if builder.received > MAX_TURN:
                    raise TurnTooLarge(f"the answer grew past {MAX_TURN >> 20} MiB (the limit of one turn); stopped")
                hop = builder.add_interaction(interactions.interaction_body(response))
                _note_repaired(builder, response)
                renderer.interaction(hop)
            token = builder.interaction.get("continuation_token")
            if (builder.status != "requires_continuation" or not token or token == body.get("continuation_token")
                    or not _continuable(body)):
                break  # done, a hop that made no progress, or one the server continues itself
            body = interactions.continuation_body(body, builder.interaction)
    except BaseException as exc:  # errors, Ctrl-C, SIGTERM: the caller saves what arrived
        return Outcome(builder.result(), exc, problems=tuple(builder.problems))
    return Outcome(builder.result(), finished=True, problems=tuple(builder.problems))


def _note_deprecated(client: ApiClient, body: dict[str, Any]) -> None:
    config = body.get("generation_config")
    names = [name for name in DEPRECATED if isinstance(config, dict) and name in config]
    owner = getattr(getattr(client, "note", None), "__self__", None)  # the Console: one per run (chat: every turn)
    if not names or owner is None or owner in _noted:
        return
    _noted.add(owner)
    client.note(f"generation_config.{' and '.join(names)} {'is' if len(names) == 1 else 'are'} deprecated on the "
                "Interactions API (google-genai 3.3.0); sent as asked")


def follow(client: ApiClient, interaction_id: str, renderer: Any, *,
           on_malformed: Callable[[str], None] | None = None) -> Outcome:
    """Stream an existing (background) interaction with GET ?stream=true, resuming drops."""
    builder = InteractionBuilder()
    builder.interaction["id"] = interaction_id
    try:
        _stream_hop(client, {}, builder, renderer, on_malformed, interactions.stream(client, interaction_id))
    except BaseException as exc:
        return Outcome(builder.result(), exc, problems=tuple(builder.problems))
    return Outcome(builder.result(), finished=True, problems=tuple(builder.problems))


def _stream_hop(client, body, builder, renderer, on_malformed, response=None) -> None:
    """Read one hop's stream; if it drops, resume it with GET ?last_event_id= (stored, events
    with ids), else re-create it from the latest continuation_token checkpoint, as the SDK
    does, if nothing arrived since that checkpoint."""
    if response is None:
        response = interactions.create(client, body)
    if not is_event_stream(response):
        # The server answered with a whole Interaction instead of a stream.
        client.read(response)
        hop = builder.add_interaction(interactions.interaction_body(response))
        _note_repaired(builder, response)
        renderer.interaction(hop)
        return
    builder.begin_hop()
    # Event ids belong to one interaction: never resume this hop after an earlier hop's id.
    builder.last_event_id, builder.events_since_id = None, 0
    waits = client.retrier()
    reason = ""
    while True:
        reason = _consume(response, client, builder, renderer, on_malformed) if response else reason
        if builder.completed:
            return
        by_event = _resumable(body, builder)
        checkpoint = None if by_event or not _continuable(body) else builder.resumable_checkpoint
        # A wait past the --max-time deadline counts as the budget spent.
        delay = waits.next() if by_event or checkpoint else None
        if delay is None:
            if builder.id and body.get("store", True) is not False:
                reason += f" (the interaction may still finish: gemini-cli history fetch {builder.id})"
            raise StreamInterrupted(reason)
        where = f"after event {builder.last_event_id}" if by_event else "from the last checkpoint"
        _note_break(renderer)
        client.note(f"{reason}; resuming {where} in {delay:.1f}s")
        waits.sleep(delay)
        try:
            if by_event:
                response = interactions.stream(client, builder.id, builder.last_event_id, retry=False)
            else:
                # A new interaction that goes on from the checkpoint: a hop of its own.
                assert checkpoint is not None  # not by_event: the delay was for a checkpoint
                response = interactions.create(client, interactions.continuation_body(body, checkpoint))
                builder.last_event_id, builder.events_since_id = None, 0
                if not is_event_stream(response):
                    client.read(response)
                    hop = builder.add_interaction(interactions.interaction_body(response))
                    _note_repaired(builder, response)
                    renderer.interaction(hop)
                    return
                builder.begin_hop()
        except ReplayMismatch:
            raise
        except GeminiCliError as exc:  # counted as one more failed attempt to resume
            response, reason = None, f"resuming the stream failed: {exc.message}"


def _note_repaired(builder: InteractionBuilder, response: Any) -> None:
    """One warning per turn when the server's JSON held lone surrogates (now U+FFFD)."""
    if surrogates.was_repaired(response):
        builder.problem(surrogates.PROBLEM)


def _consume(response, client, builder, renderer, on_malformed) -> str:
    """Feed events until the stream ends; return why it ended (unless completed).

    A resumed stream replays what came after the last event id; events without an
    id that were already handled since then are skipped, so nothing repeats.
    """
    skip = builder.events_since_id
    try:
        for raw, event in iter_events(response, on_malformed, renderer.flush):
            if skip:
                if not event.get("event_id"):
                    skip -= 1
                    continue
                skip = 0
            builder.received += len(raw)
            if builder.received > MAX_TURN:
                raise TurnTooLarge(f"the answer grew past {MAX_TURN >> 20} MiB (the limit of one turn); stopped reading")
            if builder.feed(event):
                renderer.event(raw, event)
                unshown = builder.take_unshown()
                if unshown:
                    _show_steps(renderer, unshown)
            if builder.error is not None:
                raise stream_error(builder.error)
            if builder.completed:
                return ""  # the hop is over: never wait on a server that goes quiet before [DONE]
            if client.deadline is not None:
                client.check_deadline()
    except httpx.TimeoutException:
        client.check_deadline()  # the --max-time deadline (exit 7) wins over a stall
        return "the stream stalled: no data within the read timeout"
    except httpx.TransportError as exc:
        client.check_deadline()  # the watchdog shut the connection at the deadline
        return f"the stream was cut off: {exc or type(exc).__name__}"
    except httpx.DecodingError:  # corrupt gzip/deflate/brotli data: as good as a cut, resumed as one
        client.check_deadline()
        return "the stream's compressed data (Content-Encoding) was corrupt"
    finally:
        response.close()
        _note_repaired(builder, response)
        _flush(renderer)
    if client.cut_at_deadline():  # the end was the watchdog's doing, not the server's
        raise client.deadline_error()
    return "the stream ended before the interaction completed"


def _show_steps(renderer, steps: list[dict[str, Any]]) -> None:
    """Print steps that arrived whole in an event (the text renderer's `steps`); the jsonl
    renderer has printed the event itself, and -o json and batch print at the end."""
    show = getattr(renderer, "steps", None)
    if show is not None:
        show(steps)


def _note_break(renderer) -> None:
    """The note goes on a line of its own (the text renderer ends an open answer line)."""
    note_break = getattr(renderer, "note_break", None)
    if note_break is not None:
        note_break()


def _flush(renderer) -> None:
    """What arrived before the stream ended goes out before any message about why."""
    try:
        renderer.flush()
    except OSError:
        pass  # stdout is gone: the next write reports it (a flush here must not hide the cause)


def _resumable(body: dict[str, Any], builder: InteractionBuilder) -> bool:
    return bool(builder.id and builder.last_event_id and body.get("store", True) is not False)


def _continuable(body: dict[str, Any]) -> bool:
    """Whether this tool continues the interaction itself (continuation hops, checkpoints):
    not for agent or background interactions, which the server carries on (as the SDK
    does), nor for `follow`, which only reads one (no body)."""
    return bool(body) and not body.get("agent") and not body.get("background")


_STATUS_MESSAGES = {
    "incomplete": "the answer is incomplete (status incomplete): it probably reached the output token limit",
    "failed": "generation failed (status failed)",
    "cancelled": "the interaction was cancelled (status cancelled)",
    "budget_exceeded": "the interaction exceeded its budget (status budget_exceeded)",
    "requires_action": "the model asked for a function call (status requires_action), which this command does not run",
}


def outcome_error(result: dict[str, Any]) -> NotCompleted | None:
    """None for a completed interaction; else the error that explains what happened."""
    blocked = [  # an object error, or one a server sent as a bare string ("blocked"): the same stop
        step["error"] for step in result.get("steps") or []
        if step.get("type") == "model_output" and (isinstance(step.get("error"), dict) or
                                                    (isinstance(step.get("error"), str) and step["error"].strip()))
    ]
    status = result.get("status")
    status = status if isinstance(status, str) else None  # whatever else a server sent
    if status == "completed" and not blocked:
        return None
    message = _STATUS_MESSAGES.get(status or "") or f"the interaction ended with status {status or 'unknown'}"
    if blocked:
        message = "the answer was blocked or stopped (status %s)" % (status or "unknown")
    errors = result.get("errors")
    listed = [e for e in (errors if isinstance(errors, list) else []) if isinstance(e, dict)]
    details: list[Any] = [e.get("message") if isinstance(e, dict) else e for e in listed + blocked]
    details = [str(d) for d in details if d]
    if details:
        message += ": " + "; ".join(details)
    return NotCompleted(message)
