"""The turn pipeline's tool-loop seam (runs/pipeline.py): a fake ToolLoop driven through
`generate` against the loopback fake API. Every hop's request body, stdout, the saved
conversation file, and a `-c` turn after it."""

from __future__ import annotations

import json

import pytest

from conftest import USAGE, interaction, run_checked as run, text_events
from gemini_cli.errors import ExitCode, GeminiCliError
from gemini_cli.runs import pipeline

MODEL = "gemini-3-flash-preview"
WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
THOUGHT = {"type": "thought", "signature": "dG9vbC1zaWc="}
CALL = {"type": "function_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
RESULT = {"type": "function_result", "call_id": "call_1", "name": "get_weather", "result": "sunny, 21 C"}
HOP_USAGE = {"total_input_tokens": 10, "total_output_tokens": 2, "total_tokens": 12}


def user(text: str) -> dict:
    return {"type": "user_input", "content": [{"type": "text", "text": text}]}


def answer(text: str) -> list[dict]:
    return [{"type": "thought", "signature": "c2lnbmF0dXJlLWJ5dGVz+/=="},
            {"type": "model_output", "content": [{"type": "text", "text": text}]}]


class FakeTools:
    """Answers every function_call of a requires_action hop with RESULT-like steps."""

    def __init__(self, pending=(), fail_with=None, after_error=None):
        self.seen: list[dict] = []
        self.pending_steps = list(pending)
        self.fail_with, self.after_error = fail_with, after_error
        self.asked_pending = []

    def declarations(self):
        return [WEATHER]

    def pending(self, conversation):
        self.asked_pending.append(len(conversation.turns))
        return self.pending_steps

    def answer(self, result):
        self.seen.append(result)
        if self.fail_with is not None:
            raise self.fail_with
        return [{"type": "function_result", "call_id": s["id"], "name": s["name"], "result": "sunny, 21 C"}
                for s in result["steps"] if s.get("type") == "function_call"]

    def after(self):
        return self.after_error


@pytest.fixture
def tools(monkeypatch):
    """generate's turns run with the fake tool loop in place of the one cli/ builds."""
    loop = FakeTools()
    original = pipeline.run_turn
    monkeypatch.setattr(pipeline, "run_turn", lambda *a, **k: original(*a, **{**k, "tools": loop}))
    return loop


def call_events(interaction_id: str) -> list[dict]:
    """A streamed hop that ends requires_action with one function call."""
    return [
        {"event_type": "interaction.created", "event_id": "e0",
         "interaction": {"id": interaction_id, "status": "in_progress", "model": MODEL}},
        {"event_type": "step.start", "index": 0, "step": {"type": "thought"}},
        {"event_type": "step.delta", "index": 0, "delta": {"type": "thought_signature", "signature": THOUGHT["signature"]}},
        {"event_type": "step.stop", "index": 0},
        {"event_type": "step.start", "index": 1, "step": {"type": "function_call", "id": "call_1", "name": "get_weather",
                                                           "arguments": {}}},
        {"event_type": "step.delta", "index": 1, "delta": {"type": "arguments_delta", "arguments": '{"city": "Paris"}'}},
        {"event_type": "step.stop", "index": 1},
        {"event_type": "interaction.completed", "event_id": "e9",
         "interaction": {"id": interaction_id, "status": "requires_action", "model": MODEL, "usage": HOP_USAGE}},
    ]


def saved(home) -> dict:
    [path] = [p for p in (home / "conversations").glob("*.json") if not p.name.startswith(".")]
    return json.loads(path.read_text())


def turns(home) -> list[tuple]:
    return [(t["interaction_id"], t["status"], t["input"], t["steps"]) for t in saved(home)["turns"]]


def test_a_two_hop_turn_in_server_mode_chains_each_hop_and_saves_each(api, home, tools):
    api.stream(call_events("v1_hop1"))
    api.stream(text_events("Sunny in ", "Paris.", interaction_id="v1_hop2"))
    result = run(["generate", "-o", "json", "Weather in Paris?"])
    assert (result.exit_code, result.stderr) == (0, "")
    first, second = api.bodies()
    assert first == {"model": MODEL, "input": "Weather in Paris?", "tools": [WEATHER], "stream": True}
    assert second == {"model": MODEL, "input": [RESULT], "tools": [WEATHER], "stream": True,
                      "previous_interaction_id": "v1_hop1"}
    assert [hop["id"] for hop in tools.seen] == ["v1_hop1"]
    assert turns(home) == [("v1_hop1", "requires_action", [user("Weather in Paris?")], [THOUGHT, CALL]),
                           ("v1_hop2", "completed", [RESULT], answer("Sunny in Paris."))]
    shown = json.loads(result.stdout)  # the turn as a whole: every hop's steps and results, usage summed
    assert shown["id"] == "v1_hop2" and shown["status"] == "completed"
    assert shown["interaction_ids"] == ["v1_hop1", "v1_hop2"]
    assert shown["steps"] == [THOUGHT, CALL, RESULT] + answer("Sunny in Paris.")
    assert shown["output_text"] == "Sunny in Paris."
    assert shown["usage"] == {"total_input_tokens": 15, "total_output_tokens": 9, "total_thought_tokens": 3,
                              "total_tokens": 27}


def test_a_continued_turn_after_a_tool_loop_chains_to_its_last_hop(api, home, tools):
    api.stream(call_events("v1_hop1"))
    api.stream(text_events("Sunny.", interaction_id="v1_hop2"))
    first = run(["generate", "Weather in Paris?"])
    assert (first.exit_code, first.stdout, first.stderr) == (0, "Sunny.\n", "")
    api.stream(text_events("Warm.", interaction_id="v1_next"))
    result = run(["generate", "-c", "And tomorrow?"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Warm.\n", "")
    assert api.bodies()[2] == {"model": MODEL, "input": "And tomorrow?", "tools": [WEATHER], "stream": True,
                               "previous_interaction_id": "v1_hop2"}
    assert tools.asked_pending == [0, 2]  # asked once per turn, with the turns saved so far
    assert [t[:2] for t in turns(home)] == [("v1_hop1", "requires_action"), ("v1_hop2", "completed"),
                                            ("v1_next", "completed")]
    assert saved(home)["tools"] == []  # declarations are sent each hop, never remembered


def test_a_two_hop_turn_in_stateless_mode_resends_the_whole_history_verbatim(api, home, tools):
    api.json({"id": "v1_s1", "status": "requires_action", "model": MODEL, "usage": HOP_USAGE,
              "steps": [THOUGHT, CALL]})
    api.json(interaction("Sunny.", interaction_id="v1_s2"))
    result = run(["generate", "--no-store", "--no-stream", "Weather in Paris?"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Sunny.\n", "")
    first, second = api.bodies()
    assert first == {"model": MODEL, "input": [user("Weather in Paris?")], "tools": [WEATHER], "store": False}
    assert second == {"model": MODEL, "input": [user("Weather in Paris?"), THOUGHT, CALL, RESULT], "tools": [WEATHER],
                      "store": False}
    stateless_answer = interaction("x")["steps"][:1] + [{"type": "model_output", "content": [{"type": "text", "text": "Sunny."}]}]
    assert turns(home) == [("v1_s1", "requires_action", [user("Weather in Paris?")], [THOUGHT, CALL]),
                           ("v1_s2", "completed", [RESULT], stateless_answer)]
    # -c: every earlier step again, the call with its result, then the new question.
    api.json(interaction("Warm.", interaction_id="v1_s3"))
    follow = run(["generate", "-c", "--no-stream", "And tomorrow?"])
    assert (follow.exit_code, follow.stdout, follow.stderr) == (0, "Warm.\n", "")
    assert api.bodies()[2] == {
        "model": MODEL, "tools": [WEATHER], "store": False,
        "input": [user("Weather in Paris?"), THOUGHT, CALL, RESULT, *stateless_answer, user("And tomorrow?")],
    }


def with_no_tools(monkeypatch):
    """generate's turns run with the pipeline's NoTools (generate itself always passes a loop)."""
    original = pipeline.run_turn
    monkeypatch.setattr(pipeline, "run_turn", lambda *a, **k: original(*a, **{**k, "tools": pipeline.NO_TOOLS}))
    return original


def test_pending_results_go_first_in_the_same_request_as_the_new_input(api, home, monkeypatch):
    api.json({"id": "v1_p1", "status": "requires_action", "model": MODEL, "steps": [THOUGHT, CALL]})
    original = with_no_tools(monkeypatch)
    first = run(["generate", "--no-store", "--no-stream", "Weather in Paris?"])  # no tool loop: exit 9
    assert first.exit_code == ExitCode.NOT_COMPLETED
    loop = FakeTools(pending=[RESULT])
    monkeypatch.setattr(pipeline, "run_turn", lambda *a, **k: original(*a, **{**k, "tools": loop}))
    api.json(interaction("Sunny, and warm tomorrow.", interaction_id="v1_p2"))
    result = run(["generate", "-c", "--no-stream", "And tomorrow?"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Sunny, and warm tomorrow.\n", "")
    assert api.bodies()[1]["input"] == [user("Weather in Paris?"), THOUGHT, CALL, RESULT, user("And tomorrow?")]
    assert turns(home)[1][2] == [RESULT, user("And tomorrow?")]  # the record keeps what was sent as its input


def test_a_tool_loop_error_saves_the_hop_then_exits_with_it(api, home, monkeypatch):
    loop = FakeTools(fail_with=GeminiCliError("too many tool calls (limit 1)", exit_code=ExitCode.USAGE))
    original = pipeline.run_turn
    monkeypatch.setattr(pipeline, "run_turn", lambda *a, **k: original(*a, **{**k, "tools": loop}))
    api.stream(call_events("v1_hop1"))
    result = run(["generate", "-o", "json", "Weather in Paris?"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == "gemini-cli: error: too many tool calls (limit 1)\n"
    document = json.loads(result.stdout)
    assert document["error"] == {"code": "usage", "message": "too many tool calls (limit 1)", "exit_code": 2}
    assert (document["id"], document["status"], document["steps"]) == ("v1_hop1", "requires_action", [THOUGHT, CALL])
    assert document["conversation"]["id"] == saved(home)["id"]
    assert turns(home) == [("v1_hop1", "requires_action", [user("Weather in Paris?")], [THOUGHT, CALL])]
    assert len(api.bodies()) == 1


def test_the_tool_loops_after_error_comes_once_the_answer_is_printed_and_saved(api, home, monkeypatch):
    loop = FakeTools(after_error=GeminiCliError("a call was refused", exit_code=ExitCode.USAGE))
    original = pipeline.run_turn
    monkeypatch.setattr(pipeline, "run_turn", lambda *a, **k: original(*a, **{**k, "tools": loop}))
    api.stream(call_events("v1_hop1"))
    api.stream(text_events("Sunny.", interaction_id="v1_hop2"))
    result = run(["generate", "Weather in Paris?"])
    assert (result.exit_code, result.stdout) == (ExitCode.USAGE, "Sunny.\n")
    assert result.stderr == "gemini-cli: error: a call was refused\n"
    assert [t[:2] for t in turns(home)] == [("v1_hop1", "requires_action"), ("v1_hop2", "completed")]


def test_without_a_tool_loop_requires_action_ends_the_turn_as_before(api, home, monkeypatch):
    with_no_tools(monkeypatch)
    api.stream(call_events("v1_fc"))
    result = run(["generate", "Weather in Paris?"])
    assert result.exit_code == ExitCode.NOT_COMPLETED
    assert result.stderr == ("gemini-cli: error: the model asked for a function call (status requires_action), "
                             "which this command does not run\n")
    assert api.bodies() == [{"model": MODEL, "input": "Weather in Paris?", "stream": True}]
    assert turns(home) == [("v1_fc", "requires_action", [user("Weather in Paris?")], [THOUGHT, CALL])]


def test_summed_usage_adds_counts_by_the_rule_of_continuation_hops():
    # one rule for one usage object (api/usage.py): a field that is not a count is the first hop's
    assert pipeline.summed_usage([{"total_tokens": 3, "by_modality": [1]}, None,
                                  {"total_tokens": 4, "by_modality": [2]}]) == {"total_tokens": 7, "by_modality": [1]}
    assert pipeline.summed_usage([None, "x"]) is None
    assert pipeline.summed_usage([USAGE]) == USAGE


def test_the_chat_loop_runs_in_process_with_an_injected_reader_and_renderer(api, home):
    import io

    from conftest import API_KEY
    from gemini_cli.render.output import Console, TextRenderer
    from gemini_cli.runs.chat import Chat
    from gemini_cli.runs.session import Resume
    from gemini_cli.state import config

    api.stream(text_events("Hello.", interaction_id="v1_1"))
    api.stream(text_events("Edited.", interaction_id="v1_2"))
    lines, prompts, closed = iter(["hi", "/edit draft", "/exit"]), [], []

    class Reader:
        def __call__(self, prompt):
            prompts.append(prompt)
            return next(lines)

        def close(self):
            closed.append(True)

    stdout, stderr = io.StringIO(), io.StringIO()
    console = Console(stderr=stderr)
    loop = Chat(config.resolve({}), {}, console, key=API_KEY, interactive=True, reader=Reader(),
                edit=lambda initial: f"{initial} from the editor\n",
                renderer_for=lambda settings, body: TextRenderer(console, stdout=stdout))
    assert loop.run(Resume()) == 0
    assert (stdout.getvalue(), closed) == ("Hello.\nEdited.\n", [True])
    assert prompts == [f"{MODEL}> "] * 3
    assert [body["input"] for body in api.bodies()] == ["hi", "draft from the editor"]
    assert stderr.getvalue() == f"gemini-cli: chatting with {MODEL}: /help lists the commands, Ctrl-D quits\n"
    assert [t[:2] for t in turns(home)] == [("v1_1", "completed"), ("v1_2", "completed")]
