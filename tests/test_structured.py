"""Structured output: --schema JSON|@FILE and --json build `response_format`, the answer is
validated locally (exit 10 on a mismatch, the turn still saved), and the format is
remembered by the conversation."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import INTERACTION_ID, interaction, text_events
from conftest import run_checked as run
from gemini_cli.request import schema as structured
from gemini_cli.errors import UsageError

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
}
PERSON_TEXT = json.dumps(PERSON)
JSON_FORMAT = {"type": "text", "mime_type": "application/json"}
PERSON_FORMAT = {**JSON_FORMAT, "schema": PERSON}


def saved(path):
    return json.loads(path.read_text())


# -- the request ------------------------------------------------------------------------


def test_schema_inline_is_sent_as_response_format_and_a_valid_answer_passes(api, tmp_path):
    api.stream(text_events('{"name": "Ada", ', '"age": 36}'))
    session = tmp_path / "c.json"
    result = run(["generate", "--schema", PERSON_TEXT, "--session", str(session), "Who?"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, '{"name": "Ada", "age": 36}\n', "")
    assert api.bodies() == [{"model": "gemini-3-flash-preview", "input": "Who?", "response_format": PERSON_FORMAT,
                             "stream": True}]
    assert saved(session)["response_format"] == PERSON_FORMAT


def test_text_output_is_the_json_exactly_as_received(api):
    raw = '{\n  "name":"Ada",   "age" : 36 }\n'
    api.stream(text_events(raw[:7], raw[7:]))
    result = run(["generate", "--schema", PERSON_TEXT, "-o", "text", "Who?"])
    assert (result.exit_code, result.stdout) == (0, raw)


def test_schema_from_a_file(api, tmp_path):
    schema_file = tmp_path / "person.schema.json"
    schema_file.write_text(json.dumps(PERSON, indent=2))
    api.stream(text_events('{"name": "Ada", "age": 36}'))
    result = run(["generate", "--schema", f"@{schema_file}", "Who?"])
    assert result.exit_code == 0
    assert api.bodies()[0]["response_format"] == PERSON_FORMAT


def test_json_without_schema(api):
    api.stream(text_events('[1, 2, 3]'))
    result = run(["generate", "--json", "List"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "[1, 2, 3]\n", "")
    assert api.bodies()[0]["response_format"] == JSON_FORMAT


def test_dry_run_shows_response_format_and_sends_nothing(api):
    result = run(["generate", "--dry-run", "--json", "hi"])
    assert result.exit_code == 0
    assert json.loads(result.stdout.split("\n\n", 1)[1])["response_format"] == JSON_FORMAT
    assert api.requests() == []


# -- bad schemas: exit 2 before sending -----------------------------------------------------


@pytest.mark.parametrize("value, message", [
    ("{not json", "gemini-cli: error: --schema is not valid JSON: Expecting property name enclosed in double quotes: "
                  "line 1 column 2 (char 1) (give JSON text, or @FILE to read a file)\n"),
    ('"a string"', "gemini-cli: error: --schema must be a JSON object (a JSON Schema), got str\n"),
    ('{"type": "objekt"}', "gemini-cli: error: --schema is not a valid JSON Schema: 'objekt' is not valid under any "
                           "of the given schemas (at $.type)\n"),
    ('{"properties": {"a": {"minimum": "zero"}}}',
     "gemini-cli: error: --schema is not a valid JSON Schema: 'zero' is not of type 'number' "
     "(at $.properties.a.minimum)\n"),
])
def test_bad_schema_exits_2_before_sending(api, value, message):
    result = run(["generate", "--schema", value, "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)
    assert api.requests() == []


def test_unreadable_schema_file_exits_2(api, tmp_path):
    missing = tmp_path / "missing.json"
    result = run(["generate", "--schema", f"@{missing}", "hi"])
    assert (result.exit_code, result.stderr) == (2, f"gemini-cli: error: cannot read --schema file {missing}: No such file or directory\n")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    result = run(["generate", "--schema", f"@{bad}", "hi"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"gemini-cli: error: --schema file {bad} is not valid JSON: ")
    assert api.requests() == []


def test_schema_with_no_json_is_a_usage_error(api):
    result = run(["generate", "--schema", PERSON_TEXT, "--no-json", "hi"])
    assert (result.exit_code, result.stderr) == (2, "gemini-cli: error: --schema asks for JSON; it cannot be combined with --no-json\n")
    assert api.requests() == []


# -- validating the answer: exit 10, turn saved ---------------------------------------------------


def test_mismatch_prints_path_and_message_exits_10_and_saves_the_turn(api, tmp_path):
    answer = '{"name": "Ada", "age": "thirty-six"}'
    api.stream(text_events(answer))
    session = tmp_path / "c.json"
    result = run(["generate", "--schema", PERSON_TEXT, "--session", str(session), "Who?"])
    assert result.exit_code == 10
    assert result.stdout == answer + "\n"
    assert result.stderr == "gemini-cli: error: the answer does not match the schema: at $.age: 'thirty-six' is not of type 'integer'\n"
    turn = saved(session)["turns"][0]
    assert (turn["interaction_id"], turn["status"]) == (INTERACTION_ID, "completed")
    assert turn["steps"][-1]["content"] == [{"type": "text", "text": answer}]


def test_nested_path_and_error_count(api):
    schema = {"type": "object", "properties": {"items": {"type": "array", "items": {
        "type": "object", "properties": {"price": {"type": "number"}}, "required": ["price"]}}}}
    api.stream(text_events('{"items": [{"price": 1}, {"price": "2"}]}'))
    api.stream(text_events('{"items": [{"price": 1}, {"price": "2"}, {}]}'))
    result = run(["generate", "--schema", json.dumps(schema), "Prices"])
    assert result.exit_code == 10
    assert result.stderr == ("gemini-cli: error: the answer does not match the schema: at $.items[1].price: "
                             "'2' is not of type 'number'\n")
    result = run(["generate", "--schema", json.dumps(schema), "Prices"])
    assert result.exit_code == 10  # jsonschema's best_match picks the error to show
    assert result.stderr == ("gemini-cli: error: the answer does not match the schema: at $.items[2]: "
                             "'price' is a required property (and 1 more)\n")


def test_an_answer_that_is_not_json_exits_10(api):
    api.stream(text_events("Sure! Here is the JSON: {}"))
    result = run(["generate", "--json", "hi"])
    assert result.exit_code == 10
    assert result.stdout == "Sure! Here is the JSON: {}\n"
    assert result.stderr == ("gemini-cli: error: the answer is not valid JSON (Expecting value: line 1 column 1 (char 0)): "
                             "'Sure! Here is the JSON: {}'\n")


def test_empty_answer_is_not_json(api):
    api.stream(text_events())
    result = run(["generate", "--schema", PERSON_TEXT, "hi"])
    assert result.exit_code == 10
    assert result.stderr == ("gemini-cli: error: the answer is not valid JSON (Expecting value: line 1 column 1 (char 0)): "
                             "an empty answer\n")


def test_mismatch_in_json_output_mode_prints_an_error_document_with_the_steps(api):
    api.stream(text_events('{"name": 1}'))
    result = run(["generate", "--schema", PERSON_TEXT, "-o", "json", "hi"])
    assert result.exit_code == 10
    document = json.loads(result.stdout)
    assert "output_text" not in document
    assert document["error"]["code"] == "schema" and document["error"]["exit_code"] == 10
    assert document["steps"][-1]["content"] == [{"type": "text", "text": '{"name": 1}'}]
    assert document["conversation"]["id"]  # the turn was saved
    assert result.stderr == ("gemini-cli: error: the answer does not match the schema: at $: "
                             "'age' is a required property (and 1 more)\n")


def test_non_streamed_answer_is_validated_too(api):
    api.json(interaction('{"name": "Ada", "age": -1}'))
    result = run(["generate", "--no-stream", "--schema", PERSON_TEXT, "hi"])
    assert result.exit_code == 10
    assert result.stderr == "gemini-cli: error: the answer does not match the schema: at $.age: -1 is less than the minimum of 0\n"


def test_an_incomplete_answer_exits_9_not_10(api):
    api.stream(text_events('{"name": "Ad', status="incomplete"))
    result = run(["generate", "--schema", PERSON_TEXT, "hi"])
    assert result.exit_code == 9
    assert "incomplete" in result.stderr and "schema" not in result.stderr


def test_markdown_is_not_applied_to_json_answers(api, monkeypatch):
    monkeypatch.setattr("gemini_cli.render.context.IOContext.colour", lambda self, stream: True)
    api.stream(text_events('{"name": "**Ada**", "age": 1}'))
    result = run(["generate", "--json", "--markdown", "hi"])
    assert (result.exit_code, result.stdout) == (0, '{"name": "**Ada**", "age": 1}\n')


# -- remembered by the conversation ------------------------------------------------------


def test_response_format_is_remembered_resent_and_overridden(api, tmp_path):
    session = tmp_path / "c.json"
    for n in range(4):
        api.stream(text_events('{"name": "Ada", "age": 36}' if n < 3 else "plain", interaction_id=f"v1_{n}"))
    assert run(["generate", "--session", str(session), "--schema", PERSON_TEXT, "one"]).exit_code == 0
    assert run(["generate", "--session", str(session), "two"]).exit_code == 0
    assert saved(session)["response_format"] == PERSON_FORMAT
    assert run(["generate", "--session", str(session), "--json", "three"]).exit_code == 0
    assert saved(session)["response_format"] == JSON_FORMAT
    assert run(["generate", "--session", str(session), "--no-json", "four"]).exit_code == 0
    bodies = api.bodies()
    assert [b.get("response_format") for b in bodies] == [PERSON_FORMAT, PERSON_FORMAT, JSON_FORMAT, None]
    assert [b.get("previous_interaction_id") for b in bodies] == [None, "v1_0", "v1_1", "v1_2"]
    assert saved(session)["response_format"] is None


def test_remembered_schema_validates_later_turns(api, tmp_path):
    session = tmp_path / "c.json"
    api.stream(text_events('{"name": "Ada", "age": 36}'))
    api.stream(text_events('{"name": "Bob"}', interaction_id="v1_2"))
    assert run(["generate", "--session", str(session), "--schema", PERSON_TEXT, "one"]).exit_code == 0
    result = run(["generate", "--session", str(session), "two"])
    assert result.exit_code == 10
    assert result.stderr == "gemini-cli: error: the answer does not match the schema: at $: 'age' is a required property\n"
    assert [t["status"] for t in saved(session)["turns"]] == ["completed", "completed"]


def test_chat_validates_each_answer(api):
    api.stream(text_events('{"name": "Ada", "age": 36}'))
    api.stream(text_events("not json", interaction_id="v1_2"))
    result = run(["chat", "--no-save", "--schema", PERSON_TEXT], input="one\ntwo\n")
    assert result.exit_code == 10
    assert result.stdout == '{"name": "Ada", "age": 36}\nnot json\n'
    assert "gemini-cli: error: the answer is not valid JSON" in result.stderr
    assert [b["response_format"] for b in api.bodies()] == [PERSON_FORMAT, PERSON_FORMAT]


# -- units ---------------------------------------------------------------------------------


def test_load_schema_accepts_a_parsed_mapping_from_a_template():
    assert structured.load_schema(PERSON) is PERSON
    assert structured.load_schema(None) is None
    with pytest.raises(UsageError, match="not a valid JSON Schema"):
        structured.load_schema({"type": 3})


def test_response_format_precedence():
    remembered = {"type": "text", "mime_type": "application/json", "schema": {"type": "array"}}
    assert structured.response_format(None, None, remembered) is remembered
    assert structured.response_format(PERSON, None, remembered) == PERSON_FORMAT
    assert structured.response_format(None, True, remembered) == JSON_FORMAT
    assert structured.response_format(None, False, remembered) is None
    assert structured.json_format([{"type": "image"}, JSON_FORMAT]) == JSON_FORMAT
    assert structured.json_format({"type": "text", "mime_type": "text/plain"}) is None


def test_pointer():
    assert structured.pointer([]) == "$"
    assert structured.pointer(["a", 0, "b c", "d"]) == '$.a[0]["b c"].d'


def test_help_and_plain_turns_do_not_import_jsonschema():
    code = ("import sys\nfrom gemini_cli.app import main\nsys.argv = ['gemini-cli', 'generate', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jsonschema', 'httpx')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"


def test_chat_refuses_a_bad_schema_before_reading_messages(api):
    result = run(["chat", "--schema", "{oops"], input="hi\n")
    assert result.exit_code == 2
    assert result.stderr.startswith("gemini-cli: error: --schema is not valid JSON: ")
    assert api.requests() == []


def test_a_templates_schema_is_sent_and_validated_and_no_json_drops_it(api, tmp_path):
    template = tmp_path / "person.yaml"
    template.write_text("schema:\n  type: object\n  required: [name]\n")
    api.stream(text_events('{"age": 3}'))
    result = run(["generate", "-t", str(template), "Who?"])
    assert result.exit_code == 10
    assert result.stderr == "gemini-cli: error: the answer does not match the schema: at $: 'name' is a required property\n"
    assert api.bodies()[0]["response_format"] == {**JSON_FORMAT, "schema": {"type": "object", "required": ["name"]}}
    result = run(["generate", "--dry-run", "-t", str(template), "--no-json", "Who?"])
    assert result.exit_code == 0
    assert "response_format" not in json.loads(result.stdout.split("\n\n", 1)[1])
