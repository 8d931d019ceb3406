"""The settings table (state/settings.py) is the one declaration every reader follows:
Settings' fields, the config file check, templates, batch rows, the body builder and what a
conversation remembers; settings are checked once; option groups expand as declared."""

from __future__ import annotations

import inspect
from dataclasses import fields, replace
from typing import Any

import pytest

from conftest import run_checked as run
from conftest import text_events
from gemini_cli.cli import groups
from gemini_cli.cli import options
from gemini_cli.errors import UsageError
from gemini_cli.request import body, rows, schema, templates
from gemini_cli.state import config, configfile
from gemini_cli.state.conversation import Conversation
from gemini_cli.state.settings import GENERATION, TABLE, Setting


def sample(setting: Setting) -> Any:
    """A valid value that is not the setting's default."""
    if setting.choices:
        return setting.choices[-1]
    kinds = setting.types or (str,)
    if bool in kinds:
        return not setting.default
    if list in kinds:
        return ["END", "STOP"]
    if dict in kinds:
        if setting.name == "functions":
            return {"name": {"run": "true"}}
        return {"docs": {"url": "https://docs.example.com/mcp", "remote": True}}
    if float in kinds:
        return 0.5 if setting.high is None or setting.high >= 0.5 else setting.high
    if int in kinds:
        return max(7, int(setting.low or 0))
    return "Kore"


def test_settings_has_a_field_per_row_with_its_default():
    names = [f.name for f in fields(config.Settings) if f.name not in config.INTERNAL]
    assert names == [s.name for s in TABLE]
    settings = config.Settings()
    assert {s.name: getattr(settings, s.name) for s in TABLE} == {s.name: s.default for s in TABLE}
    assert settings.stop is not config.Settings().stop  # a list default is a new list each time


def test_the_readers_take_their_keys_from_the_table():
    assert configfile.SETTING_KEYS == tuple(s.name for s in TABLE if s.config)
    assert templates.SETTINGS == tuple(s.name for s in TABLE if s.template)
    assert rows.ROW_SETTINGS == tuple(s.name for s in TABLE if s.row)
    assert body.GENERATION_FIELDS == {s.name: s.field for s in TABLE if s.field}
    # as they were before the table: a template sets the model too, a row (which has its own
    # `model` and `system`) the sampling settings, and generation_config is built in this order
    assert set(templates.SETTINGS) >= {"model", "temperature", "top_p", "seed", "max_tokens", "stop", "thinking", "thoughts"}
    assert set(rows.ROW_SETTINGS) >= {"temperature", "top_p", "seed", "max_tokens", "stop", "thinking", "thoughts"}
    assert "model" not in rows.ROW_SETTINGS and "system" not in templates.SETTINGS
    assert list(body.GENERATION_FIELDS.items())[:8] == [
        ("temperature", "temperature"), ("top_p", "top_p"), ("seed", "seed"), ("max_tokens", "max_output_tokens"),
        ("stop", "stop_sequences"), ("thinking", "thinking_level"), ("thoughts", "thinking_summaries"),
        ("voice", "speech_config")]


@pytest.mark.parametrize("setting", GENERATION, ids=lambda s: s.name)
def test_each_generation_setting_goes_to_its_field_and_comes_back_from_a_saved_conversation(setting):
    value = sample(setting)
    gen = body.generation_config(config.Settings(**{setting.name: value}))
    assert list(gen) == [setting.field]
    conv = Conversation.new("m", True, None, gen)
    assert body.remembered(conv)[setting.name] == value
    assert body.generation_config(config.Settings()) == {}  # the defaults send nothing


def test_the_conversation_remembers_what_the_table_says():
    conv = Conversation.new("m1", False, "sys", {"seed": 1}, [{"type": "url_context"}], {"type": "text"})
    conv.extra["agent"] = "deep-research"
    remembered = body.remembered(conv)
    assert list(remembered) == [s.name for s in TABLE if s.remembered]
    assert {k: remembered[k] for k in ("model", "system", "store", "seed", "agent", "tools", "response_format")} == {
        "model": "m1", "system": "sys", "store": False, "seed": 1, "agent": "deep-research",
        "tools": [{"type": "url_context"}], "response_format": {"type": "text"},
    }
    assert remembered["tools"] is not conv.tools


@pytest.mark.parametrize("setting", [s for s in TABLE if s.config], ids=lambda s: s.name)
def test_the_config_check_follows_each_row(setting):
    value = sample(setting)
    assert configfile.check(setting.name, value, "here") == value
    wrong = 3 if str in setting.types or list in setting.types else "text"
    with pytest.raises(UsageError, match=f"here: '{setting.name}' must be "):
        configfile.check(setting.name, wrong, "here")
    if setting.low is not None:
        with pytest.raises(UsageError, match="must be (at least|between)"):
            configfile.check(setting.name, setting.low - 1, "here")
    if setting.positive:
        with pytest.raises(UsageError, match="greater than 0"):
            configfile.check(setting.name, 0, "here")
    if setting.choices:
        with pytest.raises(UsageError, match="must be one of " + ", ".join(setting.choices)):
            configfile.check(setting.name, "bogus", "here")


def test_the_flags_enforce_the_table_s_ranges():
    from gemini_cli.app import load_command

    params = {p.name: p for p in load_command("generate").params}
    ranged = [s for s in TABLE if s.low is not None and s.name in params]
    assert {"temperature", "top_p", "max_tokens", "retries", "lock_timeout"} <= {s.name for s in ranged}
    for s in ranged:
        assert (params[s.name].type.min, params[s.name].type.max) == (s.low, s.high), s.name
    choices = {s.name: s.choices for s in TABLE if s.choices and s.name in params}
    assert {name: tuple(params[name].type.choices) for name in choices} == choices


# -- checked once -----------------------------------------------------------------------


def test_check_settings_passes_settings_once_and_a_conversation_s_values_again():
    settings = config.Settings(schema='{"type": "object"}', body_extra='{"x": 1}')
    checked = body.check_settings(settings)
    assert (checked.schema, checked.body_extra, checked.checked) == ({"type": "object"}, {"x": 1}, True)
    assert body.check_settings(checked) is checked
    assert body.check_settings(replace(checked, model="m2")).model == "m2"  # a chat's /model keeps the check
    resumed = config.remember(checked, {}, {"tools": ["none", "google_search"]})
    assert not resumed.checked
    with pytest.raises(UsageError, match="--tool none"):
        body.check_settings(resumed)


def test_a_chat_loads_its_schema_once_for_all_its_turns(api, home, monkeypatch):
    calls = []
    real = schema.load_schema
    monkeypatch.setattr(schema, "load_schema", lambda value: calls.append(value) or real(value))
    for n in (1, 2, 3):
        api.stream(text_events('{"n": %d}' % n, interaction_id=f"v1_{n}"))

    result = run(["chat", "--schema", '{"type": "object"}', "--no-save"], input="one\ntwo\nthree\n")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == '{"n": 1}\n{"n": 2}\n{"n": 3}\n'
    assert calls == ['{"type": "object"}']
    assert [b["response_format"]["schema"] for b in api.bodies()] == [{"type": "object"}] * 3


# -- option groups ----------------------------------------------------------------------


def test_a_group_placeholder_becomes_the_group_s_options_and_their_values():
    seen = {}

    @groups.with_groups
    def command(first: int = 1, connection: groups.Values = options.CONNECTION.without("max_time"), last: int = 2):
        seen.update(first=first, connection=connection, last=last)

    names = list(inspect.signature(command).parameters)
    assert names == ["first", "quiet", "timeout", "retries", "base_url", "api_version", "last"]
    assert inspect.signature(command).parameters["quiet"].annotation is options.Quiet
    command(first=3, quiet=True, timeout=None, retries=2, base_url=None, api_version=None, last=4)
    assert seen == {"first": 3, "last": 4, "connection": {"quiet": True, "timeout": None, "retries": 2,
                                                          "base_url": None, "api_version": None}}
    assert options.command_flags(seen) == {"first": 3, "quiet": True, "timeout": None, "retries": 2, "base_url": None,
                                       "api_version": None, "last": 4}


def test_group_parts_name_options_the_group_has():
    assert list(options.ANSWER.pick("service_tier", "tools").options) == ["service_tier", "tools"]
    assert options.ATTACH.replacing(attach=options.ChatAttach).options == {"attach": options.ChatAttach, "mime": options.Mime}
    assert [p.default for p in options.ANSWER.pick("extract", "schema").parameters()] == [False, None]
    for part in (lambda: options.CONNECTION.without("max_tokens"), lambda: options.ANSWER.pick("seed"),
                 lambda: options.ATTACH.replacing(stop=options.Stop)):
        with pytest.raises(TypeError, match="not in this group"):
            part()
