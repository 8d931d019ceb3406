"""Function calling end to end (issue 21): `--function` / `--functions` through `generate`,
against the loopback fake API answering as the API does (requires_action hops with
function_call steps, streamed arguments_delta pieces). The follow-up request bodies, stdout,
stderr, exit codes 13 and 14, the saved conversation, a resumed conversation with pending
calls, the scrubbed environment, timeouts and the no-shell rule."""

from __future__ import annotations

import json

import pytest

from conftest import API_KEY, USAGE, run_checked as run, text_events
from gemini_cli.errors import ExitCode

MODEL = "gemini-3-flash-preview"
THOUGHT = {"type": "thought", "signature": "dG9vbC1zaWc="}
HOP_USAGE = {"total_input_tokens": 10, "total_output_tokens": 2, "total_tokens": 12}
ECHO = {"type": "function", "name": "echo", "description": "Runs the local command `printf`.",
        "parameters": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}}
ECHO_FLAG = ["--function", "echo=printf '%s\\n' {word}"]


def user(text: str) -> dict:
    return {"type": "user_input", "content": [{"type": "text", "text": text}]}


def fcall(call_id: str, name: str, /, **arguments) -> dict:
    return {"type": "function_call", "id": call_id, "name": name, "arguments": arguments}


def fresult(call_id: str, name: str, result, is_error: bool = False) -> dict:
    step = {"type": "function_result", "call_id": call_id, "name": name, "result": result}
    if is_error:
        step["is_error"] = True
    return step


def call_events(interaction_id: str, *calls: dict, split: bool = True) -> list[dict]:
    """A streamed hop that ends requires_action: a thought, then each call as step.start with
    empty arguments and its arguments in two arguments_delta pieces, interleaved across the
    calls' indexes (first halves of every call, then second halves), as parallel calls come."""
    events = [
        {"event_type": "interaction.created", "event_id": "e0",
         "interaction": {"id": interaction_id, "status": "in_progress", "model": MODEL}},
        {"event_type": "step.start", "index": 0, "step": {"type": "thought"}},
        {"event_type": "step.delta", "index": 0, "delta": {"type": "thought_signature", "signature": THOUGHT["signature"]}},
        {"event_type": "step.stop", "index": 0},
    ]
    pieces = []
    for n, call in enumerate(calls, start=1):
        events.append({"event_type": "step.start", "index": n,
                       "step": {"type": "function_call", "id": call["id"], "name": call["name"], "arguments": {}}})
        text = json.dumps(call["arguments"])
        half = len(text) // 2 if split else len(text)
        pieces.append((n, text[:half], text[half:]))
    for n, first, _ in pieces:
        events.append({"event_type": "step.delta", "index": n, "delta": {"type": "arguments_delta", "arguments": first}})
    for n, _, second in pieces:
        if second:
            events.append({"event_type": "step.delta", "index": n, "delta": {"type": "arguments_delta", "arguments": second}})
    events += [{"event_type": "step.stop", "index": n} for n, _, _ in pieces]
    events.append({"event_type": "interaction.completed", "event_id": "e9",
                   "interaction": {"id": interaction_id, "status": "requires_action", "model": MODEL, "usage": HOP_USAGE}})
    return events


def answer(text: str) -> list[dict]:
    return [{"type": "thought", "signature": "c2lnbmF0dXJlLWJ5dGVz+/=="},
            {"type": "model_output", "content": [{"type": "text", "text": text}]}]


def saved(home) -> dict:
    [path] = [p for p in (home / "conversations").glob("*.json") if not p.name.startswith(".")]
    return json.loads(path.read_text())


def turns(home) -> list[tuple]:
    return [(t["interaction_id"], t["status"], t["input"], t["steps"]) for t in saved(home)["turns"]]


# -- one call, parallel calls, a chain ------------------------------------------------------


def test_one_streamed_call_runs_the_command_and_chains_its_result_in_server_mode(api, home):
    call = fcall("call_1", "echo", word="Boston")
    api.stream(call_events("v1_hop1", call))
    api.stream(text_events("It says ", "Boston.", interaction_id="v1_hop2"))
    result = run(["generate", *ECHO_FLAG, "Echo Boston"])
    assert (result.exit_code, result.stdout) == (0, "It says Boston.\n")
    assert result.stderr == '→ echo(word="Boston")\n← 1 line\n'
    first, second = api.bodies()
    assert first == {"model": MODEL, "input": "Echo Boston", "tools": [ECHO], "stream": True}
    assert second == {"model": MODEL, "input": [fresult("call_1", "echo", "Boston\n")], "tools": [ECHO],
                      "stream": True, "previous_interaction_id": "v1_hop1"}
    assert turns(home) == [("v1_hop1", "requires_action", [user("Echo Boston")], [THOUGHT, call]),
                           ("v1_hop2", "completed", [fresult("call_1", "echo", "Boston\n")], answer("It says Boston."))]
    assert "printf" not in json.dumps(saved(home))  # no command is remembered


def test_parallel_calls_with_interleaved_deltas_run_and_answer_in_one_request_stateless(api, home):
    calls = [fcall("c1", "echo", word="one"), fcall("c2", "echo", word="two words"), fcall("c3", "echo", word="3")]
    api.stream(call_events("v1_p1", *calls))
    api.stream(text_events("Done.", interaction_id="v1_p2"))
    result = run(["generate", "--no-store", *ECHO_FLAG, "Echo three"])
    assert (result.exit_code, result.stdout) == (0, "Done.\n")
    assert result.stderr == ('→ echo(word="one")\n→ echo(word="two words")\n→ echo(word="3")\n'
                             "← 1 line\n← 1 line\n← 1 line\n")
    results = [fresult("c1", "echo", "one\n"), fresult("c2", "echo", "two words\n"), fresult("c3", "echo", "3\n")]
    first, second = api.bodies()
    assert first == {"model": MODEL, "input": [user("Echo three")], "tools": [ECHO], "store": False, "stream": True}
    assert second == {"model": MODEL, "input": [user("Echo three"), THOUGHT, *calls, *results], "tools": [ECHO],
                      "store": False, "stream": True}


def test_a_chain_of_calls_in_non_streamed_hops_and_the_whole_turn_in_json(api, home):
    api.json({"id": "v1_c1", "status": "requires_action", "model": MODEL, "usage": HOP_USAGE,
              "steps": [THOUGHT, fcall("a", "echo", word="first")]})
    api.json({"id": "v1_c2", "status": "requires_action", "model": MODEL, "usage": HOP_USAGE,
              "steps": [fcall("b", "echo", word="second")]})
    api.json({"id": "v1_c3", "status": "completed", "model": MODEL, "usage": USAGE,
              "steps": [{"type": "model_output", "content": [{"type": "text", "text": "first, then second"}]}]})
    result = run(["generate", "--no-stream", "-o", "json", "--usage", *ECHO_FLAG, "Chain"])
    assert result.exit_code == 0
    bodies = api.bodies()
    assert [b.get("previous_interaction_id") for b in bodies] == [None, "v1_c1", "v1_c2"]
    assert bodies[1]["input"] == [fresult("a", "echo", "first\n")]
    assert bodies[2]["input"] == [fresult("b", "echo", "second\n")]
    shown = json.loads(result.stdout)
    assert shown["steps"] == [THOUGHT, fcall("a", "echo", word="first"), fresult("a", "echo", "first\n"),
                              fcall("b", "echo", word="second"), fresult("b", "echo", "second\n"),
                              {"type": "model_output", "content": [{"type": "text", "text": "first, then second"}]}]
    assert shown["interaction_ids"] == ["v1_c1", "v1_c2", "v1_c3"]
    assert shown["usage"] == {"total_input_tokens": 25, "total_output_tokens": 11, "total_tokens": 39,
                              "total_thought_tokens": 3}
    assert result.stderr.splitlines()[-1] == "usage: 25 input, 11 output, 3 thought, 39 total tokens"
    assert [t[:2] for t in turns(home)] == [("v1_c1", "requires_action"), ("v1_c2", "requires_action"),
                                            ("v1_c3", "completed")]


def test_quiet_silences_the_call_lines_and_stdout_holds_only_the_answer(api, home):
    api.stream(call_events("v1_q1", fcall("call_1", "echo", word="x")))
    api.stream(text_events("ok", interaction_id="v1_q2"))
    result = run(["generate", "-q", *ECHO_FLAG, "Echo"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")


def test_jsonl_adds_one_event_per_call_and_per_result(api, home):
    call = fcall("call_1", "echo", word="x")
    api.stream(call_events("v1_j1", call))
    api.stream(text_events("ok", interaction_id="v1_j2"))
    result = run(["generate", "-o", "jsonl", *ECHO_FLAG, "Echo"])
    assert result.exit_code == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    local = [e for e in events if e["event_type"].startswith("client.")]
    assert local == [{"event_type": "client.function_call", "step": call},
                     {"event_type": "client.function_result", "step": fresult("call_1", "echo", "x\n")}]
    kinds = [e["event_type"] for e in events]
    assert kinds.index("client.function_result") < [i for i, k in enumerate(kinds) if k == "interaction.created"][1]


# -- results: errors, timeouts, the environment, no shell -------------------------------------


def test_a_failing_command_is_an_error_result_and_the_run_goes_on(api, home):
    api.stream(call_events("v1_f1", fcall("call_1", "fail", code="3")))
    api.stream(text_events("It failed.", interaction_id="v1_f2"))
    result = run(["generate", "--function", "fail=sh -c 'echo oops >&2; exit \"$0\"' {code}", "Try"])
    assert (result.exit_code, result.stdout) == (0, "It failed.\n")
    assert result.stderr == '→ fail(code="3")\n← exit 3: oops\n'
    [sent] = api.bodies()[1]["input"]
    assert sent["is_error"] is True and sent["call_id"] == "call_1"
    assert "exit status 3" in sent["result"] and "oops" in sent["result"]


def test_a_call_past_the_tool_timeout_is_killed_and_answered_as_an_error(api, home):
    api.stream(call_events("v1_t1", fcall("call_1", "slow")))
    api.stream(text_events("Too slow.", interaction_id="v1_t2"))
    result = run(["generate", "--tool-timeout", "0.2", "--function", "slow=sleep 30", "Wait"])
    assert (result.exit_code, result.stdout) == (0, "Too slow.\n")
    assert "← timed out after 0.2s" in result.stderr
    [sent] = api.bodies()[1]["input"]
    assert sent["is_error"] is True and "timed out" in sent["result"]


def test_the_command_gets_a_scrubbed_environment_with_only_the_named_secrets(api, home, tmp_path, monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-passed-through")
    monkeypatch.setenv("OTHER_PASSWORD", "pw-kept-out")
    monkeypatch.setenv("PLAIN_SETTING", "plain-value")
    functions = tmp_path / "fns.yaml"
    functions.write_text("functions:\n  showenv:\n    description: The environment\n    run: [env]\n"
                         "    env: [MY_SERVICE_TOKEN]\n")
    api.stream(call_events("v1_e1", fcall("call_1", "showenv")))
    api.stream(text_events("ok", interaction_id="v1_e2"))
    result = run(["generate", "--functions", str(functions), "Env?"])
    assert result.exit_code == 0
    first, second = api.bodies()
    assert first["tools"] == [{"type": "function", "name": "showenv", "description": "The environment",
                               "parameters": {"type": "object", "properties": {}}}]
    env = second["input"][0]["result"]
    assert "MY_SERVICE_TOKEN=tok-passed-through" in env and "PLAIN_SETTING=plain-value" in env
    assert "pw-kept-out" not in env and API_KEY not in env and "GEMINI_API_KEY" not in env


def test_no_argument_passes_through_a_shell(api, home, tmp_path):
    hostile = f"x; touch {tmp_path}/pwned; $(touch {tmp_path}/pwned2) `id`"
    api.stream(call_events("v1_s1", fcall("call_1", "echo", word=hostile)))
    api.stream(text_events("ok", interaction_id="v1_s2"))
    result = run(["generate", *ECHO_FLAG, "Echo"])
    assert result.exit_code == 0
    assert api.bodies()[1]["input"] == [fresult("call_1", "echo", hostile + "\n")]
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


# -- safety: undeclared calls (14), the limit (13), pending calls ------------------------------


def test_a_function_declared_only_through_body_extra_is_refused_with_exit_14(api, home):
    tool = {"type": "function", "name": "rm_all", "description": "x", "parameters": {"type": "object", "properties": {}}}
    api.stream(call_events("v1_u1", fcall("call_1", "rm_all")))
    api.stream(text_events("I could not.", interaction_id="v1_u2"))
    result = run(["generate", "--body-extra", json.dumps({"tools": [tool]}), "Clean up"])
    assert (result.exit_code, result.stdout) == (ExitCode.TOOL_REFUSED, "I could not.\n")
    assert result.stderr == ("→ rm_all()\n← not declared: refused\n"
                             "gemini-cli: error: the model called 1 function that was refused: rm_all (not declared)\n")
    assert api.bodies()[1]["input"] == [fresult("call_1", "rm_all", "function 'rm_all' is not declared: it was not run",
                                                is_error=True)]
    assert [t[:2] for t in turns(home)] == [("v1_u1", "requires_action"), ("v1_u2", "completed")]


def test_past_the_limit_the_turn_stops_with_exit_13_and_the_next_turn_answers_the_pending_calls(api, home):
    calls = [fcall("c1", "echo", word="a"), fcall("c2", "echo", word="b")]
    api.stream(call_events("v1_l1", *calls))
    result = run(["generate", "--max-tool-calls", "1", *ECHO_FLAG, "Two"])
    assert result.exit_code == ExitCode.TOOL_LIMIT
    assert result.stderr == ("gemini-cli: error: the model asked for more than 1 function call in one turn "
                             "(--max-tool-calls 1); the turn stops with 2 calls not run\n")
    assert turns(home) == [("v1_l1", "requires_action", [user("Two")], [THOUGHT, *calls])]
    # The next turn answers the pending calls first (still declared: run), then sends the new input.
    api.stream(text_events("Both done.", interaction_id="v1_l2"))
    follow = run(["generate", "-c", *ECHO_FLAG, "Go on"])
    assert (follow.exit_code, follow.stdout) == (0, "Both done.\n")
    assert follow.stderr == ('answering 2 function calls the last turn left pending\n'
                             '→ echo(word="a")\n→ echo(word="b")\n← 1 line\n← 1 line\n')
    assert api.bodies()[1] == {"model": MODEL, "previous_interaction_id": "v1_l1", "tools": [ECHO], "stream": True,
                               "input": [fresult("c1", "echo", "a\n"), fresult("c2", "echo", "b\n"), user("Go on")]}


def test_pending_calls_no_longer_declared_are_answered_as_not_run_with_one_note(api, home):
    calls = [fcall("c1", "echo", word="a")]
    api.stream(call_events("v1_n1", *calls))
    api.stream(text_events("hi", interaction_id="v1_n2"))
    first = run(["generate", "--max-tool-calls", "1", "--tool-timeout", "5", *ECHO_FLAG, "One"])
    assert first.exit_code == 0
    api.stream(call_events("v1_n3", fcall("c2", "echo", word="b"), fcall("c3", "echo", word="c")))
    stopped = run(["generate", "-c", "--max-tool-calls", "1", *ECHO_FLAG, "Two"])
    assert stopped.exit_code == ExitCode.TOOL_LIMIT
    api.stream(text_events("fine", interaction_id="v1_n4"))
    follow = run(["generate", "-c", "hello"])  # echo is not declared now: nothing runs, no exit 14
    assert (follow.exit_code, follow.stdout) == (0, "fine\n")
    assert follow.stderr.startswith("gemini-cli: warning: this conversation called 1 function not declared in this run: echo")
    assert follow.stderr.count("not declared in this run: echo") == 1
    not_run = "not run: function 'echo' is not declared in this run"
    assert api.bodies()[-1]["input"] == [fresult("c2", "echo", not_run, is_error=True),
                                         fresult("c3", "echo", not_run, is_error=True), user("hello")]


# -- declarations: where they come from, what is refused, --dry-run ---------------------------


def test_functions_from_the_config_a_profile_and_a_template_are_declared(api, home):
    (home / "config.yaml").write_text(
        "retry_delay: 0.01\nfunctions:\n  cfg_fn: printf cfg\nprofiles:\n  work:\n    functions:\n"
        "      prof_fn:\n        run: [printf, prof]\n        description: From the profile\n")
    (home / "templates").mkdir()
    (home / "templates" / "t.yaml").write_text("functions:\n  tpl_fn: printf tpl\n")
    result = run(["generate", "--dry-run", "--profile", "work", "-t", "t", *ECHO_FLAG, "Hi"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout[result.stdout.index("{"):])
    assert [t["name"] for t in body["tools"]] == ["cfg_fn", "prof_fn", "tpl_fn", "echo"]
    assert body["tools"][-1] == ECHO
    assert API_KEY not in result.stdout


@pytest.mark.parametrize("flag, message", [
    (["--function", "bad name=true"], "--function bad name"),
    (["--function", "x" * 65 + "=true"], "longer than 64 characters"),
    (["--function", "noequals"], "give NAME=COMMAND"),
])
def test_a_name_the_api_would_reject_is_refused_locally_with_exit_2(api, home, flag, message):
    result = run(["generate", *flag, "Hi"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("gemini-cli: error: ") and message in result.stderr
    assert result.stdout == "" and api.bodies() == []


def test_a_resumed_conversation_never_runs_a_command_it_remembers(api, home, tmp_path):
    api.stream(call_events("v1_r1", fcall("c1", "echo", word="a")))
    api.stream(text_events("x", interaction_id="v1_r2"))
    assert run(["generate", *ECHO_FLAG, "One"]).exit_code == 0
    api.stream(call_events("v1_r3", fcall("c2", "echo", word="b")))
    api.stream(text_events("y", interaction_id="v1_r4"))
    result = run(["generate", "-c", "Again"])  # the model calls echo again; it is not declared now
    assert result.exit_code == ExitCode.TOOL_REFUSED
    assert api.bodies()[3]["input"] == [fresult("c2", "echo", "function 'echo' is not declared: it was not run",
                                                is_error=True)]


def test_a_key_a_function_echoes_back_is_redacted_in_the_conversation_file(api, tmp_path):
    from conftest import interaction

    api.json({"id": "v1_a", "status": "requires_action",
              "steps": [{"type": "function_call", "id": "c", "name": "echo", "arguments": {"x": API_KEY}}]})
    api.json(interaction("done", interaction_id="v1_b"))
    session = tmp_path / "s.json"
    result = run(["generate", "--no-stream", "--session", str(session), "--function", "echo=echo {x}", "q"])
    assert (result.exit_code, result.stdout) == (0, "done\n")
    assert API_KEY in json.dumps(api.bodies()[1])  # the model gets what the command printed ...
    saved = session.read_text()
    assert API_KEY not in saved  # ... the file does not
    turns = json.loads(saved)["turns"]
    assert turns[1]["input"][0]["result"] == "<redacted>\n"
    assert "the API key was in this turn's input (a function's result?): saved as <redacted>" in result.stderr
    assert API_KEY not in result.stderr


def test_history_show_and_json_carry_each_hop_s_calls_results_and_ids(api, home):
    calls = [fcall("c1", "echo", word="one\ntwo"), fcall("c2", "missing")]
    api.stream(call_events("v1_s1", *calls))
    api.stream(text_events("Done.", interaction_id="v1_s2"))
    result = run(["generate", "-o", "json", *ECHO_FLAG, "Echo"])
    assert result.exit_code == ExitCode.TOOL_REFUSED, result.stderr
    document = json.loads(result.stdout)
    assert document["id"] == "v1_s2" and document["interaction_ids"] == ["v1_s1", "v1_s2"]
    kinds = [(s["type"], s.get("call_id") or s.get("id")) for s in document["steps"] if s["type"].startswith("function")]
    assert kinds == [("function_call", "c1"), ("function_call", "c2"), ("function_result", "c1"), ("function_result", "c2")]
    [path] = [p for p in (home / "conversations").glob("*.json") if not p.name.startswith(".")]
    shown = run(["history", "show", path.stem])
    assert shown.exit_code == 0, shown.stderr
    assert "[function_result echo: one\\ntwo]" in shown.stdout
    assert "[function_result missing (error): function 'missing' is not declared: it was not run]" in shown.stdout
