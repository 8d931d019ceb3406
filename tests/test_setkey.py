"""`gemini-cli config set-key`: the key kept in a 0600 file of the config folder, read after
the environment and before the config file's api_key / api_key_command."""

from __future__ import annotations

import os
import stat

from conftest import API_KEY, run, text_events

SAVED = "AIza" + "SavedKey-1234567890abcdefghijkl"  # built: no key-shaped literal in the tree


def test_set_key_from_stdin_strips_the_newline_and_writes_a_private_file(home):
    result = run(["config", "set-key"], input=SAVED + "\n")
    path = home / "api_key"
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == (f"gemini-cli: saved the API key to {path} (mode 0600)\n"
                             "gemini-cli: note: GEMINI_API_KEY is set and wins over the saved key while it is\n")
    assert path.read_text() == SAVED + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in home.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_the_saved_key_is_used_when_the_environment_has_none(api, home, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    assert run(["config", "set-key"], input=SAVED).stderr == f"gemini-cli: saved the API key to {home / 'api_key'} (mode 0600)\n"
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert api.requests()[0].headers["x-goog-api-key"] == SAVED
    assert SAVED not in result.stderr


def test_the_environment_wins_over_the_saved_key(api, home):
    (home / "api_key").write_text(SAVED + "\n")
    os.chmod(home / "api_key", 0o600)
    api.stream(text_events("ok"))
    assert run(["generate", "hi"]).exit_code == 0
    assert api.requests()[0].headers["x-goog-api-key"] == API_KEY


def test_the_saved_key_wins_over_api_key_command(api, home, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    (home / "config.yaml").write_text("retry_delay: 0.01\napi_key_command: 'false'\n")
    assert run(["config", "set-key"], input=SAVED).exit_code == 0
    api.stream(text_events("ok"))
    assert run(["generate", "hi"]).exit_code == 0
    assert api.requests()[0].headers["x-goog-api-key"] == SAVED
    show = run(["config", "show"])
    assert f"api_key: <redacted>  # key file {home / 'api_key'} (config set-key)" in show.stdout
    assert SAVED not in show.stdout


def test_an_empty_key_is_refused_and_nothing_is_written(home):
    for given in ("", "\n", "   \n"):
        result = run(["config", "set-key"], input=given)
        assert result.exit_code == 2
        assert result.stderr == ("gemini-cli: error: no key given (an empty key is not saved); "
                                 "get one at https://aistudio.google.com/apikey\n")
    assert not (home / "api_key").exists()


def test_a_key_with_a_space_or_two_lines_is_refused_without_showing_it(home):
    for given in ("AIza abc\n", "AIzaabc\nsecond\n", "AIzaé\n"):
        result = run(["config", "set-key"], input=given)
        assert result.exit_code == 2
        assert "nothing was saved" in result.stderr and "AIza" not in result.stderr
    assert not (home / "api_key").exists()


def test_an_empty_key_file_is_an_auth_error_naming_it(home, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    (home / "api_key").write_text("\n")
    result = run(["generate", "hi"])
    assert result.exit_code == 3
    assert result.stderr == (f"gemini-cli: error: the key file {home / 'api_key'} is empty "
                             "(run `gemini-cli config set-key` again, or delete it)\n")


def test_remove_deletes_the_saved_key(home):
    (home / "api_key").write_text(SAVED)
    result = run(["config", "set-key", "--remove"])
    assert (result.exit_code, result.stderr) == (0, f"gemini-cli: removed the saved API key ({home / 'api_key'})\n")
    assert not (home / "api_key").exists()
    again = run(["config", "set-key", "--remove"])
    assert again.exit_code == 2 and "no saved key to remove" in again.stderr


def test_at_a_terminal_the_key_is_read_without_echo(api, home):
    from test_chat import Terminal

    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "GEMINI_API_KEY")}
    env.update(GEMINI_CLI_HOME=str(home), TERM="dumb")
    term = Terminal(["config", "set-key"], env)
    try:
        term.expect("Gemini API key (not shown): ")
        term.line(SAVED)
        assert term.wait() == 0
        assert SAVED not in term.output
        assert f"saved the API key to {home / 'api_key'}" in term.output
    finally:
        term.close()
    assert (home / "api_key").read_text() == SAVED + "\n"
