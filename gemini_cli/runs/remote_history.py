"""What `history fetch`, `cancel` and `delete --remote` do on the server, without Typer: fetch
(poll or follow) a (background) interaction and finish its answer, cancel it, delete the
interactions of saved conversations, and complete the saved turn waiting for an interaction.

cli/history.py imports this module only inside the commands that talk to the API.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from gemini_cli.api import interactions, surrogates
from gemini_cli.api.events import FINAL_STATUSES, InteractionBuilder
from gemini_cli.api.interactions import check_id
from gemini_cli.backoff import Backoff
from gemini_cli.errors import ApiError, GeminiCliError, NotCompleted, UsageError
from gemini_cli.runs import pipeline, turn
from gemini_cli.runs.connection import connect
from gemini_cli.runs.session import Resume, open_session
from gemini_cli.runs.turn import Outcome, outcome_error
from gemini_cli.state import store
from gemini_cli.state.conversation import record_warnings
from gemini_cli.state.store import ConversationStore

# Statuses of an interaction the server is still working on.
RUNNING = frozenset({"in_progress", "pending", "queued"})


# -- interactions on the server ------------------------------------------------------------


def fetch(settings: Any, interaction_id: str, *, stream: bool, wait: bool, interval: float, console: Any,
          renderer: Any, tools: Any = None) -> Any:
    """`history fetch`: get (or follow) the interaction, finish its answer as a turn's is
    (runs/pipeline.py), complete the saved turn waiting for it. An interaction that ended
    requires_action has its calls answered by `tools` (a ToolLoop) and goes on to its end,
    each hop saved in the conversation. None when the answer was printed; else a
    runs.turn.Outcome: what arrived, and the error to raise."""
    with connect(settings, console) as client:
        if stream:
            outcome = follow(client, interaction_id, renderer, console)
            if outcome.error is not None and not outcome.result["steps"]:
                outcome = replace(outcome, result={})  # nothing of the answer arrived
        else:
            outcome = Outcome(poll(client, interaction_id, wait, interval, console, renderer), finished=True)
        if (tools is not None and outcome.error is None and outcome.finished
                and outcome.result.get("status") == "requires_action"):
            outcome = answer_calls(client, settings, interaction_id, outcome, renderer, console, tools, stream)
    outcome = pipeline.finish(outcome, settings, renderer, console)  # image/audio answers written, as generate does
    result = outcome.result
    if not outcome.finished:
        return outcome
    if not running(result):
        complete_saved_turn(interaction_id, result, settings, console)
    error = outcome.error  # a media file not written, stdout gone
    if error is None:
        try:
            check_outcome(interaction_id, result)
        except GeminiCliError as exc:
            error = exc
    if error is None and tools is not None:
        error = tools.after()  # a refused call: exit 14, the answer printed and saved
    if error is not None:
        return Outcome(result, error, finished=True)
    if settings.output == "json":
        renderer.finish(result)
    return None


def answer_calls(client: Any, settings: Any, interaction_id: str, outcome: Any, renderer: Any, console: Any,
                 tools: Any, stream: bool) -> Any:
    """A background interaction that ended requires_action: its hop saved, its calls answered,
    and the turn carried on (chained to it) until it completes, as generate's would; every
    later hop is recorded in the conversation holding the turn (none: nowhere). Returns the
    whole turn's Outcome (a tool-loop error, exit 13, in it)."""
    first = outcome.result
    path = find_turn(interaction_id)
    complete_saved_turn(interaction_id, first, settings, console)
    try:
        results = tools.answer(first)
    except GeminiCliError as exc:  # the limit: the hop is saved with its calls pending
        return replace(outcome, error=exc)
    if results is None:
        return outcome
    session = None
    if path is not None:
        session = open_session(settings, Resume(session_file=path), console)
    try:
        conv = session.conversation if session is not None else None
        body: dict[str, Any] = {"model": first.get("model") or (conv.model if conv else settings.model)}
        if conv is not None and conv.system_instruction:
            body["system_instruction"] = conv.system_instruction
        if conv is not None and conv.generation_config:
            body["generation_config"] = dict(conv.generation_config)
        body["tools"] = [*(conv.tools if conv is not None else []), *tools.declarations()]
        body["previous_interaction_id"] = first.get("id") or interaction_id
        body["input"] = list(results)
        if stream:
            body["stream"] = True
        pipeline.show_local(renderer, [s for s in first.get("steps") or [] if s.get("type") == "function_call"], [])
        hops = pipeline.exchange(client, body, list(results), session, renderer, console, tools)
        if session is not None and not hops.recorded and (hops.last.get("id") or hops.last.get("steps")):
            session.record(hops.steps, hops.last, warn=console.warn)
    finally:
        if session is not None:
            session.close()
    return pipeline.joined([outcome], hops.outcome)


def poll(client: Any, interaction_id: str, wait: bool, interval: float, console: Any, renderer: Any) -> dict[str, Any]:
    response = interactions.get_response(client, interaction_id)
    hop = interactions.interaction_body(response)
    if wait and running(hop):
        console.note(f"waiting for interaction {interaction_id} (status {hop.get('status')})")
        # Every `interval` seconds; --max-time bounds the waiting too (exit 7).
        polls = Backoff(first=interval, cap=interval, factor=1, jitter=0, deadline=client)
        while running(hop):
            delay = polls.next()
            if delay is None:
                raise client.deadline_error()
            polls.sleep(delay)
            response = interactions.get_response(client, interaction_id)
            hop = interactions.interaction_body(response)
    builder = InteractionBuilder()
    hop = builder.add_interaction(hop)
    if surrogates.was_repaired(response):
        builder.problem(surrogates.PROBLEM)
    renderer.interaction(hop)
    result = builder.result()
    for problem in builder.problems:  # each kind once, as for a turn
        console.warn(f"the server sent {problem}")
    return result


def running(hop: dict[str, Any]) -> bool:
    status = hop.get("status")
    return isinstance(status, str) and status in RUNNING  # a list as status is unhashable


def follow(client: Any, interaction_id: str, renderer: Any, console: Any) -> Any:
    """The interaction streamed (runs.turn.Outcome: what arrived, and the error that stopped it)."""
    return turn.follow(client, interaction_id, renderer,
                       on_malformed=lambda data: console.warn(f"skipped a malformed event: {data[:80]!r}"))


def check_outcome(interaction_id: str, result: dict[str, Any]) -> None:
    status = result.get("status")
    if running(result):
        raise NotCompleted(f"interaction {interaction_id} is still {status}; "
                           f"wait for it with: gemini-cli history fetch {interaction_id} --wait")
    error = outcome_error(result)
    if error is not None:
        raise error


def cancel(client: Any, interaction_id: str) -> dict[str, Any]:
    """Cancel the interaction: the server's answer, its status `cancelled` unless final."""
    hop = interactions.cancel(client, interaction_id)
    status = hop.get("status") or "cancelled"
    if running(hop) or not isinstance(status, str):
        status = "cancelled"
    return {**hop, "status": status}


def check_remote_ids(loaded: list[tuple[Path, Any]]) -> None:
    """Every turn's interaction id is safe in a URL (`../files/x` is not), before any DELETE."""
    for path, conv in loaded:
        for t in conv.turns:
            if t.interaction_id:
                try:
                    check_id(t.interaction_id)
                except UsageError as exc:
                    raise UsageError(f"{path}: {exc.message}; nothing was deleted") from None


def delete_remote(client: Any, interaction_id: str, console: Any) -> None:
    """DELETE one interaction; one already gone (404: deleted, expired, or never stored) is fine."""
    try:
        interactions.delete(client, interaction_id)
    except ApiError as exc:
        if exc.status != 404:
            raise
        console.note(f"interaction {interaction_id} was already gone from the server")
    else:
        console.note(f"deleted interaction {interaction_id} from the server")


# -- saved turns of background interactions ---------------------------------------------------


def find_turn(interaction_id: str) -> Path | None:
    """The conversation holding an unfinished turn with this interaction id, if any."""
    needle = interaction_id.encode("utf-8")
    for summary in ConversationStore().list():
        if summary["error"] or not summary["turns"]:
            continue
        path = Path(summary["path"])
        try:
            if needle not in path.read_bytes():
                continue
            conv = store.load(path)
        except (OSError, UsageError):
            continue
        if any(_unfinished(t, interaction_id) for t in conv.turns):
            return path
    return None


def _unfinished(turn: Any, interaction_id: str) -> bool:
    return turn.interaction_id == interaction_id and turn.status not in FINAL_STATUSES


def complete_saved_turn(interaction_id: str, result: dict[str, Any], settings: Any, console: Any) -> None:
    """Record the interaction's outcome in the saved turn waiting for it (under the lock)."""
    path = find_turn(interaction_id)
    if path is None:
        return
    with store.lock(path, settings.lock_timeout, lambda: console.note(f"waiting for another gemini-cli using {path}")):
        conv = store.load(path)
        turns = [t for t in conv.turns if _unfinished(t, interaction_id)]
        if not turns:
            return  # another process completed it meanwhile
        problems: list[str] = []
        for turn in turns:
            problems = turn.record({k: v for k, v in result.items() if k != "output_text"}, console.io.secrets)
        store.save(path, conv)
    for warning in record_warnings(problems):
        console.warn(warning)
    console.note(f"saved the {turns[-1].status} turn to conversation {conv.id}")  # as saved: a wrong status is 'unknown'
