"""--thinking xhigh, --service-tier, --agent, --body-extra and the model table: exact request
bodies received by a loopback server, stdout, exit codes, saved turns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import interaction, text_events
from conftest import run_checked as run
from gemini_cli.state import models
from gemini_cli.state import config

MODEL = "gemini-3-flash-preview"
AGENT = "deep-research-preview-04-2026"


def sent(api, args: list[str], answer: str = "ok") -> dict:
    api.stream(text_events(answer))
    result = run(["generate", "--no-save", *args, "hi"])
    assert result.exit_code == 0, result.stderr
    return api.bodies()[-1]


def test_thinking_xhigh_and_service_tier(api):
    assert sent(api, ["--thinking", "xhigh", "--service-tier", "priority"]) == {
        "model": MODEL, "input": "hi", "generation_config": {"thinking_level": "xhigh"}, "service_tier": "priority", "stream": True}


def test_service_tier_from_the_config(api, home):
    (home / "config.yaml").write_text("retry_delay: 0.01\nservice_tier: flex\nthinking: xhigh\n")
    assert sent(api, [])["service_tier"] == "flex"
    (home / "config.yaml").write_text("service_tier: cheap\n")
    result = run(["generate", "hi"])
    assert result.exit_code == 2
    assert result.stderr.endswith("'service_tier' must be one of flex, standard, priority, deferred\n")


@pytest.mark.parametrize("tier", ["flex", "standard", "priority", "deferred"])
def test_every_service_tier(api, tier):
    assert sent(api, ["--service-tier", tier])["service_tier"] == tier


# -- agents -----------------------------------------------------------------------------------


def test_agent_without_streaming_starts_in_the_background(api, home):
    api.json({"id": "v1_agent", "status": "in_progress", "agent": AGENT})
    result = run(["generate", "--agent", AGENT, "--no-stream", "Research tides"])
    assert (result.exit_code, result.stdout) == (0, "v1_agent\n")
    assert api.bodies() == [{"agent": AGENT, "input": "Research tides", "background": True}]
    saved = json.loads(next((home / "conversations").glob("c*.json")).read_text())
    assert saved["agent"] == AGENT
    assert (saved["turns"][0]["status"], saved["turns"][0]["model"]) == ("pending", AGENT)

    # history fetch --wait polls it to the end and completes the saved turn.
    api.json({"id": "v1_agent", "status": "in_progress"}, path="/v1beta/interactions/v1_agent", method="GET")
    api.json(interaction("Tides are...", interaction_id="v1_agent"), path="/v1beta/interactions/v1_agent", method="GET")
    fetched = run(["history", "fetch", "v1_agent", "--wait", "--interval", "0.01", "-q"])
    assert (fetched.exit_code, fetched.stdout) == (0, "Tides are...\n")
    saved = json.loads(next((home / "conversations").glob("c*.json")).read_text())
    assert saved["turns"][0]["status"] == "completed"


def test_agent_streamed_runs_in_the_background_and_streams(api, home):
    api.stream(text_events("Found it."))
    result = run(["generate", "--agent", AGENT, "q"])
    assert (result.exit_code, result.stdout) == (0, "Found it.\n")
    assert api.bodies() == [{"agent": AGENT, "input": "q", "background": True, "stream": True}]


def test_an_agent_conversation_goes_on_with_its_agent_and_m_switches_back(api, tmp_path):
    session = tmp_path / "s.json"
    for n in range(3):
        api.stream(text_events("ok", interaction_id=f"v1_{n}"))
    assert run(["generate", "--session", str(session), "--agent", AGENT, "one"]).exit_code == 0
    assert run(["generate", "--session", str(session), "two"]).exit_code == 0
    assert run(["generate", "--session", str(session), "-m", "pro", "three"]).exit_code == 0
    assert api.bodies()[1:] == [
        {"agent": AGENT, "input": "two", "previous_interaction_id": "v1_0", "background": True, "stream": True},
        {"model": "gemini-3.1-pro-preview", "input": "three", "previous_interaction_id": "v1_1", "stream": True},
    ]


def test_config_generation_settings_are_not_sent_to_an_agent(api, home):
    (home / "config.yaml").write_text("retry_delay: 0.01\nthinking: low\nmodel: pro\n")
    assert sent(api, ["--agent", AGENT]) == {"agent": AGENT, "input": "hi", "background": True, "stream": True}


@pytest.mark.parametrize("args, message", [
    (["-m", "pro"], "--agent runs an agent instead of a model; give --agent or --model, not both"),
    (["--temperature", "0.5", "--thinking", "low"], "--temperature, --thinking set generation_config, which an agent interaction does not take"),
    (["--no-store"], "--agent runs in the background, which needs server-side storage; it cannot be combined with --no-store"),
])
def test_agent_conflicts_exit_2_before_sending(api, args, message):
    result = run(["generate", "--agent", AGENT, *args, "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"gemini-cli: error: {message}\n")
    assert api.requests() == []


# -- --body-extra -----------------------------------------------------------------------------


def test_body_extra_is_merged_deep_and_last(api, tmp_path):
    extra = tmp_path / "extra.json"
    extra.write_text('{"labels": {"team": "docs"}, "generation_config": {"video_config": {"task": "edit"}}}')
    assert sent(api, ["--thinking", "low", "--body-extra", f"@{extra}"]) == {
        "model": MODEL, "input": "hi", "generation_config": {"thinking_level": "low", "video_config": {"task": "edit"}},
        "stream": True, "labels": {"team": "docs"}}


def test_body_extra_is_shown_by_dry_run(api):
    result = run(["generate", "--dry-run", "--body-extra", '{"safety_settings": [{"type": "jailbreak", "threshold": "off"}]}', "hi"])
    assert result.exit_code == 0
    body = json.loads(result.stdout[result.stdout.index("\n{") + 1:])
    assert body == {"model": MODEL, "input": "hi", "stream": True,
                    "safety_settings": [{"type": "jailbreak", "threshold": "off"}]}


@pytest.mark.parametrize("extra, message", [
    ('{"generation_config": {"thinking_level": "high"}}',
     "--body-extra sets 'generation_config.thinking_level', which the tool already sets (from a flag, the config or the "
     "conversation); give it one way only"),
    ('{"system_instruction": "x"}',
     "--body-extra sets 'system_instruction', which the tool already sets (from a flag, the config or the conversation); "
     "give it one way only"),
    ('{"stream": false}', "--body-extra may not set 'stream'; the tool sets it (--stream/--no-stream)"),
    ('{"model": "m"}', "--body-extra may not set 'model'; the tool sets it (--model)"),
    ("[1, 2]", "--body-extra must be a JSON object, got list"),
    ("{nope", "--body-extra is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ("@/nonexistent/x.json", "cannot read --body-extra file /nonexistent/x.json: No such file or directory"),
])
def test_body_extra_errors_exit_2(api, extra, message):
    result = run(["generate", "--thinking", "low", "-s", "sys", "--body-extra", extra, "hi"])
    assert (result.exit_code, result.stderr) == (2, f"gemini-cli: error: {message}\n")
    assert api.requests() == []


# -- the model table ----------------------------------------------------------------------------


def test_aliases_completion_and_readme_come_from_one_table():
    from gemini_cli.cli import shell_complete

    assert config.BUILTIN_ALIASES == {"flash": "gemini-3-flash-preview", "pro": "gemini-3.1-pro-preview",
                                      "flash-lite": "gemini-3.1-flash-lite", "flash-3.5": "gemini-3.5-flash"}
    assert shell_complete.MODELS == models.MODEL_IDS and models.MODEL_IDS[0] == config.DEFAULT_MODEL
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    table = readme[readme.index("| alias | model id |"):]
    table = table[:table.index("\n\n")]
    rows = re.findall(r"^\| `?([^|`]*?)`? *\| `([^`]+)`", table, flags=re.M)
    assert rows == [(alias or "", model) for model, alias in models.MODELS]
