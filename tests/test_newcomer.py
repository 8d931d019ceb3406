"""What a new user types first: `gemini-cli PROMPT`, misplaced root options, and the help."""

from __future__ import annotations

import re

import pytest

from conftest import run, text_events


@pytest.mark.parametrize("args, model, text", [
    (["How does AI work?"], "gemini-3-flash-preview", "How does AI work?"),
    (["hello"], "gemini-3-flash-preview", "hello"),  # one word, close to no command
    (["-m", "pro", "hi"], "gemini-3.1-pro-preview", "hi"),
    (["--debug", "--thinking", "low", "hi"], "gemini-3-flash-preview", "hi"),
])
def test_a_first_argument_that_is_not_a_command_runs_generate(api, args, model, text):
    api.stream(text_events("ok"))
    result = run(args)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok\n", "")
    body = api.bodies()[0]
    assert (body["model"], body["input"]) == (model, text)


@pytest.mark.parametrize("word, suggestion", [("chta", "chat"), ("hist", "history"), ("gnerate", "generate")])
def test_a_word_close_to_a_command_still_gets_did_you_mean(httpserver, word, suggestion):
    result = run([word])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"gemini-cli: error: no such command: {word}; did you mean {suggestion}? (see gemini-cli --help)\n"
    assert httpserver.log == []


@pytest.mark.parametrize("words, shown", [(["help"], "Usage: gemini-cli [OPTIONS] COMMAND"),
                                          (["help", "history", "list"], "Usage: gemini-cli history list [OPTIONS]"),
                                          (["version"], "gemini-cli 0.1.0")])
def test_help_and_version_as_words_are_not_prompts(httpserver, words, shown):
    result = run(words)
    assert result.exit_code == 0 and result.stderr == ""
    assert shown in result.stdout
    assert httpserver.log == []


def test_a_word_after_generate_is_the_prompt_even_help(api):
    api.json({"id": "i1", "status": "completed",
              "steps": [{"type": "model_output", "content": [{"type": "text", "text": "ok"}]}]})
    result = run(["generate", "--no-stream", "help"])
    assert (result.exit_code, result.stdout) == (0, "ok\n")
    assert api.bodies()[0]["input"] == "help"


@pytest.mark.parametrize("option, value", [("--record", "F"), ("--replay", "F"), ("--debug", None)])
def test_a_root_option_after_the_command_says_where_it_goes(option, value):
    result = run(["generate", option] + ([value] if value else []) + ["hi"])
    shown = f"{option} FILE" if value else option
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"gemini-cli: error: generate: no such option: {option}; {option} is an option of "
                             f"gemini-cli itself: it goes before the command (gemini-cli {shown} generate ...) "
                             "(see gemini-cli generate --help)\n")


def test_an_option_generate_does_not_know_is_the_roots_error():
    result = run(["--bogus", "hi"])
    assert (result.exit_code, result.stderr) == (2, "gemini-cli: error: no such option: --bogus (see gemini-cli --help)\n")


# -- help texts ------------------------------------------------------------------------------

HELP_ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


def help_of(*command: str) -> str:
    result = run([*command, "--help"], env=HELP_ENV)
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("command, example", [
    ("generate", 'gemini-cli generate "How does AI work?"'),
    ("chat", "gemini-cli chat -m pro --thinking high"),
    ("batch", "gemini-cli batch reviews.csv --prompt-column text -o out.jsonl -j 16"),
])
def test_generate_chat_and_batch_help_end_with_examples(command, example):
    text = help_of(command)
    assert "Examples:" in text and example in text
    last_panel = text.rindex("╰")
    assert text.index("Examples:") > last_panel  # after every option panel: the help ends with them
    assert example in text[last_panel:]


def test_prompt_and_input_are_described():
    assert "PROMPT is the text to send; piped stdin is read too" in help_of("generate")
    assert "INPUT is a file of rows or - (stdin)" in help_of("batch")


def test_completion_help_names_the_shells():
    assert "Usage: gemini-cli completion [OPTIONS] bash|zsh|fish" in help_of("completion")


def test_batch_help_has_no_swallowed_default_no_attach_stdin_and_no_history_resend():
    text = " ".join(help_of("batch").split())
    assert "CSV column with the prompt (default: prompt)." in text
    assert "CSV column with the row id (default: id, if there is one; else the line number)." in text
    assert "Attach a file, URL or Files API name/uri to every row's request" in text
    assert "binary stdin" not in text and "resend the whole history" not in text
    assert "send `store: false`" in text


@pytest.mark.parametrize("command", [("generate",), ("chat",), ("batch",), ("models",), ("demo",), ("config", "set-key"),
                                     ("completion",), ("history",), ("files",), ("upload",)])
def test_help_texts_have_no_stray_markup(command):
    text = help_of(*command)
    assert not re.search(r"\w \.(?:\s|$)", text, re.M)  # a [tag] rich swallowed leaves "word ."
    assert "[/" not in text and "\x1b[" not in text
    assert "[default: " not in text.split("Options")[0]


def test_chat_help_lists_every_thinking_level():
    from gemini_cli.cli.repl import help_text
    from gemini_cli.state.configfile import THINKING_LEVELS

    line = next(line for line in help_text().splitlines() if line.strip().startswith("/thinking"))
    assert all(level in line for level in THINKING_LEVELS)


def test_the_readme_names_every_generate_flag_chat_does_not_take():
    import re
    from pathlib import Path

    import typer.main

    from gemini_cli.app import app

    import click

    cli = typer.main.get_command(app)
    ctx = click.Context(cli)
    names = {name: {opt for p in cli.get_command(ctx, name).params for opt in getattr(p, "opts", [])}
             for name in ("generate", "chat")}
    missing = {opt for opt in names["generate"] - names["chat"] if opt.startswith("--")}
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme[readme.index("### `gemini-cli chat`"):]
    paragraph = section[:section.index("\n\n", section.index("An interactive REPL"))]
    said = set(re.findall(r"--[a-z][a-z-]*", paragraph))
    assert missing and missing <= said, sorted(missing - said)


def test_the_readme_says_what_markdown_does_with_list_and_quote_markers():
    from pathlib import Path

    from gemini_cli.render.markdown import render

    rendered = render("- item\n> quote\n")
    assert "•" in rendered and "│" in rendered and "- item" not in rendered
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "list and fence markers stay visible" not in readme
    assert "becomes\n`•`" in readme or "becomes `•`" in readme
