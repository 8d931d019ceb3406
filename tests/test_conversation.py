"""The conversation model: shape, round trip, validation, upgrades, history rules."""

from __future__ import annotations

import copy
import json
import re

import pytest

from gemini_cli.request.inputs import user_input_step
from gemini_cli.state import conversation as cv
from gemini_cli.state import loader
from gemini_cli.state.conversation import Conversation, Turn
from gemini_cli.state.loader import CorruptConversation, NewerVersion, conversation_from_dict
from gemini_cli.errors import ExitCode, UsageError

SIG = "EsQBCsEBAXLI2nx+f/q9Zk0=/aB+c2lnbmF0dXJl" * 5  # base64 with + / =, kept byte-exact


def user(text):
    return {"type": "user_input", "content": [{"type": "text", "text": text}]}


def answer(text, sig=SIG):
    return [{"type": "thought", "signature": sig},
            {"type": "model_output", "content": [{"type": "text", "text": text}]}]


def file_dict():
    """A version-1 file as written, with keys no current gemini-cli knows about."""
    return {
        "format": "gemini-cli.conversation", "version": 1, "id": "c0123456789ab", "title": "Hello there",
        "created": "2026-05-01T10:00:00.000Z", "updated": "2026-05-01T10:05:00.000Z",
        "model": "gemini-3-flash-preview", "store": False, "system_instruction": "Be brief.",
        "generation_config": {"temperature": 0.2, "thinking_level": "low"},
        "tools": [{"type": "google_search"}], "response_format": None,
        "turns": [
            {"interaction_id": "v1_a", "status": "completed", "created": "2026-05-01T10:00:01.000Z",
             "model": "gemini-3-flash-preview", "input": [user("Hello there\nsecond line")],
             "steps": [{"type": "thought", "signature": SIG, "summary": [{"type": "text", "text": "hm"}],
                        "future_field": {"x": [1, 2]}},
                       {"type": "model_output", "content": [{"type": "text", "text": "Hi ", "annotations": []},
                                                            {"type": "text", "text": "ünïcode ✓"}]}],
             "usage": {"total_tokens": 15}, "turn_extra": "kept"},
        ],
        "labels": {"team": "x"},
    }


# -- new / to_dict ----------------------------------------------------------------------


def test_new_fills_id_times_and_settings():
    conv = Conversation.new("m1", False, system_instruction="sys", generation_config={"seed": 1},
                            tools=[{"type": "url_context"}], response_format={"type": "text"})
    assert re.fullmatch(r"c[0-9a-f]{12}", conv.id)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", conv.created)
    assert conv.updated == conv.created
    d = conv.to_dict()
    assert list(d) == ["format", "version", "id", "title", "created", "updated", "model", "store",
                       "system_instruction", "generation_config", "tools", "response_format", "turns"]
    assert d["format"] == "gemini-cli.conversation" and d["version"] == cv.CURRENT_VERSION == 1
    assert (d["model"], d["store"], d["system_instruction"]) == ("m1", False, "sys")
    assert (d["generation_config"], d["tools"], d["response_format"]) == ({"seed": 1}, [{"type": "url_context"}], {"type": "text"})
    assert d["title"] == "" and d["turns"] == []
    assert conv.mode == "stateless" and Conversation.new("m", True).mode == "server"
    assert Conversation.new("m", True).id != conv.id


def test_add_turn_names_the_conversation_and_records_the_answer():
    conv = Conversation.new("m1", True)
    turn = conv.add_turn([user_input_step("\n  What is   the answer?  \nmore")])
    assert conv.title == "What is the answer?"
    assert (turn.status, turn.model, turn.interaction_id, turn.steps) == ("pending", "m1", None, [])
    turn.record({"id": "v1_x", "status": "completed", "usage": {"total_tokens": 3},
                 "steps": [user("What is the answer?")] + answer("42")})
    assert turn.interaction_id == "v1_x" and turn.status == "completed"
    assert turn.steps == answer("42")  # the echoed user_input step is not stored twice
    assert turn.usage == {"total_tokens": 3}
    conv.add_turn([user_input_step("another")], model="m2")
    assert conv.title == "What is the answer?"
    assert list(conv.turns[1].to_dict()) == ["interaction_id", "status", "created", "model", "input", "steps", "usage"]
    assert conv.turns[1].model == "m2"


def test_title_is_cut_to_80_characters():
    assert cv.make_title("x" * 80) == "x" * 80
    long = cv.make_title("word " * 40)
    assert len(long) == 80 and long.endswith("…")
    assert cv.make_title("   \n\n") == ""


# -- round trip -------------------------------------------------------------------------


def test_round_trip_keeps_unknown_keys_order_and_signatures():
    d = file_dict()
    original = json.dumps(d, indent=1, ensure_ascii=False)
    conv = conversation_from_dict(json.loads(original), source="f.json")
    assert conv.extra == {"labels": {"team": "x"}}
    assert conv.turns[0].extra == {"turn_extra": "kept"}
    assert conv.turns[0].steps[0]["signature"] == SIG
    assert json.dumps(conv.to_dict(), indent=1, ensure_ascii=False) == original


def test_from_dict_does_not_alias_the_callers_top_level():
    d = file_dict()
    before = copy.deepcopy(d)
    conv = conversation_from_dict(d)
    conv.title = "changed"
    conv.add_turn([user("x")])
    assert d == before


def test_optional_keys_get_defaults_and_turn_model_falls_back():
    d = {"format": "gemini-cli.conversation", "version": 1, "id": "cabc", "model": "m", "store": True,
         "turns": [{"status": "completed", "input": [user("q")], "steps": answer("a")}]}
    conv = conversation_from_dict(d)
    assert (conv.title, conv.created, conv.system_instruction, conv.generation_config, conv.tools,
            conv.response_format) == ("", "", None, {}, [], None)
    assert conv.turns[0].model == "m" and conv.turns[0].interaction_id is None and conv.turns[0].usage is None


# -- validation --------------------------------------------------------------------------


def mutate(path, value):
    d = file_dict()
    target = d
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return d


@pytest.mark.parametrize("path, value, problem", [
    (("format",), "other.format", "format is 'other.format', expected 'gemini-cli.conversation'"),
    (("version",), KeyError, "version is missing"),
    (("version",), "1", "version should be an integer, not a string"),
    (("version",), True, "version should be an integer, not true or false"),
    (("version",), -1, "version -1 is negative"),
    (("id",), 7, "id should be a string, not an integer"),
    (("id",), "", "id is empty"),
    (("store",), "yes", "store should be true or false, not a string"),
    (("model",), KeyError, "model is missing"),
    (("generation_config",), [], "generation_config should be an object or null, not a list"),
    (("response_format",), "json", "response_format should be an object or a list or null, not a string"),
    (("turns",), {}, "turns should be a list, not an object"),
    (("turns", 0), "hi", "turns[0] should be an object, not a string"),
    (("turns", 0, "status"), KeyError, "turns[0].status is missing"),
    (("turns", 0, "interaction_id"), 5, "turns[0].interaction_id should be a string or null, not an integer"),
    (("turns", 0, "steps"), None, "turns[0].steps should be a list, not null"),
    (("turns", 0, "steps", 1), "text", "turns[0].steps[1] should be a step object, not a string"),
    (("turns", 0, "input", 0), {"content": []}, 'turns[0].input[0] has no string "type"'),
    (("turns", 0, "usage"), 3.5, "turns[0].usage should be an object or null, not a number"),
])
def test_wrong_shapes_name_the_file_and_the_place(path, value, problem):
    with pytest.raises(CorruptConversation) as info:
        conversation_from_dict(mutate(path, value), source="/x/conv.json")
    assert info.value.problem == problem
    assert info.value.message == f"conversation file /x/conv.json is corrupt: {problem}"
    assert info.value.exit_code == ExitCode.USAGE and isinstance(info.value, UsageError)


def test_top_level_must_be_an_object():
    with pytest.raises(CorruptConversation, match=r"expected a JSON object at the top level, found a list"):
        conversation_from_dict([1], source="p")


def test_newer_version_is_refused_with_advice():
    with pytest.raises(NewerVersion) as info:
        conversation_from_dict(mutate(("version",), 2), source="/x/conv.json")
    assert info.value.message == (
        "conversation file /x/conv.json was written by a newer gemini-cli (format version 2; "
        "this one reads up to 1): upgrade gemini-cli to open it")
    assert info.value.exit_code == ExitCode.USAGE


# -- upgrades ------------------------------------------------------------------------------


def v0_dict():
    return {"format": "gemini-cli.conversation", "version": 0, "id": "c00", "title": "old", "created": "t0",
            "updated": "t1", "model": "gemini-2.5-flash", "system_instruction": None, "generation_config": {},
            "tools": [], "response_format": None, "custom": 1,
            "messages": [{"interaction_id": "v1_old", "status": "completed", "created": "t0",
                          "input": [user("hi")], "output": answer("hello"), "usage": None}]}


def test_version_0_is_upgraded_through_the_upgrades_table():
    d = v0_dict()
    before = copy.deepcopy(d)
    conv = conversation_from_dict(d, source="old.json")
    assert d == before  # the upgrade works on a copy
    assert conv.store is True and conv.extra == {"custom": 1}
    assert len(conv.turns) == 1
    turn = conv.turns[0]
    assert (turn.interaction_id, turn.model, turn.input, turn.steps) == ("v1_old", "gemini-2.5-flash", [user("hi")], answer("hello"))
    out = conv.to_dict()
    assert out["version"] == 1 and "messages" not in out and out["turns"][0]["steps"] == answer("hello")


def test_upgraded_data_is_validated_too():
    d = v0_dict()
    d["messages"][0]["output"] = "oops"
    with pytest.raises(CorruptConversation, match=r"turns\[0\]\.steps should be a list, not a string"):
        conversation_from_dict(d)


def test_a_gap_in_the_upgrade_chain_is_reported(monkeypatch):
    monkeypatch.setattr(loader, "UPGRADES", {})
    with pytest.raises(CorruptConversation, match="format version 0 is not one gemini-cli ever wrote"):
        conversation_from_dict(v0_dict())


def test_upgrade_steps_run_in_order(monkeypatch):
    seen = []
    monkeypatch.setattr(loader, "CURRENT_VERSION", 3)
    monkeypatch.setattr(loader, "UPGRADES", {
        1: lambda d: (seen.append(1), {**d, "version": 2})[1],
        2: lambda d: (seen.append(2), {**d, "version": 3, "title": "v3"})[1],
    })
    assert loader.upgrade({"version": 1}, 1) == {"version": 3, "title": "v3"}
    assert seen == [1, 2]


# -- history and text -----------------------------------------------------------------------


def make_history_conv():
    conv = Conversation.new("m", False)
    specs = [("v1_1", "completed"), ("v1_2", "failed"), ("v1_3", "requires_action"),
             ("v1_4", "completed"), ("v1_5", "interrupted"), ("v1_6", "incomplete"), (None, "pending")]
    for n, (iid, status) in enumerate(specs, 1):
        conv.add_turn([user(f"q{n}")], interaction_id=iid, status=status, steps=answer(f"a{n}", sig=f"s{n}"))
    return conv


def test_history_steps_keep_usable_turns_in_order_verbatim():
    conv = make_history_conv()
    expected = []
    for n in (1, 3, 4, 6):
        expected += [user(f"q{n}")] + answer(f"a{n}", sig=f"s{n}")
    assert conv.history_steps() == expected


def test_last_interaction_id_skips_unusable_turns():
    conv = make_history_conv()
    assert conv.last_interaction_id() == "v1_6"
    conv.turns[5].status = "cancelled"
    assert conv.last_interaction_id() == "v1_4"
    assert Conversation.new("m", True).last_interaction_id() is None


def test_text_helpers():
    conv = conversation_from_dict(file_dict())
    conv.add_turn([{"type": "user_input", "content": "bare string"},
                   {"type": "function_result", "call_id": "x", "result": "r"}],
                  steps=[{"type": "function_call", "id": "f", "name": "n", "arguments": {}}])
    assert conv.user_texts() == ["Hello there\nsecond line", "bare string"]
    assert cv.output_text(conv.turns[0]) == "Hi ünïcode ✓"
    assert cv.output_text(conv.turns[1]) == ""
    assert conv.model_texts() == ["Hi ünïcode ✓"]
    assert conv.contains_text("ÜNÏCODE") and conv.contains_text("BARE") and conv.contains_text("second LINE")
    assert not conv.contains_text("hm")  # thought summaries are not searched
    summary = conv.summary()
    assert summary == {"id": "c0123456789ab", "title": "Hello there", "created": "2026-05-01T10:00:00.000Z",
                       "updated": "2026-05-01T10:05:00.000Z", "model": "gemini-3-flash-preview", "turns": 2,
                       "mode": "stateless"}


def test_turn_defaults():
    t = Turn()
    assert (t.status, t.usable, t.to_dict()["usage"]) == ("pending", False, None)


def test_a_repeated_secret_is_not_called_malformed_data():
    from gemini_cli.state.conversation import ECHOED, record_warnings

    assert record_warnings([ECHOED]) == [
        "the answer repeats a secret (the API key or an MCP header value): saved as <redacted>"]
    assert record_warnings(["1 malformed step(s) (no string \"type\")", ECHOED]) == [
        "the answer repeats a secret (the API key or an MCP header value): saved as <redacted>",
        "the server sent malformed data, saved without it: 1 malformed step(s) (no string \"type\")"]
    assert record_warnings([]) == []
