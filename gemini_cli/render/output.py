"""Renderers: the answer on stdout, everything else on stderr.

A renderer sees each stream event (`event`), each whole non-streamed hop
(`interaction`) and the final reassembled Interaction (`finish`).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

from gemini_cli.errors import ExitCode, GeminiCliError, Terminated
from gemini_cli.render.context import IOContext, redact  # noqa: F401 (redact: re-exported)
from gemini_cli.render.terminal import for_stream, isatty, visible
# render/markdown.py, render/media.py and render/tools.py are imported inside TextRenderer, when
# an answer is rendered: a listing (history list, files list) skips them, and a turn not rendered
# as Markdown skips render/markdown.py (~6 ms; the other two ~4 ms).

DIM, RESET = "\x1b[2m", "\x1b[0m"


def use_colour(stream: TextIO) -> bool:  # without an I/O context at hand (render/progress.py)
    return not os.environ.get("NO_COLOR") and isatty(stream)


class Console:
    """stderr for notes, warnings and errors; colour only on a terminal without NO_COLOR.

    On a terminal, messages and dimmed text have their control characters made visible
    (terminal.py): they may quote the server or a file. write() sends text as it is, for
    text this tool composed (or passed through clean/dim).

    `io` is the invocation's I/O context (render/context.py): its stderr unless `stderr` is
    given, and the secrets to redact; runs/ reaches the other streams through `console.io`.
    """

    def __init__(self, quiet: bool = False, stderr: TextIO | None = None, *, io: IOContext | None = None):
        self.io = io if io is not None else IOContext.from_process()
        self.quiet = quiet
        self.stderr = stderr or self.io.stderr
        self.colour = self.io.colour(self.stderr)
        self.terminal = isatty(self.stderr)

    def note(self, message: str) -> None:
        if not self.quiet:
            self.write(f"gemini-cli: {self.clean(message)}\n")

    def warn(self, message: str) -> None:
        if not self.quiet:
            self.write(f"gemini-cli: warning: {self.clean(message)}\n")

    def error(self, message: str) -> None:
        self.write(f"gemini-cli: error: {self.clean(message)}\n")

    def clean(self, text: str) -> str:
        return visible(text) if self.terminal else text

    def dim(self, text: str) -> str:
        text = self.clean(text)
        return f"{DIM}{text}{RESET}" if self.colour else text

    def write(self, text: str) -> None:
        if self.stderr is None:  # closed (`2>&-`): notes are dropped, as io.warn/io.error drop theirs
            return
        self.stderr.write(self.io.redact(text))
        self.stderr.flush()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


class TextRenderer:
    """Answer text to stdout as it arrives; thoughts, dimmed, to stderr.

    `flush` is called whenever the stream is about to wait for more bytes, so what
    arrived is on stdout before any wait, without one flush per delta; and before
    anything goes to stderr, so the two keep their order on a terminal.

    Tool steps (--tool) are described on stderr as each one completes, and the answer's
    citations are listed on stderr after it. `markdown` renders the answer line by line
    with ANSI styles (the caller decides: a terminal, colour allowed); `hold` keeps the
    answer off stdout (--extract prints its code block once the turn is saved).
    """

    def __init__(self, console: Console, *, thoughts: bool = False, stdout: TextIO | None = None,
                 markdown: bool = False, hold: bool = False):
        self.console = console
        self.thoughts = thoughts
        self.stdout = stdout or sys.stdout
        self.hold = hold
        self.terminal = isatty(self.stdout)  # the answer's control characters are shown, not obeyed
        self.markdown = None
        if markdown and not hold:
            from gemini_cli.render.markdown import MarkdownStream

            self.markdown = MarkdownStream()
        self.wrote_text = False
        self.unflushed = False  # text written since the last flush
        self.at_line_start = True
        self.in_thought = False
        self.tool_steps: dict[Any, dict[str, Any]] = {}  # index -> a tool step being streamed

    def event(self, raw: str, event: dict[str, Any]) -> None:
        kind = event.get("event_type")
        if kind == "step.delta":
            delta = event.get("delta") or {}
            kind = delta.get("type")
            if kind == "text":
                self.text(delta.get("text", ""))
            elif kind == "thought_summary":
                if self.thoughts:
                    block = delta.get("content") or {}
                    if block.get("type") == "text":
                        self.thought(block.get("text", ""))
            elif event.get("index") in self.tool_steps:
                step = self.tool_steps[event.get("index")]
                for key in ("arguments", "result", "is_error", "name", "server_name"):
                    if key in delta:
                        step[key] = delta[key]
        elif kind == "step.start":
            step = event.get("step") or {}
            if isinstance(step, dict) and _is_tool_step(step.get("type")):
                self.tool_steps[event.get("index")] = dict(step)
        elif kind == "step.stop":
            if self.tool_steps:
                stopped = self.tool_steps.pop(event.get("index"), None)
                if stopped is not None:
                    self.tool_step(stopped)

    def interaction(self, hop: dict[str, Any]) -> None:
        self.steps(hop.get("steps") or [])

    def steps(self, steps: list[dict[str, Any]]) -> None:
        """Steps that arrived whole: a non-streamed hop's, or what a stream event held
        besides its deltas (a step.start's content, steps inside interaction.completed)."""
        for step in steps:
            kind = step.get("type")
            if kind == "thought" and self.thoughts:
                for block in step.get("summary") or []:
                    if block.get("type") == "text":
                        self.thought(block.get("text", ""))
            elif kind == "model_output":
                for block in step.get("content") or []:
                    if block.get("type") == "text":
                        self.text(block.get("text", ""))
            elif _is_tool_step(kind):
                self.tool_step(step)

    def text(self, text: str) -> None:
        if not text or self.hold:
            return
        self._end_thought()
        shown = visible(text) if self.terminal else text
        self.stdout.write(self.markdown.feed(shown) if self.markdown else shown)
        self.unflushed = True
        self.wrote_text = True
        self.at_line_start = text.endswith("\n")

    def flush(self) -> None:
        if self.unflushed:
            self.unflushed = False
            self.stdout.flush()

    def thought(self, text: str) -> None:
        if text:
            self.flush()
            self.in_thought = True
            self.console.write(self.console.dim(text))

    def tool_step(self, step: dict[str, Any]) -> None:
        """What a finished tool step did, dimmed on stderr (not with --quiet)."""
        if self.console.quiet:
            return
        from gemini_cli.render.tools import describe

        lines = describe(step)
        if not lines:
            return
        self._end_thought()
        self.flush()
        if self.wrote_text and not self.at_line_start and self.markdown is None:
            self.console.write("\n")
        self.console.write("".join(self.console.dim(line) + "\n" for line in lines))

    def code_block(self, code: str) -> None:
        """--extract: the answer's code block, printed once the turn is saved (held until then)."""
        self.stdout.write(visible(code) if self.terminal else code)  # shown, never obeyed, on a terminal
        self.stdout.flush()

    def note_break(self) -> None:
        """A note (a dropped stream being resumed) is about to go to stderr mid-answer: on a
        terminal, where both streams share the screen, end the answer's open line first so the
        note has a line of its own and the answer goes on below it. Markdown holds an open
        line back, so nothing of it is on the screen yet."""
        self._end_thought()
        self.flush()
        if self.wrote_text and not self.at_line_start and self.markdown is None \
                and self.terminal and self.console.terminal and not self.console.quiet:
            self.console.write("\n")
            self.at_line_start = True

    def _end_thought(self) -> None:
        if self.in_thought:
            self.in_thought = False
            self.console.write("\n")

    def finish(self, result: dict[str, Any]) -> None:
        self._end_thought()
        for index in list(self.tool_steps):  # a stream that ended without step.stop
            self.tool_step(self.tool_steps.pop(index))
        if self.markdown is not None:
            self.stdout.write(self.markdown.finish())
        if self.wrote_text and not self.at_line_start:
            self.stdout.write("\n")
            self.at_line_start = True
        if result.get("media") and not self.hold:  # the saved image/audio files, after the text
            from gemini_cli.render.media import printed

            self.stdout.write("".join(line + "\n" for line in printed(result["media"])))
        self.stdout.flush()
        sources = result.get("citations")
        if sources is None:
            from gemini_cli.render.tools import citations

            sources = citations(result.get("steps"))
        if sources:
            from gemini_cli.render.tools import citation_lines

            self.console.write(self.console.clean("".join(line + "\n" for line in citation_lines(sources))))


def _is_tool_step(kind: Any) -> bool:
    """A server-side tool's call or result step (function calls are the client's)."""
    return isinstance(kind, str) and kind.endswith(("_call", "_result")) and not kind.startswith("function_")


class JsonlRenderer:
    """Every stream event as one JSON line, as it arrives (the raw JSON the API sent);
    flushed, as the text is, whenever the stream waits for more."""

    def __init__(self, stdout: TextIO | None = None, secrets: Any = ()):
        self.stdout = stdout or sys.stdout
        self.secrets = secrets  # the I/O context's: an echoed request may hold one (an MCP header)
        self.terminal = isatty(self.stdout)  # asked once, not once per event

    def event(self, raw: str, event: dict[str, Any]) -> None:
        line = redact(raw.replace("\n", " ") + "\n", self.secrets)
        self.stdout.write(visible(line) if self.terminal else line)

    def flush(self) -> None:
        self.stdout.flush()

    def interaction(self, hop: dict[str, Any]) -> None:
        self.stdout.write(for_stream(redact(json.dumps(hop, ensure_ascii=False) + "\n", self.secrets), self.stdout))
        self.stdout.flush()

    def local_steps(self, calls: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        """One event per function call this tool ran and one per result it sends (no stream
        carries those): `client.function_call` / `client.function_result`, the step whole."""
        lines = [{"event_type": "client.function_call", "step": step} for step in calls]
        lines += [{"event_type": "client.function_result", "step": step} for step in results]
        for line in lines:
            self.stdout.write(for_stream(json.dumps(line, ensure_ascii=False) + "\n", self.stdout))
        self.stdout.flush()

    def finish(self, result: dict[str, Any]) -> None:
        pass


class JsonRenderer:
    """The reassembled Interaction (plus output_text), once, at the end."""

    def __init__(self, stdout: TextIO | None = None, secrets: Any = ()):
        self.stdout = stdout or sys.stdout
        self.secrets = secrets

    def event(self, raw: str, event: dict[str, Any]) -> None:
        pass

    def flush(self) -> None:
        pass

    def interaction(self, hop: dict[str, Any]) -> None:
        pass

    def finish(self, result: dict[str, Any]) -> None:
        # The server may echo the request's tools: a remote MCP server's header values
        # (registered secrets) never reach stdout.
        self.stdout.write(for_stream(redact(dumps(result) + "\n", self.secrets), self.stdout))
        self.stdout.flush()


def error_document(exc: BaseException, partial: dict[str, Any] | None = None, saved: bool = False,
                   secrets: Any = ()) -> dict[str, Any] | None:
    """What `-o json` prints for a failed run: {"error": {code, message, exit_code}} plus what
    arrived of the Interaction (id, status, steps, usage), never output_text; `conversation`
    only when the turn was saved. `partial` is what arrived of a turn cut short (a
    runs.turn.Outcome's result); `saved`: the turn is in its conversation file. None for an
    error that has no exit code of its own."""
    if isinstance(exc, GeminiCliError):
        exit_code, message = int(exc.exit_code), exc.message
        code = getattr(exc, "api_status", None) or ExitCode(exit_code).name.lower()
    elif isinstance(exc, KeyboardInterrupt):
        exit_code, message, code = int(ExitCode.SIGINT), "interrupted", "interrupted"
    elif isinstance(exc, Terminated):
        exit_code, message, code = int(ExitCode.SIGTERM), "terminated", "terminated"
    else:
        return None
    error: dict[str, Any] = {"code": code, "message": redact(message, secrets), "exit_code": exit_code}
    status = getattr(exc, "status", None)
    if status is not None:
        error["http_status"] = status
    partial = {key: value for key, value in (partial or {}).items() if key not in ("output_text", "error")}
    if not (partial.get("id") or partial.get("steps")):
        partial = {}  # nothing of the Interaction arrived
    if not saved:
        partial.pop("conversation", None)
    return {"error": error, **partial}


def write_error_document(mode: str, exc: BaseException, partial: dict[str, Any] | None = None,
                         saved: bool = False, *, io: IOContext | None = None) -> None:
    """-o json: the error document; -o jsonl: a last line {"error": {...}} after the events."""
    if mode not in ("json", "jsonl"):
        return
    io = io if io is not None else IOContext.from_process()
    document = error_document(exc, partial, saved, io.secrets)
    if document is None:
        return
    if mode == "jsonl":
        document = {"error": document["error"]}
    try:
        io.stdout.write((dumps(document) if mode == "json" else json.dumps(document, ensure_ascii=False)) + "\n")  # type: ignore[union-attr]
        io.stdout.flush()  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):
        pass  # stdout itself is what failed: the error line on stderr says so


def print_started(mode: str, result: dict[str, Any], stdout: TextIO | None = None) -> None:
    """--background: the interaction's id (-o json/jsonl: the whole answer to the create)."""
    out = stdout or sys.stdout
    out.write(for_stream(f"{result.get('id', '')}\n" if mode == "text" else dumps(result) + "\n", out))


def renderer_for(mode: str, console: Console, *, thoughts: bool = False, markdown: bool = False, hold: bool = False):
    """The renderer writes to the console's I/O context's stdout; `markdown` is honoured only
    when that is a terminal and colour is allowed (NO_COLOR)."""
    stdout = console.io.stdout
    if mode == "json":
        return JsonRenderer(stdout, console.io.secrets)
    if mode == "jsonl":
        return JsonlRenderer(stdout, console.io.secrets)
    return TextRenderer(console, thoughts=thoughts, stdout=stdout, markdown=markdown and console.io.colour(stdout),
                        hold=hold)


# The Interaction's `usage` fields worth a word, in the order they are shown.
USAGE_FIELDS = (("total_input_tokens", "input"), ("total_cached_tokens", "cached"),
                ("total_output_tokens", "output"), ("total_thought_tokens", "thought"),
                ("total_tool_use_tokens", "tool use"), ("total_tokens", "total"))


def usage_text(usage: dict[str, Any] | None) -> str:
    """`5 input, 7 output, 15 total tokens`; empty when nothing was reported."""
    reported = usage or {}
    parts = [f"{reported[k]} {label}" for k, label in USAGE_FIELDS  # true is no count (bool is an int)
             if isinstance(reported.get(k), int) and not isinstance(reported[k], bool)]
    return ", ".join(parts) + " tokens" if parts else ""


def usage_line(usage: dict[str, Any] | None) -> str:
    """The --usage line on stderr."""
    return "usage: " + (usage_text(usage) or "not reported")


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell, two spaces apart; the last column unpadded."""
    all_rows = [header, *rows]
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(header) - 1)]
    return "".join(
        "  ".join([cell.ljust(widths[i]) for i, cell in enumerate(r[:-1])] + [r[-1]]).rstrip() + "\n" for r in all_rows
    )
