"""Terminal input for `chat`: line editing, piped lines, $EDITOR.

TerminalInput and PipedInput are the two `read_line(prompt) -> str` functions the chat loop
(runs/chat.py) is given; what a line means is runs/chat_input.py's (its names are kept here
too, for the readers' completion and for callers that know them from here).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from types import ModuleType

from gemini_cli.errors import UsageError
from gemini_cli.render.output import isatty
from gemini_cli.request import inputs
from gemini_cli.runs.chat_input import (  # noqa: F401 - the chat language, re-exported
    BLOCK, COMMANDS, Command, Item, Message, help_text, parse_line, read_item, shorten, suggest, transcript,
    turn_input, turn_lines,
)
from gemini_cli.state.atomic import ensure_dir
# readline is imported inside TerminalInput, only at a terminal: loading it changes how input()
# reads (and it may be missing).

# -- reading lines -----------------------------------------------------------------------


class PipedInput:
    """Lines from a binary stream (stdin when it is not a terminal); no prompt is shown."""

    def __init__(self, stream):
        self.stream = stream

    def __call__(self, prompt: str = "") -> str:
        data = self.stream.readline(inputs.INLINE_LIMIT + 1)  # a whole request's limit bounds a message too
        if not data:
            raise EOFError
        if len(data) > inputs.INLINE_LIMIT:
            while data and not data.endswith(b"\n"):  # skip the rest of the line, a block at a time
                data = self.stream.readline(inputs.INLINE_LIMIT)
            raise UsageError(f"a line on stdin is over {inputs.INLINE_LIMIT // 1024**2} MiB, the limit of a whole request; "
                             "skipped it")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError("stdin is not UTF-8 text") from None
        return text.rstrip("\n").rstrip("\r")

    def close(self) -> None:
        pass


# Bracketed paste (xterm's mode 2004): the terminal wraps pasted text in these markers.
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


class TerminalInput:
    """Lines typed at a terminal, with readline editing and a history file when available.

    The prompt goes to stderr: for the length of input() file descriptor 1 is pointed at
    stderr's terminal, so readline (which writes to C stdout) draws there and an answer
    file (`gemini-cli chat > answers.txt`) gets answers only.

    A paste of several lines is one "line" holding newlines (chat_input makes it one
    message): GNU readline does bracketed paste itself once asked (Python turns it off), and
    turns the terminal's mode on for each prompt and off again once the line is read, so the
    mode never outlives the chat. Without readline, a paste the terminal marks anyway is
    joined here.
    """

    def __init__(self, history_file: Path | None, io):
        """io: the invocation's render.context.IOContext."""
        self.stdin, self.stdout, self.stderr = io.stdin, io.stdout, io.stderr
        self.history_file = history_file
        self.readline: ModuleType | None = None
        # readline edits what input() reads: only for the process's own stdin (fd 0)
        if isatty(self.stderr) and _fd(self.stdin) == 0 and _fd(self.stdout) == 1:
            try:
                import readline  # noqa: PLC0415 - only at a terminal: it costs start-up time
            except ImportError:
                pass
            else:
                self.readline = readline
        if self.readline is not None:
            self._setup(self.readline)

    def _setup(self, rl: ModuleType) -> None:
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
            rl.parse_and_bind("bind ^I rl_complete")  # libedit has no bracketed paste: use a """ block
        else:
            rl.parse_and_bind("tab: complete")
            rl.parse_and_bind("set enable-bracketed-paste on")

    def __call__(self, prompt: str = "") -> str:
        self.stdout.flush()
        self.stderr.flush()
        if self.readline is None:
            self.stderr.write(prompt)
            self.stderr.flush()
            line = self.stdin.readline()
            if not line:
                raise EOFError
            return self._paste(line.rstrip("\n"))
        saved = os.dup(1)
        try:
            fd = _fd(self.stderr)
            assert fd is not None  # readline only when stderr is a terminal (__init__): it has one
            os.dup2(fd, 1)
            return input(prompt)
        finally:
            os.dup2(saved, 1)
            os.close(saved)

    def _paste(self, line: str) -> str:
        """A line that opens a bracketed paste, with the lines up to its end: one text."""
        if PASTE_START not in line:
            return line
        lines = [line]
        while PASTE_END not in lines[-1]:
            more = self.stdin.readline()
            if not more:
                break  # the input ended inside the paste: what arrived is the text
            lines.append(more.rstrip("\n"))
        return "\n".join(lines).replace(PASTE_START, "").replace(PASTE_END, "")

    def close(self) -> None:
        """Save the history file (mode 0600: what was typed may be private)."""
        if self.readline is None or self.history_file is None:
            return
        try:
            ensure_dir(self.history_file.parent)
            self.readline.write_history_file(str(self.history_file))
            os.chmod(self.history_file, 0o600)
        except Exception:  # noqa: BLE001 - losing the line history is not worth an error
            pass


def confirmer(reader):
    """A function call's confirmation read at the chat prompt: the answer, or None at the end
    of input (the call is then refused)."""

    def ask(prompt: str) -> str | None:
        try:
            return reader(prompt)
        except EOFError:
            return None

    return ask


def _fd(stream) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


# -- $EDITOR -----------------------------------------------------------------------------


def editor_command() -> list[str]:
    """$VISUAL, else $EDITOR, else vi, as an argv (`code --wait` works). UsageError when it
    cannot be parsed or is blank."""
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
    argv = editor_command()
    try:
        return argv[0], subprocess.call([*argv, path])
    except OSError as exc:
        raise UsageError(f"cannot run the editor {argv[0]!r}: {exc.strerror or exc} (set $VISUAL or $EDITOR)") from None


def edit_text(initial: str = "") -> str | None:
    """Open the editor on a temporary file; its text when the editor exits 0, else None.

    Raises UsageError when the editor cannot be started.
    """
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
