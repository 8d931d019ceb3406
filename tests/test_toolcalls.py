"""The tool loop (the pipeline's ToolLoop seam): function_call steps of a requires_action
answer in, function_result steps out; only declared functions run, confirmations, the
per-turn limit (exit 13), refusals (exit 14), pending calls of a resumed conversation,
and one stderr line per call and per result."""

from __future__ import annotations

import threading
import time

import pytest

from gemini_cli.errors import ExitCode, ToolLimit, ToolRefused, UsageError
from gemini_cli.request.functions import parse_function_flag
from gemini_cli.runs.toolbox import CallResult, Tool
from gemini_cli.runs.toolcalls import FunctionLoop, function_loop, unanswered_calls, undeclared_note
from gemini_cli.state.conversation import Conversation


class FakeRunner:
    """Answers each call with what `answers` gives for its name; records every call."""

    def __init__(self, answers=None, delay=None):
        self.answers = answers or {}
        self.delay = delay or {}
        self.calls: list[tuple[str, dict, float | None]] = []
        self.closed = 0
        self.lock = threading.Lock()

    def call(self, tool, arguments, timeout):
        with self.lock:
            self.calls.append((tool.name, arguments, timeout))
        time.sleep(self.delay.get(tool.name, 0))
        answer = self.answers.get(tool.name, CallResult("ok\n", summary="1 line"))
        return answer(arguments) if callable(answer) else answer

    def close(self):
        self.closed += 1


def fcall(call_id, name, **arguments):
    return {"type": "function_call", "id": call_id, "name": name, "arguments": arguments}


def hop(*calls, interaction_id="v1_hop"):
    """A reassembled requires_action interaction: a thought, then the calls."""
    return {"id": interaction_id, "status": "requires_action",
            "steps": [{"type": "thought", "signature": "c2ln"}, *calls]}


def make(names=("weather",), runner=None, **options):
    runner = runner or FakeRunner()
    notes: list[str] = []
    tools = [name if isinstance(name, Tool) else Tool(name=name, description=f"{name} tool") for name in names]
    loop = FunctionLoop([(tool, runner) for tool in tools], note=notes.append, **options)
    return loop, runner, notes


def test_declarations_are_the_tools_in_order():
    loop, _, _ = make(["weather", "log"])
    assert loop.declarations() == [
        {"type": "function", "name": "weather", "description": "weather tool", "parameters": {"type": "object", "properties": {}}},
        {"type": "function", "name": "log", "description": "log tool", "parameters": {"type": "object", "properties": {}}}]


def test_one_call_gives_one_function_result_and_two_notes():
    loop, runner, notes = make(timeout=7.5)
    steps = loop.answer(hop(fcall("fc_1", "weather", city="Boston")))
    assert steps == [{"type": "function_result", "call_id": "fc_1", "name": "weather", "result": "ok\n"}]
    assert runner.calls == [("weather", {"city": "Boston"}, 7.5)]
    assert notes == ['→ weather(city="Boston")', "← 1 line"]
    assert loop.after() is None


def test_an_answer_without_calls_is_none():
    loop, runner, _ = make()
    assert loop.answer({"id": "v1", "status": "requires_action", "steps": [{"type": "model_output"}]}) is None
    assert loop.answer({"id": "v1", "status": "requires_action"}) is None
    assert runner.calls == []


def test_an_error_result_says_is_error_and_the_summary_is_shown():
    runner = FakeRunner({"weather": CallResult("exit status 2\nstderr:\nboom", is_error=True, summary="exit 2: boom")})
    loop, _, notes = make(runner=runner)
    assert loop.answer(hop(fcall("fc_1", "weather"))) == [
        {"type": "function_result", "call_id": "fc_1", "name": "weather", "result": "exit status 2\nstderr:\nboom",
         "is_error": True}]
    assert notes == ["→ weather()", "← exit 2: boom"]
    assert loop.after() is None  # a failed command is no refusal: the model decides


def test_parallel_calls_run_concurrently_and_come_back_in_call_order():
    barrier = threading.Barrier(3, timeout=5)

    def meet(arguments):
        barrier.wait()  # breaks (an error) unless all three run at once
        return CallResult(f"r{arguments['n']}", summary=f"done {arguments['n']}")

    runner = FakeRunner({"weather": meet}, delay={})
    loop, _, notes = make(runner=runner)
    steps = loop.answer(hop(*(fcall(f"fc_{n}", "weather", n=n) for n in range(3))))
    assert [(s["call_id"], s["result"]) for s in steps] == [("fc_0", "r0"), ("fc_1", "r1"), ("fc_2", "r2")]
    assert notes == ["→ weather(n=0)", "→ weather(n=1)", "→ weather(n=2)", "← done 0", "← done 1", "← done 2"]


def test_at_most_workers_calls_run_at_once():
    running, most, lock = [0], [0], threading.Lock()

    def count(arguments):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return CallResult("x")

    loop, _, _ = make(runner=FakeRunner({"weather": count}), workers=2)
    assert len(loop.answer(hop(*(fcall(f"fc_{n}", "weather") for n in range(5))))) == 5
    assert most[0] == 2


def test_an_undeclared_function_never_runs_and_after_gives_exit_14():
    loop, runner, notes = make()
    steps = loop.answer(hop(fcall("fc_1", "weather"), fcall("fc_2", "rm_all", path="/")))
    assert steps == [
        {"type": "function_result", "call_id": "fc_1", "name": "weather", "result": "ok\n"},
        {"type": "function_result", "call_id": "fc_2", "name": "rm_all",
         "result": "function 'rm_all' is not declared: it was not run", "is_error": True}]
    assert [c[0] for c in runner.calls] == ["weather"]
    assert notes == ["→ weather()", '→ rm_all(path="/")', "← 1 line", "← not declared: refused"]
    error = loop.after()
    assert isinstance(error, ToolRefused) and error.exit_code == ExitCode.TOOL_REFUSED == 14
    assert error.message == "the model called 1 function that was refused: rm_all (not declared)"
    assert loop.after() is None  # once per turn


def test_past_the_limit_answer_raises_exit_13_and_runs_nothing():
    loop, runner, _ = make(max_calls=2)
    loop.answer(hop(fcall("fc_1", "weather"), fcall("fc_2", "weather")))
    with pytest.raises(ToolLimit) as caught:
        loop.answer(hop(fcall("fc_3", "weather")))
    assert caught.value.exit_code == ExitCode.TOOL_LIMIT == 13
    assert caught.value.message == ("the model asked for more than 2 function calls in one turn (--max-tool-calls 2); "
                                    "the turn stops with 1 call not run")
    assert len(runner.calls) == 2
    loop.begin_turn()  # a new turn counts afresh
    assert loop.answer(hop(fcall("fc_4", "weather")))[0]["call_id"] == "fc_4"


def test_arguments_the_stream_left_as_text_are_read_and_others_are_a_bad_arguments_result():
    loop, runner, notes = make()
    call = {"type": "function_call", "id": "fc_1", "name": "weather", "arguments": '{"city": "Oslo"}'}
    bad = {"type": "function_call", "id": "fc_2", "name": "weather", "arguments": "[1, 2]"}
    steps = loop.answer(hop(call, bad))
    assert runner.calls == [("weather", {"city": "Oslo"}, None)]
    assert steps[1] == {"type": "function_result", "call_id": "fc_2", "name": "weather",
                        "result": "bad arguments: the arguments are not a JSON object", "is_error": True}
    assert notes[:2] == ['→ weather(city="Oslo")', "→ weather(?)"]


def test_a_runner_that_raises_gives_an_error_result_not_a_crash():
    def boom(arguments):
        raise RuntimeError("server went away")

    loop, _, notes = make(runner=FakeRunner({"weather": boom}))
    assert loop.answer(hop(fcall("fc_1", "weather")))[0]["result"] == "the call failed: RuntimeError: server went away"
    assert notes[-1] == "← failed: RuntimeError: server went away"


def test_notes_show_control_characters_as_text_and_stay_short():
    loop, _, notes = make()
    loop.answer(hop(fcall("fc_1", "weather", city="\x1b]52;c;aGk=\x07Boston", long="x" * 500)))
    assert notes[0] == '→ weather(city="\\u001b]52;c;aGk=\\u0007Boston", long="' + "x" * 58 + "…)"
    loop.answer(hop(fcall("fc_2", "evil\x1b[2J\nname")))
    assert notes[2] == "→ evil^[[2J name()"
    assert all("\x1b" not in n and "\n" not in n for n in notes)


# --- confirmation ---------------------------------------------------------------------------

def confirming(answers, confirm=True, **options):
    """A loop over a real command that needs a confirmation; `answers` are what ask returns."""
    prompts: list[str] = []
    replies = iter(answers)

    def ask(prompt):
        prompts.append(prompt)
        return next(replies)

    spec = parse_function_flag("weather=printf %s wttr.in/{city}?format=3")
    spec = type(spec)(**{**spec.__dict__, "confirm": confirm})
    notes: list[str] = []
    loop = function_loop([spec], ask=ask, note=notes.append, **options)
    return loop, prompts, notes


def test_a_confirm_function_asks_with_the_exact_argv_and_runs_on_yes():
    loop, prompts, notes = confirming(["y"])
    steps = loop.answer(hop(fcall("fc_1", "weather", city="New York")))
    assert prompts == ["run weather: printf %s 'wttr.in/New York?format=3' ? [y/N/a=always] "]
    assert steps == [{"type": "function_result", "call_id": "fc_1", "name": "weather", "result": "wttr.in/New York?format=3"}]
    assert notes == ['→ weather(city="New York")', "← 1 line"]
    assert loop.after() is None


@pytest.mark.parametrize("reply, why", [("n", "the user said no"), ("", "the user said no"), ("maybe", "the user said no"),
                                        (None, "no terminal to confirm it")])
def test_anything_but_yes_refuses_and_after_gives_exit_14(reply, why):
    loop, prompts, notes = confirming([reply])
    steps = loop.answer(hop(fcall("fc_1", "weather", city="Oslo")))
    assert steps == [{"type": "function_result", "call_id": "fc_1", "name": "weather",
                      "result": f"refused: {why}; the command was not run", "is_error": True}]
    assert notes[-1] == f"← refused: {why}"
    error = loop.after()
    assert isinstance(error, ToolRefused) and error.message == f"the model called 1 function that was refused: weather ({why})"


def test_always_stops_asking_for_that_function_for_the_rest_of_the_run():
    loop, prompts, _ = confirming(["a"])
    loop.answer(hop(fcall("fc_1", "weather", city="Oslo")))
    loop.after()
    loop.answer(hop(fcall("fc_2", "weather", city="Rome")))
    assert len(prompts) == 1


def test_no_ask_callable_means_no_terminal_and_confirm_all_asks_for_every_function():
    spec = parse_function_flag("now=date")
    loop = function_loop([spec], confirm_all=True)
    assert loop.answer(hop(fcall("fc_1", "now")))[0]["result"] == "refused: no terminal to confirm it; the command was not run"
    loop, prompts, _ = confirming(["y"], confirm=False, confirm_all=True)
    loop.answer(hop(fcall("fc_1", "weather", city="Oslo")))
    assert len(prompts) == 1


def test_a_call_whose_arguments_cannot_fill_the_command_is_not_asked_about():
    loop, prompts, _ = confirming([])
    steps = loop.answer(hop(fcall("fc_1", "weather")))
    assert prompts == []
    assert steps[0]["result"] == "bad arguments: 'city' is a required property"
    assert loop.after() is None


# --- pending calls of a resumed conversation ---------------------------------------------------

def conversation(*turns):
    conv = Conversation.new("gemini-3-flash-preview", store=True)
    for status, steps in turns:
        conv.add_turn([{"type": "user_input", "content": [{"type": "text", "text": "hi"}]}], status=status,
                      interaction_id=f"v1_{len(conv.turns)}", steps=steps)
    return conv


def test_pending_runs_the_calls_still_declared_and_answers_the_others_as_not_run():
    conv = conversation(("requires_action", [fcall("fc_1", "weather", city="Oslo"), fcall("fc_2", "old_tool")]),
                        ("failed", []))  # a later failed turn is not built on: the calls are still pending
    loop, runner, notes = make(max_calls=5)
    steps = loop.pending(conv)
    assert steps == [
        {"type": "function_result", "call_id": "fc_1", "name": "weather", "result": "ok\n"},
        {"type": "function_result", "call_id": "fc_2", "name": "old_tool",
         "result": "not run: function 'old_tool' is not declared in this run", "is_error": True}]
    assert runner.calls == [("weather", {"city": "Oslo"}, None)]
    assert notes == ["answering 2 function calls the last turn left pending", '→ weather(city="Oslo")', "→ old_tool()",
                     "← 1 line", "← not run: not declared in this run"]
    assert loop.after() is None  # answering as not run is no refusal
    assert loop.calls == 0


def test_pending_calls_count_toward_the_turns_limit():
    conv = conversation(("requires_action", [fcall(f"fc_{n}", "weather") for n in range(3)]))
    loop, runner, _ = make(max_calls=2)
    steps = loop.pending(conv)
    assert [s.get("is_error", False) for s in steps] == [False, False, True]
    assert steps[2]["result"] == "not run: the limit of 2 function calls in a turn was reached"
    with pytest.raises(ToolLimit):
        loop.answer(hop(fcall("fc_9", "weather")))


def test_nothing_is_pending_after_a_completed_turn_or_answered_calls():
    done = [fcall("fc_1", "weather"), {"type": "function_result", "call_id": "fc_1", "name": "weather", "result": "x"}]
    assert unanswered_calls(conversation(("requires_action", [fcall("fc_0", "w")]), ("completed", []))) == []
    assert unanswered_calls(conversation(("requires_action", done + [fcall("fc_2", "weather")]))) == [fcall("fc_2", "weather")]
    assert unanswered_calls(conversation()) == []
    loop, runner, notes = make()
    assert loop.pending(conversation(("completed", []))) == [] and notes == []


def test_the_note_for_functions_a_resumed_conversation_called_that_are_not_declared_now():
    conv = conversation(("completed", [fcall("fc_1", "weather"), fcall("fc_2", "git_log"), fcall("fc_3", "git_log")]))
    assert undeclared_note(conv, ["weather"]) == (
        "this conversation called 1 function not declared in this run: git_log "
        "(a new call to one is answered as not declared; declare it with --function or --functions)")
    assert undeclared_note(conv, ["weather", "git_log"]) is None


# --- building and closing ---------------------------------------------------------------------

def test_function_loop_runs_real_commands_and_closes_each_runner_once():
    extra_runner = FakeRunner()
    loop = function_loop([parse_function_flag("echo_it=printf %s {x}")], extra=[(Tool(name="search", origin="mcp:s"), extra_runner)])
    assert [d["name"] for d in loop.declarations()] == ["echo_it", "search"]
    assert loop.answer(hop(fcall("fc_1", "echo_it", x="; touch pwned")))[0]["result"] == "; touch pwned"
    shared = FakeRunner()
    two = FunctionLoop([(Tool(name="a"), shared), (Tool(name="b"), shared)])
    two.close()
    assert shared.closed == 1


def test_a_name_declared_by_two_sources_is_refused():
    with pytest.raises(UsageError, match="function 'a' is declared twice \\(function and mcp:s\\)"):
        FunctionLoop([(Tool(name="a"), FakeRunner()), (Tool(name="a", origin="mcp:s"), FakeRunner())])


def test_the_readme_exit_code_table_has_the_tool_codes():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert f"| {int(ExitCode.TOOL_LIMIT)} | the tool-call limit of a turn was reached (`--max-tool-calls`)" in readme
    assert f"| {int(ExitCode.TOOL_REFUSED)} | the model called a tool that was refused (not declared" in readme


def test_the_prompt_keeps_the_argv_exact_and_shows_line_breaks_as_text():
    loop, prompts, _ = confirming(["n"])
    loop.answer(hop(fcall("fc_1", "weather", city="a  b\nc\x1b")))
    assert prompts == ["run weather: printf %s 'wttr.in/a  b\\nc^[?format=3' ? [y/N/a=always] "]


def test_ctrl_c_during_parallel_calls_kills_the_commands_still_running(tmp_path):
    from test_commands import gone

    pidfile = tmp_path / "pid"

    def interrupt(arguments):
        deadline = time.monotonic() + 5
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)  # the pid is written: the shell has exec'd sleep
        raise KeyboardInterrupt

    [slow] = [parse_function_flag(f"slow=sh -c 'echo $$ > {pidfile}; exec sleep 30'")]
    loop = function_loop([slow], extra=[(Tool(name="stop"), FakeRunner({"stop": interrupt}))])
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        loop.answer(hop(fcall("fc_1", "stop"), fcall("fc_2", "slow")))
    assert gone(int(pidfile.read_text()))
    assert time.monotonic() - started < 5
