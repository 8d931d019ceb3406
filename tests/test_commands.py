"""The local command runner, with real small processes: the exact argv, no shell, the
scrubbed environment, stdin, cwd, timeouts that kill the whole process group, bounded
and UTF-8-safe output, and errors that become is_error results."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from gemini_cli.request.functions import functions_from_mapping, parse_function_flag
from gemini_cli.runs.commands import CommandRunner

HELPER = str(Path(__file__).parent / "data" / "print_argv.py")
PY = sys.executable


def call(entry, arguments=None, timeout=None, environ=None):
    """Run one call of a function declared by a config-style entry."""
    [spec] = functions_from_mapping({"f": entry}, "test")
    runner = CommandRunner([spec], environ=environ)
    [tool] = runner.tools()
    return runner.call(tool, arguments or {}, timeout)


def helper(entry_extra=None, arguments=None, run=(), **kwargs):
    result = call({"run": [PY, HELPER, *run], **(entry_extra or {})}, arguments, **kwargs)
    assert not result.is_error, result.result
    return json.loads(result.result)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def gone(pid: int, within: float = 2.0) -> bool:
    deadline = time.monotonic() + within
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def workdir(tmp_path):
    """An empty folder for a command to run in (tmp_path holds the test's home)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def test_the_argv_is_exactly_the_declared_words_with_the_arguments_filled_in():
    out = helper(run=["{a}", "pre-{b:int}-post", "--", "{c}", "{a}"],
                 arguments={"a": "two words", "b": 7, "c": "$(id) `id` \"q\" 'q' \\ *"})
    assert out["argv"] == ["two words", "pre-7-post", "--", "$(id) `id` \"q\" 'q' \\ *", "two words"]
    assert out["stdin"] == ""  # stdin is closed (/dev/null): a tool never waits on our terminal


def test_no_shell_sees_an_argument(workdir):
    result = call({"run": "printf %s {x}", "cwd": str(workdir)}, {"x": "; touch pwned && echo $HOME | cat"})
    assert (result.result, result.is_error) == ("; touch pwned && echo $HOME | cat", False)
    assert list(workdir.iterdir()) == []


def test_shell_true_passes_the_arguments_as_positional_parameters_and_env_never_in_the_script(workdir):
    entry = {"shell": True, "run": 'printf "%s|%s|%s" "$0" "$1" "$GEMINI_ARG_city"; echo "{city}"', "cwd": str(workdir),
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
    result = call(entry, {"city": "x; touch pwned"})
    assert result.result == "f|x; touch pwned|x; touch pwned{city}\n"
    assert list(workdir.iterdir()) == []


def test_the_environment_is_scrubbed_of_secrets_except_the_ones_named():
    environ = {"PATH": os.environ["PATH"], "HOME": "/home/u", "LANG": "C.UTF-8", "GEMINI_API_KEY": "k1",
               "GOOGLE_API_KEY": "k2", "GITHUB_TOKEN": "t", "db_password": "p", "AWS_SECRET_ACCESS_KEY": "s",
               "NOTES_TOKEN": "wanted", "MONKEY": "also a key"}
    env = helper({"env": ["NOTES_TOKEN"]}, environ=environ)["env"]
    assert {k: env[k] for k in ("PATH", "HOME", "LANG", "NOTES_TOKEN")} == \
        {"PATH": os.environ["PATH"], "HOME": "/home/u", "LANG": "C.UTF-8", "NOTES_TOKEN": "wanted"}
    assert not {"GEMINI_API_KEY", "GOOGLE_API_KEY", "GITHUB_TOKEN", "db_password", "AWS_SECRET_ACCESS_KEY", "MONKEY"} & set(env)
    assert "k1" not in json.dumps(env)


def test_stdin_true_sends_the_arguments_as_one_json_object_and_cwd_is_honoured(tmp_path):
    out = helper({"stdin": True, "cwd": str(tmp_path),
                  "parameters": {"type": "object", "properties": {"note": {"type": "string"}, "tags": {"type": "array"}}}},
                 arguments={"note": "héllo\n", "tags": ["a", 1]})
    assert json.loads(out["stdin"]) == {"note": "héllo\n", "tags": ["a", 1]}
    assert out["cwd"] == str(tmp_path)


def test_arguments_are_checked_against_the_schema_before_anything_runs(workdir):
    entry = {"run": "touch {n:int}", "cwd": str(workdir)}
    result = call(entry, {"n": "five"})
    assert (result.result, result.is_error) == ("bad arguments: 'five' is not of type 'integer' (at n)", True)
    assert call(entry, {}).result == "bad arguments: 'n' is a required property"
    assert list(workdir.iterdir()) == []


def test_a_timeout_kills_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    result = call({"shell": True, "run": f'sleep 30 & echo $! > {pidfile}; sleep 30'}, timeout=0.2)
    assert time.monotonic() - started < 3
    assert (result.result, result.is_error, result.summary) == \
        ("timed out after 0.2s (the command was stopped)", True, "timed out after 0.2s")
    assert gone(int(pidfile.read_text()))


def test_the_function_timeout_wins_over_the_runs():
    result = call({"run": "sleep 30", "timeout": 0.2}, timeout=60)
    assert result.summary == "timed out after 0.2s"


def test_helpers_left_running_by_a_finished_command_are_killed_and_not_waited_for():
    started = time.monotonic()
    result = call({"shell": True, "run": "sleep 30 & echo $!"})
    assert time.monotonic() - started < 3
    assert (result.is_error, result.summary) == (False, "1 line")
    assert gone(int(result.result))


def test_close_kills_a_running_call():
    [spec] = functions_from_mapping({"f": {"run": "sleep 30"}}, "test")
    runner = CommandRunner([spec])
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(runner.call(runner.tools()[0], {}, 60)))
    thread.start()
    deadline = time.monotonic() + 3
    while not runner._live and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.close()
    thread.join(3)
    assert not thread.is_alive()
    assert (outcome[0].result, outcome[0].is_error) == ("killed by signal 9 (SIGKILL)", True)


def test_stdout_is_bounded_with_a_visible_marker():
    result = call({"run": [PY, "-c", "print('x' * 100000)"], "max_output": 1000})
    assert result.result == "x" * 1000 + "\n[output truncated: the first 1000 of 100001 bytes are shown]"
    assert (result.is_error, result.summary) == (False, "1 line (truncated)")


def test_a_flood_is_read_to_its_end_without_keeping_it():
    result = call({"run": [PY, "-c", "import sys; [sys.stdout.write('y' * 65536) for _ in range(160)]"]})
    assert result.result.startswith("y" * 65536 + "\n[output truncated: the first 65536 of 10485760 bytes")


def test_invalid_utf8_is_replaced_and_a_character_cut_by_the_bound_is_dropped():
    result = call({"run": [PY, "-c", r"import sys; sys.stdout.buffer.write(b'caf\xc3\xa9 \xff\xfe ok\n')"]})
    assert result.result == "café \ufffd\ufffd ok\n"
    result = call({"run": [PY, "-c", "import sys; sys.stdout.buffer.write('é'.encode() * 10)"], "max_output": 5})
    assert result.result == "éé\n[output truncated: the first 5 of 20 bytes are shown]"


def test_a_failing_command_gives_its_status_the_tail_of_stderr_and_its_stdout():
    result = call({"shell": True, "run": "echo out; echo warn >&2; echo 'fatal: bad' >&2; exit 2"})
    assert result.result == "exit status 2\nstderr:\nwarn\nfatal: bad\nstdout:\nout\n"
    assert (result.is_error, result.summary) == (True, "exit 2: fatal: bad")


def test_only_the_tail_of_a_long_stderr_is_kept():
    result = call({"run": [PY, "-c", "import sys; [print(n, file=sys.stderr) for n in range(20000)]; sys.exit(3)"]})
    assert result.result == "exit status 3\nstderr:\n" + "\n".join(str(n) for n in range(19990, 20000))
    assert result.summary == "exit 3: 19999"


def test_a_command_killed_by_a_signal():
    result = call({"shell": True, "run": "kill -9 $$"})
    assert (result.result, result.is_error, result.summary) == \
        ("killed by signal 9 (SIGKILL)", True, "killed by signal 9 (SIGKILL)")


def test_a_command_that_cannot_start_is_an_error_result(tmp_path):
    result = call({"run": "/nonexistent/tool {x}"}, {"x": "a"})
    assert (result.result, result.is_error, result.summary) == (
        "the command could not start: No such file or directory: /nonexistent/tool", True,
        "could not start: No such file or directory: /nonexistent/tool")
    assert call({"run": "date", "cwd": str(tmp_path / "missing")}).result.startswith(
        "the command could not start: No such file or directory")
    assert call({"run": "echo {x}"}, {"x": "a\0b"}).result == "the command could not start: embedded null byte"


@pytest.mark.parametrize("script, summary", [("true", "no output"), ("echo a", "1 line"),
                                             ("printf 'a\\nb\\nc'", "3 lines")])
def test_the_summary_counts_lines(script, summary):
    assert call({"shell": True, "run": script}).summary == summary


def test_describe_shows_the_exact_argv_shell_quoted():
    spec = parse_function_flag("weather=curl -s wttr.in/{city}?format=3")
    runner = CommandRunner([spec])
    [tool] = runner.tools()
    assert runner.describe(tool, {"city": "New York"}) == "curl -s 'wttr.in/New York?format=3'"
    assert runner.describe(tool, {}) is None
    assert tool.declaration() == spec.declaration()
