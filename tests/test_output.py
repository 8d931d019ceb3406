"""Renderers and the stderr console: which bytes land on which stream, and colour."""

from __future__ import annotations

import io
import json

import pytest

from conftest import API_KEY, interaction, text_events
from gemini_cli.render.output import (
    Console, JsonlRenderer, JsonRenderer, TextRenderer, dumps, renderer_for, usage_line,
)


class Stream(io.StringIO):
    def __init__(self, tty: bool = False):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def feed(renderer, events) -> None:
    for event in events:
        renderer.event(json.dumps(event), event)


# -- usage_line ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "usage, line",
    [
        (None, "usage: not reported"),
        ({}, "usage: not reported"),
        ({"total_tokens": "15"}, "usage: not reported"),  # nothing usable: not "usage:  tokens"
        ({"total_input_tokens": 5, "total_output_tokens": 7, "total_thought_tokens": 3, "total_tokens": 15},
         "usage: 5 input, 7 output, 3 thought, 15 total tokens"),
        ({"total_tokens": 15, "total_cached_tokens": 4, "total_tool_use_tokens": 2, "total_input_tokens": 9},
         "usage: 9 input, 4 cached, 2 tool use, 15 total tokens"),
        ({"total_input_tokens": 0, "total_output_tokens": 0, "total_tokens": 0}, "usage: 0 input, 0 output, 0 total tokens"),
        ({"total_input_tokens": 5, "total_output_tokens": "7", "input_tokens_by_modality": [{"modality": "text", "tokens": 5}]},
         "usage: 5 input tokens"),
    ],
)
def test_usage_line(usage, line):
    assert usage_line(usage) == line


# -- Console and colour ------------------------------------------------------------------


def test_no_colour_when_stderr_is_not_a_terminal():
    stderr = Stream(tty=False)
    console = Console(stderr=stderr)
    renderer = TextRenderer(console, thoughts=True, stdout=Stream())
    feed(renderer, text_events("A", thought="musing"))
    renderer.finish({})
    assert stderr.getvalue() == "musing\n"
    assert "\x1b" not in stderr.getvalue()


def test_thoughts_are_dimmed_on_a_terminal():
    stderr = Stream(tty=True)
    renderer = TextRenderer(Console(stderr=stderr), thoughts=True, stdout=Stream())
    feed(renderer, text_events("A", thought="musing"))
    assert stderr.getvalue() == "\x1b[2mmusing\x1b[0m\n"


def test_no_colour_respects_no_color_even_on_a_terminal(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    stderr = Stream(tty=True)
    stdout = Stream(tty=True)
    renderer = TextRenderer(Console(stderr=stderr), thoughts=True, stdout=stdout)
    feed(renderer, text_events("A", thought="musing"))
    renderer.finish({})
    assert (stdout.getvalue(), stderr.getvalue()) == ("A\n", "musing\n")
    assert "\x1b" not in stderr.getvalue() + stdout.getvalue()


def test_console_messages():
    stderr = Stream()
    console = Console(stderr=stderr)
    console.note("retrying")
    console.warn("odd")
    console.error("bad")
    assert stderr.getvalue() == "gemini-cli: retrying\ngemini-cli: warning: odd\ngemini-cli: error: bad\n"


def test_quiet_console_keeps_only_errors():
    stderr = Stream()
    console = Console(quiet=True, stderr=stderr)
    console.note("retrying")
    console.warn("odd")
    console.error("bad")
    assert stderr.getvalue() == "gemini-cli: error: bad\n"


def test_console_redacts_the_key(monkeypatch):
    monkeypatch.setenv("GOOGLE_API_KEY", "fake-other-secret-value-99")
    stderr = Stream()
    console = Console(stderr=stderr)
    console.note(f"upstream said {API_KEY} and fake-other-secret-value-99")
    assert stderr.getvalue() == "gemini-cli: upstream said <redacted> and <redacted>\n"


# -- TextRenderer ----------------------------------------------------------------------------


def test_text_renderer_writes_each_delta_and_flushes_when_asked():
    class Recording(Stream):
        def __init__(self):
            super().__init__()
            self.flushed: list[str] = []

        def flush(self):
            self.flushed.append(self.getvalue())

    stdout = Recording()
    renderer = TextRenderer(Console(stderr=Stream()), stdout=stdout)
    feed(renderer, text_events("Hel", "lo"))
    # Written at once, but flushed by the stream (before it waits), not per delta.
    assert (stdout.getvalue(), stdout.flushed) == ("Hello", [])
    renderer.flush()
    renderer.finish({})
    assert stdout.flushed == ["Hello", "Hello\n"]
    assert stdout.getvalue() == "Hello\n"


def test_text_renderer_flushes_its_text_before_writing_to_stderr():
    """Text, then a tool step and a thought: on a terminal stdout and stderr keep that order."""
    log: list[tuple[str, str]] = []

    class Out(Stream):
        def flush(self):
            log.append(("stdout", self.getvalue()))

    class Err(Stream):
        def write(self, text):
            log.append(("stderr", text))
            return super().write(text)

    renderer = TextRenderer(Console(stderr=Err()), thoughts=True, stdout=Out())
    renderer.text("Let me look")
    renderer.tool_step({"type": "google_search_call", "arguments": {"queries": ["q"]}})
    renderer.text(" it up")
    renderer.thought("hmm")
    renderer.thought(" more")  # nothing new on stdout: no flush
    assert log == [("stdout", "Let me look"), ("stderr", "\n"), ("stderr", "search: q\n"),
                   ("stdout", "Let me look it up"), ("stderr", "hmm"), ("stderr", " more")]


def test_text_renderer_only_text_deltas_reach_stdout():
    stdout, stderr = Stream(), Stream()
    renderer = TextRenderer(Console(stderr=stderr), thoughts=False, stdout=stdout)
    events = text_events("x", thought="hidden")
    events.insert(-2, {"event_type": "step.delta", "index": 1, "delta": {"type": "image", "data": "aW1n"}})
    events.insert(-2, {"event_type": "step.delta", "index": 1, "delta": {"type": "text_annotation_delta", "annotations": []}})
    feed(renderer, events)
    renderer.finish({})
    assert (stdout.getvalue(), stderr.getvalue()) == ("x\n", "")


def test_text_renderer_thought_between_texts_gets_its_own_line():
    stdout, stderr = Stream(), Stream()
    renderer = TextRenderer(Console(stderr=stderr), thoughts=True, stdout=stdout)
    renderer.thought("one")
    renderer.thought(" two")
    renderer.text("answer")
    renderer.finish({})
    assert (stdout.getvalue(), stderr.getvalue()) == ("answer\n", "one two\n")


def test_text_renderer_thought_only():
    stdout, stderr = Stream(), Stream()
    renderer = TextRenderer(Console(stderr=stderr), thoughts=True, stdout=stdout)
    renderer.thought("only thinking")
    renderer.finish({})
    assert (stdout.getvalue(), stderr.getvalue()) == ("", "only thinking\n")


def test_text_renderer_non_streamed_hops():
    stdout, stderr = Stream(), Stream()
    renderer = TextRenderer(Console(stderr=stderr), thoughts=True, stdout=stdout)
    first = interaction("One. ")
    first["steps"][0]["summary"] = [{"type": "text", "text": "t1"}]
    renderer.interaction(first)
    renderer.interaction(interaction("Two."))
    renderer.finish({})
    assert (stdout.getvalue(), stderr.getvalue()) == ("One. Two.\n", "t1\n")


def test_text_renderer_finish_is_idempotent_about_newlines():
    stdout = Stream()
    renderer = TextRenderer(Console(stderr=Stream()), stdout=stdout)
    renderer.text("ends with newline\n")
    renderer.finish({})
    renderer.finish({})
    assert stdout.getvalue() == "ends with newline\n"


# -- JSON renderers ---------------------------------------------------------------------------


def test_jsonl_renderer_writes_raw_lines():
    stdout = Stream()
    renderer = JsonlRenderer(stdout=stdout)
    renderer.event('{"a":  1}', {"a": 1})
    renderer.event('{"b":\n2}', {"b": 2})  # multi-line data stays on one line
    renderer.interaction({"id": "x", "text": "é"})
    renderer.finish({"ignored": True})
    assert stdout.getvalue() == '{"a":  1}\n{"b": 2}\n{"id": "x", "text": "é"}\n'
    assert [json.loads(line) for line in stdout.getvalue().splitlines()] == [{"a": 1}, {"b": 2}, {"id": "x", "text": "é"}]


def test_json_renderer_writes_once_at_the_end():
    stdout = Stream()
    renderer = JsonRenderer(stdout=stdout)
    renderer.event("{}", {})
    renderer.interaction({"id": "x"})
    assert stdout.getvalue() == ""
    renderer.finish({"id": "x", "output_text": "é"})
    assert stdout.getvalue() == '{\n  "id": "x",\n  "output_text": "é"\n}\n'
    assert dumps({"a": "é"}) == '{\n  "a": "é"\n}'


def test_renderer_for():
    console = Console(stderr=Stream())
    assert isinstance(renderer_for("text", console), TextRenderer)
    assert isinstance(renderer_for("json", console), JsonRenderer)
    assert isinstance(renderer_for("jsonl", console), JsonlRenderer)
    assert renderer_for("text", console, thoughts=True).thoughts is True
