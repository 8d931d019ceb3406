"""Hostile and broken input: a server that sends malformed or absurd data, hostile local
files, a terminal. Each case runs the real CLI (a child process where memory, signals or
a terminal are the point) against a loopback server that misbehaves on purpose, and
checks the exit code, stdout, stderr and the files written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import INTERACTION_ID, interaction, run_checked, sse, text_events
from fault_server import reply, stream


@pytest.fixture
def server(fault_server):
    return fault_server


# gemini-cli as the console script runs it, reporting its peak RSS at exit. VmHWM, not
# ru_maxrss: the latter counts the forked test process's pages before exec too.
LAUNCHER = """
import atexit, os, sys
def peak():
    with open("/proc/self/status") as status, open(os.environ["_PEAK_FILE"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(peak)
sys.argv[0] = "gemini-cli"
from gemini_cli.app import main
main()
"""


def cli(args: list[str], input: bytes = b"", timeout: float = 60, env: dict[str, str] | None = None, stdin=None):
    """Run gemini-cli as a child process: (exit code, stdout, stderr, its peak RSS in MiB).
    `stdin`: a file to read instead of `input` (big inputs stay out of the test's memory)."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        peak_file = os.path.join(scratch, "peak")
        feed = {"stdin": stdin} if stdin is not None else {"input": input}
        proc = subprocess.run([sys.executable, "-c", LAUNCHER, *args], capture_output=True, **feed,
                              timeout=timeout, env={**os.environ, **(env or {}), "_PEAK_FILE": peak_file})
        with open(peak_file) as f:
            peak = int(f.read()) / 1024
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode(), peak


def big_file(path, size_mb: int, line: bool = False):
    """An open file of `size_mb` MB of words (one line if `line`), written 1 MB at a time."""
    block = b"word " * (1_000_000 // 5)
    with open(path, "wb") as f:
        for _ in range(size_mb):
            f.write(block)
        if line:
            f.write(b"\n")
    return open(path, "rb")


def frames(*events) -> list[bytes]:
    return [e if isinstance(e, bytes) else sse([e], done=False).encode() for e in events] + [b"event: done\ndata: [DONE]\n\n"]


# -- a saved conversation is always loadable --------------------------------------------


CREATED = {"event_type": "interaction.created", "event_id": "e0", "interaction": {"id": INTERACTION_ID, "status": "in_progress"}}
COMPLETED = {"event_type": "interaction.completed", "event_id": "e9", "interaction": {"id": INTERACTION_ID, "status": "completed"}}
TURN2 = text_events("second", interaction_id="v1_two")


def next_turn_works(server, session) -> list[dict]:
    """A second turn on the same file: it loads, chains to the first turn, and saves."""
    server.queue(stream(frames(*TURN2)))
    result = run_checked(["generate", "--session", str(session), "again"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "second\n", "")
    assert json.loads(server.requests[-1].body)["previous_interaction_id"] == INTERACTION_ID
    return json.loads(session.read_text())["turns"]


def test_a_malformed_step_start_then_deltas_saves_a_loadable_turn(server, tmp_path):
    session = tmp_path / "chat.json"
    server.queue(stream(frames(
        CREATED, b"event: step.start\ndata: {\"index\": 0, \"step\": {\"type\": \n\n",
        {"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": "Hi"}},
        {"event_type": "step.stop", "index": 0}, COMPLETED)))
    code, out, err, _ = cli(["generate", "--session", str(session), "hi"])
    assert (code, out) == (0, "Hi\n")
    assert err == (
        "gemini-cli: warning: skipped a malformed event: '{\"index\": 0, \"step\": {\"type\": '\n"
        "gemini-cli: warning: the server sent malformed data, saved without it: 1 malformed step(s) (no string \"type\")\n")
    (first,) = json.loads(session.read_text())["turns"]
    assert (first["interaction_id"], first["status"], first["steps"]) == (INTERACTION_ID, "completed", [])
    assert len(next_turn_works(server, session)) == 2


SAVED_WITHOUT = "gemini-cli: warning: the server sent malformed data, saved without it: "


@pytest.mark.parametrize("fields, code, warnings, status", [
    ({"id": 12345}, 0, [SAVED_WITHOUT + "id was an integer"], "completed"),
    ({"status": ["completed"]}, 9, [SAVED_WITHOUT + "status was a list"], "unknown"),
    ({"steps": "model_output"}, 0, ["gemini-cli: warning: the server sent steps that is not a list (dropped)"], "completed"),
    ({"steps": [42, {"content": []}, {"type": "model_output", "content": [{"type": "text", "text": "ok"}]}]}, 0,
     ["gemini-cli: warning: the server sent a step that is not an object (dropped)",
      SAVED_WITHOUT + "1 malformed step(s) (no string \"type\")"], "completed"),
    ({"usage": "lots"}, 0, ["gemini-cli: warning: the server sent usage that is not an object (ignored)"], "completed"),
])
def test_a_no_stream_body_with_wrong_types_saves_a_loadable_turn(server, tmp_path, fields, code, warnings, status):
    session = tmp_path / "chat.json"
    body = {**interaction("ok"), **fields}
    server.queue(reply(200, json.dumps(body).encode()))
    result = run_checked(["generate", "--no-stream", "--session", str(session), "hi"])
    assert result.exit_code == code
    assert result.stderr.splitlines()[:len(warnings)] == warnings
    saved = json.loads(session.read_text())["turns"][0]
    assert saved["status"] == status
    assert all(isinstance(step.get("type"), str) for step in saved["steps"])
    if status == "completed" and "id" not in fields:
        turns = next_turn_works(server, session)
        assert len(turns) == 2
    else:  # the turn is kept but not chained on; the file still loads
        server.queue(stream(frames(*TURN2)))
        again = run_checked(["generate", "--session", str(session), "again"])
        assert (again.exit_code, again.stdout) == (0, "second\n")


# -- memory bounded by limits -------------------------------------------------------------


def test_a_step_index_far_past_the_steps_seen_allocates_nothing(server, tmp_path):
    session = tmp_path / "chat.json"
    huge = 100_000_000
    server.queue(stream(frames(
        CREATED, {"event_type": "step.start", "index": huge, "step": {"type": "model_output"}},
        {"event_type": "step.delta", "index": huge, "delta": {"type": "text", "text": "x"}},
        {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}},
        {"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": "fine"}},
        {"event_type": "step.stop", "index": 0}, COMPLETED)))
    code, out, err, peak = cli(["generate", "--session", str(session), "hi"])
    assert code == 0
    assert out == "xfine\n"  # text is shown as it streams; the step is not kept
    assert err == "gemini-cli: warning: the server sent a step index far past the steps seen, such as 100000000 (its events were dropped)\n"
    # 100 million list slots would be 800 MB; the whole process stays far below that.
    assert peak < 150, f"peak RSS {peak:.0f} MiB"
    print(f"peak RSS {peak:.0f} MiB")
    (turn,) = json.loads(session.read_text())["turns"]
    assert turn["steps"] == [{"type": "model_output", "content": [{"type": "text", "text": "fine"}]}]


# -- interaction ids never leave their path segment ---------------------------------------


def test_history_delete_remote_refuses_an_id_that_is_not_safe_in_a_url(server, home):
    folder = home / "conversations"
    folder.mkdir()
    conv = {"format": "gemini-cli.conversation", "version": 1, "id": "cplanted", "model": "m", "store": True,
            "turns": [{"interaction_id": "../files/abc-123", "status": "completed", "input": [], "steps": []}]}
    (folder / "cplanted.json").write_text(json.dumps(conv))
    result = run_checked(["history", "delete", "--remote", "cplanted"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"gemini-cli: error: {folder / 'cplanted.json'}: interaction id '../files/abc-123' is not "
                             "a valid id (letters, digits, '_', '-', '.', '=' only); refusing to put it in a URL; "
                             "nothing was deleted\n")
    assert server.requests == []
    assert (folder / "cplanted.json").exists()


def test_history_fetch_refuses_an_id_with_a_slash(server):
    result = run_checked(["history", "fetch", "files/abc"])
    assert (result.exit_code, server.requests) == (2, [])
    assert "interaction id 'files/abc' is not a valid id" in result.stderr


# -- every failure has its exit code ------------------------------------------------------


def test_json_nested_100000_deep_in_a_success_body_exits_6(server):
    deep = b'{"id": "v1_x", "steps": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    server.queue(reply(200, deep))
    code, out, err, _ = cli(["generate", "--no-stream", "--no-save", "hi"])
    assert (code, out) == (6, "")
    assert err == "gemini-cli: error: HTTP 200: the API sent JSON nested too deeply to read\n"


def test_a_100_mb_prompt_on_stdin_exits_2_without_reading_it_all(server, tmp_path):
    with big_file(tmp_path / "prompt", 100) as stdin:
        code, out, err, peak = cli(["generate", "--no-save", "summarise"], stdin=stdin)
    assert (code, out, server.requests) == (2, "", [])
    assert err == ("gemini-cli: error: the prompt on stdin is over 20 MiB, the limit of a whole request; "
                   "send less (stopped reading there)\n")
    assert peak < 100, f"peak RSS {peak:.0f} MiB"  # 20 MiB read, not 100


def test_an_endless_attachment_stops_at_the_2_gib_upload_limit(server, tmp_path):
    folder = tmp_path / "tmp"
    folder.mkdir()
    # /dev/zero rather than /dev/urandom: the same path (a device, read once), faster
    code, out, err, peak = cli(["generate", "--no-save", "-a", "/dev/zero", "--mime", "image/png", "what is this"],
                               env={"TMPDIR": str(folder)}, timeout=120)
    assert (code, out, server.requests) == (2, "", [])
    assert err == "gemini-cli: error: /dev/zero: more than 2 GiB, over the upload limit per file (stopped reading there)\n"
    assert list(folder.iterdir()) == []  # the partial copy is gone
    assert peak < 100, f"peak RSS {peak:.0f} MiB"


def test_dry_run_copies_and_uploads_nothing(server, tmp_path):
    folder = tmp_path / "tmp"
    folder.mkdir()
    code, out, err, _ = cli(["generate", "--dry-run", "-a", "/dev/zero", "--mime", "image/png", "what is this"],
                            env={"TMPDIR": str(folder)})
    assert (code, server.requests, list(folder.iterdir())) == (0, [], [])
    assert "would upload 1 attachment through the Files API" in err
    assert json.loads(out[out.index("{"):])["input"][0]["content"][0] == {
        "type": "image", "uri": "<uploaded at run time>", "mime_type": "image/png"}


# -- terminals get text, not control ------------------------------------------------------

# Clipboard write (OSC 52), window title (OSC 0), clear screen (CSI 2J), a hidden link (OSC 8).
HOSTILE = "a\x1b]52;c;cm0gLXJmIH4=\x07b\x1b]0;pwned\x07c\x1b[2Jd\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\e\x9b31m\tf"
SHOWN = "a^[]52;c;cm0gLXJmIH4=^Gb^[]0;pwned^Gc^[[2Jd^[]8;;https://evil.example^[\\link^[]8;;^[\\e\\u009b31m\tf"


def on_terminal(args: list[str], which: str = "stdout", env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run gemini-cli with `which` (stdout or stderr) on a pseudo-terminal, the other piped:
    (exit code, what the terminal received, what the pipe received)."""
    master, slave = os.openpty()
    attrs = __import__("termios").tcgetattr(slave)
    attrs[1] &= ~__import__("termios").ONLCR  # no "\n" -> "\r\n": compare the bytes written
    __import__("termios").tcsetattr(slave, __import__("termios").TCSANOW, attrs)
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, which: slave}
    proc = subprocess.Popen([sys.executable, "-m", "gemini_cli", *args], stdin=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})}, **streams)
    os.close(slave)
    seen = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        seen += data
    os.close(master)
    out, err = proc.communicate(timeout=60)
    piped = err if which == "stdout" else out
    return proc.returncode, seen.decode(), piped.decode()


def hostile_answer(server):
    server.queue(stream(frames(*text_events(HOSTILE, thought="think\x1b]0;title\x07"))))


def test_an_answer_on_a_terminal_shows_escape_sequences_as_text(server):
    hostile_answer(server)
    code, terminal, err = on_terminal(["generate", "--no-save", "hi"])
    assert (code, terminal, err) == (0, SHOWN + "\n", "")


def test_an_answer_piped_stays_byte_exact(server):
    hostile_answer(server)
    code, out, err, _ = cli(["generate", "--no-save", "hi"])
    assert (code, out, err) == (0, HOSTILE + "\n", "")


def test_markdown_on_a_terminal_keeps_only_its_own_styling(server):
    server.queue(stream(frames(*text_events("**bold** ", HOSTILE))))
    code, terminal, _ = on_terminal(["generate", "--no-save", "--markdown", "hi"])
    assert (code, terminal) == (0, "\x1b[1mbold\x1b[22m " + SHOWN + "\n")


def test_thoughts_on_a_terminal_stderr_are_shown_as_text(server):
    hostile_answer(server)
    code, terminal, out = on_terminal(["generate", "--no-save", "--thoughts", "hi"], which="stderr", env={"NO_COLOR": "1"})
    assert (code, out) == (0, HOSTILE + "\n")  # stdout piped: byte-exact
    assert terminal == "think^[]0;title^G\n"


def test_an_api_error_message_on_a_terminal_stderr_is_shown_as_text(server):
    server.queue(error_reply := reply(400, json.dumps({"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                                                 "message": "bad \x1b]52;c;eA==\x07 input"}}).encode()))
    code, terminal, out = on_terminal(["generate", "--no-save", "hi"], which="stderr")
    assert (code, out) == (4, "")
    assert "\x1b" not in terminal and "\x07" not in terminal
    assert "bad ^[]52;c;eA==^G input" in terminal


def test_json_output_on_a_terminal_stays_valid_json(server):
    hostile_answer(server)
    code, terminal, _ = on_terminal(["generate", "--no-save", "-o", "json", "hi"])
    assert code == 0 and "\x1b" not in terminal and "\x9b" not in terminal
    assert "\\u009b31m" in terminal  # the C1 control as a JSON escape: shown, and still the same value
    assert json.loads(terminal)["output_text"] == HOSTILE


def test_history_show_on_a_terminal_shows_escape_sequences_as_text(server, tmp_path):
    session = tmp_path / "chat.json"
    hostile_answer(server)
    assert run_checked(["generate", "--session", str(session), "hi"]).exit_code == 0
    code, terminal, err = on_terminal(["history", "show", str(session)])
    assert (code, err) == (0, "")
    assert SHOWN in terminal and "\x1b]" not in terminal
    code, out, _, _ = cli(["history", "show", str(session)])
    assert HOSTILE in out  # piped: byte-exact


def test_visible_keeps_newline_and_tab_and_shows_every_other_control():
    from gemini_cli.render.terminal import visible

    assert visible("a\nb\tc") == "a\nb\tc"
    assert visible("\x00\x07\x08\r\x1b\x7f\x80\x9f é ✓") == "^@^G^H^M^[^?\\u0080\\u009f é ✓"


# -- no secrets in messages ---------------------------------------------------------------

PASTED = "AIza" + "SyD-pasted-key-0123456789abcdefghij"  # built here so no key-shaped literal is committed


@pytest.mark.parametrize("text, message", [
    (f"api_key: [{PASTED}]\n", "'api_key' must be a non-empty string, got a list"),
    (f"api_key: {{key: {PASTED}}}\n", "'api_key' must be a non-empty string, got a mapping"),
    ("api_key: 31415926535897932\n", "'api_key' must be a non-empty string, got an integer"),
    (f"temperature: {PASTED}\n", "'temperature' must be a number, got a string"),
    (f"stop: {PASTED}\n", "'stop' must be a list of strings, got a string"),
    (f"profiles:\n  work: {PASTED}\n", "'profiles.work' must be a mapping of settings, got a string"),
    (f"aliases:\n  fast: [{PASTED}]\n", "'aliases.fast' must be a non-empty string, got a list"),
])
def test_a_malformed_key_setting_is_named_never_shown(home, text, message):
    (home / "config.yaml").write_text(text)
    (home / "config.yaml").chmod(0o600)
    code, out, err, _ = cli(["generate", "--dry-run", "hi"], env={"GEMINI_API_KEY": ""})
    assert (code, out) == (2, "")
    assert err == f"gemini-cli: error: config file {home / 'config.yaml'}: {message}\n"
    assert "31415926535897932" not in err and PASTED not in err


def test_a_key_pasted_as_a_setting_name_is_not_shown(home):
    (home / "config.yaml").write_text(f"{PASTED}: 1\n")
    code, _, err, _ = cli(["generate", "--dry-run", "hi"])
    assert code == 0
    assert err == f"gemini-cli: warning: config file {home / 'config.yaml'}: unknown setting '<redacted>' ignored\n"


# -- files go where the user meant --------------------------------------------------------


def test_a_session_that_is_a_dangling_symlink_is_refused(server, tmp_path):
    shared, elsewhere = tmp_path / "shared", tmp_path / "victim"
    shared.mkdir()
    elsewhere.mkdir()
    (shared / "chat.json").symlink_to(elsewhere / "planted.json")
    code, out, err, _ = cli(["generate", "--session", str(shared / "chat.json"), "hi"])
    assert (code, out, server.requests) == (2, "", [])
    assert err == (f"gemini-cli: error: --session {shared / 'chat.json'} is a symbolic link to {elsewhere / 'planted.json'}, "
                   "which does not exist; refusing to create a file through it\n")
    assert list(elsewhere.iterdir()) == []


def test_a_symlink_planted_at_the_lock_file_is_not_followed(server, home, tmp_path):
    import hashlib

    session, target = tmp_path / "chat.json", tmp_path / "victim"
    key = hashlib.sha256(os.path.realpath(session).encode()).hexdigest()[:32]
    (home / "locks").mkdir(mode=0o700)
    planted = home / "locks" / f"{key}.queue"
    planted.symlink_to(target)
    code, out, err, _ = cli(["generate", "--session", str(session), "hi"])
    assert (code, out, server.requests) == (2, "", [])
    assert err == (f"gemini-cli: error: lock file {planted} is a symbolic link; refusing to follow it "
                   "(remove it if you did not make it)\n")
    assert not target.exists()


def test_temporary_and_lock_files_are_opened_without_following_links(tmp_path):
    from gemini_cli.state.atomic import open_private

    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(OSError):
        open_private(tmp_path / "link", exclusive=False)
    (tmp_path / "exists").write_text("x")
    with pytest.raises(FileExistsError):
        open_private(tmp_path / "exists", exclusive=True)
    assert not (tmp_path / "target").exists()
    os.close(open_private(tmp_path / "exists", exclusive=False))  # a lock file others made is shared


# -- every failure has its exit code ------------------------------------------------------

# Ctrl-C arriving while a module loads: a finder raises KeyboardInterrupt when the named
# module is imported, as the SIGINT handler would at that moment (deterministic, unlike a timer).
INTERRUPTING = """
import sys
module = sys.argv.pop(1)
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == module:
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupt())
sys.argv[0] = "gemini-cli"
from gemini_cli import main
main()
"""


@pytest.mark.parametrize("module", [
    "typer",  # app.py's imports, before the error funnel exists
    "gemini_cli.cli.generate",  # the command, loaded lazily while click resolves it
    "gemini_cli.state.config",  # inside the command: the funnel
])
def test_ctrl_c_while_modules_load_exits_130_with_one_line(module):
    proc = subprocess.run([sys.executable, "-c", INTERRUPTING, module, "generate", "--dry-run", "hi"],
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "gemini-cli: error: interrupted\n")


@pytest.mark.parametrize("url, problem", [
    ("http://[::1", "is malformed: Invalid IPv6 URL"),
    ("http://localhost:99999", "is malformed: Port out of range 0-65535"),
    ("ftp://example.com", "must be http(s)://host[:port][/path]"),
])
def test_a_malformed_base_url_exits_2(server, url, problem):
    code, out, err, _ = cli(["generate", "--base-url", url, "hi"])
    assert (code, out, server.requests) == (2, "", [])
    assert err == f"gemini-cli: error: base URL {url!r} (from --base-url) {problem}\n"


# -- a YAML alias bomb ------------------------------------------------------------------

BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n" for prev, name in zip("abcdefgh", "bcdefghi"))
REFUSED = "aliases (*name) expand to more than 10000 values; refusing to read it (an alias bomb?)"


def test_an_alias_bomb_in_the_config_is_refused_quickly(home):
    (home / "config.yaml").write_text(BOMB)
    code, out, err, peak = cli(["generate", "--dry-run", "hi"], timeout=20)
    assert (code, out) == (2, "")
    assert err == f"gemini-cli: error: config file {home / 'config.yaml'}: {REFUSED}\n"


def test_an_alias_bomb_in_a_template_is_refused_quickly(home, tmp_path):
    template = tmp_path / "bomb.yaml"
    template.write_text("prompt: hi\nextra:\n" + "".join("  " + line + "\n" for line in BOMB.splitlines()))
    code, out, err, _ = cli(["generate", "--dry-run", "-t", str(template), "x"], timeout=20)
    assert (code, out) == (2, "")
    assert err == f"gemini-cli: error: template {template}: {REFUSED}\n"


def test_aliases_within_the_limit_still_work(home):
    (home / "config.yaml").write_text(
        "base: &base {temperature: 0.5, max_tokens: 100}\nprofiles:\n  quick: *base\n  slow: {<<: *base, temperature: 1}\n")
    code, out, err, _ = cli(["generate", "--dry-run", "--profile", "slow", "hi"])
    assert code == 0, err
    assert '"temperature": 1.0' in out and '"max_output_tokens": 100' in out


def test_a_100_mb_line_piped_into_chat_exits_2_without_reading_it_all(server, tmp_path):
    with big_file(tmp_path / "prompt", 100, line=True) as stdin:
        code, out, err, peak = cli(["chat", "--no-save"], stdin=stdin)
    assert (code, out, server.requests) == (2, "", [])  # the line is skipped; chat goes on to the next
    assert err == "gemini-cli: error: a line on stdin is over 20 MiB, the limit of a whole request; skipped it\n"
    assert peak < 100, f"peak RSS {peak:.0f} MiB"


def test_yaml_nested_too_deeply_exits_2(home):
    (home / "config.yaml").write_text("stop: " + "[" * 5000 + "]" * 5000 + "\n")
    code, out, err, _ = cli(["generate", "--dry-run", "hi"])
    assert (code, out, err) == (2, "", f"gemini-cli: error: config file {home / 'config.yaml'}: nested too deeply\n")


def test_an_extracted_code_block_on_a_terminal_is_shown_as_text(server):
    server.queue(stream(frames(*text_events("Here:\n```sh\necho \x1b]0;pwned\x07\n```\n"))))
    code, terminal, _ = on_terminal(["generate", "--no-save", "--extract", "hi"])
    assert (code, terminal) == (0, "echo ^[]0;pwned^G\n")


# -- deltas of the wrong shape ------------------------------------------------------------

DELTA_CREATED = {"event_type": "interaction.created", "interaction": {"id": INTERACTION_ID, "status": "in_progress"}}
DELTA_DONE = {"event_type": "interaction.completed", "interaction": {"id": INTERACTION_ID, "status": "completed"}}


@pytest.mark.parametrize("event, wrong", [
    ({"index": 0, "delta": {"type": "text", "text": 5}}, "step.delta (text) whose text has the wrong type"),
    ({"index": 0, "delta": "x"}, "step.delta whose delta is not an object"),
    ({"index": [0], "delta": {"type": "text", "text": "x"}}, "step event whose index is not a number"),
    ({"index": 0, "delta": {"type": "thought_summary", "content": "x"}},
     "step.delta (thought_summary) whose content has the wrong type"),
    ({"index": 0, "delta": {"type": "thought_summary", "content": {"type": "text", "text": 1}}},
     "step.delta (thought_summary) whose text is not a string"),
    ({"index": 0, "delta": {"type": "arguments_delta", "arguments": 3}},
     "step.delta (arguments_delta) whose arguments has the wrong type"),
    ({"index": 0, "delta": {"type": "image", "data": 3}}, "step.delta (image) whose data has the wrong type"),
    ({"index": 0, "delta": {"type": "text_annotation_delta", "annotations": "x"}},
     "step.delta (text_annotation_delta) whose annotations has the wrong type"),
])
def test_a_delta_of_the_wrong_shape_is_dropped_not_a_crash(api, tmp_path, event, wrong):
    from conftest import run

    session = tmp_path / "s.json"
    api.stream(sse([DELTA_CREATED, {"event_type": "step.start", "index": 0, "step": {"type": "model_output"}},
                    {"event_type": "step.delta", **event},
                    {"event_type": "step.delta", "index": 0, "delta": {"type": "text", "text": "ok"}},
                    {"event_type": "step.stop", "index": 0}, DELTA_DONE]))
    result = run(["generate", "--thoughts", "--session", str(session), "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert result.stderr == f"gemini-cli: warning: the server sent a {wrong} (its events were dropped)\n"
    (turn,) = json.loads(session.read_text())["turns"]
    assert turn["steps"] == [{"type": "model_output", "content": [{"type": "text", "text": "ok"}]}]


@pytest.mark.parametrize("step, wrong", [
    ({"type": "model_output", "content": [{"type": "text", "text": 5}]},
     "model_output step that has a text block in its content whose text is not a string"),
    ({"type": "model_output", "content": "x"}, "model_output step that has a content that is not a list of objects"),
    ({"type": "model_output", "content": [5]}, "model_output step that has a content that is not a list of objects"),
    ({"type": "thought", "summary": "x", "signature": "s"}, "thought step that has a summary that is not a list of objects"),
    ({"type": "thought", "summary": [{"type": "text", "text": 3}], "signature": "s"},
     "thought step that has a text block in its summary whose text is not a string"),
])
def test_a_no_stream_step_with_unreadable_blocks_is_dropped_not_a_crash(api, tmp_path, step, wrong):
    from conftest import run

    session = tmp_path / "s.json"
    ok = {"type": "model_output", "content": [{"type": "text", "text": "ok"}]}
    api.json({"id": INTERACTION_ID, "status": "completed", "steps": [step, ok]})
    result = run(["generate", "--no-stream", "--thoughts", "--session", str(session), "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert result.stderr == f"gemini-cli: warning: the server sent a {wrong} (dropped)\n"
    (turn,) = json.loads(session.read_text())["turns"]
    assert turn["steps"] == [ok]
