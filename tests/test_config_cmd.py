"""`gemini-cli config path|show|edit`."""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

import pytest

from conftest import API_KEY
from conftest import run_checked as run
from gemini_cli.cli.config_cmd import TEMPLATE

GOOGLE_LOOKING_KEY = "AIza" + "Sy" + "x" * 33


def write_config(home: Path, text: str, mode: int = 0o600) -> Path:
    path = home / "config.yaml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_path(home):
    result = run(["config", "path"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"{home / 'config.yaml'}\n", "")


def test_path_with_xdg(home, monkeypatch, tmp_path):
    monkeypatch.delenv("GEMINI_CLI_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert run(["config", "path"]).stdout == f"{tmp_path / 'xdg' / 'gemini-cli' / 'config.yaml'}\n"


def test_config_without_a_subcommand_shows_help():
    result = run(["config"])
    assert "path" in result.stdout + result.stderr and "show" in result.stdout + result.stderr


def test_show_defaults(home):
    (home / "config.yaml").unlink()
    result = run(["config", "show"])
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == f"# config file: {home / 'config.yaml'} (not found)"
    assert lines[1:6] == [
        "model: gemini-3-flash-preview  # default",
        "base_url: https://generativelanguage.googleapis.com  # default",
        "api_version: v1beta  # default",
        "system: null  # default",
        "temperature: null  # default",
    ]
    assert "stop: []  # default" in lines
    assert "retry_delay: 0.5  # default" in lines
    assert "  flash: gemini-3-flash-preview  # built-in" in lines
    assert lines[-2:] == ["profiles: []", "api_key: <redacted>  # environment (GEMINI_API_KEY)"]


def test_show_sources_profile_and_aliases(home, monkeypatch):
    write_config(home, "retry_delay: 0.01\nstop: [END, x y]\nsystem: |\n  One.\n  Two.\n"
                       "default_profile: q\nprofiles:\n  q: {model: lite, temperature: 0.3}\n  r: {}\n"
                       "aliases:\n  lite: gemini-lite-001\n")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", "http://env.test/")
    result = run(["config", "show"])
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[:8] == [
        f"# config file: {home / 'config.yaml'}",
        "# profile: q",
        "model: gemini-lite-001  # profile q (alias 'lite')",
        "base_url: http://env.test  # environment (GOOGLE_GEMINI_BASE_URL)",
        "api_version: v1beta  # default",
        "# system: config file",
        "system: |",
        "  One.",
    ]
    assert "temperature: 0.3  # profile q" in lines
    assert "stop: [END, x y]  # config file" in lines
    assert "retry_delay: 0.01  # config file" in lines
    assert "  lite: gemini-lite-001  # config file" in lines
    assert "profiles: [q, r]" in lines
    result = run(["config", "show", "--profile", "r"])
    assert "# profile: r" in result.stdout and "model: gemini-3-flash-preview  # default" in result.stdout


def test_show_unknown_profile_exits_2(home):
    result = run(["config", "show", "--profile", "nope"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: unknown profile 'nope' (from --profile; no profiles are defined in {home / 'config.yaml'})\n"


def test_show_redacts_secrets(home, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    write_config(home, f"api_key: {API_KEY}\nsystem: 'the key is {GOOGLE_LOOKING_KEY}'\n")
    result = run(["config", "show"])
    assert result.exit_code == 0
    assert API_KEY not in result.stdout and GOOGLE_LOOKING_KEY not in result.stdout
    assert "system: the key is <redacted>  # config file" in result.stdout
    assert result.stdout.endswith("api_key: <redacted>  # config file\n")


def test_show_redacts_the_environment_key_and_does_not_run_the_command(home, tmp_path):
    marker = tmp_path / "ran"
    write_config(home, f"system: uses {API_KEY}\napi_key_command: touch {marker}\n")
    result = run(["config", "show"])
    assert result.exit_code == 0
    assert "system: uses <redacted>  # config file" in result.stdout
    assert result.stdout.endswith(
        f"api_key: <redacted>  # environment (GEMINI_API_KEY)\napi_key_command: touch {marker}  # config file (not run by show)\n")
    assert not marker.exists()


def test_show_reports_config_errors(home):
    path = write_config(home, "temperature: hot\n")
    result = run(["config", "show"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: config file {path}: 'temperature' must be a number, got a string\n"


# -- edit ------------------------------------------------------------------------------------


def editor(tmp_path: Path, content: str | None = None, status: int = 0) -> str:
    """An $EDITOR: a Python script that records its arguments, maybe rewrites the file, exits `status`."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys, pathlib\n"
        f"pathlib.Path({str(tmp_path / 'args')!r}).write_text(repr(sys.argv[1:]))\n"
        f"content = {content!r}\n"
        "if content is not None:\n"
        "    pathlib.Path(sys.argv[-1]).write_text(content)\n"
        f"sys.exit({status})\n"
    )
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} --wait"


def test_edit_creates_the_file_from_a_template(home, tmp_path, monkeypatch):
    path = home / "config.yaml"
    path.unlink()
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", editor(tmp_path))
    result = run(["config", "edit"])
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"gemini-cli: created {path}\ngemini-cli: {path}: OK\n"
    assert path.read_text() == TEMPLATE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (tmp_path / "args").read_text() == repr(["--wait", str(path)])


def test_edit_creates_the_folder(home, tmp_path, monkeypatch):
    folder = tmp_path / "new-home"
    monkeypatch.setenv("GEMINI_CLI_HOME", str(folder))
    monkeypatch.setenv("VISUAL", editor(tmp_path))
    assert run(["config", "edit"]).exit_code == 0
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (folder / "config.yaml").read_text() == TEMPLATE


def test_the_template_uncommented_is_a_valid_config(home):
    import re

    text = "\n".join(re.sub(r"^# ( *[a-z_][a-z0-9_-]*:)", r"\1", line) for line in TEMPLATE.splitlines())
    assert "\nprofiles:\n  quick:\n    model: flash\n" in text
    write_config(home, text)
    result = run(["config", "show"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert "# profile: quick" in result.stdout


def test_edit_keeps_an_existing_file_and_visual_beats_editor(home, tmp_path, monkeypatch):
    path = home / "config.yaml"
    monkeypatch.setenv("VISUAL", editor(tmp_path, "model: pro\n"))
    monkeypatch.setenv("EDITOR", "false")
    result = run(["config", "edit"])
    assert (result.exit_code, result.stderr) == (0, f"gemini-cli: {path}: OK\n")
    assert path.read_text() == "model: pro\n"


def test_edit_reports_errors(home, tmp_path, monkeypatch):
    path = home / "config.yaml"
    monkeypatch.setenv("VISUAL", editor(tmp_path, "profiles:\n  q:\n    temperature: 9\n"))
    result = run(["config", "edit"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"gemini-cli: error: config file {path}: 'profiles.q.temperature' must be between 0 and 2, "
                             "got 9 (run `gemini-cli config edit` again to fix it)\n")


def test_edit_reports_malformed_yaml(home, tmp_path, monkeypatch):
    path = home / "config.yaml"
    monkeypatch.setenv("VISUAL", editor(tmp_path, "model: [a\n"))
    result = run(["config", "edit"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"gemini-cli: error: config file {path}: line 2, column 1: ")


def test_edit_warns_about_a_readable_key(home, tmp_path, monkeypatch):
    path = write_config(home, "", mode=0o644)
    monkeypatch.setenv("VISUAL", editor(tmp_path, f"api_key: {GOOGLE_LOOKING_KEY}\n"))
    result = run(["config", "edit"])
    assert result.exit_code == 0
    assert result.stderr == (
        f"gemini-cli: warning: config file {path} contains an API key and is readable by other users (mode 0644): "
        f"run `chmod 600 {path}`, or use api_key_command to fetch the key from a password manager\n"
        f"gemini-cli: {path}: OK\n")


def test_editor_failure_exits_2(home, tmp_path, monkeypatch):
    monkeypatch.setenv("VISUAL", editor(tmp_path, status=3))
    result = run(["config", "edit"])
    assert (result.exit_code, result.stderr) == (
        2, f"gemini-cli: error: the editor {sys.executable!r} exited with status 3; {home / 'config.yaml'} was not checked\n")


def test_missing_editor_exits_2(home, tmp_path, monkeypatch):
    monkeypatch.setenv("VISUAL", str(tmp_path / "no-such-editor"))
    result = run(["config", "edit"])
    assert result.exit_code == 2
    assert result.stderr == (f"gemini-cli: error: cannot run the editor {str(tmp_path / 'no-such-editor')!r}: "
                             "No such file or directory (set $VISUAL or $EDITOR)\n")


def test_help_does_not_import_httpx():
    import subprocess

    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "gemini_cli", "config", "--help"],
                         capture_output=True, text=True, env={**os.environ}, check=True)
    assert "httpx" not in out.stderr
    assert "path" in out.stdout


@pytest.mark.parametrize("group", ["config", "files", "history"])
def test_every_command_group_takes_dash_h(group):
    result = run([group, "-h"])
    assert result.exit_code == 0
    assert f"Usage: gemini-cli {group} [OPTIONS] COMMAND [ARGS]..." in result.stdout
