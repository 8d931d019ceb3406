"""Renderers: the answer on stdout, everything else on stderr.

A renderer sees each stream event (`event`), each whole non-streamed hop
(`interaction`) and the final reassembled Interaction (`finish`).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

DIM, RESET = "\x1b[2m", "\x1b[0m"


def redact(text: str) -> str:
    """Remove the API key from text for stderr (an API message may echo it back)."""
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        key = (os.environ.get(name) or "").strip()
        if len(key) >= 4:
            text = text.replace(key, "<redacted>")
    return text


def use_colour(stream: TextIO) -> bool:
    return not os.environ.get("NO_COLOR") and stream.isatty()


class Console:
    """stderr for notes, warnings and errors; colour only on a terminal without NO_COLOR."""

    def __init__(self, quiet: bool = False, stderr: TextIO | None = None):
        self.quiet = quiet
        self.stderr = stderr or sys.stderr
        self.colour = use_colour(self.stderr)

    def note(self, message: str) -> None:
        if not self.quiet:
            self.write(f"gemini-cli: {message}\n")

    def warn(self, message: str) -> None:
        if not self.quiet:
            self.write(f"gemini-cli: warning: {message}\n")

    def error(self, message: str) -> None:
        self.write(f"gemini-cli: error: {message}\n")

    def dim(self, text: str) -> str:
        return f"{DIM}{text}{RESET}" if self.colour else text

    def write(self, text: str) -> None:
        self.stderr.write(redact(text))
        self.stderr.flush()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


class TextRenderer:
    """Answer text to stdout as it arrives (flushed per delta); thoughts, dimmed, to stderr."""

    def __init__(self, console: Console, *, thoughts: bool = False, stdout: TextIO | None = None):
        self.console = console
        self.thoughts = thoughts
        self.stdout = stdout or sys.stdout
        self.wrote_text = False
        self.at_line_start = True
        self.in_thought = False

    def event(self, raw: str, event: dict[str, Any]) -> None:
        if event.get("event_type") != "step.delta":
            return
        delta = event.get("delta") or {}
        kind = delta.get("type")
        if kind == "text":
            self.text(delta.get("text", ""))
        elif kind == "thought_summary" and self.thoughts:
            block = delta.get("content") or {}
            if block.get("type") == "text":
                self.thought(block.get("text", ""))

    def interaction(self, hop: dict[str, Any]) -> None:
        for step in hop.get("steps") or []:
            kind = step.get("type")
            if kind == "thought" and self.thoughts:
                for block in step.get("summary") or []:
                    if block.get("type") == "text":
                        self.thought(block.get("text", ""))
            elif kind == "model_output":
                for block in step.get("content") or []:
                    if block.get("type") == "text":
                        self.text(block.get("text", ""))

    def text(self, text: str) -> None:
        if not text:
            return
        self._end_thought()
        self.stdout.write(text)
        self.stdout.flush()
        self.wrote_text = True
        self.at_line_start = text.endswith("\n")

    def thought(self, text: str) -> None:
        if text:
            self.in_thought = True
            self.console.write(self.console.dim(text))

    def _end_thought(self) -> None:
        if self.in_thought:
            self.in_thought = False
            self.console.write("\n")

    def finish(self, result: dict[str, Any]) -> None:
        self._end_thought()
        if self.wrote_text and not self.at_line_start:
            self.stdout.write("\n")
            self.at_line_start = True
        self.stdout.flush()


class JsonlRenderer:
    """Every stream event as one JSON line, as it arrives (the raw JSON the API sent)."""

    def __init__(self, stdout: TextIO | None = None):
        self.stdout = stdout or sys.stdout

    def event(self, raw: str, event: dict[str, Any]) -> None:
        self.stdout.write(raw.replace("\n", " ") + "\n")
        self.stdout.flush()

    def interaction(self, hop: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(hop, ensure_ascii=False) + "\n")
        self.stdout.flush()

    def finish(self, result: dict[str, Any]) -> None:
        pass


class JsonRenderer:
    """The reassembled Interaction (plus output_text), once, at the end."""

    def __init__(self, stdout: TextIO | None = None):
        self.stdout = stdout or sys.stdout

    def event(self, raw: str, event: dict[str, Any]) -> None:
        pass

    def interaction(self, hop: dict[str, Any]) -> None:
        pass

    def finish(self, result: dict[str, Any]) -> None:
        self.stdout.write(dumps(result) + "\n")
        self.stdout.flush()


def renderer_for(mode: str, console: Console, *, thoughts: bool = False):
    if mode == "json":
        return JsonRenderer()
    if mode == "jsonl":
        return JsonlRenderer()
    return TextRenderer(console, thoughts=thoughts)


def usage_line(usage: dict[str, Any] | None) -> str:
    if not usage:
        return "usage: not reported"
    parts = [
        f"{usage[key]} {label}"
        for key, label in (
            ("total_input_tokens", "input"),
            ("total_cached_tokens", "cached"),
            ("total_output_tokens", "output"),
            ("total_thought_tokens", "thought"),
            ("total_tool_use_tokens", "tool use"),
            ("total_tokens", "total"),
        )
        if isinstance(usage.get(key), int)
    ]
    return "usage: " + ", ".join(parts) + " tokens"
