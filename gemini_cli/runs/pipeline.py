"""One turn, from settings and the user's input to a saved answer: the sequence `generate`,
`chat`, `batch` rows and `history fetch` share, owned here.

    run_turn: check the settings (once) → the input (attachments uploaded) → the conversation
    updated and the body built (request/body.py) → the create calls, one per hop (exchange;
    runs/turn.py streams each, a tool loop adds hops, each saved as its own turn record) →
    the answer finished (finish: media written, renderer, usage) → the last hop saved →
    the checks (status, --extract, --schema, the tool loop's own error) → -o json printed.

The renderer and the stderr console are the caller's (cli/ chooses them). A partial answer
(a stream cut mid-turn, Ctrl-C) travels back as a value, runs.turn.Outcome, with the error
to raise once it is saved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Protocol

from gemini_cli.api import interactions
from gemini_cli.api.client import encode_json
from gemini_cli.api.interactions import SSE
from gemini_cli.api.usage import total
from gemini_cli.errors import GeminiCliError, SchemaMismatch, Terminated
from gemini_cli.render.dryrun import show_request
from gemini_cli.render.extract import extract
from gemini_cli.render.media import MediaWriteError, media_blocks, printed, save_media
from gemini_cli.render.output import print_started, usage_line
from gemini_cli.render.tools import with_citations
from gemini_cli.request.body import check_settings, create_request, next_hop_body
# aliased: prepare()'s locals (and its `tools` parameter) have these names
from gemini_cli.request.body import generation_config as generation_config_of
from gemini_cli.request.body import response_format as response_format_of, tools as declared_tools
from gemini_cli.request.inputs import user_input_step
from gemini_cli.request.schema import check_answer
from gemini_cli.runs import turn
from gemini_cli.runs.connection import open_client, remote_mcp_named
from gemini_cli.runs.session import Session, new_path_for
from gemini_cli.runs.turn import Outcome
from gemini_cli.state import apikey
from gemini_cli.state.config import Settings
# runs/media.py and request/remote_mcp.py are imported inside the functions that need them: only a
# turn with attachments (runs/media.py loads the Files API, ~6 ms) or a --remote-mcp server (~7 ms)
# pays for them.

NO_KEY = "<no API key found: set GEMINI_API_KEY>"


class ToolLoop(Protocol):
    """What a turn asks of the function tools it runs (the seam the tool runners plug into)."""

    def declarations(self) -> list[dict[str, Any]]:
        """Function tools added to `tools` on every hop."""
        ...

    def pending(self, conversation: Any) -> list[dict[str, Any]]:
        """function_result steps answering the calls the conversation's last turn (a
        requires_action one) left unanswered: sent first, in the same request as the new input."""
        ...

    def answer(self, result: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The function_result steps answering a hop that ended `requires_action` (`result`:
        its reassembled interaction), or None to end the turn there. May raise a
        GeminiCliError (the tool-call limit): the hop is saved, the Outcome carries it."""
        ...

    def after(self) -> GeminiCliError | None:
        """An error to raise once the answer is printed and saved (a refused call)."""
        ...


class NoTools:
    """No function tools: one create call per turn; requires_action ends the turn (exit 9)."""

    def declarations(self) -> list[dict[str, Any]]:
        return []

    def pending(self, conversation: Any) -> list[dict[str, Any]]:
        return []

    def answer(self, result: dict[str, Any]) -> list[dict[str, Any]] | None:
        return None

    def after(self) -> GeminiCliError | None:
        return None


NO_TOOLS = NoTools()

# (checked settings, the create body) -> the renderer for the turn; cli/ chooses it.
RendererFor = Callable[[Settings, dict], Any]


@dataclass
class Request:
    """What a turn sends: its user input, the input steps its first hop records, the body."""

    input: Any  # text, or content blocks with attachments
    steps: list[dict[str, Any]]  # pending function_result steps, then the user_input step
    body: dict[str, Any]


@dataclass
class Hops:
    """The create calls of a turn: the Outcome of them all (every hop's steps, usage summed),
    and the last hop, which the caller records (its own interaction and input steps) unless
    `recorded`: a hop whose calls were run is saved before they run."""

    outcome: Outcome
    last: dict[str, Any]
    steps: list[dict[str, Any]]
    recorded: bool = False


# -- the whole turn -------------------------------------------------------------------------


def run_turn(settings: Settings, session: Session, text: Any, attachments: list[str], mime: str | None, *,
             key: str | None, console: Any, renderer_for: RendererFor, tools: ToolLoop = NO_TOOLS,
             background: bool = False, dry_run: bool = False) -> Outcome | None:
    """Build the request for one turn, send it, render the answer, save the turn. Returns the
    Outcome (None for --dry-run): the caller raises its error, if any, after reporting it
    (-o json: an error document with what arrived)."""
    settings = check_settings(settings, console.warn)  # a bad --schema, --agent conflicts, a bad --body-extra: exit 2
    # An agent runs in the background: unless its events are streamed, the turn is started
    # and its id printed, as --background does (history fetch --wait|--stream gets the answer).
    background = background or bool(settings.agent and not settings.stream)
    with open_client(settings, key, console) as client:
        input = text
        if attachments:
            from gemini_cli.runs.media import build_turn_input, history_size

            input = build_turn_input(
                text, attachments, mime, client=None if dry_run else client, console=console,
                overhead=history_size(session, settings.store), max_time=settings.max_time,
            )
        sent = prepare(settings, session, input, tools, background=background)
        if dry_run:
            encode_json(sent.body)  # what the real run would refuse (text that is not UTF-8), refused alike
            show_dry_run(client, sent.body, console.io.stdout)
            return None
        new_path_for(session)
        extra = {}
        if session.save and session.path is not None and session.conversation is not None:
            extra = {"conversation": {"id": session.conversation.id, "path": str(session.path)}}
        if background:
            result = start_background(client, sent, settings, session, console, extra)
            return Outcome(result, finished=True, saved=True)
        return complete(client, sent, settings, session, renderer_for(settings, sent.body), console, tools, extra)


def prepare(settings: Settings, session: Session, input: Any, tools: ToolLoop = NO_TOOLS, *,
            background: bool = False, stream: bool | None = None) -> Request:
    """The conversation updated for the turn (session.py) and the body it sends (body.py)."""
    generation_config = generation_config_of(settings)
    declared, response_format = declared_tools(settings), response_format_of(settings)
    conversation = session.prepare(settings, generation_config, declared, response_format)
    remote: list[dict[str, Any]] = []
    if remote_mcp_named(settings):
        from gemini_cli.request import remote_mcp

        servers = remote_mcp.servers(settings)
        remote_mcp.remember(conversation, servers)  # kept apart from `tools`: references, never values
        remote = remote_mcp.tools(servers)
    pending = tools.pending(conversation)
    body = create_request(
        settings, conversation, input, generation_config=generation_config,
        tools=declared + remote + tools.declarations(),
        response_format=response_format, pending=pending, background=background, stream=stream,
    )
    return Request(input, [*pending, user_input_step(input)], body)


def complete(client: Any, sent: Request, settings: Settings, session: Session, renderer: Any, console: Any,
             tools: ToolLoop = NO_TOOLS, extra: dict[str, Any] | None = None) -> Outcome:
    """Send, render and save the turn; the checks once it is saved; -o json printed last."""
    hops = exchange(client, sent.body, sent.steps, session, renderer, console, tools)
    outcome = finish(hops.outcome, settings, renderer, console, extra)
    result = outcome.result
    if outcome.error is not None:
        if hops.recorded:
            outcome = replace(outcome, saved=True)
        elif result.get("id") or result.get("steps"):
            status = None if outcome.finished else "interrupted"
            session.record(hops.steps, hops.last, status=status, warn=console.warn)
            outcome = replace(outcome, saved=True)
        return outcome
    if not hops.recorded:
        session.record(hops.steps, hops.last, warn=console.warn)
    error = checks(settings, sent.body, result, hops.last, renderer, tools)
    if error is not None:
        return Outcome(result, error, finished=True, saved=True, problems=outcome.problems)
    if session.unsaved:
        result.pop("conversation", None)  # never name a file that was not written
    if settings.output == "json":
        renderer.finish(result)
    return Outcome(result, finished=True, saved=True, problems=outcome.problems)


# -- the create calls ---------------------------------------------------------------------


def exchange(client: Any, body: dict[str, Any], steps: list[dict[str, Any]], session: Session | None,
             renderer: Any, console: Any, tools: ToolLoop = NO_TOOLS) -> Hops:
    """The turn's create calls through one renderer: one, or, while the tool loop answers a
    hop that ended requires_action, one more per answer. Each answered hop is recorded as its
    own turn record before the next is sent (`session` None: nowhere, as batch rows are)."""
    done: list[Outcome] = []
    if hasattr(tools, "deadline"):  # --max-time ends a function call still running, too
        tools.deadline = client
    show_local(renderer, [], [s for s in steps if s.get("type") == "function_result"])  # a resumed turn's pending calls
    while True:
        outcome = turn.run(client, body, renderer, on_malformed=lambda data: console.warn(
            f"skipped a malformed event: {data[:80]!r}"))
        hop = outcome.result
        if outcome.error is not None or hop.get("status") != "requires_action":
            break
        # Saved with its calls pending before they run: a kill (SIGTERM, SIGKILL, a crash) mid-call
        # leaves them for the next turn to answer, and never runs the calls of an earlier hop again.
        record = session.record(steps, hop, warn=console.warn) if session is not None else None
        note_break = getattr(renderer, "note_break", None)
        if note_break is not None:  # the → lines start on a line of their own after the hop's text
            note_break()
        try:
            results = tools.answer(hop)
        except (GeminiCliError, KeyboardInterrupt, Terminated) as exc:  # the limit, Ctrl-C, SIGTERM: the
            outcome = replace(outcome, error=exc, finished=True)  # hop is saved with its calls pending, then this raised
            return Hops(joined(done, outcome), outcome.result, steps, recorded=session is not None)
        if results is None:
            return Hops(joined(done, outcome), outcome.result, steps, recorded=session is not None)
        show_local(renderer, [s for s in hop.get("steps") or [] if isinstance(s, dict) and s.get("type") == "function_call"],
                    results)
        done.append(answered(outcome, results))
        output = record.steps if record is not None else list(hop.get("steps") or [])
        body = next_hop_body(body, hop.get("id"), output, results)
        steps = list(results)
    return Hops(joined(done, outcome), outcome.result, steps)


def show_local(renderer: Any, calls: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
    """The calls this tool ran and their results, for a renderer that shows them (-o jsonl)."""
    show = getattr(renderer, "local_steps", None)
    if show is not None and (calls or results):
        show(calls, results)


def answered(outcome: Outcome, results: list[dict[str, Any]]) -> Outcome:
    """A hop as the turn shows it: its steps, then the function_result steps that answered it."""
    hop = outcome.result
    steps = hop["steps"] if isinstance(hop.get("steps"), list) else []
    return replace(outcome, result={**hop, "steps": [*steps, *results]})


def joined(done: list[Outcome], last: Outcome) -> Outcome:
    """The turn as the user sees it: every hop's steps (and the results that answered it) and
    text in order, usage summed, and the interaction id of each hop (`interaction_ids`)."""
    if not done:
        return last
    results = [o.result for o in done] + [last.result]
    result = dict(last.result)
    result["interaction_ids"] = [r.get("id") for r in results]
    result["steps"] = [step for r in results for step in (r["steps"] if isinstance(r.get("steps"), list) else [])]
    result["output_text"] = "".join(r.get("output_text") or "" for r in results)
    result.pop("unplaced_deltas", None)  # their indexes name one hop's steps
    usage = summed_usage([r.get("usage") for r in results])
    if usage is not None:
        result["usage"] = usage
    problems = tuple(dict.fromkeys(p for o in [*done, last] for p in o.problems))
    return replace(last, result=result, problems=problems)


def summed_usage(usages: list[Any]) -> dict[str, Any] | None:
    """A tool loop's hops' usage, by the one rule continuation hops follow (api/usage.py):
    counts added up (`initial_input_tokens` the first hop's), the `*_by_modality` lists and
    `grounding_tool_count` summed entry by entry; another field is the first hop's."""
    return total([usage for usage in usages if isinstance(usage, dict) and usage]) or None


# -- the answer ---------------------------------------------------------------------------


def finish(outcome: Outcome, settings: Settings, renderer: Any, console: Any,
           extra: dict[str, Any] | None = None) -> Outcome:
    """The one place an answer is finished: media written, the renderer's end (not -o json,
    printed once the answer passed its checks), the --usage line. Returns the outcome with the
    result as shown (plus `extra`, citations, media) and the error that stopped it, if any:
    its own, stdout gone, a media file that could not be written (the turn itself finished)."""
    result = with_citations({**outcome.result, **(extra or {})})
    if outcome.error is not None:  # cut short: show what arrived (-o json: an error document instead)
        if settings.output != "json":
            try:
                renderer.finish(result)
            except OSError:
                pass  # stdout is gone (`| head -c 1`): the turn is still saved, then the first error handled
        _server_problems(outcome, console)
        return replace(outcome, result=result)
    _server_problems(outcome, console)
    media_error = save_answer_media(result, settings, console)
    if settings.output != "json":
        try:
            renderer.finish(result)
        except OSError as exc:  # the whole answer arrived; only stdout failed: save the turn as it is
            return replace(outcome, result=result, error=exc)
    if settings.usage:
        console.write(usage_line(result.get("usage")) + "\n")
    return replace(outcome, result=result, error=media_error)


def _server_problems(outcome: Outcome, console: Any) -> None:
    for problem in outcome.problems:  # each kind once
        console.warn(f"the server sent {problem}")


def save_answer_media(result: dict[str, Any], settings: Settings, console: Any) -> Exception | None:
    """Write the answer's image/audio/... blocks to --media-dir; list them as result["media"]
    (printed after the text, or beside the blocks with -o json). Returns a write error."""
    if not media_blocks(result.get("steps") or []):
        return None
    error = None
    try:
        entries = save_media(result, settings.media_dir)
    except MediaWriteError as exc:
        entries, error = getattr(exc, "entries", []), exc
    if entries:
        result["media"] = entries
    if settings.output == "jsonl" or settings.extract or settings.extract_last:  # stdout holds other things
        for line in printed(entries):
            console.note(f"media: {line}")
    return error


def checks(settings: Settings, body: dict[str, Any], result: dict[str, Any], last: dict[str, Any],
           renderer: Any, tools: ToolLoop = NO_TOOLS) -> GeminiCliError | None:
    """The turn is saved: print an --extract block (the renderer), then report, in this order,
    a status other than completed (exit 9), the tool loop's own error, a missing code block
    or an answer that is not the JSON asked for (exit 10). The last hop's text is the answer
    checked (a tool loop's earlier hops only lead up to it)."""
    error: GeminiCliError | None = turn.outcome_error(result)
    text = last.get("output_text") or ""
    if settings.extract or settings.extract_last:
        block = extract(text, last=settings.extract_last)
        if block is not None:
            renderer.code_block(block.code)
        elif error is None:
            flag = "--extract-last" if settings.extract_last else "--extract"
            error = SchemaMismatch(f"{flag}: the answer has no fenced code block; nothing was printed")
    return error or tools.after() or check_answer(text, body.get("response_format"))


# -- background and --dry-run ----------------------------------------------------------------


def start_background(client: Any, sent: Request, settings: Settings, session: Session, console: Any,
                     extra: dict[str, Any]) -> dict[str, Any]:
    """POST with background: true; print the id, save the turn as pending."""
    hop = interactions.interaction_body(interactions.create(client, sent.body))
    result = {**hop, **extra}
    session.record(sent.steps, {"id": hop.get("id"), "status": "pending"}, warn=console.warn)
    print_started(settings.output, result, console.io.stdout)
    return result


def show_dry_run(client: Any, body: dict[str, Any], stdout: Any, path: str = "interactions") -> None:
    """--dry-run: the request as the client would send it, the key redacted."""
    shown = "<redacted>" if apikey.source() else NO_KEY
    headers = client.headers(SSE if body.get("stream") else "application/json", shown_key=shown)
    show_request(client.url(path), headers, body, stdout)
