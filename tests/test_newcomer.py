"""What a new user types first: `gemini-cli PROMPT`, misplaced root options, and the help."""

from __future__ import annotations

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
