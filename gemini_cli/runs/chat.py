"""The chat loop: reads messages and slash commands, runs each turn, saves it.

Its line reader, editor and renderer are given by cli/chat.py; what a line means is
chat_input.py's, a turn is pipeline.py's. Every turn is saved as it happens. The
conversation is locked for one turn at a time (open_session ... run_turn ... close),
then reopened by its path for the next, so other
gemini-cli processes may use the same conversation between turns. With --no-save
there is no file and the conversation is kept in memory instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from gemini_cli.errors import GeminiCliError, ReplayMismatch, UsageError
from gemini_cli.render.terminal import for_stream, visible
from gemini_cli.request import inputs
from gemini_cli.runs import chat_input
from gemini_cli.runs.pipeline import run_turn
from gemini_cli.runs.session import Resume, open_session
from gemini_cli.runs.tool_setup import add_function, tool_lines
from gemini_cli.state import config, store
from gemini_cli.state.configfile import THINKING_LEVELS

if TYPE_CHECKING:
    from gemini_cli.runs.session import Session
    from gemini_cli.state.conversation import Conversation

RECENT_TURNS = 3  # shown when a conversation is resumed


@dataclass
class Pending:
    """A message to send (again): what /retry resends after a failure."""

    input: Any  # text, or content blocks taken from a saved turn
    attachments: list[str] = field(default_factory=list)
    mime: str | None = None
    drop: tuple | None = None  # identity of a turn to drop first (a /retry not yet written)


class Chat:
    """`reader`: a `read_line(prompt) -> str` callable with close() (cli/repl.py's TerminalInput
    or PipedInput); `edit(initial) -> str | None` runs $EDITOR for /edit; `renderer_for`
    chooses each turn's renderer (runs.pipeline.RendererFor)."""

    def __init__(self, settings, flags, console, *, key, interactive, reader, edit: Callable[[str], str | None],
                 renderer_for, attachments=(), mime=None, tools=None):
        self.settings = settings
        self.tools = tools  # runs.tool_setup.ToolSet: the session's functions and MCP servers (None: none)
        self.reader, self.edit, self.renderer_for = reader, edit, renderer_for
        self.flags = flags
        self.console = console
        self.key = key
        self.interactive = interactive
        self.attachments = list(attachments)
        self.mime = mime  # --mime applies to the attachments given with -a
        self.path: Path | None = None  # the conversation's file, once there is one
        self.conversation: Conversation | None = None  # as of the last turn (or the resume)
        self.memory: Session | None = None  # with --no-save: the Session itself, kept between turns
        self.parent: str | None = None  # --previous-interaction-id, until the first turn is saved
        self.failed: Pending | None = None
        self.exit_code = 0

    # -- the loop ------------------------------------------------------------------------

    def run(self, resume) -> int:
        """Read and handle items until /exit or the end of input; the exit code."""
        reader = self.reader
        try:
            self.start(resume)
        except BaseException:
            reader.close()
            raise
        if self.interactive:
            self.console.note(f"chatting with {self.settings.model}: /help lists the commands, Ctrl-D quits")
        more = "... " if self.interactive else ""
        try:
            while True:
                try:
                    item = chat_input.read_item(reader, prompt_for(self.settings.model) if self.interactive else "", more)
                    if item is None:  # Ctrl-D, or the end of piped input
                        if self.interactive:
                            self.console.write("\n")
                        break
                    if isinstance(item, chat_input.Message):
                        if item.unterminated:
                            self.console.warn(f"the input ended inside a {chat_input.BLOCK} block; sending it")
                        self.send_new(item.text)
                    elif self.command(item) == "exit":
                        break
                except ReplayMismatch:
                    raise  # the cassette cannot answer the rest either
                except GeminiCliError as exc:  # a slash command that failed (turns catch their own)
                    self.console.error(exc.message)
                    if not self.interactive:
                        self.exit_code = int(exc.exit_code)
                except KeyboardInterrupt:
                    if not self.interactive:
                        raise
                    self.console.write("\n")  # Ctrl-C at the prompt: drop the line
        finally:
            reader.close()
        return 0 if self.interactive else self.exit_code

    def start(self, resume) -> None:
        """Open a resumed conversation once, to take its settings and show where it stands."""
        self.parent = resume.previous_interaction_id
        if resume.session_file is None and not resume.continue_last and not resume.cid:
            if not self.settings.save:
                self.memory = open_session(self.settings, resume, self.console)
            return
        session = open_session(self.settings, resume, self.console)
        try:
            self.settings = config.remember(self.settings, self.flags, session.remembered())
            self.path, self.conversation = session.path, session.conversation
            self.parent = None if session.conversation and session.conversation.turns else self.parent
            if not self.settings.save:
                self.memory = session
        finally:
            session.close()
        if self.conversation is not None and self.conversation.turns and not self.settings.quiet:
            self.show_recent()

    # -- turns ---------------------------------------------------------------------------

    def send_new(self, text: str) -> None:
        attachments, mime = self.attachments, self.mime
        self.attachments, self.mime = [], None
        self.send(Pending(text, attachments, mime))

    def send(self, pending: Pending) -> None:
        self.failed = None
        session = None
        before = None
        try:
            session = self.open()
            if pending.drop is not None:
                self.drop_last(session, pending.drop)
            before = self.turn_count(session)
            extra = {"tools": self.tools.loop} if self.tools is not None else {}
            outcome = run_turn(self.settings, session, pending.input, pending.attachments, pending.mime,
                               key=self.key, console=self.console, renderer_for=self.renderer_for, **extra)
            if outcome is not None and outcome.error is not None:
                raise outcome.error  # what arrived is saved; the error is handled below
        except KeyboardInterrupt:
            if not self.interactive:
                raise
            self.after_failure(session, pending, before)
            self.console.note("interrupted (/retry regenerates the answer)")
        except ReplayMismatch:
            raise
        except GeminiCliError as exc:
            self.console.error(exc.message)
            self.exit_code = int(exc.exit_code)
            self.after_failure(session, pending, before)
            if self.interactive:
                self.console.note("/retry sends the message again")
        finally:
            if session is not None:
                self.adopt(session)
                session.close()

    def after_failure(self, session, pending: Pending, before: int | None) -> None:
        """Nothing recorded: remember the message, so that /retry sends it again.

        A turn /retry meant to replace is still named in `drop`: it stays in the file
        until a new turn is recorded, and drop_last checks it is still the last one.
        """
        if session is None or before is None or self.turn_count(session) == before:
            self.failed = pending

    def open(self):
        """Lock and load the conversation for one turn (a fresh one when there is none yet)."""
        if self.memory is not None:
            return self.memory
        if self.path is None:
            return open_session(self.settings, Resume(previous_interaction_id=self.parent), self.console)
        session = open_session(self.settings, Resume(session_file=self.path), self.console)
        had_turns = self.conversation is not None and self.conversation.turns
        if session.conversation is None and had_turns:
            self.console.warn(f"{self.path} is gone; the next answer starts a new conversation there")
        return session

    def adopt(self, session) -> None:
        self.conversation = session.conversation
        if session.path is not None and session.path.exists():
            self.path = session.path
        if self.conversation is not None and self.conversation.turns:
            self.parent = None

    @staticmethod
    def turn_count(session) -> int:
        return len(session.conversation.turns) if session.conversation is not None else 0

    @staticmethod
    def identity(turn) -> tuple:
        return (turn.created, turn.interaction_id, turn.status)

    def drop_last(self, session, identity: tuple) -> None:
        conv = session.conversation
        if conv is not None and conv.turns and self.identity(conv.turns[-1]) == identity:
            conv.turns.pop()

    def retry(self) -> None:
        if self.failed is not None:
            self.send(self.failed)
            return
        session = self.open()
        try:
            conv = session.conversation
            if conv is None or not conv.turns:
                raise UsageError("nothing to retry: no message has been sent yet")
            last = conv.turns[-1]
            resend = chat_input.turn_input(last)
            if resend is None:
                raise UsageError("the last turn has no message to send again")
            identity = self.identity(last)
        finally:
            if session is not self.memory:
                session.close()
        self.send(Pending(resend, drop=identity))

    # -- slash commands ------------------------------------------------------------------

    def command(self, cmd) -> str | None:
        name, arg = cmd.name, cmd.arg
        if name in ("exit", "quit"):
            return "exit"
        handler = getattr(self, f"cmd_{name}", None)
        if name not in chat_input.COMMANDS or handler is None:
            close = chat_input.suggest(name)
            hint = f"did you mean /{close}? " if close else ""
            raise UsageError(f"unknown command /{name}: {hint}/help lists the commands; nothing was sent")
        handler(arg)
        return None

    def cmd_help(self, arg: str) -> None:
        self.console.write("Type a message and press Enter to send it. Commands:\n" + chat_input.help_text())

    def cmd_new(self, arg: str) -> None:
        self.path = self.conversation = self.parent = self.failed = None
        self.memory = None
        if not self.settings.save:
            self.memory = open_session(self.settings, Resume(), self.console)
        self.console.note("new conversation")

    def cmd_model(self, arg: str) -> None:
        if arg:
            if len(arg.split()) != 1:
                raise UsageError(f"/model takes one model id, not {arg!r}")

            self.settings = replace(self.settings, model=config.model_id(self.settings, arg))  # an alias works too
        self.console.note(f"model: {self.settings.model}")

    def cmd_system(self, arg: str) -> None:
        if arg == "--clear":
            self.settings = replace(self.settings, system=None)
        elif arg:
            self.settings = replace(self.settings, system=arg)
        current = chat_input.shorten(self.settings.system, 200) if self.settings.system else "(none)"
        self.console.note(f"system instruction: {current}")

    def cmd_thinking(self, arg: str) -> None:
        level = arg.lower()
        if level == "default":
            self.settings = replace(self.settings, thinking=None)
        elif level in THINKING_LEVELS:
            self.settings = replace(self.settings, thinking=level)
        elif arg:
            raise UsageError(f"/thinking {arg}: give one of {', '.join(THINKING_LEVELS)}, or default")
        self.console.note(f"thinking: {self.settings.thinking or 'default'}")

    def cmd_attach(self, arg: str) -> None:
        if arg == "--clear":
            self.attachments, self.mime = [], None
        elif arg:
            spec, given, after = arg.partition(" --mime ")
            spec, mime = spec.strip(), (after.strip() or None) if given else self.mime
            check_attachment(spec, mime)
            self.attachments.append(spec)
            self.mime = mime
        listing = ", ".join(self.attachments) or "none"
        self.console.note(f"attached to the next message: {listing}" + (f" (as {self.mime})" if self.mime else ""))

    def cmd_edit(self, arg: str) -> None:
        if not self.interactive:
            raise UsageError("/edit needs a terminal")
        text = self.edit(arg)
        if text is None or not text.strip():
            self.console.note("empty message; nothing sent")
            return
        self.send_new(text.rstrip("\n"))

    def cmd_retry(self, arg: str) -> None:
        self.retry()

    def cmd_usage(self, arg: str) -> None:
        self.settings = replace(self.settings, usage=not self.settings.usage)
        self.console.note(f"usage after each answer: {'on' if self.settings.usage else 'off'}")

    def cmd_function(self, arg: str) -> None:
        if self.tools is None:
            raise UsageError("/function: this chat runs no functions")
        if not arg:
            raise UsageError("/function needs NAME=COMMAND, e.g. /function 'today=date +%F'")
        name = add_function(self.tools, arg)
        self.console.note(f"function {name} declared from the next message on (/tools lists them)")

    def cmd_tools(self, arg: str) -> None:
        lines = tool_lines(self.tools) if self.tools is not None else []
        if not lines:
            self.console.note("no functions declared (/function NAME=COMMAND adds one)")
            return
        self.console.write("".join(self.console.clean(f"  {line}") + "\n" for line in lines))

    def cmd_save(self, arg: str) -> None:
        if not arg:
            raise UsageError("/save needs a file name")
        target = Path(os.path.expanduser(arg))
        if target.is_dir():
            raise UsageError(f"/save {arg}: is a directory; name a file")
        conv = self.current()
        if conv is None or not conv.turns:
            raise UsageError("nothing to save yet: the conversation has no turns")
        store.save(target, conv)
        self.console.note(f"saved {len(conv.turns)} turn(s) to {target}")

    def cmd_history(self, arg: str) -> None:
        conv = self.current()
        if conv is None or not conv.turns:
            self.console.note("no turns yet")
            return
        out = self.console.io.stdout if self.interactive else self.console.io.stderr

        out.write(for_stream(chat_input.transcript(conv), out))  # a saved answer's escapes shown, never obeyed
        out.flush()

    def current(self):
        """The conversation as saved now (another process may have added turns), else in memory."""
        if self.memory is None and self.path is not None and self.path.exists():
            return store.load(self.path)
        return self.memory.conversation if self.memory is not None else self.conversation

    # -- display -------------------------------------------------------------------------

    def show_recent(self) -> None:
        conv = self.conversation
        assert conv is not None  # called once a resumed conversation is open
        count = len(conv.turns)
        self.console.note(f"resuming conversation {conv.id} ({count} turn{'s' if count != 1 else ''}) from {self.path}")
        if count > RECENT_TURNS:
            self.console.write(self.console.dim(f"  … {count - RECENT_TURNS} earlier (/history shows all)") + "\n")
        for turn in conv.turns[-RECENT_TURNS:]:
            for line in chat_input.turn_lines(turn, conv.model, short=True):
                self.console.write(self.console.dim(line) + "\n")


# -- helpers -----------------------------------------------------------------------------


def prompt_for(model: str) -> str:
    """The `MODEL> ` prompt: the name may come from a file or the config, so a control
    character in it is shown as text (the prompt is only ever written to a terminal)."""
    return f"{visible(model)}> "


def check_attachment(spec: str, mime: str | None = None) -> None:
    """Refuse a missing or unusable attachment now rather than at the next message."""
    if spec == "-":
        raise UsageError("/attach -: stdin cannot be attached in chat; attach a file instead")
    path = os.path.expanduser(spec)
    if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):
        return  # a pipe or device can be read only once: leave it for the turn
    inputs.resolve_attachment(spec, mime, lambda: None)  # never stdin: "-" is refused above
