"""Function calling in every command that runs a turn (issue 21): chat (/function, /tools,
confirmations), batch (a loop per row, the calls in the record, confirm-only refused),
history fetch of a background interaction that ended requires_action, --dry-run, and the
terminal confirmation in a pty."""

from __future__ import annotations

import json
import os

import pytest

from batch_server import BatchServer
from conftest import API_KEY, run_checked as run, text_events
from gemini_cli.errors import ExitCode
from gemini_cli.state import store
from test_function_calls import ECHO, ECHO_FLAG, MODEL, THOUGHT, call_events, fcall, fresult, saved, turns, user

WAIT = 10.0


# -- chat -----------------------------------------------------------------------------------


def test_piped_chat_declares_functions_from_flags_and_slash_function_and_lists_them(api, home):
    api.stream(call_events("v1_c1", fcall("c1", "echo", word="hi")))
    api.stream(text_events("said hi", interaction_id="v1_c2"))
    api.stream(call_events("v1_c3", fcall("c2", "today")))
    api.stream(text_events("it is today", interaction_id="v1_c4"))
    result = run(["chat", *ECHO_FLAG], input="Say hi\n/function today=printf today\n/tools\nWhat day?\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "said hi\nit is today\n"
    assert result.stderr == (
        '→ echo(word="hi")\n← 1 line\n'
        "gemini-cli: function today declared from the next message on (/tools lists them)\n"
        "  echo (command): Runs the local command `printf`.\n"
        "  today (command): Runs the local command `printf`.\n"
        "→ today()\n← 1 line\n")
    bodies = api.bodies()
    assert bodies[0]["tools"] == [ECHO]
    assert bodies[1]["input"] == [fresult("c1", "echo", "hi\n")]
    assert [t["name"] for t in bodies[2]["tools"]] == ["echo", "today"]
    assert bodies[3]["input"] == [fresult("c2", "today", "today")]


def test_piped_chat_refuses_a_confirm_only_call_without_waiting_and_goes_on(api, home):
    api.stream(call_events("v1_r1", fcall("c1", "echo", word="x")))
    api.stream(text_events("refused", interaction_id="v1_r2"))
    api.stream(text_events("next", interaction_id="v1_r3"))
    result = run(["chat", "--confirm", *ECHO_FLAG], input="Echo\nAnother\n")
    assert result.stdout == "refused\nnext\n"
    assert result.exit_code == ExitCode.TOOL_REFUSED  # piped chat exits with the last error
    assert ("gemini-cli: error: the model called 1 function that was refused: echo (no terminal to confirm it)\n"
            in result.stderr)
    assert api.bodies()[1]["input"] == [fresult("c1", "echo", "refused: no terminal to confirm it; the command was not run",
                                                is_error=True)]


def test_a_bad_function_in_chat_is_exit_2_before_anything_is_read(api, home):
    result = run(["chat", "--function", "9bad=true"], input="hello\n")
    assert result.exit_code == ExitCode.USAGE and api.bodies() == []
    assert result.stderr.startswith("gemini-cli: error: --function 9bad")


# -- batch ----------------------------------------------------------------------------------


@pytest.fixture
def batch_api(monkeypatch):
    """A threaded fake API whose first hop for a row asks for echo(word=PROMPT), and whose
    next hop answers with the result it was given."""
    def answer(body):
        if isinstance(body.get("input"), str):
            return 200, {"id": f"v1_{body['input']}_1", "status": "requires_action", "model": MODEL,
                         "steps": [THOUGHT, fcall(f"call_{body['input']}", "echo", word=body["input"])]}
        [sent] = body["input"]
        return 200, {"id": f"v1_{sent['call_id']}_2", "status": "completed", "model": MODEL,
                     "steps": [{"type": "model_output", "content": [{"type": "text", "text": f"got {sent['result']!r}"}]}]}

    srv = BatchServer(answer=answer)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", srv.url)
    yield srv
    srv.close()


def test_every_batch_row_may_call_functions_and_its_record_lists_the_calls(batch_api, tmp_path):
    rows = tmp_path / "rows.txt"
    rows.write_text("alpha\nbeta\ngamma\n")
    result = run(["batch", str(rows), "--format", "lines", "-j", "3", "--ordered", *ECHO_FLAG])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["id"], r["status"], r["output_text"], r["interaction_id"]) for r in records] == [
        (n, "completed", f"got '{word}\\n'", f"v1_call_{word}_2") for n, word in ((1, "alpha"), (2, "beta"), (3, "gamma"))]
    assert [r["function_calls"] for r in records] == [[{"name": "echo", "arguments": {"word": w}, "is_error": False}]
                                                      for w in ("alpha", "beta", "gamma")]
    for word in ("alpha", "beta", "gamma"):
        assert f'row {["alpha", "beta", "gamma"].index(word) + 1}: → echo(word="{word}")' in result.stderr
    follow_ups = [b for b in batch_api.bodies if isinstance(b["input"], list)]
    assert sorted(b["previous_interaction_id"] for b in follow_ups) == ["v1_alpha_1", "v1_beta_1", "v1_gamma_1"]
    assert all(b["tools"] == [ECHO] for b in batch_api.bodies)


def test_a_confirm_only_function_is_refused_in_a_batch_and_the_row_fails_with_exit_14(batch_api, tmp_path):
    rows = tmp_path / "rows.txt"
    rows.write_text("alpha\n")
    result = run(["batch", str(rows), "--format", "lines", "--confirm", *ECHO_FLAG])
    assert result.exit_code != 0
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["status"] == "failed"
    assert record["error"] == {"code": "tool_refused", "exit_code": 14,
                               "message": "the model called 1 function that was refused: echo (no terminal to confirm it)"}
    assert record["function_calls"] == [{"name": "echo", "arguments": {"word": "alpha"}, "is_error": True}]
    [follow] = [b for b in batch_api.bodies if isinstance(b["input"], list)]
    assert follow["input"][0]["is_error"] is True


@pytest.mark.parametrize("flag", [["--function", "x=true"], ["--mcp", "fs=true"]])
def test_batch_remote_refuses_local_functions_and_servers(api, tmp_path, flag):
    rows = tmp_path / "rows.txt"
    rows.write_text("alpha\n")
    result = run(["batch", str(rows), "--format", "lines", "--remote", *flag])
    assert result.exit_code == ExitCode.USAGE and api.bodies() == []
    assert result.stderr == (f"gemini-cli: error: {flag[0]} cannot be used with --remote: the Batch API runs the rows, "
                             "and no function or MCP server of this machine can answer their calls\n")


# -- history fetch, --dry-run ---------------------------------------------------------------


def test_history_fetch_answers_a_background_interaction_that_ended_requires_action(api, home):
    api.json({"id": "v1_bg", "status": "in_progress", "object": "interaction"})
    assert run(["generate", "--background", "Echo in the background"]).exit_code == 0
    call = fcall("c1", "echo", word="bg")
    api.json({"id": "v1_bg", "status": "requires_action", "model": MODEL, "steps": [THOUGHT, call]},
             method="GET", path="/v1beta/interactions/v1_bg", query_string="stream=false")
    api.json({"id": "v1_bg2", "status": "completed", "model": MODEL,
              "steps": [{"type": "model_output", "content": [{"type": "text", "text": "bg done"}]}]})
    result = run(["history", "fetch", "v1_bg", *ECHO_FLAG])
    assert (result.exit_code, result.stdout) == (0, "bg done\n"), result.stderr
    assert '→ echo(word="bg")\n← 1 line\n' in result.stderr
    assert api.bodies()[-1] == {"model": MODEL, "tools": [ECHO], "previous_interaction_id": "v1_bg",
                                "input": [fresult("c1", "echo", "bg\n")]}
    assert [t[:2] for t in turns(home)] == [("v1_bg", "requires_action"), ("v1_bg2", "completed")]
    assert saved(home)["turns"][1]["input"] == [fresult("c1", "echo", "bg\n")]


def test_dry_run_shows_the_declarations_and_runs_nothing(api, home, tmp_path):
    marker = tmp_path / "ran"
    result = run(["generate", "--dry-run", "--function", f"touch=touch {marker}", *ECHO_FLAG, "Hi"])
    assert result.exit_code == 0
    body = json.loads(result.stdout[result.stdout.index("{"):])
    assert body["tools"] == [{"type": "function", "name": "touch", "description": "Runs the local command `touch`.",
                              "parameters": {"type": "object", "properties": {}}}, ECHO]
    assert not marker.exists() and api.bodies() == []


# -- the terminal confirmation, in a pty ----------------------------------------------------


@pytest.fixture
def terminal(api, home):
    from test_chat import Terminal

    started = []
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "VISUAL", "EDITOR")}
    env.update(GEMINI_CLI_HOME=str(home), GEMINI_API_KEY=API_KEY, GOOGLE_GEMINI_BASE_URL=api.base_url,
               NO_COLOR="1", TERM="dumb")

    def start(args):
        term = Terminal(args, env)
        started.append(term)
        return term

    yield start
    for term in started:
        term.close()


def test_at_a_terminal_a_confirm_call_shows_the_argv_and_runs_on_yes_only(api, home, terminal, tmp_path):
    marker = tmp_path / "made it"
    api.stream(call_events("v1_y1", fcall("c1", "mk", path=str(marker)), fcall("c2", "mk", path=str(marker) + "2")))
    api.stream(text_events("done", interaction_id="v1_y2"))
    term = terminal(["generate", "--function", "mk=touch {path}", "--confirm", "Make them"])
    term.expect(f"run mk: touch '{marker}' ? [y/N/a=always] ")
    term.line("y")
    term.expect(f"run mk: touch '{marker}2' ? [y/N/a=always] ")
    term.line("n")
    term.expect("done")
    assert term.wait() == ExitCode.TOOL_REFUSED
    assert "the model called 1 function that was refused: mk (the user said no)" in term.output
    assert marker.exists() and not (tmp_path / "made it2").exists()
    results = api.bodies()[1]["input"]
    assert results[0] == fresult("c1", "mk", "")
    assert results[1] == fresult("c2", "mk", "refused: the user said no; the command was not run", is_error=True)


def test_at_the_chat_prompt_always_lasts_for_the_session(api, home, terminal, tmp_path):
    api.stream(call_events("v1_a1", fcall("c1", "echo", word="one")))
    api.stream(text_events("first", interaction_id="v1_a2"))
    api.stream(call_events("v1_a3", fcall("c2", "echo", word="two")))
    api.stream(text_events("second", interaction_id="v1_a4"))
    term = terminal(["chat", "--confirm", *ECHO_FLAG])
    term.expect(f"{MODEL}> ")
    term.line("one")
    term.expect("run echo: printf '%s\\n' one ? [y/N/a=always] ")
    term.line("a")
    term.expect("first")
    term.expect(f"{MODEL}> ")
    term.line("two")
    term.expect("second")  # no question this time
    term.expect(f"{MODEL}> ")
    term.send("\x04")
    assert term.wait() == 0
    assert "run echo: printf '%s\\n' two" not in term.output
    assert api.bodies()[3]["input"] == [fresult("c2", "echo", "two\n")]


@pytest.mark.parametrize("calls", [1, 2])
def test_max_time_stops_function_calls_still_running_and_exits_7_with_the_calls_saved_pending(api, home, tmp_path, calls):
    import time

    pids = tmp_path / "pids"
    api.stream(call_events("v1_a", *[fcall(f"c{n}", "nap", n=n) for n in range(calls)]))
    started = time.monotonic()
    result = run(["generate", "--max-time", "3", "--function", f"nap=sh -c 'echo $$ >> {pids}; sleep 30' {{n:int}}",
                  "take a nap"])
    took = time.monotonic() - started
    assert result.exit_code == ExitCode.NETWORK, result.stderr
    assert result.stderr.endswith("gemini-cli: error: gave up: the --max-time deadline of 3s was reached\n")
    assert took < 10  # not the 30 s of the command
    assert len(api.bodies()) == 1  # no result was sent
    [turn] = saved(home)["turns"]
    assert turn["interaction_id"] == "v1_a" and [s["type"] for s in turn["steps"]].count("function_call") == calls
    for pid in pids.read_text().split():  # no command outlives the run
        for _ in range(50):
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)
        else:
            raise AssertionError(f"process {pid} still runs")


def two_turns_saved(home) -> bool:
    try:
        return len(saved(home)["turns"]) == 2
    except (ValueError, KeyError, OSError):  # not written yet, or mid-rename
        return False


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_a_kill_during_a_call_leaves_the_hop_saved_and_the_next_turn_answers_only_its_calls(api, home, tmp_path, sig):
    """hop 1 calls note (appends to a file), hop 2 calls slow; the run is killed during slow.
    Both hops are saved, and -c answers slow's call (not run: not declared now) without
    running note again."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    notes = tmp_path / "notes.txt"
    api.stream(call_events("v1_a", fcall("c1", "note", text="buy milk")))
    api.stream(call_events("v1_b", fcall("c2", "slow")))
    env = {**os.environ, "GEMINI_CLI_HOME": str(home), "GEMINI_API_KEY": API_KEY, "GOOGLE_GEMINI_BASE_URL": api.base_url}
    child = subprocess.Popen([sys.executable, "-m", "gemini_cli", "generate", "--function",
                              f"note=sh -c 'echo \"$0\" >> {notes}' {{text}}", "--function", "slow=sleep 3", "go"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[1], env=env)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (len(api.bodies()) == 2 and two_turns_saved(home)):
            time.sleep(0.05)
        assert two_turns_saved(home), "the second hop was not saved"  # saved before its call runs
        time.sleep(0.3)  # slow is under way (or about to be: its call is pending either way)
        child.send_signal(getattr(signal, sig))
        child.communicate(timeout=20)
    finally:
        child.kill()  # (the sleep a SIGKILLed run leaves behind ends on its own within 3 s)
    assert child.returncode == (ExitCode.SIGTERM if sig == "SIGTERM" else -9)
    assert [t[:2] for t in turns(home)] == [("v1_a", "requires_action"), ("v1_b", "requires_action")]
    assert notes.read_text() == "buy milk\n"
    api.stream(text_events("Done.", interaction_id="v1_c"))
    result = run(["-c", "--function", f"note=sh -c 'echo \"$0\" >> {notes}' {{text}}", "go on"])
    assert (result.exit_code, result.stdout) == (0, "Done.\n"), result.stderr
    assert notes.read_text() == "buy milk\n"  # not run again
    assert api.bodies()[2]["previous_interaction_id"] == "v1_b"
    assert [s.get("call_id") for s in api.bodies()[2]["input"] if s.get("type") == "function_result"] == ["c2"]


def test_in_chat_a_call_stopped_with_ctrl_c_is_answered_not_run_by_the_next_message(api, home, terminal):
    api.stream(call_events("v1_a1", fcall("c1", "slow")))
    api.stream(text_events("second", interaction_id="v1_a2"))
    term = terminal(["chat", "--function", "slow=sleep 30"])
    term.expect(f"{MODEL}> ")
    term.line("one")
    term.expect("slow()")
    term.send("\x03")
    term.expect(f"{MODEL}> ")
    term.line("two")
    term.expect("second")
    term.expect(f"{MODEL}> ")
    term.send("\x04")
    assert term.wait() == 0
    assert api.bodies()[1]["previous_interaction_id"] == "v1_a1"
    assert api.bodies()[1]["input"][0] == fresult("c1", "slow", "not run: the user interrupted it (Ctrl-C)", is_error=True)
    assert api.bodies()[1]["input"][1]["type"] == "user_input"
    assert "not run: interrupted" in term.output


def test_at_a_terminal_the_call_lines_start_below_the_hop_s_text(api, home, terminal):
    from test_function_calls import call_events as calls_after_thought

    events = calls_after_thought("v1_t1", fcall("c1", "echo", word="x"))
    text = [{"event_type": "step.start", "index": 9, "step": {"type": "model_output", "content": []}},
            {"event_type": "step.delta", "index": 9, "delta": {"type": "text", "text": "Checking."}},
            {"event_type": "step.stop", "index": 9}]
    api.stream(events[:4] + text + events[4:])
    api.stream(text_events("Done.", interaction_id="v1_t2"))
    term = terminal(["generate", *ECHO_FLAG, "go"])
    assert term.wait() == 0
    assert "Checking.\n→ echo(word=\"x\")" in term.output
