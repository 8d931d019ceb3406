"""API keys, the config file, and precedence: flag > environment > config file > default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import API_KEY, closed_port_url, interaction, text_events
from conftest import run_checked as run
from gemini_cli.render.context import IOContext
from gemini_cli.state import apikey, config
from gemini_cli.state import paths
from gemini_cli.errors import AuthError, UsageError

GOOGLE_KEY = "google-key-0d9e8f7a6b5c4d3e2f1a"
NO_KEY_MESSAGE = (
    "gemini-cli: error: no API key: set GEMINI_API_KEY (or GOOGLE_API_KEY) to a Gemini API key "
    "from https://aistudio.google.com/apikey, keep one with `gemini-cli config set-key`, "
    "or set api_key_command in the config file\n"
)
BOTH_KEYS_WARNING = "gemini-cli: warning: both GOOGLE_API_KEY and GEMINI_API_KEY are set; using GOOGLE_API_KEY\n"


def add_config(home: Path, text: str) -> Path:
    """Append settings to config.yaml (conftest's `retry_delay: 0.01` stays)."""
    path = home / "config.yaml"
    with path.open("a", encoding="utf-8") as file:
        file.write(text)
    return path


def sent_key(api) -> str:
    (request,) = api.requests()
    return request.headers["x-goog-api-key"]


# -- API keys --------------------------------------------------------------------------------


def test_gemini_api_key_alone(api):
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")
    assert sent_key(api) == API_KEY


def test_google_api_key_alone(api, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GOOGLE_API_KEY", GOOGLE_KEY)
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")
    assert sent_key(api) == GOOGLE_KEY


def test_google_api_key_wins_with_a_warning(api, monkeypatch):
    monkeypatch.setenv("GOOGLE_API_KEY", GOOGLE_KEY)
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", BOTH_KEYS_WARNING)
    assert sent_key(api) == GOOGLE_KEY


def test_same_key_in_both_variables_gives_no_warning(api, monkeypatch):
    monkeypatch.setenv("GOOGLE_API_KEY", API_KEY)
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")
    assert sent_key(api) == API_KEY


def test_key_is_stripped(api, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", f"  {API_KEY}\n")
    api.stream(text_events("ok"))
    assert run(["generate", "hi"]).exit_code == 0
    assert sent_key(api) == API_KEY


def test_empty_google_key_counts_as_unset(api, monkeypatch):
    monkeypatch.setenv("GOOGLE_API_KEY", "")
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert sent_key(api) == API_KEY


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_key_exits_3_naming_the_variable(api, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("GEMINI_API_KEY")
    else:
        monkeypatch.setenv("GEMINI_API_KEY", value)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (3, "", NO_KEY_MESSAGE)
    assert api.requests() == []


@pytest.mark.parametrize("key", [f"{API_KEY[:8]}\n{API_KEY[8:]}", f"{API_KEY[:8]} {API_KEY[8:]}", f"{API_KEY}é"])
def test_a_key_a_header_cannot_carry_exits_3_without_showing_it(api, monkeypatch, key):
    monkeypatch.setenv("GEMINI_API_KEY", key)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == ("gemini-cli: error: the API key from GEMINI_API_KEY has a space, control or non-ASCII "
                             "character; a key cannot have one (check how it was set)\n")
    assert api.requests() == []


def test_a_bad_key_in_the_config_file_is_named_by_its_file(home, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    secure_config(home, 'api_key: "abc\\tdef"\n')
    with pytest.raises(AuthError) as caught:
        apikey.get(IOContext.from_process())
    assert str(caught.value).startswith(f"the API key from api_key in {home / 'config.yaml'} has a space")
    assert "abc" not in str(caught.value)


def test_api_key_function():
    assert apikey.get(IOContext.from_process()) == API_KEY


def test_api_key_not_required(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    assert apikey.get(IOContext.from_process(), required=False) is None


# -- the config file ------------------------------------------------------------------------


def test_config_file_sets_model_and_generation_defaults(api, home):
    add_config(home, "model: gemini-2.5-pro\ntemperature: 1\ntop_p: 0.5\nmax_tokens: 100\nseed: 9\n"
                     "stop: [END, STOP]\nthinking: low\nthoughts: true\nsystem: From the file.\n")
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", (
        "gemini-cli: generation_config.temperature and top_p are deprecated on the Interactions API "
        "(google-genai 3.3.0); sent as asked\n"))
    assert api.bodies() == [{
        "model": "gemini-2.5-pro", "input": "hi", "system_instruction": "From the file.", "stream": True,
        "generation_config": {"temperature": 1.0, "top_p": 0.5, "seed": 9, "max_output_tokens": 100,
                              "stop_sequences": ["END", "STOP"], "thinking_level": "low", "thinking_summaries": "auto"},
    }]


def test_flags_beat_the_config_file(api, home):
    add_config(home, "model: gemini-2.5-pro\ntemperature: 1\nstop: [END]\nthinking: low\nthoughts: true\n")
    api.stream(text_events("ok"))
    result = run(["generate", "-m", "gemini-3-pro-preview", "--temperature", "0.2", "--stop", "X",
                  "--thinking", "high", "--no-thoughts", "hi"])
    assert result.exit_code == 0
    assert api.bodies() == [{
        "model": "gemini-3-pro-preview", "input": "hi", "stream": True,
        "generation_config": {"temperature": 0.2, "stop_sequences": ["X"], "thinking_level": "high"},
    }]


def test_config_file_output_stream_and_usage(api, home):
    add_config(home, "stream: false\noutput: jsonl\nusage: true\n")
    body = interaction("ok")
    api.json(body)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (0, json.dumps(body) + "\n")
    assert result.stderr == "usage: 5 input, 7 output, 3 thought, 15 total tokens\n"
    assert api.bodies() == [{"model": "gemini-3-flash-preview", "input": "hi"}]
    assert api.requests()[0].headers["Accept"] == "application/json"


def test_config_file_api_version(api, home):
    add_config(home, "api_version: v1\n")
    api.stream(text_events("ok"), path="/v1/interactions")
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")


def test_base_url_from_the_config_file(api, home, monkeypatch):
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL")
    add_config(home, f"base_url: {api.base_url}/\n")
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert len(api.requests()) == 1


def test_environment_beats_the_config_file(api, home):
    add_config(home, f"base_url: {closed_port_url()}\n")  # the env var (set by `api`) must win
    api.stream(text_events("ok"))
    result = run(["generate", "--retries", "0", "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")


def test_flag_beats_environment_and_file(api, home, monkeypatch):
    add_config(home, f"base_url: {closed_port_url()}\n")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", closed_port_url())
    api.stream(text_events("ok"))
    result = run(["generate", "--retries", "0", "--base-url", api.base_url, "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")


def test_default_base_url_and_version(monkeypatch):
    result = run(["generate", "--dry-run", "hi"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "POST https://generativelanguage.googleapis.com/v1beta/interactions"


def test_resolve_precedence(home, monkeypatch):
    add_config(home, "base_url: http://file.test\nmodel: file-model\ntimeout: 5\n")
    settings = config.resolve({})
    assert (settings.base_url, settings.model, settings.timeout, settings.retry_delay) == (
        "http://file.test", "file-model", 5.0, 0.01)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", "http://env.test/")
    assert config.resolve({}).base_url == "http://env.test"
    settings = config.resolve({"base_url": "http://flag.test", "model": "flag-model", "stop": [], "timeout": None})
    assert (settings.base_url, settings.model, settings.stop, settings.timeout) == (
        "http://flag.test", "flag-model", [], 5.0)


def test_resolve_defaults(home):
    (home / "config.yaml").unlink()
    settings = config.resolve({})
    assert (settings.model, settings.base_url, settings.api_version) == (
        "gemini-3-flash-preview", "https://generativelanguage.googleapis.com", "v1beta")
    assert (settings.stream, settings.output, settings.retries, settings.timeout, settings.retry_delay) == (
        True, "text", 4, 300.0, 0.5)


def test_empty_config_file_is_fine(api, home):
    (home / "config.yaml").write_text("# nothing set yet\n")
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")


def test_unknown_setting_is_a_warning(api, home):
    path = add_config(home, "colour: always\n")
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert result.stderr == f"gemini-cli: warning: config file {path}: unknown setting 'colour' ignored\n"


def test_a_misspelt_setting_gets_did_you_mean(api, home):
    path = add_config(home, "temprature: 0.2\nmax-tokens: 50\nprofile:\n  quick: {}\nprofiles:\n  fast:\n    thinking_level: low\n")
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    where = f"gemini-cli: warning: config file {path}"
    assert result.stderr == (
        f"{where}: unknown setting 'temprature' ignored; did you mean 'temperature'?\n"
        f"{where}: unknown setting 'max-tokens' ignored; did you mean 'max_tokens'?\n"
        f"{where}: unknown setting 'profile' ignored; did you mean 'profiles'?\n"
        f"{where}: unknown setting 'profiles.fast.thinking_level' ignored; did you mean 'profiles.fast.thinking'?\n")
    assert "generation_config" not in api.bodies()[0]  # nothing misspelt was sent


@pytest.mark.parametrize(
    "text, where",
    [
        ("model: gemini\n  temperature: [1\n", "line 3, column 14: mapping values are not allowed here"),
        ("stop: [a, b\nmodel: x\n", "line 3, column 6: expected ',' or ']', but got ':'"),
        ('model: "unterminated\n', "line 3, column 1: found unexpected end of stream"),
    ],
)
def test_malformed_yaml_exits_2_naming_file_and_line(api, home, text, where):
    path = add_config(home, text)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: config file {path}: {where}\n"
    assert api.requests() == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("temperature: hot\n", "'temperature' must be a number, got a string"),
        ("max_tokens: ten\n", "'max_tokens' must be an integer, got a string"),
        ("max_tokens: 1.5\n", "'max_tokens' must be an integer, got a decimal number"),
        ("max_tokens: true\n", "'max_tokens' must be an integer, got true or false"),
        ("model: 3\n", "'model' must be a string, got an integer"),
        ("stream: 1\n", "'stream' must be true or false, got an integer"),
        ("stop: END\n", "'stop' must be a list of strings, got a string"),
        ("stop: [1, 2]\n", "'stop' must be a list of strings, got a list"),
        ("thinking: extreme\n", "'thinking' must be one of minimal, low, medium, high, xhigh"),
        ("output: xml\n", "'output' must be one of text, json, jsonl"),
        ("temperature: 3\n", "'temperature' must be between 0 and 2, got 3"),
        ("top_p: -0.1\n", "'top_p' must be between 0 and 1, got -0.1"),
        ("max_tokens: 0\n", "'max_tokens' must be at least 1, got 0"),
        ("retries: -2\n", "'retries' must be at least 0, got -2"),
        ("timeout: -1\n", "'timeout' must be greater than 0, got -1"),
        ("timeout: 0\n", "'timeout' must be greater than 0, got 0"),
        ("max_time: -1\n", "'max_time' must be greater than 0, got -1"),
    ],
)
def test_wrong_type_or_value_exits_2(api, home, text, message):
    path = add_config(home, text)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: config file {path}: {message}\n"
    assert api.requests() == []


def test_top_level_must_be_a_mapping(api, home):
    path = home / "config.yaml"
    path.write_text("- model\n- temperature\n")
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: config file {path}: expected a mapping of settings at the top level\n"


def test_unreadable_config_file_exits_2(api, home):
    path = home / "config.yaml"
    path.unlink()
    path.mkdir()
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"gemini-cli: error: cannot read config file {path}: ")


def test_non_utf8_config_file_exits_2(api, home):
    path = home / "config.yaml"
    path.write_bytes(b"model: caf\xe9\n")
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"gemini-cli: error: cannot read config file {path}: ")


def test_yaml_is_loaded_safely(home):
    add_config(home, "model: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(UsageError) as error:
        config.resolve({})
    assert "config file" in error.value.message


def test_config_file_location(monkeypatch, tmp_path):
    assert paths.config_file() == Path(str(tmp_path / "home")) / "config.yaml"
    monkeypatch.delenv("GEMINI_CLI_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert paths.config_file() == tmp_path / "xdg" / "gemini-cli" / "config.yaml"


# -- api_key: and api_key_command: -----------------------------------------------------------

COMMAND_KEY = "command-key-5e4d3c2b1a09f8e7"


def key_script(tmp_path: Path, body: str) -> str:
    """A command line running a small Python script (no shell syntax: run without a shell)."""
    import shlex
    import sys

    script = tmp_path / "getkey.py"
    script.write_text(f"import sys, time\n{body}\n")
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"


def secure_config(home: Path, text: str) -> Path:
    path = add_config(home, text)
    path.chmod(0o600)
    return path


@pytest.fixture
def no_env_key(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")


def test_api_key_command_gives_the_key(api, home, tmp_path, no_env_key):
    secure_config(home, f"api_key_command: {key_script(tmp_path, f'print({COMMAND_KEY!r} + chr(10) + chr(10))')} one 'two words'\n")
    api.stream(text_events("ok"))
    result = run(["generate", "hi"], env={"GEMINI_API_KEY": ""})
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")
    assert sent_key(api) == COMMAND_KEY


def test_api_key_command_is_split_without_a_shell(home, tmp_path, no_env_key):
    command = key_script(tmp_path, f"print(repr(sys.argv[1:]), file=open({str(tmp_path / 'argv')!r}, 'w')); print('k-123')")
    secure_config(home, f"api_key_command: {command} one 'two words' '$HOME'\n")
    assert apikey.get(IOContext.from_process()) == "k-123"
    assert (tmp_path / "argv").read_text() == "['one', 'two words', '$HOME']\n"


def test_api_key_command_with_shell_syntax_runs_in_sh(home, no_env_key):
    secure_config(home, "api_key_command: printf 'abc\\n' | tr a-c x-z\n")
    assert apikey.get(IOContext.from_process()) == "xyz"


def test_api_key_command_as_a_list_is_the_argv(home, no_env_key):
    # 'a b' is one argument: split, printf would repeat its format ("a|bc|").
    secure_config(home, "api_key_command: [printf, '%.1s|%s', 'a b', c]\n")
    assert apikey.get(IOContext.from_process()) == "a|c"


def test_api_key_command_takes_the_first_line(home, no_env_key):
    secure_config(home, "api_key_command: [printf, '  first  \\nlogin: me\\n']\n")
    assert apikey.get(IOContext.from_process()) == "first"


def test_environment_key_beats_api_key_command(api, home, tmp_path):
    secure_config(home, f"api_key_command: {tmp_path / 'never-run'}\n")
    api.stream(text_events("ok"))
    assert run(["generate", "hi"]).exit_code == 0
    assert sent_key(api) == API_KEY


def test_dry_run_does_not_run_api_key_command(home, tmp_path, no_env_key):
    secure_config(home, f"api_key_command: touch {tmp_path / 'ran'}\n")
    assert run(["generate", "--dry-run", "hi"]).exit_code == 0
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize(
    "body, problem",
    [
        (f"print({COMMAND_KEY!r}); sys.exit(4)", "exited with status 4 (its output is not shown)"),
        ("print('   ')", "printed nothing on stdout"),
        ("sys.stdout.buffer.write(b'\\xff\\xfe')", "printed something that is not UTF-8 text (its output is not shown)"),
        ("time.sleep(10)", "did not finish within 0.5 s"),
    ],
)
def test_api_key_command_failure_exits_3_without_its_output(api, home, tmp_path, no_env_key, body, problem):
    path = secure_config(home, f"api_key_command: {key_script(tmp_path, body)}\napi_key_command_timeout: 0.5\n")
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == f"gemini-cli: error: api_key_command in {path} {problem}\n"
    assert COMMAND_KEY not in result.stderr
    assert api.requests() == []


def test_api_key_command_not_found_exits_3(home, tmp_path, no_env_key):
    path = secure_config(home, f"api_key_command: {tmp_path / 'nope'} --get\n")
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stderr) == (
        3, f"gemini-cli: error: api_key_command in {path}: cannot run '{tmp_path / 'nope'}': No such file or directory\n")


def test_api_key_command_in_chat(api, home, no_env_key):
    secure_config(home, f"api_key_command: echo {COMMAND_KEY}\n")
    api.stream(text_events("ok"))
    result = run(["chat", "--no-save"], input="hi\n")
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert sent_key(api) == COMMAND_KEY


@pytest.mark.parametrize("source", ["api_key", "api_key_command"])
def test_a_key_from_the_config_is_redacted_from_errors(api, home, no_env_key, source):
    value = COMMAND_KEY if source == "api_key" else f"echo {COMMAND_KEY}"
    secure_config(home, f"{source}: {value}\n")
    api.error(400, f"API key not valid: {COMMAND_KEY}", "INVALID_ARGUMENT")
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stderr) == (4, "gemini-cli: error: HTTP 400 INVALID_ARGUMENT: API key not valid: <redacted>\n")


def test_api_key_in_the_config_file(api, home, no_env_key):
    secure_config(home, f"api_key: {COMMAND_KEY}\n")
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert sent_key(api) == COMMAND_KEY


@pytest.mark.parametrize(
    "text, message",
    [
        ("api_key: 3\n", "'api_key' must be a non-empty string, got an integer"),
        ("api_key_command: ''\n", "'api_key_command' must be a non-empty string, got an empty string"),
        ("api_key_command: [pass, 3]\n", "'api_key_command' must be a command line (a string or a list of strings)"),
        ("api_key: k\napi_key_command: pass\n", "give api_key or api_key_command, not both"),
        ("api_key_command_timeout: 0\n", "'api_key_command_timeout' must be greater than 0, got 0"),
    ],
)
def test_bad_key_settings_exit_2(home, text, message):
    path = secure_config(home, text)
    result = run(["generate", "--dry-run", "hi"])
    assert (result.exit_code, result.stderr) == (2, f"gemini-cli: error: config file {path}: {message}\n")


def insecure(path: Path, mode: str = "0644") -> str:
    return (f"gemini-cli: warning: config file {path} contains an API key and is readable by other users "
            f"(mode {mode}): run `chmod 600 {path}`, or use api_key_command to fetch the key from a password manager\n")


@pytest.mark.parametrize(
    "text",
    [f"api_key: {COMMAND_KEY}\n", "system: 'AIza" + "Sy" + "A" * 33 + "'\n",
     "profiles:\n  p:\n    api_key: x\n", "github_token: abc\n"],
)
def test_a_readable_config_with_a_key_is_a_warning(home, text):
    path = add_config(home, text)
    path.chmod(0o640)
    result = run(["generate", "--dry-run", "hi"])
    assert result.exit_code == 0
    assert insecure(path, "0640") in result.stderr
    assert COMMAND_KEY not in result.stderr
    assert insecure(path, "0640") not in run(["generate", "-q", "--dry-run", "hi"]).stderr
    path.chmod(0o600)
    assert "readable by other users" not in run(["generate", "--dry-run", "hi"]).stderr


def test_a_readable_config_without_a_key_is_fine(home):
    path = add_config(home, "api_key_command: pass show gemini\nmax_tokens: 5\n")
    path.chmod(0o644)
    assert run(["generate", "--dry-run", "hi"]).stderr == ""
