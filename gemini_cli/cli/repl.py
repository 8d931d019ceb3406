"""Input for `chat`: messages, `\"\"\"` blocks and slash commands; line editing; $EDITOR.

The parsing part (parse_line, read_item, shorten, suggest) is pure: it takes a
`read_line(prompt) -> str` function (raising EOFError at the end of input) and knows
nothing about terminals. TerminalInput and PipedInput are the two such functions the
command uses; edit_text runs the user's editor.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Union

from gemini_cli.render.output import isatty

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
    one message, verbatim (slash lines included). Blank lines and empty blocks are
    skipped. KeyboardInterrupt propagates (and drops a half-typed block).
    """
    while True:
        try:
            line = read_line(prompt)
        except EOFError:
            return None
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


def help_text() -> str:
    rows = [(f"/{name} {arg}".rstrip(), what) for name, (arg, what) in COMMANDS.items()]
    width = max(len(left) for left, _ in rows)
    lines = [f"  {left:<{width}}  {what}" for left, what in rows]
    lines.append(f'  {BLOCK:<{width}}  start (and end) a message of several lines')
    lines.append(f"  {'//text':<{width}}  send a message that starts with /")
    return "\n".join(lines) + "\n"


def suggest(name: str) -> str | None:
    import difflib

    close = difflib.get_close_matches(name, COMMANDS, n=1, cutoff=0.6)
    return close[0] if close else None


def shorten(text: str, width: int = 100) -> str:
    """One line: whitespace collapsed, cut to width with an ellipsis."""
    from gemini_cli.errors import one_line

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
    from gemini_cli.state.conversation import output_text, step_texts

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


# -- reading lines -----------------------------------------------------------------------


class PipedInput:
    """Lines from a binary stream (stdin when it is not a terminal); no prompt is shown."""

    def __init__(self, stream):
        self.stream = stream

    def __call__(self, prompt: str = "") -> str:
        from gemini_cli.errors import UsageError

        from gemini_cli.request.inputs import INLINE_LIMIT  # a whole request's limit bounds a message too

        data = self.stream.readline(INLINE_LIMIT + 1)
        if not data:
            raise EOFError
        if len(data) > INLINE_LIMIT:
            while data and not data.endswith(b"\n"):  # skip the rest of the line, a block at a time
                data = self.stream.readline(INLINE_LIMIT)
            raise UsageError(f"a line on stdin is over {INLINE_LIMIT // 1024**2} MiB, the limit of a whole request; "
                             "skipped it")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError("stdin is not UTF-8 text") from None
        return text.rstrip("\n").rstrip("\r")

    def close(self) -> None:
        pass


class TerminalInput:
    """Lines typed at a terminal, with readline editing and a history file when available.

    The prompt goes to stderr: for the length of input() file descriptor 1 is pointed at
    stderr's terminal, so readline (which writes to C stdout) draws there and an answer
    file (`gemini-cli chat > answers.txt`) gets answers only.
    """

    def __init__(self, history_file: Path | None, stdin=None, stderr=None):
        self.stdin = stdin or sys.stdin
        self.stderr = stderr or sys.stderr
        self.history_file = history_file
        self.readline = None
        if isatty(self.stderr) and self.stdin is sys.stdin and _fd(sys.stdout) == 1:
            try:
                import readline  # noqa: PLC0415 - only at a terminal: it costs start-up time
            except ImportError:
                readline = None
            self.readline = readline
        if self.readline is not None:
            self._setup()

    def _setup(self) -> None:
        rl = self.readline
        rl.set_history_length(1000)
        if self.history_file is not None:
            try:
                rl.read_history_file(str(self.history_file))
            except (OSError, ValueError):
                pass  # none yet, or unreadable: start without
        names = ["/" + name for name in COMMANDS]

        def complete(text: str, state: int) -> str | None:
            matches = [n for n in names if n.startswith(text)] if text.startswith("/") else []
            return matches[state] if state < len(matches) else None

        rl.set_completer(complete)
        rl.set_completer_delims(" \t\n")
        if "libedit" in (rl.__doc__ or ""):
            rl.parse_and_bind("bind ^I rl_complete")
        else:
            rl.parse_and_bind("tab: complete")

    def __call__(self, prompt: str = "") -> str:
        sys.stdout.flush()
        self.stderr.flush()
        if self.readline is None:
            self.stderr.write(prompt)
            self.stderr.flush()
            line = self.stdin.readline()
            if not line:
                raise EOFError
            return line.rstrip("\n")
        saved = os.dup(1)
        try:
            os.dup2(_fd(self.stderr), 1)
            return input(prompt)
        finally:
            os.dup2(saved, 1)
            os.close(saved)

    def close(self) -> None:
        """Save the history file (mode 0600: what was typed may be private)."""
        if self.readline is None or self.history_file is None:
            return
        try:
            from gemini_cli.state.atomic import ensure_dir

            ensure_dir(self.history_file.parent)
            self.readline.write_history_file(str(self.history_file))
            os.chmod(self.history_file, 0o600)
        except Exception:  # noqa: BLE001 - losing the line history is not worth an error
            pass


def _fd(stream) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


# -- $EDITOR -----------------------------------------------------------------------------


def editor_command() -> list[str]:
    """$VISUAL, else $EDITOR, else vi, as an argv (`code --wait` works). UsageError when it
    cannot be parsed or is blank."""
    import shlex

    from gemini_cli.errors import UsageError

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        argv = shlex.split(editor)
    except ValueError as exc:
        raise UsageError(f"cannot parse the editor command {editor!r}: {exc}") from None
    if not argv:
        raise UsageError("$VISUAL/$EDITOR is empty")
    return argv


def run_editor(path: str) -> tuple[str, int]:
    """Run the editor on path and wait for it: (its name, its exit status). UsageError when it
    cannot be started. Used by chat's /edit and by `config edit`."""
    import subprocess

    from gemini_cli.errors import UsageError

    argv = editor_command()
    try:
        return argv[0], subprocess.call([*argv, path])
    except OSError as exc:
        raise UsageError(f"cannot run the editor {argv[0]!r}: {exc.strerror or exc} (set $VISUAL or $EDITOR)") from None


def edit_text(initial: str = "") -> str | None:
    """Open the editor on a temporary file; its text when the editor exits 0, else None.

    Raises UsageError when the editor cannot be started.
    """
    import tempfile

    from gemini_cli.errors import UsageError

    fd, name = tempfile.mkstemp(prefix="gemini-cli-message-", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(initial)
        editor, code = run_editor(name)
        if code != 0:
            raise UsageError(f"the editor {editor!r} exited with status {code}; nothing sent")
        with open(name, encoding="utf-8", errors="replace") as f:
            return f.read()
    finally:
        try:
            os.unlink(name)
        except OSError:
            pass
