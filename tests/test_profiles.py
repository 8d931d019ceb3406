"""Profiles, default_profile, $GEMINI_CLI_PROFILE, model aliases, output defaults in config.yaml."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from conftest import text_events
from conftest import run_checked as run
from gemini_cli.state import config


def add_config(home: Path, text: str) -> Path:
    path = home / "config.yaml"
    with path.open("a", encoding="utf-8") as file:
        file.write(text)
    return path


def saved(home: Path) -> list[Path]:
    folder = home / "conversations"
    return [p for p in folder.glob("*.json") if not p.name.startswith(".")] if folder.exists() else []


def dry_body(args: list[str], input: str | None = None) -> dict:
    result = run(["generate", "--dry-run", *args], input=input)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout.split("\n\n", 1)[1])


PROFILES = """\
temperature: 1
thinking: low
profiles:
  quick:
    model: flash-lite
    thinking: minimal
  careful:
    model: gemini-2.5-pro
    temperature: 0.5
    max_tokens: 100
    system: Be careful.
"""


def test_profile_sets_model_and_generation_settings(home):
    add_config(home, PROFILES)
    assert dry_body(["--profile", "careful", "hi"]) == {
        "model": "gemini-2.5-pro", "input": "hi", "system_instruction": "Be careful.", "stream": True,
        "generation_config": {"temperature": 0.5, "max_output_tokens": 100, "thinking_level": "low"},
    }


def test_without_a_profile_the_top_level_applies(home):
    add_config(home, PROFILES)
    assert dry_body(["hi"]) == {
        "model": "gemini-3-flash-preview", "input": "hi", "stream": True,
        "generation_config": {"temperature": 1.0, "thinking_level": "low"},
    }


def test_flag_beats_profile_beats_file(home):
    add_config(home, PROFILES)
    body = dry_body(["--profile", "careful", "--temperature", "0.2", "-m", "pro", "hi"])
    assert body["model"] == "gemini-3.1-pro-preview"
    assert body["generation_config"] == {"temperature": 0.2, "max_output_tokens": 100, "thinking_level": "low"}


def test_default_profile_and_its_override(home):
    add_config(home, PROFILES + "default_profile: quick\n")
    assert dry_body(["hi"])["model"] == "gemini-3.1-flash-lite"
    assert dry_body(["hi"])["generation_config"] == {"temperature": 1.0, "thinking_level": "minimal"}
    assert dry_body(["--profile", "careful", "hi"])["model"] == "gemini-2.5-pro"


def test_environment_chooses_a_profile_between_flag_and_default(home, monkeypatch):
    add_config(home, PROFILES + "default_profile: quick\n")
    monkeypatch.setenv("GEMINI_CLI_PROFILE", "careful")
    assert dry_body(["hi"])["model"] == "gemini-2.5-pro"
    assert dry_body(["--profile", "quick", "hi"])["model"] == "gemini-3.1-flash-lite"


def test_environment_beats_the_profile(home, monkeypatch):
    add_config(home, "profiles:\n  elsewhere:\n    base_url: http://profile.test\n")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", "http://env.test")
    result = run(["generate", "--dry-run", "--profile", "elsewhere", "hi"])
    assert result.stdout.splitlines()[0] == "POST http://env.test/v1beta/interactions"
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL")
    result = run(["generate", "--dry-run", "--profile", "elsewhere", "hi"])
    assert result.stdout.splitlines()[0] == "POST http://profile.test/v1beta/interactions"


def test_unknown_profile_exits_2_listing_the_known_ones(home):
    add_config(home, PROFILES)
    result = run(["generate", "--profile", "fast", "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "gemini-cli: error: unknown profile 'fast' (from --profile; known: careful, quick)\n"


def test_unknown_profile_from_the_environment(home, monkeypatch):
    monkeypatch.setenv("GEMINI_CLI_PROFILE", "fast")
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"gemini-cli: error: unknown profile 'fast' (from GEMINI_CLI_PROFILE; "
                             f"no profiles are defined in {home / 'config.yaml'})\n")


def test_default_profile_must_exist(home):
    path = add_config(home, PROFILES + "default_profile: fast\n")
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"gemini-cli: error: config file {path}: default_profile 'fast' is not a profile "
                             "(known: careful, quick)\n")


@pytest.mark.parametrize(
    "text, message",
    [
        ("profiles:\n  quick:\n    temperature: hot\n", "'profiles.quick.temperature' must be a number, got a string"),
        ("profiles:\n  quick:\n    thinking: lots\n", "'profiles.quick.thinking' must be one of minimal, low, medium, high, xhigh"),
        ("profiles:\n  quick:\n    max_tokens: 0\n", "'profiles.quick.max_tokens' must be at least 1, got 0"),
        ("profiles: [quick]\n", "'profiles' must be a mapping of profile names to settings, got a list"),
        ("profiles:\n  quick: flash\n", "'profiles.quick' must be a mapping of settings, got a string"),
        ("default_profile: 3\n", "'default_profile' must be a non-empty string, got an integer"),
        ("aliases: [fast]\n", "'aliases' must be a mapping of short names to model ids, got a list"),
        ("aliases:\n  fast: 3\n", "'aliases.fast' must be a non-empty string, got an integer"),
        ("output: yaml\n", "'output' must be one of text, json, jsonl"),
        ("save: no thanks\n", "'save' must be true or false, got a string"),
        ("markdown: 1\n", "'markdown' must be true or false, got an integer"),
    ],
)
def test_bad_profile_or_alias_exits_2_naming_file_and_key(home, text, message):
    path = add_config(home, text)
    result = run(["generate", "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: config file {path}: {message}\n"


def test_unknown_setting_in_a_profile_is_a_warning(home):
    path = add_config(home, "profiles:\n  quick:\n    colour: red\n")
    result = run(["generate", "--dry-run", "--profile", "quick", "hi"])
    assert result.exit_code == 0
    assert result.stderr == f"gemini-cli: warning: config file {path}: unknown setting 'profiles.quick.colour' ignored\n"


def test_an_empty_profile_is_allowed(home):
    add_config(home, "profiles:\n  plain:\n")
    assert dry_body(["--profile", "plain", "hi"])["model"] == "gemini-3-flash-preview"


# -- aliases --------------------------------------------------------------------------------


@pytest.mark.parametrize("alias, model", sorted(config.BUILTIN_ALIASES.items()))
def test_builtin_aliases(alias, model):
    assert dry_body(["-m", alias, "hi"])["model"] == model


def test_config_aliases_apply_to_flag_file_and_profile_models(home):
    add_config(home, "model: mine\naliases:\n  mine: gemini-mine-001\n  pro: gemini-my-pro\n"
                     "profiles:\n  p:\n    model: pro\n")
    assert dry_body(["hi"])["model"] == "gemini-mine-001"
    assert dry_body(["--profile", "p", "hi"])["model"] == "gemini-my-pro"  # overrides the built-in alias
    assert dry_body(["-m", "mine", "hi"])["model"] == "gemini-mine-001"
    assert dry_body(["-m", "gemini-other", "hi"])["model"] == "gemini-other"


def test_an_alias_is_one_level_only(home):
    add_config(home, "aliases:\n  a: b\n  b: gemini-b\n")
    assert dry_body(["-m", "a", "hi"])["model"] == "b"


# -- output defaults and save ----------------------------------------------------------------


def test_profile_output_defaults(api, home):
    add_config(home, "profiles:\n  verbose:\n    usage: true\n    thoughts: true\n    save: false\n")
    api.stream(text_events("ok", thought="Thinking."))
    result = run(["generate", "--profile", "verbose", "hi"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert result.stderr == "Thinking.\nusage: 5 input, 7 output, 3 thought, 15 total tokens\n"
    assert api.bodies()[0]["generation_config"] == {"thinking_summaries": "auto"}
    assert saved(home) == []


def test_profile_output_json(api, home):
    add_config(home, "default_profile: machine\nprofiles:\n  machine:\n    output: json\n    save: false\n")
    api.stream(text_events("ok"))
    result = run(["generate", "hi"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["output_text"] == "ok"


def test_save_false_at_the_top_level_and_flag_override(api, home):
    add_config(home, "save: false\n")
    api.stream(text_events("ok"))
    api.stream(text_events("ok"))
    assert run(["generate", "hi"]).exit_code == 0
    assert saved(home) == []
    assert run(["generate", "--save", "hi"]).exit_code == 0
    assert len(saved(home)) == 1


def test_chat_takes_a_profile(api, home):
    add_config(home, PROFILES)
    api.stream(text_events("ok"))
    result = run(["chat", "--no-save", "--profile", "careful"], input="hi\n")
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    body = api.bodies()[0]
    assert (body["model"], body["system_instruction"]) == ("gemini-2.5-pro", "Be careful.")


def test_chat_model_command_takes_an_alias(api, home):
    api.stream(text_events("ok"))
    result = run(["chat", "--no-save"], input="/model pro\nhi\n")
    assert result.exit_code == 0
    assert "gemini-cli: model: gemini-3.1-pro-preview\n" in result.stderr
    assert api.bodies()[0]["model"] == "gemini-3.1-pro-preview"


def test_explicit_profile_beats_a_resumed_conversation_default_profile_does_not(api, home):
    add_config(home, "profiles:\n  p:\n    model: gemini-p\n")
    for n in range(3):
        api.stream(text_events("ok", interaction_id=f"v1_{n}"))
    assert run(["generate", "-m", "gemini-first", "hi"]).exit_code == 0
    add_config(home, "default_profile: p\n")
    assert run(["generate", "-c", "again"]).exit_code == 0
    assert run(["generate", "-c", "--profile", "p", "and again"]).exit_code == 0
    assert [body["model"] for body in api.bodies()] == ["gemini-first", "gemini-first", "gemini-p"]


# -- resolve() -------------------------------------------------------------------------------


def test_resolve_records_sources(home, monkeypatch):
    add_config(home, PROFILES + "default_profile: quick\n")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", "http://env.test")
    settings = config.resolve({"seed": 3})
    assert settings.profile == "quick"
    assert {key: settings.sources[key] for key in ("model", "thinking", "temperature", "seed", "base_url", "top_p")} == {
        "model": "profile quick (alias 'flash-lite')", "thinking": "profile quick", "temperature": "config file",
        "seed": "flag", "base_url": "environment (GOOGLE_GEMINI_BASE_URL)", "top_p": "default",
    }
    assert settings.explicit == {"seed"}
    assert config.resolve({"profile": "quick"}).explicit == {"model", "thinking"}


def test_model_id():
    settings = config.resolve({})
    assert config.model_id(settings, "flash") == "gemini-3-flash-preview"
    assert config.model_id(settings, "gemini-x") == "gemini-x"


def test_settings_are_resolved_once_and_never_changed(home):
    add_config(home, PROFILES)
    settings = config.resolve({"seed": 3, "profile": "quick"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.model = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.sources["model"] = "x"  # type: ignore[index]
    remembered = {"model": "gemini-saved", "system": "be brief", "seed": 7, "temperature": None}
    resumed = config.remember(settings, {"seed": 3}, remembered)
    # a new Settings: the conversation's system instruction; the flag's seed and the
    # --profile's model win; the original is untouched
    assert (resumed.system, resumed.seed, resumed.model) == ("be brief", 3, settings.model)
    assert resumed.sources["system"] == "conversation" and resumed.explicit == settings.explicit
    assert (settings.system, settings.sources["system"]) == (None, "default")
    assert config.remember(settings, {}, {"seed": None}) is settings
