"""Which conversation a turn belongs to, and recording the turn afterwards.

Model, system instruction, generation config, tools and response format are not carried
over by the API, so they are remembered here and re-sent each turn; what a turn sends
(its history fields too) is built by request/body.py.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from gemini_cli.state import store
from gemini_cli.state.config import Settings
from gemini_cli.state.conversation import Conversation, Turn, record_warnings, without_keys
from gemini_cli.errors import GeminiCliError, UsageError
from gemini_cli.request.body import remembered


@dataclass
class Resume:
    """The resume flags as given on the command line."""

    session_file: Path | None = None
    continue_last: bool = False
    cid: str | None = None
    previous_interaction_id: str | None = None
    store: bool | None = None  # --store/--no-store; None = not given


@dataclass
class Session:
    path: Path | None  # where the conversation is saved; None with --no-save and nothing resumed
    conversation: Conversation | None  # None until the first turn of a new conversation
    save: bool
    warn: Callable[[str], None]  # the console's: the history folder could not be written
    secrets: Any = ()  # the I/O context's keys: one the server echoes is not saved
    external: bool = False
    previous_interaction_id: str | None = None
    unsaved: str | None = None  # why the history could not be written (the turn was still answered)
    warned: set[str] = field(default_factory=set)  # the record warnings given this run
    _stack: ExitStack = field(default_factory=ExitStack)

    # -- what the next request sends ------------------------------------------

    def remembered(self) -> dict[str, Any]:
        """Settings a resumed conversation carries; flags given now override them."""
        return remembered(self.conversation)

    def prepare(self, settings: Settings, generation_config: dict[str, Any],
                tools: list[Any] | None = None, response_format: Any = None) -> Conversation:
        """Create or update the conversation for this turn (what it remembers); returns it."""
        conv = self.conversation
        if conv is None and self.previous_interaction_id and not settings.store:
            # Stateless requests resend history instead of chaining: the parent would be dropped silently.
            raise UsageError("--previous-interaction-id chains to a stored interaction; it cannot be combined with --no-store")
        if conv is None:
            conv = self.conversation = Conversation.new(
                settings.model, settings.store, settings.system, generation_config, tools, response_format
            )
            if self.previous_interaction_id:
                conv.extra["parent_interaction_id"] = self.previous_interaction_id
        else:
            if conv.store is False and settings.store:
                raise UsageError(f"conversation {conv.id} is stateless (--no-store); it cannot switch to server-side mode")
            conv.model, conv.store = settings.model, settings.store
            conv.system_instruction, conv.generation_config = settings.system, generation_config
            conv.tools, conv.response_format = list(tools or []), response_format
        if settings.agent:
            conv.extra["agent"] = settings.agent
        else:
            conv.extra.pop("agent", None)
        return conv

    # -- recording ------------------------------------------------------------

    def record(self, steps: list[dict[str, Any]], result: dict[str, Any] | None, status: str | None = None,
               warn: Callable[[str], None] | None = None) -> Turn | None:
        """Append a turn record (the answer so far, or pending) and save it atomically.
        `steps`: its input steps (request.inputs.user_input_step; a tool hop's function_result
        steps). What the server sent malformed is left out (so the file stays loadable), with
        one warning."""
        conv = self.conversation
        if conv is None or (result is None and status is None):
            return None
        steps, keyed = without_keys(steps, self.secrets)  # a function's output that echoed the key
        if keyed and warn is not None:
            warn("the API key was in this turn's input (a function's result?): saved as <redacted>")
        turn = conv.add_turn(steps, model=conv.extra.get("agent") or conv.model)
        if result is not None:
            problems = turn.record({key: value for key, value in result.items() if key != "output_text"}, self.secrets)
            for warning in record_warnings(problems):
                if warn is not None and warning not in self.warned:  # once a run, not once a hop
                    self.warned.add(warning)
                    warn(warning)
        if status is not None:
            turn.status = status
        self.write()
        return turn

    def write(self) -> None:
        """Save the conversation. A --session FILE that cannot be written is an error (exit 2);
        the history folder (HOME unset or read-only: cron, daemons) is skipped with a warning."""
        if not (self.save and self.path is not None and self.conversation is not None):
            return

        warn = self.warn
        try:
            store.save(self.path, self.conversation)
        except GeminiCliError as exc:
            if self.external:
                raise
            self.unsaved = exc.message
            warn(f"the conversation was not saved: {exc.message} (set GEMINI_CLI_HOME or XDG_DATA_HOME, or give --no-save)")
            return
        try:
            store.ConversationStore().remember(self.path)
        except GeminiCliError as exc:  # the conversation is saved; only -c and `history list` miss it
            warn(f"not recorded as the last conversation used: {exc.message}")

    def close(self) -> None:
        self._stack.close()


def open_session(settings: Settings, resume: Resume, console: Any) -> Session:
    """Find (and lock) the conversation the flags name, or plan a new one; `console` hears
    of a wait for the lock and of a history that cannot be written."""
    note = console.note
    chosen = [name for name, given in (
        ("--session", resume.session_file is not None), ("--continue", resume.continue_last), ("--cid", resume.cid),
    ) if given]
    if len(chosen) > 1:
        raise UsageError(f"{' and '.join(chosen)} name different conversations; give one of them")
    history = store.ConversationStore()
    path: Path | None
    if resume.session_file is not None:
        path = resume.session_file
        if path.is_dir():
            raise UsageError(f"--session {path} is a directory; name a file")
        if path.is_symlink() and not path.exists():
            # In a shared folder a link pointing nowhere may be planted to make us create its target.
            raise UsageError(f"--session {path} is a symbolic link to {os.readlink(path)}, which does not exist; "
                             "refusing to create a file through it")
        for folder in path.parents:  # the same for a folder on the way: we would create it, then the file
            if folder.is_symlink() and not folder.exists():
                raise UsageError(f"--session {path}: the folder {folder} is a symbolic link to {os.readlink(folder)}, "
                                 "which does not exist; refusing to create a file through it")
    elif resume.continue_last:
        path = history.last_used()
        if path is None:
            raise UsageError("no conversation to continue: none has been saved yet")
    elif resume.cid:
        path = history.find(resume.cid)
    else:
        path = None
    session = Session(path=path, conversation=None, save=settings.save, warn=console.warn, secrets=console.io.secrets,
                      external=resume.session_file is not None)
    try:
        if path is not None:
            # Serialise read-request-write: a second process waits here, then sees our turn.
            session._stack.enter_context(store.lock(
                path, settings.lock_timeout, lambda: note(f"waiting for another gemini-cli using {path}"),
                max_time=settings.max_time,
            ))
            if path.exists() or not session.external:
                session.conversation = store.load(path)
        if resume.previous_interaction_id:
            if session.conversation is not None and session.conversation.turns:
                raise UsageError("--previous-interaction-id starts a new conversation; it cannot be combined with a resumed one")
            session.previous_interaction_id = resume.previous_interaction_id
    except BaseException:
        session.close()  # the lock goes with the error, not when the garbage collector gets to it
        raise
    return session


def new_path_for(session: Session) -> None:
    """A new conversation that is saved goes into the history folder."""
    if session.path is None and session.save and session.conversation is not None:
        session.path = store.ConversationStore().new_path(session.conversation)
