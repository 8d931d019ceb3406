"""Resuming conversations through `generate`: the four ways x both modes (exact request bodies),
remembered settings, the lock between processes, damaged and old files, permissions.

Unit-level pieces (atomic writes, the lock primitive, validation, upgrades) are in
test_store.py and test_conversation.py; these tests go through the CLI.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from werkzeug.wrappers import Response

from conftest import API_KEY, sse, text_events
from conftest import run_checked as run
from gemini_cli.state import store

MODEL = "gemini-3-flash-preview"
# A signature with every base64 character that could be mangled, plus padding.
SIG = "Ev8BCvwBAXLI2nz+/9Qk0=" * 9 + "AA=="
TURN1_STEPS = [
    {"type": "thought", "signature": SIG, "summary": [{"type": "text", "text": "Let me think"}]},
    {"type": "google_search_call", "id": "gs_1", "arguments": {"queries": ["capital of france"]}, "signature": SIG[::-1]},
    {"type": "google_search_result", "call_id": "gs_1", "result": [{"search_suggestions": "<div>…</div>"}], "signature": "c2ln"},
    {"type": "model_output", "content": [{"type": "text", "text": "Paris.", "annotations": [
        {"type": "url_citation", "url": "https://example.org", "start_index": 0, "end_index": 6}]}]},
    {"type": "future_step_type", "payload": {"kept": [1, 2.5, None, "ü"]}},
]
USER1 = {"type": "user_input", "content": [{"type": "text", "text": "Capital of France?"}]}
USER2 = {"type": "user_input", "content": [{"type": "text", "text": "And Germany?"}]}


def conversations(home: Path) -> list[Path]:
    folder = home / "conversations"
    return sorted(p for p in folder.glob("*.json") if not p.name.startswith(".")) if folder.exists() else []


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def first_turn(api, args: list[str]) -> None:
    """Turn 1, non-streamed, answered with tool steps, an unknown step and signatures."""
    api.json({"id": "v1_turn1", "status": "completed", "steps": TURN1_STEPS, "usage": {"total_tokens": 9}})
    result = run(["generate", "--no-stream", *args, "Capital of France?"])
    assert (result.exit_code, result.stdout) == (0, "Paris.\n"), result.stderr


def second_turn(api, args: list[str]) -> dict:
    api.stream(text_events("Berlin.", interaction_id="v1_turn2"))
    result = run(["generate", *args, "And Germany?"])
    assert (result.exit_code, result.stdout) == (0, "Berlin.\n"), result.stderr
    return api.bodies()[-1]


def server_body(previous: str) -> dict:
    return {"model": MODEL, "input": "And Germany?", "previous_interaction_id": previous, "stream": True}


STATELESS_BODY = {"model": MODEL, "input": [USER1, *TURN1_STEPS, USER2], "store": False, "stream": True}


# -- the four ways x both modes --------------------------------------------------------------


@pytest.mark.parametrize("store_flag", [[], ["--no-store"]], ids=["server", "stateless"])
def test_resume_by_session_file(api, home, tmp_path, store_flag):
    session = tmp_path / "work" / "talk.json"
    first_turn(api, ["--session", str(session), *store_flag])
    assert api.bodies()[0] == ({"model": MODEL, "input": [USER1], "store": False} if store_flag
                               else {"model": MODEL, "input": "Capital of France?"})
    body = second_turn(api, ["--session", str(session)])  # the mode is remembered: no flag needed
    assert body == (STATELESS_BODY if store_flag else server_body("v1_turn1"))
    raw = api.requests()[-1].get_data()
    if store_flag:  # the signatures went out byte-for-byte, not re-encoded
        assert json.dumps(SIG).encode() in raw and json.dumps(SIG[::-1]).encode() in raw
    conv = store.load(session)
    assert [t.interaction_id for t in conv.turns] == ["v1_turn1", "v1_turn2"]
    assert conv.turns[0].steps == TURN1_STEPS
    assert conversations(home) == []  # a --session file stays where the user put it


@pytest.mark.parametrize("store_flag", [[], ["--no-store"]], ids=["server", "stateless"])
def test_resume_by_continue(api, home, store_flag):
    first_turn(api, store_flag)
    body = second_turn(api, ["-c"])
    assert body == (STATELESS_BODY if store_flag else server_body("v1_turn1"))
    (path,) = conversations(home)
    assert [t.status for t in store.load(path).turns] == ["completed", "completed"]


def test_continue_picks_the_last_used_even_a_session_file(api, home, tmp_path):
    first_turn(api, [])
    api.json({"id": "v1_elsewhere", "status": "completed", "steps": TURN1_STEPS})
    assert run(["generate", "--no-stream", "--session", str(tmp_path / "s.json"), "other"]).exit_code == 0
    assert second_turn(api, ["--continue"]) == server_body("v1_elsewhere")
    assert len(store.load(tmp_path / "s.json").turns) == 2


@pytest.mark.parametrize("store_flag", [[], ["--no-store"]], ids=["server", "stateless"])
def test_resume_by_cid_prefix(api, home, store_flag):
    first_turn(api, store_flag)
    (path,) = conversations(home)
    cid = store.load(path).id
    body = second_turn(api, ["--cid", cid[:5]])
    assert body == (STATELESS_BODY if store_flag else server_body("v1_turn1"))
    assert len(store.load(path).turns) == 2


def test_cid_unknown_and_ambiguous(api, home):
    folder = home / "conversations"
    for cid in ("cabc1", "cabc2"):
        (folder / f"{cid}.json").parent.mkdir(mode=0o700, exist_ok=True)
        (folder / f"{cid}.json").write_text(json.dumps({"format": "gemini-cli.conversation", "version": 1, "id": cid,
                                                        "model": MODEL, "store": True, "turns": []}))
    result = run(["generate", "--cid", "cabc", "hi"])
    assert result.exit_code == 2 and result.stderr.startswith("gemini-cli: error: 'cabc' matches 2 conversations")
    result = run(["generate", "--cid", "zzz", "hi"])
    assert (result.exit_code, result.stderr) == (2, "gemini-cli: error: no conversation matches 'zzz' (see `gemini-cli history list`)\n")
    assert run(["generate", "-c", "--cid", "cabc1", "hi"]).exit_code == 2
    assert api.requests() == []


def test_resume_by_previous_interaction_id(api, home):
    api.stream(text_events("Hi.", interaction_id="v1_mine"))
    result = run(["generate", "--previous-interaction-id", "v1_from_elsewhere", "Go on"])
    assert result.exit_code == 0
    assert api.bodies()[-1] == {"model": MODEL, "input": "Go on", "previous_interaction_id": "v1_from_elsewhere", "stream": True}
    (path,) = conversations(home)
    conv = store.load(path)
    assert conv.extra["parent_interaction_id"] == "v1_from_elsewhere"
    # The next turn of that conversation chains to our own turn, not the parent.
    assert second_turn(api, ["--cid", conv.id]) == server_body("v1_mine")


def test_previous_interaction_id_with_no_store_is_refused(api, home):
    result = run(["generate", "--previous-interaction-id", "v1_x", "--no-store", "Go on"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("gemini-cli: error: --previous-interaction-id chains to a stored interaction; "
                             "it cannot be combined with --no-store\n")
    assert api.requests() == [] and conversations(home) == []


def test_previous_interaction_id_with_a_resumed_conversation_is_refused(api, home):
    first_turn(api, [])
    result = run(["generate", "-c", "--previous-interaction-id", "v1_x", "more"])
    assert result.exit_code == 2 and "cannot be combined with a resumed one" in result.stderr
    assert len(api.requests()) == 1


def test_stateless_conversation_cannot_switch_back(api, home):
    first_turn(api, ["--no-store"])
    before = conversations(home)[0].read_bytes()
    result = run(["generate", "-c", "--store", "more"])
    assert result.exit_code == 2 and "is stateless (--no-store); it cannot switch to server-side mode" in result.stderr
    assert conversations(home)[0].read_bytes() == before and len(api.requests()) == 1


def test_server_conversation_can_go_stateless_and_resends_everything(api, home):
    first_turn(api, [])
    assert second_turn(api, ["-c", "--no-store"]) == STATELESS_BODY
    assert store.load(conversations(home)[0]).store is False


def test_unusable_turns_are_left_out_of_both_modes(api, home):
    first_turn(api, ["--no-store"])
    api.json({"id": "v1_bad", "status": "failed", "steps": [{"type": "model_output", "content": []}]})
    assert run(["generate", "--no-stream", "-c", "lost question"]).exit_code == 9
    assert second_turn(api, ["-c"]) == STATELESS_BODY  # the failed turn and its question are not resent
    assert [t.status for t in store.load(conversations(home)[0]).turns] == ["completed", "failed", "completed"]


# -- remembered settings and overrides -------------------------------------------------------------


def test_settings_are_remembered_and_a_later_flag_overrides(api, home):
    api.stream(text_events("1", interaction_id="v1_1"))
    assert run(["generate", "-m", "gemini-2.5-pro", "-s", "Be brief.", "--temperature", "0.3", "--thinking", "low",
                "--max-tokens", "50", "one"]).exit_code == 0
    api.stream(text_events("2", interaction_id="v1_2"))
    assert run(["generate", "-c", "--temperature", "0.9", "-m", "gemini-3-pro-preview", "two"]).exit_code == 0
    api.stream(text_events("3", interaction_id="v1_3"))
    assert run(["generate", "-c", "three"]).exit_code == 0
    bodies = api.bodies()
    assert bodies[1] == {"model": "gemini-3-pro-preview", "input": "two", "system_instruction": "Be brief.",
                         "generation_config": {"temperature": 0.9, "max_output_tokens": 50, "thinking_level": "low"},
                         "previous_interaction_id": "v1_1", "stream": True}
    assert bodies[2] == {**bodies[1], "input": "three", "previous_interaction_id": "v1_2"}
    conv = store.load(conversations(home)[0])
    assert (conv.model, conv.system_instruction, conv.generation_config) == (
        "gemini-3-pro-preview", "Be brief.", {"temperature": 0.9, "max_output_tokens": 50, "thinking_level": "low"})
    assert [t.model for t in conv.turns] == ["gemini-2.5-pro", "gemini-3-pro-preview", "gemini-3-pro-preview"]


def test_remembered_settings_beat_the_config_file(api, home):
    api.stream(text_events("1", interaction_id="v1_1"))
    assert run(["generate", "--temperature", "0.3", "one"]).exit_code == 0
    with open(home / "config.yaml", "a") as f:
        f.write("temperature: 1.5\nmodel: gemini-2.5-flash\n")
    api.stream(text_events("2", interaction_id="v1_2"))
    assert run(["generate", "-c", "two"]).exit_code == 0
    assert (api.bodies()[1]["model"], api.bodies()[1]["generation_config"]) == (MODEL, {"temperature": 0.3})


# -- the lock, across real processes -----------------------------------------------------------------


def env_for(api, home) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
    env.update(GEMINI_CLI_HOME=str(home), GEMINI_API_KEY=API_KEY, GOOGLE_GEMINI_BASE_URL=api.base_url,
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    return env


def test_concurrent_processes_append_every_turn_in_order(api, home, tmp_path):
    session = tmp_path / "shared.json"
    seen: list[dict] = []

    def answer(request):
        body = json.loads(request.get_data())
        seen.append(body)
        time.sleep(0.15)  # hold the turn open so the others must wait for the lock
        n = len(seen)
        return Response(sse(text_events(f"answer {n}", interaction_id=f"v1_{n}")), content_type="text/event-stream")

    api.server.expect_request("/v1beta/interactions", method="POST").respond_with_handler(answer)
    procs = [subprocess.Popen([sys.executable, "-m", "gemini_cli", "generate", "--session", str(session), f"message {i}"],
                              env=env_for(api, home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(4)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs

    conv = store.load(session)
    assert [t.interaction_id for t in conv.turns] == ["v1_1", "v1_2", "v1_3", "v1_4"]
    assert [t.input[0]["content"][0]["text"] for t in conv.turns] == [b["input"] for b in seen]
    assert sorted(b["input"] for b in seen) == [f"message {i}" for i in range(4)]
    # Each request chained to the turn saved just before it: one line of history, no fork.
    assert [b.get("previous_interaction_id") for b in seen] == [None, "v1_1", "v1_2", "v1_3"]
    assert sorted(out for out, _ in outputs) == [f"answer {n}\n" for n in range(1, 5)]
    waiting = f"gemini-cli: waiting for another gemini-cli using {session}\n"
    assert sum(err == waiting for _, err in outputs) >= 1
    assert all(err in ("", waiting) for _, err in outputs), outputs
    assert sorted(os.listdir(tmp_path)) == ["home", "shared.json"]  # no temp or lock files left


def test_lock_timeout_exits_2_with_a_clear_error(api, home, tmp_path):
    session = tmp_path / "busy.json"
    with open(home / "config.yaml", "a") as f:
        f.write("lock_timeout: 0.3\n")
    with store.lock(session, 1):  # another holder (flock is per open file, so this counts)
        start = time.monotonic()
        result = run(["generate", "--session", str(session), "hi"])
        assert time.monotonic() - start >= 0.3
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"gemini-cli: waiting for another gemini-cli using {session}\n"
                             f"gemini-cli: error: conversation {session} is in use by another gemini-cli process "
                             "(waited 0.3s); retry when it has finished, or wait longer with --lock-timeout\n")
    assert api.requests() == [] and not session.exists()


# -- damaged, newer and older files ------------------------------------------------------------------

DAMAGED = {
    "corrupt": (b'{"format": "gemini-cli.conversation", "version": 1, "id": }', "is corrupt: Expecting value: line 1 column 59"),
    "truncated": (b'{"format": "gemini-cli.conversation", "version": 1, "id": "c1", "model": "m", "store": true, "tu',
                  "is corrupt: Unterminated string starting at: line 1 column 94"),
    "empty": (b"", "is corrupt: the file is empty"),
    "wrong shape": (b'{"format": "gemini-cli.conversation", "version": 1, "id": "c1", "model": "m", "store": "yes", "turns": []}',
                    "is corrupt: store should be true or false, not a string"),
    "newer": (b'{"format": "gemini-cli.conversation", "version": 7, "id": "c1"}',
              "was written by a newer gemini-cli (format version 7; this one reads up to 1): upgrade gemini-cli to open it"),
}


@pytest.mark.parametrize("name", list(DAMAGED))
def test_damaged_session_file_exit_2_and_untouched(api, home, tmp_path, name):
    content, problem = DAMAGED[name]
    session = tmp_path / "s.json"
    session.write_bytes(content)
    os.chmod(session, 0o644)
    result = run(["generate", "--session", str(session), "hi"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: conversation file {session} {problem}\n"
    assert session.read_bytes() == content and mode(session) == 0o644
    assert api.requests() == []


def test_damaged_history_file_by_cid_and_continue(api, home):
    folder = home / "conversations"
    folder.mkdir(mode=0o700)
    bad = folder / "cbroken.json"
    bad.write_bytes(b"{not json")
    store.ConversationStore().remember(bad)  # it was the last one used
    for args in (["--cid", "cbroken"], ["-c"]):
        result = run(["generate", *args, "hi"])
        assert result.exit_code == 2
        assert result.stderr == f"gemini-cli: error: conversation file {bad} is corrupt: Expecting property name enclosed in double quotes: line 1 column 2\n"
    assert bad.read_bytes() == b"{not json" and api.requests() == []


def test_old_version_file_is_upgraded_on_resume(api, home, tmp_path):
    session = tmp_path / "old.json"
    old = {"format": "gemini-cli.conversation", "version": 0, "id": "c0ld", "title": "Capital of France?",
           "created": "2025-01-01T00:00:00.000Z", "updated": "2025-01-01T00:00:00.000Z", "model": MODEL,
           "system_instruction": None, "generation_config": {}, "tools": [], "response_format": None,
           "messages": [{"interaction_id": "v1_turn1", "status": "completed", "created": "2025-01-01T00:00:00.000Z",
                         "input": [USER1], "output": TURN1_STEPS, "usage": None}]}
    session.write_text(json.dumps(old))
    assert second_turn(api, ["--session", str(session)]) == server_body("v1_turn1")
    data = json.loads(session.read_text())
    assert (data["version"], data["store"], "messages" in data) == (1, True, False)
    assert [t["steps"] for t in data["turns"]] == [TURN1_STEPS, [
        {"type": "thought", "signature": "c2lnbmF0dXJlLWJ5dGVz+/=="},
        {"type": "model_output", "content": [{"type": "text", "text": "Berlin."}]}]]
    assert mode(session) == 0o600


# -- permissions, -o json -------------------------------------------------------------------------------


def test_new_files_are_private(api, home, tmp_path):
    os.umask(0o022)
    api.stream(text_events("ok"))
    assert run(["generate", "hi"]).exit_code == 0
    (path,) = conversations(home)
    assert (mode(path.parent), mode(path)) == (0o700, 0o600)
    session = tmp_path / "new" / "deeper" / "s.json"
    api.stream(text_events("ok"))
    assert run(["generate", "--session", str(session), "hi"]).exit_code == 0
    assert (mode(session.parent.parent), mode(session.parent), mode(session)) == (0o700, 0o700, 0o600)
    assert os.listdir(session.parent) == ["s.json"]
    assert mode(home / "conversations" / ".sessions.json") == 0o600


def test_json_output_names_the_conversation(api, home, tmp_path):
    api.stream(text_events("ok"))
    result = run(["generate", "-o", "json", "--session", str(tmp_path / "s.json"), "hi"])
    got = json.loads(result.stdout)["conversation"]
    assert got == {"id": store.load(tmp_path / "s.json").id, "path": str(tmp_path / "s.json")}
    api.stream(text_events("ok"))
    assert "conversation" not in json.loads(run(["generate", "-o", "json", "--no-save", "hi"]).stdout)


def test_every_generation_setting_survives_the_round_trip_through_a_saved_conversation(tmp_path):
    """request.body builds generation_config from settings and recovers the settings from a
    saved conversation with the same table: nothing is lost or renamed on the way back."""
    from dataclasses import fields

    from gemini_cli.request import body
    from gemini_cli.state.config import Settings
    from gemini_cli.state.conversation import Conversation

    settings = Settings(model="m", system="sys", temperature=0.5, top_p=0.9, seed=7, max_tokens=100,
                        stop=["END"], thinking="low", thoughts=True, store=False,
                        tools=[{"type": "google_search"}], response_format={"type": "text"})
    gen = body.generation_config(settings)
    assert gen == {"temperature": 0.5, "top_p": 0.9, "seed": 7, "max_output_tokens": 100,
                   "stop_sequences": ["END"], "thinking_level": "low", "thinking_summaries": "auto"}
    store.save(tmp_path / "c.json", Conversation.new(
        settings.model, settings.store, settings.system, gen, settings.tools, settings.response_format))
    conv = store.load(tmp_path / "c.json")
    back = body.remembered(conv)
    assert set(back) <= {f.name for f in fields(Settings)}
    assert back == {key: getattr(settings, key) for key in back}
    assert set(back) >= set(body.GENERATION_FIELDS) | {"model", "system", "store", "thoughts", "tools", "response_format"}
    assert body.remembered(None) == {}
