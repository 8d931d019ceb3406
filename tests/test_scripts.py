"""What a shell script relies on, checked through real processes: pipes, closed and full
stdout, HOME unset, error lines and exit codes (`python -m gemini_cli` against a loopback
fake of the API)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import INTERACTION_ID, sse, text_events


def cli(*args: str, input: bytes | str | None = b"", env: dict[str, str] | None = None,
        shell: str | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run gemini-cli in a child process with the test's environment (plus env). With
    shell, run that bash command line instead, `$CLI` standing for the command."""
    environ = {**os.environ, **(env or {})}
    environ = {key: value for key, value in environ.items() if value is not None}
    if isinstance(input, str):
        input = input.encode()
    command = [sys.executable, "-m", "gemini_cli", *args]
    if shell is not None:
        environ["CLI"] = f"{sys.executable} -m gemini_cli"
        command = ["bash", "-c", shell]
    kwargs = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kwargs}
    return subprocess.run(command, input=input, env=environ, timeout=60, **kwargs)


def err(proc: subprocess.CompletedProcess) -> str:
    return proc.stderr.decode()


# -- no success document for a failure --------------------------------------------------


def test_json_output_of_a_404_is_an_error_document(api, home):
    api.error(404, "models/nope is not found", "NOT_FOUND")
    proc = cli("generate", "-o", "json", "--retries", "0", "hi")
    assert proc.returncode == 4
    assert json.loads(proc.stdout) == {"error": {
        "code": "NOT_FOUND", "message": err(proc)[len("gemini-cli: error: "):-1], "exit_code": 4, "http_status": 404}}
    assert len(err(proc).splitlines()) == 1
    assert not (home / "conversations").exists()  # nothing was saved, so no file is named


def test_jsonl_output_of_a_429_ends_with_an_error_line(api):
    api.error(429, "quota", "RESOURCE_EXHAUSTED")
    proc = cli("generate", "-o", "jsonl", "--retries", "0", "hi")
    assert proc.returncode == 5
    lines = proc.stdout.decode().splitlines()
    assert [json.loads(line)["error"]["exit_code"] for line in lines] == [5]


# -- a closed pipe never loses the turn -------------------------------------------------


def test_closed_pipe_saves_the_partial_turn_and_exits_quietly(api, tmp_path):
    api.stream(text_events(*["x" * 100] * 3000))  # 300 kB: more than a pipe holds
    session = tmp_path / "s.json"
    proc = cli(shell=f'$CLI generate --session {session} hi | head -c 1; echo "${{PIPESTATUS[0]}}" >&2')
    assert proc.stdout == b"x"
    assert err(proc) == "0\n"
    saved = json.loads(session.read_text())
    assert saved["turns"][-1]["status"] == "interrupted"
    assert saved["turns"][-1]["interaction_id"] == INTERACTION_ID


# -- local mistakes are caught locally --------------------------------------------------


@pytest.mark.parametrize("url, problem", [
    ("notaurl", "must be http(s)://host[:port][/path]"),
    ("http://h.test\n", "contains spaces or control characters"),
    ("http://[::1", "is malformed: Invalid IPv6 URL"),
    ("http://h.test:99999", "is malformed: Port out of range 0-65535"),
    ("http://h.test/v1beta/", "ends with an API version, which is added to it (v1beta): give http://h.test"),
    ("http://h.test/p?q=1", "must not have a query or fragment"),
])
def test_malformed_base_url_from_the_environment_exits_2_at_once(url, problem):
    proc = cli("generate", "hi", env={"GOOGLE_GEMINI_BASE_URL": url})
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert err(proc) == f"gemini-cli: error: base URL {url.rstrip('/')!r} (from environment (GOOGLE_GEMINI_BASE_URL)) {problem}\n"


def test_base_url_flag_with_another_version_says_which_flag():
    from conftest import run

    result = run(["generate", "--base-url", "http://h.test/v1", "hi"])
    assert (result.exit_code, result.stderr) == (2, "gemini-cli: error: base URL 'http://h.test/v1' (from --base-url) ends "
                                                    "with an API version, which is added to it (v1beta): give http://h.test with --api-version v1\n")


def test_empty_model_and_extract_with_background_exit_2(api):
    from conftest import run

    result = run(["generate", "-m", "", "hi"])
    assert (result.exit_code, result.stderr) == (2, "gemini-cli: error: the model name is empty (from -m/--model); "
                                                    "give a model id or alias, e.g. -m gemini-3-flash-preview\n")
    result = run(["generate", "--extract", "--background", "hi"])
    assert (result.exit_code, result.stderr) == (2, "gemini-cli: error: --extract prints a code block of the answer; "
                                                    "--background prints only the interaction id\n")
    assert api.requests() == []


# -- one error style ---------------------------------------------------------------------


@pytest.mark.parametrize("args, line", [
    (["generat", "hi"], "no such command: generat; did you mean generate? (see gemini-cli --help)"),
    (["generate", "--modle", "x", "hi"], "generate: no such option: --modle; did you mean --model? (see gemini-cli generate --help)"),
    (["history", "delet", "x"], "history: no such command: delet; did you mean delete? (see gemini-cli history --help)"),
    (["--bogus"], "no such option: --bogus (see gemini-cli --help)"),
    (["generate", "--temperature", "5", "x"],
     "generate: invalid value for '--temperature': 5.0 is not in the range 0.0<=x<=2.0 (see gemini-cli generate --help)"),
    (["files", "get"], "files get: missing argument 'name' (see gemini-cli files get --help)"),
])
def test_usage_errors_are_one_plain_line_exit_2(args, line):
    proc = cli(*args)
    assert (proc.returncode, proc.stdout, err(proc)) == (2, b"", f"gemini-cli: error: {line}\n")


# -- output errors are plain -------------------------------------------------------------


def test_full_disk_on_stdout_is_one_error_line_and_the_turn_is_saved(api, home):
    api.stream(text_events("Hello"))
    with open("/dev/full", "wb") as full:
        proc = cli("generate", "hi", stdout=full)
    assert (proc.returncode, err(proc)) == (2, "gemini-cli: error: cannot write to stdout: No space left on device\n")
    [saved] = [p for p in (home / "conversations").glob("*.json") if not p.name.startswith(".")]
    turn = json.loads(saved.read_text())["turns"][0]
    assert (turn["interaction_id"], turn["status"]) == (INTERACTION_ID, "interrupted")  # reading stopped with stdout


def test_closed_stdout_is_one_error_line_before_anything_is_sent(api):
    proc = cli(shell="$CLI generate hi >&-")
    assert (proc.returncode, err(proc)) == (2, "gemini-cli: error: stdout is closed; redirect it (e.g. >/dev/null) instead of closing it\n")
    assert api.requests() == []


def test_encoding_that_cannot_hold_the_answer_escapes_it_with_one_warning(api):
    api.stream(text_events("h\u00e9llo \u2713 \U0001f600"))
    proc = cli("generate", "hi", env={"PYTHONIOENCODING": "ascii"})
    assert (proc.returncode, proc.stdout) == (0, b"h\\u00e9llo \\u2713 \\ud83d\\ude00\n")
    assert err(proc) == ("gemini-cli: warning: stdout's encoding (ascii) cannot hold 3 character(s) of the output; "
                         "they were written as \\uXXXX escapes\n")
    api.stream(text_events("\u00e9 \U0001f600"))
    proc = cli("generate", "-q", "-o", "json", "hi", env={"PYTHONIOENCODING": "ascii"})
    assert (proc.returncode, err(proc)) == (0, "")
    assert json.loads(proc.stdout)["output_text"] == "\u00e9 \U0001f600"  # still valid JSON, the same text


# -- read loops ----------------------------------------------------------------------------


def test_no_stdin_leaves_stdin_to_the_loop(api, tmp_path):
    for n in range(3):
        api.stream(text_events(f"answer {n}"))
    listing = tmp_path / "list"
    listing.write_text("one\ntwo\nthree\n")
    proc = cli(shell=f'while read line; do $CLI generate --no-save --no-stdin "$line" || exit; done < {listing}')
    assert (proc.returncode, proc.stdout, err(proc)) == (0, b"answer 0\nanswer 1\nanswer 2\n", "")
    assert [body["input"] for body in api.bodies()] == ["one", "two", "three"]


def test_stdin_false_in_the_config_and_no_prompt(api, home):
    with open(home / "config.yaml", "a") as f:
        f.write("stdin: false\n")
    api.stream(text_events("ok"))
    proc = cli("generate", "--no-save", "hi", input=b"not read")
    assert (proc.returncode, proc.stdout) == (0, b"ok\n")
    assert api.bodies()[0]["input"] == "hi"
    proc = cli("generate", input=b"not read")
    assert (proc.returncode, err(proc)) == (
        2, "gemini-cli: error: no prompt: give PROMPT as an argument (stdin is left alone: --no-stdin or `stdin: false`)\n")
    proc = cli("generate", "--stdin", "--dry-run", "hi", input=b"piped")
    assert proc.returncode == 0 and b'"input": "piped\\n\\nhi"' in proc.stdout
    proc = cli("generate", "-a", "-", "hi", input=b"x")
    assert (proc.returncode, err(proc)) == (
        2, "gemini-cli: error: --attach - reads stdin, which --no-stdin (or `stdin: false`) leaves alone\n")


# -- locks: nothing beside the user's files, first come first served ---------------------------


HOLDER = r"""
import sys, time
from gemini_cli.state import store
path, name, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
with store.lock(path, timeout=30, on_wait=lambda: print("waiting", flush=True)):
    print(f"got {name}", flush=True)
    with open(sys.argv[4], "a") as log:
        log.write(name + "\n")
    time.sleep(hold)
"""


def test_waiting_turns_are_served_in_the_order_they_came(tmp_path, home):
    from gemini_cli.state import store

    path, log = tmp_path / "c.json", tmp_path / "order"
    procs = []
    with store.lock(path, 5):
        for name in "abcde":
            proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), name, "0", str(log)],
                                    stdout=subprocess.PIPE, text=True)
            assert proc.stdout.readline() == "waiting\n"  # queued before the next one starts
            procs.append(proc)
    assert [proc.wait(timeout=30) for proc in procs] == [0] * 5
    assert log.read_text() == "a\nb\nc\nd\ne\n"
    assert sorted(os.listdir(tmp_path)) == ["home", "order"]  # no lock beside c.json
    assert not [name for name in os.listdir(home / "locks") if name.endswith(".ticket")]


def test_a_waiter_that_dies_does_not_block_the_queue(tmp_path):
    from gemini_cli.state import store

    path, log = tmp_path / "c.json", tmp_path / "order"
    with store.lock(path, 5):
        dead = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), "dead", "0", str(log)], stdout=subprocess.PIPE, text=True)
        assert dead.stdout.readline() == "waiting\n"
        dead.kill()
        dead.wait()
        live = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), "live", "0", str(log)], stdout=subprocess.PIPE, text=True)
        assert live.stdout.readline() == "waiting\n"
    assert live.wait(timeout=30) == 0
    assert log.read_text() == "live\n"


def test_lock_timeout_flag_beats_the_config(api, home, tmp_path):
    from conftest import run
    from gemini_cli.state import store

    session = tmp_path / "busy.json"
    with store.lock(session, 5):
        result = run(["generate", "--lock-timeout", "0.2", "-q", "--session", str(session), "hi"])
    assert (result.exit_code, result.stderr) == (2, f"gemini-cli: error: conversation {session} is in use by another "
                                                    "gemini-cli process (waited 0.2s); retry when it has finished, "
                                                    "or wait longer with --lock-timeout\n")
    assert api.requests() == []


# -- cron and daemons ------------------------------------------------------------------------


def no_home(home_value: str | None) -> dict[str, str | None]:
    """The environment of a daemon: no GEMINI_CLI_HOME or XDG folders, HOME as given."""
    return {"GEMINI_CLI_HOME": None, "XDG_DATA_HOME": None, "XDG_STATE_HOME": None, "XDG_CONFIG_HOME": None,
            "HOME": home_value}


def test_unwritable_home_answers_exit_0_and_skips_the_history_with_a_warning(api):
    api.stream(text_events("Hello"))
    proc = cli("generate", "hi", env=no_home(os.devnull))  # as root a read-only folder is writable; a file never is
    assert (proc.returncode, proc.stdout) == (0, b"Hello\n")
    [line] = err(proc).splitlines()
    assert line.startswith(f"gemini-cli: warning: the conversation was not saved: cannot write {os.devnull}/.local/share/")
    assert line.endswith(": Not a directory (set GEMINI_CLI_HOME or XDG_DATA_HOME, or give --no-save)")
    api.stream(text_events("Hello"))
    proc = cli("generate", "-q", "-o", "json", "hi", env=no_home(os.devnull))
    assert (proc.returncode, err(proc)) == (0, "")
    assert "conversation" not in json.loads(proc.stdout)  # no file named that was not written


def test_unwritable_session_file_is_an_error_after_the_answer(api, tmp_path):
    api.stream(text_events("Hello"))
    proc = cli("generate", "--session", f"{os.devnull}/s.json", "hi", env=no_home(str(tmp_path)))
    assert (proc.returncode, proc.stdout) == (2, b"Hello\n")
    assert err(proc) == f"gemini-cli: error: cannot write {os.devnull}/s.json: Not a directory\n"


def test_session_file_is_saved_and_locked_with_home_unusable(api, tmp_path):
    api.stream(text_events("Hello"))
    session = tmp_path / "s.json"
    proc = cli("generate", "-q", "--session", str(session), "hi", env=no_home(os.devnull))
    assert (proc.returncode, proc.stdout, err(proc)) == (0, b"Hello\n", "")
    assert json.loads(session.read_text())["turns"][0]["status"] == "completed"
    assert sorted(os.listdir(tmp_path)) == ["home", "s.json"]  # the lock went to the temp folder


def test_quiet_silences_every_warning(api, home):
    with open(home / "config.yaml", "a") as f:
        f.write("colour: blue\n")  # an unknown key
    api.stream(text_events("ok"))
    proc = cli("generate", "--no-save", "hi", env={"GOOGLE_API_KEY": "another-key-0123456789"})
    assert err(proc) == (f"gemini-cli: warning: config file {home / 'config.yaml'}: unknown setting 'colour' ignored\n"
                         "gemini-cli: warning: both GOOGLE_API_KEY and GEMINI_API_KEY are set; using GOOGLE_API_KEY\n")
    api.stream(text_events("ok"))
    proc = cli("generate", "-q", "--no-save", "hi", env={"GOOGLE_API_KEY": "another-key-0123456789"})
    assert (proc.returncode, proc.stdout, err(proc)) == (0, b"ok\n", "")
    with open(home / "config.yaml", "a") as f:
        f.write("quiet: true\n")
    api.stream(text_events("ok"))
    proc = cli("generate", "--no-save", "hi", env={"GOOGLE_API_KEY": "another-key-0123456789"})
    assert (proc.returncode, err(proc)) == (0, "")


# -- help and docs agree -----------------------------------------------------------------------


def help_text(*command: str) -> str:
    proc = cli(*command, "--help", env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert proc.returncode == 0
    return " ".join(proc.stdout.decode().replace("│", " ").split())


def test_help_shows_defaults_and_aliases_and_no_space_before_a_period():
    text = help_text("generate")
    from gemini_cli.state.models import BUILTIN_ALIASES

    aliases = ", ".join(f"{alias} ({model})" for alias, model in BUILTIN_ALIASES.items())
    for shown in (f"Model id (default gemini-3-flash-preview), or an alias: {aliases};",
                  "Network timeout per request, seconds (default 300).", "(default 4).",
                  "(default https://generativelanguage.googleapis.com)", "(default v1beta)", "(default 30)", "--no-stdin"):
        assert shown in text
    for command in (["generate"], ["chat"], ["upload"], ["files", "list"], ["files", "get"], ["files", "delete"],
                    ["history", "list"], ["history", "delete"], ["history", "fetch"], ["config", "show"], []):
        assert " ." not in help_text(*command), command


def test_chat_help_does_not_offer_stdin_as_an_attachment():
    text = help_text("chat")
    assert "Attach a file, URL or Files API name/uri to the first message (repeatable)." in text
    assert "- for binary stdin" not in text and "- for binary stdin" in help_text("generate")


def test_history_delete_takes_a_file_like_show(tmp_path, api):
    from conftest import run

    session = tmp_path / "s.json"
    api.stream(text_events("ok"))
    assert run(["generate", "-q", "--session", str(session), "hi"]).exit_code == 0
    assert run(["history", "show", str(session)]).exit_code == 0
    result = run(["history", "delete", str(session)])
    assert (result.exit_code, result.stderr) == (0, f"gemini-cli: deleted {session}\n")
    assert not session.exists()


def test_files_404_names_the_file(api):
    from conftest import run

    api.error(404, "File abc does not exist.", "NOT_FOUND", path="/v1beta/files/abc", method="GET")
    result = run(["files", "get", "abc", "--retries", "0"])
    assert (result.exit_code, result.stderr) == (4, "gemini-cli: error: files/abc: no such file (uploads are deleted after "
                                                    "48 hours): HTTP 404 NOT_FOUND: File abc does not exist.\n")
    api.error(404, "gone", "NOT_FOUND", path="/v1beta/files/xyz", method="DELETE")
    result = run(["files", "delete", "files/xyz", "--retries", "0"])
    assert (result.exit_code, result.stderr) == (4, "gemini-cli: error: files/xyz: no such file (uploads are deleted after "
                                                    "48 hours): HTTP 404 NOT_FOUND: gone\n")


def test_a_refusing_proxy_is_named():
    from conftest import closed_port_url

    proxy = closed_port_url()
    proc = cli("generate", "--no-save", "--retries", "0", "hi",
               env={"HTTP_PROXY": proxy.replace("http://", "http://user:secret@"), "NO_PROXY": "",
                    "GOOGLE_GEMINI_BASE_URL": "http://api.invalid"})
    assert proc.returncode == 7
    assert err(proc).startswith(f"gemini-cli: error: network error talking to http://api.invalid through the proxy {proxy} "
                                "(from HTTP_PROXY): ")
    assert "secret" not in err(proc)


def test_dry_run_without_a_key_says_so():
    proc = cli("generate", "--dry-run", "hi", env={"GEMINI_API_KEY": None})
    assert proc.returncode == 0
    assert b"x-goog-api-key: <no API key found: set GEMINI_API_KEY>\n" in proc.stdout
    assert b"x-goog-api-key: <redacted>\n" in cli("generate", "--dry-run", "hi").stdout


def test_home_fallbacks(monkeypatch):
    import pwd
    from pathlib import Path

    from gemini_cli.state import paths

    for name in ("GEMINI_CLI_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", "")  # empty counts as unset: never the current folder
    assert paths.home() == Path(pwd.getpwuid(os.getuid()).pw_dir)
    monkeypatch.delenv("HOME")

    def no_entry(uid):
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", no_entry)  # a daemon's uid without a passwd entry
    assert paths.conversations_dir() == Path(os.devnull, "no-home", ".local/share/gemini-cli/conversations")
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # ignored, as the XDG spec says
    assert paths.data_dir() == Path(os.devnull, "no-home", ".local/share/gemini-cli")
