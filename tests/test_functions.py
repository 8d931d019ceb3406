"""Declaring local functions: --function NAME=COMMAND, --functions FILE and the functions:
mapping of a config, profile or template, checked before anything is sent (exit 2, the
function named), and the argv a call's arguments fill in."""

from __future__ import annotations

import pytest

from gemini_cli.errors import ExitCode, UsageError
from gemini_cli.request.functions import (ArgumentProblem, FunctionSpec, argv_for, combine, functions_from_mapping,
                                          load_functions_file, parse_function_flag)


def refused(call, *args) -> str:
    with pytest.raises(UsageError) as caught:
        call(*args)
    assert caught.value.exit_code == ExitCode.USAGE
    return caught.value.message


# --- --function NAME=COMMAND ---------------------------------------------------------------

def test_a_placeholder_inside_a_word_declares_a_required_string_parameter():
    spec = parse_function_flag("weather=curl -s wttr.in/{city}?format=3")
    assert spec.run == ("curl", "-s", "wttr.in/{city}?format=3")
    assert spec.declaration() == {
        "type": "function", "name": "weather", "description": "Runs the local command `curl`.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
    assert argv_for(spec, {"city": "New York; touch pwned"}) == ["curl", "-s", "wttr.in/New York; touch pwned?format=3"]


def test_typed_placeholders_give_json_types_in_order_of_first_use():
    spec = parse_function_flag("f=tool {n:int} {x:number} {on:bool} {s:str} {n:int} {plain}")
    assert spec.parameters == {
        "type": "object",
        "properties": {"n": {"type": "integer"}, "x": {"type": "number"}, "on": {"type": "boolean"},
                       "s": {"type": "string"}, "plain": {"type": "string"}},
        "required": ["n", "x", "on", "s", "plain"]}
    assert argv_for(spec, {"n": 5.0, "x": 2.5, "on": True, "s": "a b", "plain": "'q'"}) == \
        ["tool", "5", "2.5", "true", "a b", "5", "'q'"]


def test_the_command_is_split_like_a_shell_line_and_other_braces_stay():
    spec = parse_function_flag("""log=git log -n {n:int} --format='%h {x} %s' "jq {a: .b}" """)
    assert spec.run == ("git", "log", "-n", "{n:int}", "--format=%h {x} %s", "jq {a: .b}")
    assert argv_for(spec, {"n": 3, "x": "$(id)"}) == ["git", "log", "-n", "3", "--format=%h $(id) %s", "jq {a: .b}"]
    assert parse_function_flag("now=date").parameters == {"type": "object", "properties": {}}


def test_a_missing_argument_is_an_argument_problem():
    with pytest.raises(ArgumentProblem, match="'city' is missing"):
        argv_for(parse_function_flag("w=curl {city}"), {})


@pytest.mark.parametrize("flag, message", [
    ("weather", "give NAME=COMMAND"),
    ("=curl x", "give NAME=COMMAND"),
    ("w=", "--function w: the command is empty"),
    ("w=curl 'x", "--function w: cannot split the command line: No closing quotation"),
    ("w=curl {n:float}", "--function w: the placeholder {n:float} has an unknown type (known: str, int, number, bool)"),
    ("w=curl {n:int} {n:bool}", "--function w: the placeholder {n} is given two types"),
    ("9lives=date", "--function 9lives: the API would refuse the name '9lives' (it must start with a letter or _"),
    ("my tool=date", "--function my tool: the API would refuse the name 'my tool'"),
    ("ünï=date", "the API would refuse the name 'ünï'"),
    ("a" * 65 + "=date", "longer than 64 characters"),
])
def test_bad_flags_are_refused_naming_the_function(flag, message):
    assert message in refused(parse_function_flag, flag)


def test_names_the_api_takes():
    for name in ("_x", "get.weather", "ns:tool", "a-b_c9", "a" * 64):
        assert parse_function_flag(f"{name}=date").name == name


# --- --functions FILE and mappings -----------------------------------------------------------

FILE = """\
functions:
  forecast:
    description: The weather forecast for a city
    parameters:
      type: object
      properties:
        city: {type: string, description: a city name}
        days: {type: integer}
      required: [city]
    run: [curl, -s, "wttr.in/{city}?format=3"]
  notes:
    description: Append a note
    stdin: true
    confirm: true
    run: ./append-note --json
    cwd: notes
    env: [NOTES_TOKEN]
    timeout: 5
    max_output: 1000
  count:
    shell: true
    run: 'wc -l "$1"'
    parameters: {type: object, properties: {path: {type: string}}}
  short: date -u
"""


def test_a_functions_file_declares_every_entry(tmp_path):
    path = tmp_path / "tools.yaml"
    path.write_text(FILE)
    forecast, notes, count, short = load_functions_file(path)
    where = f"--functions file {path}"
    assert forecast == FunctionSpec(
        name="forecast", run=("curl", "-s", "wttr.in/{city}?format=3"), description="The weather forecast for a city",
        parameters={"type": "object", "properties": {"city": {"type": "string", "description": "a city name"},
                                                     "days": {"type": "integer"}}, "required": ["city"]},
        source=where)
    assert notes == FunctionSpec(name="notes", run=("./append-note", "--json"), description="Append a note",
                                 stdin=True, confirm=True, cwd=str(tmp_path / "notes"), env=("NOTES_TOKEN",),
                                 timeout=5.0, max_output=1000, source=where)
    assert notes.parameters == {"type": "object", "properties": {}}
    assert (count.shell, count.run) == (True, ('wc -l "$1"',))
    assert argv_for(count, {"path": "a b; rm x"}) == ["sh", "-c", 'wc -l "$1"', "count", "a b; rm x"]
    assert argv_for(count, {}) == ["sh", "-c", 'wc -l "$1"', "count", ""]
    assert short.run == ("date", "-u")


def test_a_config_mapping_is_read_the_same_way_with_its_source_in_messages():
    [spec] = functions_from_mapping({"log": {"run": "git log -n {n:int}"}}, "profile work")
    assert (spec.source, spec.parameters["properties"]) == ("profile work", {"n": {"type": "integer"}})
    assert refused(functions_from_mapping, {"log": {"run": 5}}, "profile work") == \
        "profile work: function 'log': `run` must be a command line or a non-empty list of strings, got int"
    assert refused(functions_from_mapping, ["log"], "template t") == \
        "template t: `functions` must be a mapping of names to entries, got a list"


@pytest.mark.parametrize("entry, message", [
    ({"run": "x", "colour": "red"}, "unknown key(s) colour"),
    ({"description": "no command"}, "has no `run`"),
    ({"run": []}, "`run` must be a command line or a non-empty list of strings, got a list"),
    ({"run": ["x", True]}, "`run` must be"),
    ({"run": "x", "shell": "yes"}, "`shell` must be true or false, got a string"),
    ({"run": ["x"], "shell": True}, "with shell: true, `run` is the script"),
    ({"run": "x", "description": 3}, "`description` must be a str, got int"),
    ({"run": "x", "env": "A=B"}, "`env` must be a list of variable names"),
    ({"run": "x", "env": [1]}, "`env` must be a list of variable names"),
    ({"run": "x", "timeout": 0}, "`timeout` must be a number of seconds above 0"),
    ({"run": "x", "timeout": True}, "`timeout` must be"),
    ({"run": "x", "max_output": 1.5}, "`max_output` must be a whole number of bytes above 0"),
    ({"run": "x", "confirm": 1}, "`confirm` must be true or false, got int"),
    ({"run": "x", "parameters": {"type": "string"}}, "`parameters` must be a JSON Schema with type: object"),
    ({"run": "x", "parameters": ["a"]}, "`parameters` must be a JSON Schema with type: object"),
    ({"run": "x", "parameters": {"type": "object", "properties": {"a": {"type": "text"}}}},
     "parameters.properties.a has the unknown type 'text'"),
    ({"run": "x", "parameters": {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "int"}}}}},
     "parameters.properties.a.items has the unknown type 'int'"),
    ({"run": "x", "parameters": {"type": "object", "properties": {"a": {"$ref": "#/$defs/a"}}}},
     "parameters.properties.a uses $ref, which the API does not take"),
    ({"run": "x", "parameters": {"type": "object", "properties": ["a"]}}, "parameters.properties must be a mapping"),
    ({"run": "x", "parameters": {"type": "object", "properties": {}, "additionalProperties": False}},
     "parameters uses additionalProperties, which the API does not take"),
    ({"run": "x", "parameters": {"type": "object", "properties": {"a": {"const": 1}}}},
     "parameters.properties.a uses const, which the API does not take (use enum: [VALUE])"),
    ({"run": "x", "parameters": {"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}}},
     "parameters.properties.a uses oneOf, which the API does not take (use anyOf)"),
    ({"run": "x", "parameters": {"type": "object", "properties": {"a": {"type": "string", "format": "email"}}}},
     "parameters.properties.a has the format 'email', which the API does not know for its type (string: date, "
     "date-time, enum, time; number: double, float; integer: int32, int64)"),
    ({"run": "x", "parameters": {"type": "object", "required": "a"}}, "`parameters` is not a valid JSON Schema"),
    ({"run": "x {a}", "parameters": {"type": "object", "properties": {}}}, "the placeholder {a} is not among its parameters"),
    ({"run": "x {a:int}", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}},
     "the placeholder {a} says integer, its parameter says string"),
    (["x"], "must be a mapping (description, parameters, run, ...), got a list"),
])
def test_bad_entries_are_refused_naming_the_function(entry, message):
    text = refused(functions_from_mapping, {"tool": entry}, "config file c.yaml")
    assert text.startswith("config file c.yaml: function 'tool'")
    assert message in text


def test_a_type_named_property_is_a_property_not_a_type():
    schema = {"type": "object", "properties": {"type": {"type": "string"}, "items": {"type": "integer"}}}
    [spec] = functions_from_mapping({"t": {"run": "x {type}", "parameters": schema}}, "s")
    assert spec.parameters == schema


@pytest.mark.parametrize("text, message", [
    ("functions: [a]\n", "`functions` must be a mapping of names to entries, got a list"),
    ("tools: {}\n", "the top level must be one `functions:` mapping (found ['tools'])"),
    ("- a\n", "the top level must be one `functions:` mapping (found list)"),
    ("functions: {a: [\n", "is not valid YAML"),
    ("functions: {1: date}\n", "function '1': the API would refuse the name '1'"),
])
def test_bad_files_are_refused(tmp_path, text, message):
    path = tmp_path / "f.yaml"
    path.write_text(text)
    assert message in refused(load_functions_file, path)


def test_an_unreadable_file_is_refused(tmp_path):
    assert refused(load_functions_file, tmp_path / "nope.yaml") == \
        f"cannot read --functions file {tmp_path / 'nope.yaml'}: No such file or directory"


# --- combining sources ---------------------------------------------------------------------

def test_a_name_twice_in_one_layer_is_refused_and_a_later_layer_replaces_an_earlier_one():
    config = functions_from_mapping({"w": "curl a", "d": "date"}, "config file c.yaml")
    flags = [parse_function_flag("w=curl b")]
    chosen = combine([config, flags])
    assert [(s.name, s.run, s.source) for s in chosen] == [("w", ("curl", "b"), "--function"), ("d", ("date",), "config file c.yaml")]
    assert refused(combine, [flags + [parse_function_flag("w=curl c")]]) == "function 'w' is declared twice (--function)"
    assert refused(combine, [config + flags]) == "function 'w' is declared twice (config file c.yaml and --function)"


def test_a_schema_within_the_api_subset_is_taken():
    from gemini_cli.request.functions import check_parameters

    check_parameters({"type": "object", "required": ["when"], "properties": {
        "when": {"type": "string", "format": "date-time", "description": "an instant"},
        "n": {"type": "integer", "format": "int64", "minimum": 0, "nullable": True},
        "tags": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "number"}]}, "maxItems": 3},
        "mode": {"type": "string", "enum": ["a", "b"], "default": "a"}}}, "function f")
