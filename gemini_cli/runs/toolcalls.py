"""The tool loop of a turn: the pipeline's ToolLoop seam over declared Tools and their Runners.

When a hop ends `requires_action`, `answer` runs its `function_call` steps (up to WORKERS
at once, results in call order) and gives the `function_result` steps to send next.
Only declared functions run: any other name is answered as not declared, and `after`
then gives the exit-14 error. Past `max_calls` calls in a turn, `answer` raises the
exit-13 error and leaves the calls pending; `pending` answers them at the start of the
next turn. A conversation file never makes anything run: it holds calls, not commands.

Talking to the user goes through two callables the caller injects: `note(text)` gets one
stderr line per call and per result (control characters already made visible; dimming
and -q are the caller's), `ask(prompt)` asks to confirm a call and returns the answer,
or None when there is no terminal (the call is then refused, never waited on).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from gemini_cli.errors import GeminiCliError, ToolLimit, ToolRefused, UsageError
from gemini_cli.render.terminal import visible
from gemini_cli.runs.commands import CommandRunner
from gemini_cli.runs.toolbox import CallResult, Runner, Tool
from gemini_cli.state.conversation import USABLE_STATUSES

DEFAULT_MAX_CALLS = 10
WORKERS = 4  # calls of one answer run at once
NOTE_MAX = 200  # characters of a → or ← line
VALUE_MAX = 60  # characters of one argument in a → line

Ask = Callable[[str], "str | None"]
Note = Callable[[str], None]


@dataclass
class _Call:
    """One function_call step of an answer, read."""

    call_id: Any
    name: str
    arguments: dict[str, Any] | None  # None: not a JSON object
    binding: tuple[Tool, Runner] | None  # None: not declared


class FunctionLoop:
    """A ToolLoop (see runs/pipeline.py) over `tools`: (Tool, Runner) pairs, the Tool's
    name unique. One object serves a whole run (a chat session: "always" answers last
    for the run); the call count is per turn (reset by `begin_turn`, `pending`, `after`)."""

    def __init__(self, tools: Iterable[tuple[Tool, Runner]], *, max_calls: int = DEFAULT_MAX_CALLS,
                 timeout: float | None = None, confirm_all: bool = False, ask: Ask | None = None,
                 note: Note | None = None, workers: int = WORKERS):
        self.tools: dict[str, tuple[Tool, Runner]] = {}
        for tool, runner in tools:
            if tool.name in self.tools:
                raise UsageError(f"function {tool.name!r} is declared twice ({self.tools[tool.name][0].origin} and {tool.origin})")
            self.tools[tool.name] = (tool, runner)
        self.max_calls = max_calls
        self.timeout = timeout
        self.confirm_all = confirm_all
        self.ask = ask
        self.note = note or (lambda text: None)
        self.workers = max(1, workers)
        # The run's --max-time, as the API client keeps it (remaining(), deadline_error()): the
        # pipeline binds it, so a call still running at the deadline is stopped and the turn ends
        # with exit 7. None: no deadline (batch rows).
        self.deadline: Any = None
        self.always: set[str] = set()  # functions the user said "always" to, for this run
        self.interrupted: set[str] = set()  # ids of calls Ctrl-C stopped in this run
        self.calls = 0  # calls run (or answered) in this turn
        self.refused: list[str] = []  # "name (why)" of this turn's refused calls

    # --- the seam ---------------------------------------------------------------------

    def declarations(self) -> list[dict[str, Any]]:
        return [tool.declaration() for tool, _ in self.tools.values()]

    def begin_turn(self) -> None:
        self.calls = 0
        self.refused = []

    def pending(self, conversation: Any) -> list[dict[str, Any]]:
        """function_result steps for the calls the conversation's newest usable turn left
        unanswered (a stop at the limit, Ctrl-C, a crash), to send before the new input.
        Still declared: run (and counted; past the limit, answered as not run). Not declared
        now: answered as not run, which is no refusal. Starts the turn's count afresh."""
        self.begin_turn()
        calls = unanswered_calls(conversation)
        if not calls:
            return []
        self.note(f"answering {_count(len(calls), 'function call')} the last turn left pending")
        read = [self._read(step) for step in calls]
        preset: dict[int, CallResult] = {}
        for n, call in enumerate(read):
            if call.call_id in self.interrupted:
                self.interrupted.discard(call.call_id)
                preset[n] = CallResult("not run: the user interrupted it (Ctrl-C)", is_error=True,
                                       summary="not run: interrupted")
            elif call.binding is None:
                preset[n] = CallResult(f"not run: function {call.name!r} is not declared in this run", is_error=True,
                                       summary="not run: not declared in this run")
            elif self.calls >= self.max_calls:
                preset[n] = CallResult(f"not run: the limit of {self.max_calls} function calls in a turn was reached",
                                       is_error=True, summary="not run: the tool-call limit was reached")
            else:
                self.calls += 1
        return self._run(read, preset)

    def answer(self, result: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The function_result steps answering a requires_action hop, or None when it
        holds no function call. Raises ToolLimit (exit 13) before running anything when
        the calls would pass the turn's limit."""
        steps = result.get("steps") if isinstance(result, dict) else None
        calls = [s for s in steps or [] if isinstance(s, dict) and s.get("type") == "function_call"]
        if not calls:
            return None
        if self.calls + len(calls) > self.max_calls:
            raise ToolLimit(f"the model asked for more than {_count(self.max_calls, 'function call')} in one turn "
                            f"(--max-tool-calls {self.max_calls}); the turn stops with {_count(len(calls), 'call')} not run")
        self.calls += len(calls)
        return self._run([self._read(step) for step in calls])

    def after(self) -> GeminiCliError | None:
        """The error to raise once the answer is printed and saved (a refused call: exit 14);
        ends the turn."""
        refused = self.refused
        self.begin_turn()
        if not refused:
            return None
        return ToolRefused(f"the model called {_count(len(refused), 'function')} that {'was' if len(refused) == 1 else 'were'} "
                           f"refused: {', '.join(refused)}")

    def close(self) -> None:
        """Close every runner once (kills what is still running)."""
        seen: set[int] = set()
        for _, runner in self.tools.values():
            if id(runner) not in seen:
                seen.add(id(runner))
                runner.close()

    # --- running calls ----------------------------------------------------------------

    def _read(self, step: dict[str, Any]) -> _Call:
        name = step.get("name")
        name = name if isinstance(name, str) else ""
        arguments = step.get("arguments")
        if arguments is None:
            arguments = {}
        elif isinstance(arguments, str):  # arguments a stream left unparsed
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                arguments = None
        return _Call(step.get("id"), name, arguments if isinstance(arguments, dict) else None, self.tools.get(name))

    def _run(self, calls: list[_Call], preset: dict[int, CallResult] | None = None) -> list[dict[str, Any]]:
        """Announce each call, ask where it needs a confirmation (one at a time, in order),
        run the rest concurrently, and give the result steps in call order. `preset`: the
        outcomes of calls already decided not to run."""
        preset = preset or {}
        decided: list[CallResult | None] = []
        for n, call in enumerate(calls):
            self.note(_call_line(call))
            decided.append(preset[n] if n in preset else self._decide(call))
        todo = [(n, call) for n, call in enumerate(calls) if decided[n] is None]
        try:
            self._run_todo(todo, decided)
        except KeyboardInterrupt:  # the user stopped these: a chat's next turn answers them, not runs them again
            self.interrupted.update(call.call_id for _, call in todo if isinstance(call.call_id, str))
            raise
        steps = []
        for call, outcome in zip(calls, decided, strict=True):
            assert outcome is not None
            self.note("← " + _one_line(outcome.summary or ("error" if outcome.is_error else "done")))
            steps.append(_result_step(call, outcome))
        return steps

    def _run_todo(self, todo: list[tuple[int, _Call]], decided: list[CallResult | None]) -> None:
        """Run the calls of `todo` (one inline, several at once), filling `decided`."""
        left = self.deadline.remaining() if self.deadline is not None else None
        if left is not None and left <= 0 and todo:
            raise self.deadline.deadline_error()
        if len(todo) == 1 and left is None:
            decided[todo[0][0]] = self._call(todo[0][1])
        elif todo:
            pool = ThreadPoolExecutor(max_workers=min(self.workers, len(todo)), thread_name_prefix="tool-call")
            try:
                futures = [(n, pool.submit(self._call, call)) for n, call in todo]
                for n, future in futures:
                    wait = None if self.deadline is None else self.deadline.remaining()
                    try:
                        decided[n] = future.result(timeout=None if wait is None else max(0.0, wait))
                    except FutureTimeout:
                        raise self.deadline.deadline_error() from None
            except BaseException:
                # Ctrl-C, the deadline: stop the calls still running (nothing may outlive the turn),
                # without waiting here; the runners stay usable for the next turn of a chat.
                pool.shutdown(wait=False, cancel_futures=True)
                for runner in {id(r): r for _, r in self.tools.values()}.values():
                    cancel = getattr(runner, "cancel", None)
                    if cancel is not None:
                        cancel()
                raise
            pool.shutdown()

    def _decide(self, call: _Call) -> CallResult | None:
        """The result of a call that is not to run (undeclared, refused), else None."""
        if call.binding is None:
            self.refused.append(f"{_one_line(call.name) or '(no name)'} (not declared)")
            return CallResult(f"function {call.name!r} is not declared: it was not run", is_error=True,
                              summary="not declared: refused")
        tool, runner = call.binding
        if call.arguments is None:
            return CallResult("bad arguments: the arguments are not a JSON object", is_error=True,
                              summary="bad arguments: not a JSON object")
        if not (tool.confirm or self.confirm_all) or tool.name in self.always:
            return None
        describe = getattr(runner, "describe", None)
        shown = describe(tool, call.arguments) if describe is not None else _call_line(call)[2:]
        if shown is None:
            return None  # the arguments cannot fill the command: the call fails without running
        # The argv as it will run: only line breaks and control characters are shown as text.
        shown = _clip(visible(shown).replace("\n", "\\n").replace("\t", "\\t"), 2000)
        answer = self.ask(f"run {tool.name}: {shown} ? [y/N/a=always] ") if self.ask else None
        word = (answer or "").strip().lower()
        if word in ("a", "always"):
            self.always.add(tool.name)
            return None
        if word in ("y", "yes"):
            return None
        why = "no terminal to confirm it" if answer is None else "the user said no"
        self.refused.append(f"{tool.name} ({why})")
        return CallResult(f"refused: {why}; the command was not run", is_error=True, summary=f"refused: {why}")

    def _call(self, call: _Call) -> CallResult:
        tool, runner = call.binding  # type: ignore[misc]
        try:
            return runner.call(tool, call.arguments or {}, self.timeout)
        except Exception as exc:  # a runner's failure is this call's error, not the turn's
            message = exc.message if isinstance(exc, GeminiCliError) else f"{type(exc).__name__}: {exc}"
            return CallResult(f"the call failed: {message}", is_error=True, summary=f"failed: {message}")


def function_loop(specs: Iterable[Any], extra: Iterable[tuple[Tool, Runner]] = (), **options: Any) -> FunctionLoop:
    """The run's loop over its local functions (request.functions.FunctionSpec, from
    `combine`) and any other (Tool, Runner) pairs (MCP servers); `options` as FunctionLoop
    takes them (max_calls, timeout, confirm_all, ask, note)."""
    runner = CommandRunner(specs)
    return FunctionLoop([(tool, runner) for tool in runner.tools()] + list(extra), **options)


def unanswered_calls(conversation: Any) -> list[dict[str, Any]]:
    """The function_call steps the newest usable turn (the one the next request builds
    on) left without a function_result."""
    for turn in reversed(getattr(conversation, "turns", None) or []):
        if turn.status not in USABLE_STATUSES:
            continue
        if turn.status != "requires_action":
            return []
        answered = {s.get("call_id") for s in turn.steps if s.get("type") == "function_result"}
        return [s for s in turn.steps if s.get("type") == "function_call" and s.get("id") not in answered]
    return []


def undeclared_note(conversation: Any, declared: Iterable[str]) -> str | None:
    """For a resumed conversation: one note naming the functions its turns called that
    this run does not declare (the caller prefixes it like any warning), or None."""
    known = set(declared)
    called: list[str] = []
    for turn in getattr(conversation, "turns", None) or []:
        for step in turn.steps:
            name = step.get("name") if step.get("type") == "function_call" else None
            if isinstance(name, str) and name not in known and name not in called:
                called.append(name)
    if not called:
        return None
    names = ", ".join(_one_line(n) for n in called)
    return (f"this conversation called {_count(len(called), 'function')} not declared in this run: {names} "
            "(a new call to one is answered as not declared; declare it with --function or --functions)")


def _result_step(call: _Call, outcome: CallResult) -> dict[str, Any]:
    step = {"type": "function_result", "call_id": call.call_id, "name": call.name, "result": outcome.result}
    if outcome.is_error:
        step["is_error"] = True
    return step


def _call_line(call: _Call) -> str:
    """`→ weather(city="Boston")`."""
    if call.arguments is None:
        args = "?"
    else:
        args = ", ".join(f"{key}={_clip(json.dumps(value, ensure_ascii=False), VALUE_MAX)}"
                         for key, value in call.arguments.items())
    return "→ " + _one_line(f"{call.name}({args})")


def _one_line(text: str, limit: int = NOTE_MAX) -> str:
    """One stderr line: newlines and tabs as spaces, other control characters visible."""
    return _clip(visible(" ".join(str(text).split())), limit)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
