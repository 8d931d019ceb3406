"""Prompt templates (-t/--template, -p/--param) and --stdin-position."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import text_events
from conftest import run_checked as run
from gemini_cli.request import templates
from gemini_cli.errors import UsageError

REVIEW = """\
description: Review a diff
system: You review {lang} code for {team}.
prompt: |
  Review this change:
  {input}
model: pro
temperature: 0.2
thinking: high
defaults:
  team: the platform team
"""


def add_template(home: Path, name: str, text: str) -> Path:
    folder = home / "templates"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def generate(args: list[str], input: str | None = None):
    return run(["generate", "--dry-run", *args], input=input)


def body_of(result) -> dict:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout.split("\n\n", 1)[1])


def test_named_template_with_input_params_and_settings(home):
    add_template(home, "review", REVIEW)
    result = generate(["-t", "review", "-p", "lang", "Go"], input="- old\n+ new\n")
    assert result.stderr == ""
    assert body_of(result) == {
        "model": "gemini-3.1-pro-preview",
        "input": "Review this change:\n- old\n+ new\n",
        "system_instruction": "You review Go code for the platform team.",
        "generation_config": {"temperature": 0.2, "thinking_level": "high"},
        "stream": True,
    }


def test_template_by_path_and_param_beats_default(home, tmp_path):
    path = tmp_path / "review.yaml"
    path.write_text(REVIEW)
    body = body_of(generate(["--template", str(path), "--param", "lang", "Rust", "--param", "team", "me", "the diff"]))
    assert body["system_instruction"] == "You review Rust code for me."
    assert body["input"] == "Review this change:\nthe diff\n"


def test_input_is_stdin_and_argument_combined(home):
    add_template(home, "review", REVIEW)
    body = body_of(generate(["-t", "review", "-p", "lang", "C", "only the tests"], input="DIFF\n"))
    assert body["input"] == "Review this change:\nDIFF\n\nonly the tests\n"
    body = body_of(generate(["-t", "review", "-p", "lang", "C", "--stdin-position", "after", "only the tests"], input="DIFF\n"))
    assert body["input"] == "Review this change:\nonly the tests\n\nDIFF\n"


def test_flags_beat_the_template(home):
    add_template(home, "review", REVIEW)
    body = body_of(generate(["-t", "review", "-m", "gemini-x", "-s", "Plain.", "--temperature", "1", "x"]))
    assert body == {
        "model": "gemini-x", "input": "Review this change:\nx\n", "system_instruction": "Plain.",
        "generation_config": {"temperature": 1.0, "thinking_level": "high"}, "stream": True,
    }


def test_template_beats_profile_and_file(home):
    (home / "config.yaml").write_text("temperature: 1.5\nprofiles:\n  p:\n    model: gemini-p\n    top_p: 0.5\n")
    add_template(home, "t", "model: gemini-t\ntemperature: 0.1\n")
    body = body_of(generate(["--profile", "p", "-t", "t", "hi"]))
    assert (body["model"], body["generation_config"]) == ("gemini-t", {"temperature": 0.1, "top_p": 0.5})


def test_missing_parameter_exits_2_naming_it(home):
    add_template(home, "review", REVIEW)
    result = generate(["-t", "review", "x"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "gemini-cli: error: template 'review' needs parameter 'lang': give it with -p lang VALUE\n"


def test_several_missing_parameters(home):
    add_template(home, "t", "prompt: '{a} {b} {c}'\ndefaults: {b: 1}\n")
    result = generate(["-t", "t"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "gemini-cli: error: template 't' needs parameters 'a', 'c': give each with -p NAME VALUE\n"


def test_literal_braces_are_doubled(home):
    add_template(home, "json", 'system: "Reply as {{\\"n\\": {n}}}."\nprompt: "Count to {n}: {{n}}"\n')
    body = body_of(generate(["-t", "json", "-p", "n", "3"]))
    assert (body["system_instruction"], body["input"]) == ('Reply as {"n": 3}.', "Count to 3: {n}")


def test_a_lone_brace_exits_2_with_its_place(home):
    path = add_template(home, "bad", "prompt: |\n  fine\n  a {b c} d\n")
    result = generate(["-t", "bad", "x"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"gemini-cli: error: template {path}: 'prompt' line 2, column 3: a lone '{{' "
                             "(placeholders are {name}; write {{ for a literal brace)\n")


def test_prompt_without_input_gets_the_input_appended(home):
    add_template(home, "t", "prompt: Translate to {lang}.\n")
    assert body_of(generate(["-t", "t", "-p", "lang", "French", "Hello"]))["input"] == "Translate to French.\n\nHello"
    assert body_of(generate(["-t", "t", "-p", "lang", "French"]))["input"] == "Translate to French."


def test_template_without_prompt_uses_the_input(home):
    add_template(home, "pirate", "system: Talk like a pirate.\n")
    body = body_of(generate(["-t", "pirate", "Hello"], input="Ahoy\n"))
    assert (body["system_instruction"], body["input"]) == ("Talk like a pirate.", "Ahoy\n\nHello")
    result = generate(["-t", "pirate"])
    assert (result.exit_code, result.stderr) == (
        2, "gemini-cli: error: template 'pirate' has no prompt: give PROMPT or pipe text on stdin\n")


def test_input_placeholder_needs_input(home):
    add_template(home, "review", REVIEW)
    result = generate(["-t", "review", "-p", "lang", "Go"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "gemini-cli: error: template 'review' needs input for {input}: give PROMPT or pipe text on stdin\n"


def test_input_is_not_a_parameter(home):
    add_template(home, "review", REVIEW)
    result = generate(["-t", "review", "-p", "lang", "Go", "-p", "input", "x", "y"])
    assert (result.exit_code, result.stderr) == (2, "gemini-cli: error: {input} is filled from PROMPT and stdin, not with -p\n")


def test_input_in_system_is_an_error(home):
    path = add_template(home, "t", "system: '{input}'\n")
    result = generate(["-t", "t", "x"])
    assert (result.exit_code, result.stderr) == (
        2, f"gemini-cli: error: template {path}: {{input}} can only be used in 'prompt', not in 'system'\n")


def test_param_without_template_exits_2(home):
    result = generate(["-p", "a", "b", "hi"])
    assert (result.exit_code, result.stderr) == (
        2, f"gemini-cli: error: --param a: no template to fill; give --template NAME too (no templates in {home / 'templates'})\n")
    add_template(home, "review", 'prompt: "Review {a}"\n')
    add_template(home, "fix", 'prompt: "Fix {a}"\n')
    result = generate(["-p", "a", "b", "-p", "c", "d", "-p", "a", "e", "hi"])
    assert (result.exit_code, result.stderr) == (
        2, "gemini-cli: error: --param a, c: no template to fill; give --template NAME too (templates: fix, review)\n")


def test_param_for_a_missing_template_names_it(home):
    result = generate(["-t", "revew", "-p", "a", "b", "hi"])
    assert result.exit_code == 2
    assert result.stderr.startswith("gemini-cli: error: unknown template 'revew': ")


def test_param_needs_two_values():
    result = generate(["-t", "x", "-p", "a"])
    assert result.exit_code == 2
    assert result.stderr == ("gemini-cli: error: option '-p' requires 2 arguments: -p/--param NAME VALUE fills a placeholder "
                             "of the --template; the prompt is the PROMPT argument\n")


def test_unused_parameter_is_a_warning(home):
    add_template(home, "t", "prompt: Hi {who}\n")
    result = generate(["-t", "t", "-p", "who", "you", "-p", "extra", "1"])
    assert body_of(result)["input"] == "Hi you"
    assert result.stderr == "gemini-cli: warning: parameter 'extra' is not used by template 't'\n"
    assert generate(["-q", "-t", "t", "-p", "who", "you", "-p", "extra", "1"]).stderr == ""


def test_unknown_template_lists_the_known_ones(home):
    add_template(home, "b", "prompt: b\n")
    (home / "templates" / "a.yml").write_text("prompt: a\n")
    result = generate(["-t", "c", "x"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: unknown template 'c': no {home / 'templates' / 'c.yaml'} (known: a, b)\n"
    assert body_of(generate(["-t", "a"]))["input"] == "a"  # .yml works too


def test_no_templates_folder(home):
    result = generate(["-t", "c", "x"])
    assert result.stderr == (f"gemini-cli: error: unknown template 'c': no {home / 'templates' / 'c.yaml'} "
                             f"(there are no templates in {home / 'templates'})\n")


def test_template_file_not_found(tmp_path):
    result = generate(["-t", str(tmp_path / "nope.yaml"), "x"])
    assert (result.exit_code, result.stderr) == (2, f"gemini-cli: error: template file {tmp_path / 'nope.yaml'} not found\n")


@pytest.mark.parametrize(
    "text, message",
    [
        ("temperature: hot\n", "'temperature' must be a number, got a string"),
        ("model: 3\n", "'model' must be a string, got an integer"),
        ("prompt: [a]\n", "'prompt' must be a string, got a list"),
        ("defaults: [a]\n", "'defaults' must be a mapping of parameter names to values, got a list"),
        ("defaults: {a: [1]}\n", "'defaults.a' must be a string or a number, got a list"),
        ("schema: 3\n", "'schema' must be a mapping, JSON text or @FILE, got an integer"),
        ("schema: '[1]'\n", "'schema' must be a JSON object"),
        ("- a\n", "expected a mapping of template fields at the top level"),
        ("prompt: 'a\n", "line 2, column 1: found unexpected end of stream"),
    ],
)
def test_bad_template_exits_2_naming_file_and_key(home, text, message):
    path = add_template(home, "bad", text)
    result = generate(["-t", "bad", "x"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: template {path}: {message}\n"


def test_unknown_template_field_is_a_warning(home):
    path = add_template(home, "t", "prompt: hi\ncolour: red\n")
    result = generate(["-t", "t"])
    assert body_of(result)["input"] == "hi"
    assert result.stderr == f"gemini-cli: warning: template {path}: unknown field 'colour' ignored\n"


def test_bad_template_name(home):
    result = generate(["-t", "a b", "x"])
    assert (result.exit_code, result.stderr) == (
        2, "gemini-cli: error: bad template name 'a b': use letters, digits, '_', '-' and '.', or give a path\n")


SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


@pytest.mark.parametrize("form", ["mapping", "json", "file"])
def test_template_schema_becomes_the_response_format(home, form):
    if form == "mapping":
        text = "schema:\n  type: object\n  properties: {n: {type: integer}}\n  required: [n]\n"
    elif form == "json":
        text = f"schema: '{json.dumps(SCHEMA)}'\n"
    else:
        (home / "templates").mkdir()
        (home / "templates" / "n.schema.json").write_text(json.dumps(SCHEMA))
        text = "schema: '@n.schema.json'\n"
    add_template(home, "n", "prompt: Pick a number.\n" + text)
    body = body_of(generate(["-t", "n"]))
    assert body["response_format"] == {"type": "text", "mime_type": "application/json", "schema": SCHEMA}


def test_template_on_chat_sets_system_model_and_settings(api, home):
    add_template(home, "review", REVIEW)
    api.stream(text_events("ok"))
    result = run(["chat", "--no-save", "-t", "review", "-p", "lang", "Go"], input="hi\n")
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert result.stderr == ("gemini-cli: warning: chat uses only the system, model and settings of template 'review', not its prompt\n"
                             "gemini-cli: generation_config.temperature is deprecated on the Interactions API "
                             "(google-genai 3.3.0); sent as asked\n")
    body = api.bodies()[0]
    assert (body["model"], body["system_instruction"], body["input"]) == (
        "gemini-3.1-pro-preview", "You review Go code for the platform team.", "hi")


# -- --stdin-position ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "position, expected",
    [
        (None, "piped text\n\nthe question"),
        ("before", "piped text\n\nthe question"),
        ("after", "the question\n\npiped text"),
    ],
)
def test_stdin_position(position, expected):
    args = ["--stdin-position", position] if position else []
    assert body_of(generate([*args, "the question"], input="piped text\n"))["input"] == expected


def test_stdin_position_input_replaces_the_placeholder():
    body = body_of(generate(["--stdin-position", "input", "Compare {input} with {input}."], input="X\n"))
    assert body["input"] == "Compare X with X."


def test_stdin_position_input_without_placeholder_exits_2():
    result = generate(["--stdin-position", "input", "no placeholder"], input="X\n")
    assert (result.exit_code, result.stderr) == (
        2, "gemini-cli: error: --stdin-position input: PROMPT has no {input} for the piped text to replace\n")


def test_stdin_position_input_without_stdin_exits_2():
    result = generate(["--stdin-position", "input", "about {input}"])
    assert (result.exit_code, result.stderr) == (
        2, "gemini-cli: error: --stdin-position input: PROMPT has {input} but nothing was piped on stdin\n")


@pytest.mark.parametrize("position", ["before", "after", "input"])
def test_stdin_position_with_one_source_only(position):
    assert body_of(generate(["--stdin-position", position, "just this"]))["input"] == "just this"
    assert body_of(generate(["--stdin-position", position], input="just that\n"))["input"] == "just that\n"


def test_bad_stdin_position():
    result = generate(["--stdin-position", "middle", "x"])
    assert result.exit_code == 2 and "middle" in result.stderr


# -- the module ------------------------------------------------------------------------------


def test_parse_and_render():
    parts = templates.parse("a {x} {{y}} {x}", "t", "prompt")
    assert parts == ["a ", templates.Field("x"), " ", "{", "y", "}", " ", templates.Field("x")]
    template = templates.Template(name="t", path=Path("t"), prompt=parts)
    assert template.render_prompt([("x", "1")], None) == "a 1 {y} 1"


@pytest.mark.parametrize("text, column", [("a }", 3), ("{x", 1), ("{1x}", 1), ("{ x }", 1)])
def test_parse_rejects_lone_braces(text, column):
    with pytest.raises(UsageError) as error:
        templates.parse(text, "t", "prompt")
    assert f"line 1, column {column}:" in error.value.message


def test_compose():
    assert templates.compose("", None) is None
    assert templates.compose("", "arg") == "arg"
    assert templates.compose("in\n", None) == "in\n"
    assert templates.compose("in\n\n", "arg", position="after") == "arg\n\nin"
