"""What a chat line means: messages, `\"\"\"` blocks and slash commands, the /help text,
and the short lines that show a saved turn.

Pure: read_item takes a `read_line(prompt) -> str` function (raising EOFError at the end of
input) and knows nothing about terminals; the command's line readers are cli/repl.py's.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Union

from gemini_cli.errors import one_line
from gemini_cli.state.conversation import output_text, step_texts

BLOCK = '"""'

# name -> (argument, what it does); the order is the order of /help.
COMMANDS: dict[str, tuple[str, str]] = {
    "help": ("", "show this list"),
    "exit": ("", "leave the chat (also /quit and Ctrl-D)"),
    "quit": ("", "leave the chat"),
    "new": ("", "start a new conversation"),
    "model": ("[NAME]", "use model NAME from the next message on (no NAME: show it)"),
    "system": ("[TEXT|--clear]", "set, show or clear the system instruction"),
    "thinking": ("LEVEL", "thinking level: minimal, low, medium, high, xhigh, or default"),
    "attach": ("[PATH|URL|--clear]", "attach a file or URL to the next message (add --mime TYPE to set its type)"),
    "edit": ("[TEXT]", "write the next message in $EDITOR (starting from TEXT)"),
    "retry": ("", "regenerate the last answer, or resend a message that failed"),
    "usage": ("", "toggle the token usage line after each answer"),
    "save": ("FILE", "write the conversation to FILE"),
    "history": ("", "show the turns so far"),
    "function": ("NAME=COMMAND", "let the model run COMMAND from the next message on (as --function)"),
    "tools": ("", "list the functions the model may call"),
}


@dataclass(frozen=True)
class Message:
    text: str
    unterminated: bool = False  # the input ended inside a \"\"\" block


@dataclass(frozen=True)
class Command:
    name: str  # without the slash, lower case
    arg: str = ""


Item = Union[Message, Command]


def parse_line(line: str) -> Item | None:
    """One line typed outside a block: None when blank, a Command for /name, else a Message.

    A line starting with `//` is a message that starts with one `/`.
    """
    text = line.strip()
    if not text:
        return None
    if text.startswith("//"):
        return Message(text[1:])
    if text.startswith("/"):
        name, _, arg = text[1:].partition(" ")
        return Command(name.lower(), arg.strip())
    return Message(text)


def read_item(read_line: Callable[[str], str], prompt: str = "", more: str = "") -> Item | None:
    """The next message or command; None at the end of input.

    A line `\"\"\"` opens a block that the next `\"\"\"` line closes; the lines between are
    one message, verbatim (slash lines included); so is a paste of several lines (a "line"
    holding newlines), without its blank first and last lines. Blank lines and empty blocks
    are skipped. KeyboardInterrupt propagates (and drops a half-typed block).
    """
    while True:
        try:
            line = read_line(prompt)
        except EOFError:
            return None
        if "\n" in line:  # a paste (cli/repl.py): of several lines, one message, verbatim
            line, verbatim = _pasted(line)
            if verbatim:
                if line:
                    return Message(line)
                continue
        if line.strip() != BLOCK:
            item = parse_line(line)
            if item is not None:
                return item
            continue
        lines: list[str] = []
        while True:
            try:
                line = read_line(more)
            except EOFError:
                text = "\n".join(lines)
                return Message(text, unterminated=True) if text.strip() else None
            if line.strip() == BLOCK:
                break
            lines.append(line)
        text = "\n".join(lines)
        if text.strip():
            return Message(text)


def _pasted(text: str) -> tuple[str, bool]:
    """A paste without its blank first and last lines, and whether it is a message as it is
    (several lines, or a whole \"\"\" block: its lines); one line is read as if typed."""
    lines = _trimmed(text.split("\n"))
    if len(lines) >= 2 and lines[0].strip() == lines[-1].strip() == BLOCK:
        return "\n".join(_trimmed(lines[1:-1])), True
    return "\n".join(lines), len(lines) > 1


def _trimmed(lines: list[str]) -> list[str]:
    """lines without the blank ones at either end (indentation kept)."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def help_text() -> str:
    rows = [(f"/{name} {arg}".rstrip(), what) for name, (arg, what) in COMMANDS.items()]
    width = max(len(left) for left, _ in rows)
    lines = [f"  {left:<{width}}  {what}" for left, what in rows]
    lines.append(f'  {BLOCK:<{width}}  start (and end) a message of several lines')
    lines.append(f"  {'//text':<{width}}  send a message that starts with /")
    return "\n".join(lines) + "\n"


def suggest(name: str) -> str | None:
    close = difflib.get_close_matches(name, COMMANDS, n=1, cutoff=0.6)
    return close[0] if close else None


def shorten(text: str, width: int = 100) -> str:
    """One line: whitespace collapsed, cut to width with an ellipsis."""
    line = one_line(text)
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


# -- showing turns -----------------------------------------------------------------------


def turn_input(turn) -> Any:
    """What the user sent in a turn: its text, or its content blocks when there was more."""
    blocks = [b for step in turn.input if step.get("type") == "user_input" for b in (step.get("content") or [])]
    if not blocks:
        return None
    if len(blocks) == 1 and blocks[0].get("type") == "text" and isinstance(blocks[0].get("text"), str):
        return blocks[0]["text"]
    return blocks


def turn_lines(turn, model: str, *, short: bool) -> list[str]:
    steps = [s for s in turn.input if s.get("type") == "user_input"]
    user = "\n".join(t for s in steps for t in step_texts(s))
    extra = sum(1 for s in steps for b in (s.get("content") or []) if isinstance(b, dict) and b.get("type") != "text")
    if extra:
        user += f" [+{extra} attachment{'s' if extra > 1 else ''}]"
    answer = output_text(turn)
    status = "" if turn.status == "completed" else f" [{turn.status}]"
    name = turn.model or model
    if short:
        return [f"  you: {shorten(user, 100)}", f"  {name}{status}: {shorten(answer, 100) or '(no answer)'}"]
    return [f"you: {user}", f"{name}{status}: {answer.rstrip() or '(no answer)'}", ""]


def transcript(conv) -> str:
    lines = []
    for n, turn in enumerate(conv.turns, 1):
        lines.append(f"--- turn {n}")
        lines.extend(turn_lines(turn, conv.model, short=False))
    return "\n".join(lines) + "\n"
