"""What the API-calling commands share: opening a client, running and rendering a turn."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Iterator

from gemini_cli.state.config import Settings
from gemini_cli.render.output import Console, renderer_for, usage_line


@contextmanager
def open_client(settings: Settings, key: str | None, console: Console, **options: Any) -> Iterator[Any]:
    """An ApiClient for the settings; `options` override its arguments (batch: retries, connections)."""
    from gemini_cli.api.client import ApiClient
    from gemini_cli.state import apikey
    from gemini_cli.state.config import check_base_url

    arguments: dict[str, Any] = dict(
        cassette=cassette_for(key),
        base_url=check_base_url(settings),
        api_version=settings.api_version,
        api_key=key,
        key_source=apikey.source_of(key),
        timeout=settings.timeout,
        retries=settings.retries,
        retry_delay=settings.retry_delay,
        max_time=settings.max_time,
        note=console.note,
    )
    client = ApiClient(**{**arguments, **options})
    try:
        yield client
    finally:
        client.close()


def cassette_for(key: str | None) -> Any:
    """The run's --record / --replay cassette (None without one), told which secrets to keep out."""
    import os

    from gemini_cli.state import recording

    if not recording.in_use():
        return None
    secrets = [key or ""] + [(os.environ.get(name) or "").strip() for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY")]
    apikey = sys.modules.get("gemini_cli.state.apikey")  # keys read from the config file
    return recording.cassette(secrets + sorted(apikey.SECRETS if apikey else ()))


def connect(settings: Settings, console: Console) -> Any:
    """open_client with the API key (exit 3 without one), for commands that always need it."""
    from gemini_cli.state import apikey

    return open_client(settings, apikey.get(max_time=settings.max_time), console)


def run_and_render(
    client: Any, body: dict[str, Any], settings: Settings, console: Console, extra: dict[str, Any] | None = None
) -> Any:
    """Run one turn and render it; returns its runs.turn.Outcome: the reassembled Interaction
    (plus `extra`) and the error that cut it short, rendered as far as it got either way."""
    from dataclasses import replace

    from gemini_cli.request import schema as structured
    from gemini_cli.runs import turn
    from gemini_cli.render.tools import with_citations

    renderer = renderer_for(
        settings.output, console, thoughts=settings.thoughts, hold=settings.extract or settings.extract_last,
        markdown=settings.markdown and structured.json_format(body.get("response_format")) is None,
    )
    outcome = turn.run(client, body, renderer, on_malformed=lambda data: console.warn(f"skipped a malformed event: {data[:80]!r}"))
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
    if settings.output != "json":  # -o json: printed by run_turn once the answer has passed its checks
        try:
            renderer.finish(result)
        except OSError as exc:  # the whole answer arrived; only stdout failed: save the turn as it is
            return replace(outcome, result=result, error=exc)
    if settings.usage:
        console.write(usage_line(result.get("usage")) + "\n")
    # A media file that could not be written: the turn itself is finished (saved with its status).
    return replace(outcome, result=result, error=media_error)


def _server_problems(outcome: Any, console: Console) -> None:
    for problem in outcome.problems:  # each kind once
        console.warn(f"the server sent {problem}")


def save_answer_media(result: dict[str, Any], settings: Settings, console: Console) -> Exception | None:
    """Write the answer's image/audio/... blocks to --media-dir; list them as result["media"]
    (printed after the text, or beside the blocks with -o json). Returns a write error."""
    from gemini_cli.render.media import MediaWriteError, media_blocks, printed, save_media

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


def run_turn(settings, console, conversation, text, attachments, mime, *, key, background=False, dry_run=False) -> Any:
    """Build the request for one turn, send it, render the answer, save the turn. Returns the
    runs.turn.Outcome (None for --dry-run): the caller raises its error, if any, after
    reporting it (-o json: an error document with what arrived)."""
    from dataclasses import replace

    from gemini_cli.request import body as request
    from gemini_cli.request import schema as structured
    from gemini_cli.runs import turn
    from gemini_cli.runs.session import new_path_for

    settings = request.check_settings(settings)  # a bad --schema, --agent conflicts, a bad --body-extra: exit 2
    # An agent runs in the background: unless its events are streamed, the turn is started
    # and its id printed, as --background does (history fetch --wait|--stream gets the answer).
    background = background or bool(settings.agent and not settings.stream)
    with open_client(settings, key, console) as client:
        input = text
        if attachments:
            from gemini_cli.runs.media import build_turn_input, history_size

            input = build_turn_input(
                text, attachments, mime, client=None if dry_run else client, console=console,
                overhead=history_size(conversation, settings.store),
            )
        gen = request.generation_config(settings)
        tools, response_format = request.tools(settings), request.response_format(settings)
        history = conversation.prepare(settings, gen, input, tools, response_format)
        body = request.create_body(
            model=settings.model, agent=settings.agent, system_instruction=settings.system, generation_config=gen,
            tools=tools, response_format=response_format, service_tier=settings.service_tier,
            store=settings.store, background=background, stream=settings.stream and not background, **history,
        )
        request.merge_extra(body, settings.body_extra)
        if dry_run:
            from gemini_cli.render.dryrun import show_request

            show_request(settings, body)
            return None
        new_path_for(conversation)
        extra = {}
        if conversation.save and conversation.path is not None:
            extra = {"conversation": {"id": conversation.conversation.id, "path": str(conversation.path)}}
        if background:
            return turn.Outcome(start_background(client, body, settings, conversation, input, extra), finished=True, saved=True)
        outcome = run_and_render(client, body, settings, console, extra)
        result = outcome.result
        if outcome.error is not None:
            if result.get("id") or result.get("steps"):
                conversation.record(input, result, status=None if outcome.finished else "interrupted", warn=console.warn)
                outcome = replace(outcome, saved=True)
            return outcome
        conversation.record(input, result, warn=console.warn)
        error = structured.after_turn(settings, body, result, turn.outcome_error(result))
        if error is not None:
            return turn.Outcome(result, error, finished=True, saved=True)
        if conversation.unsaved:
            result.pop("conversation", None)  # never name a file that was not written
        if settings.output == "json":
            from gemini_cli.render.output import JsonRenderer

            JsonRenderer().finish(result)
        return turn.Outcome(result, finished=True, saved=True)


def start_background(client, body, settings, conversation, input, extra) -> dict[str, Any]:
    """POST with background: true; print the id, save the turn as pending."""
    from gemini_cli.api import interactions
    from gemini_cli.render.output import dumps

    hop = interactions.interaction_body(interactions.create(client, body))
    result = {**hop, **extra}
    conversation.record(input, {"id": hop.get("id"), "status": "pending"})
    from gemini_cli.render.terminal import for_stream

    if settings.output == "text":
        sys.stdout.write(for_stream(f"{hop.get('id', '')}\n", sys.stdout))
    else:
        sys.stdout.write(for_stream(dumps(result) + "\n", sys.stdout))
    return result
