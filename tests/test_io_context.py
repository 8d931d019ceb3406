"""The I/O context (render/context.py): a turn driven in-process over fake byte streams, and
what used to be process-wide (quiet, the secrets to redact) kept per invocation."""

from __future__ import annotations

import io

from conftest import API_KEY, run_checked as run, text_events
from gemini_cli.render.context import IOContext
from gemini_cli.render.output import Console
from gemini_cli.state import apikey, config

MODEL = "gemini-3-flash-preview"


def byte_streams(stdin: bytes = b"") -> tuple[IOContext, io.BytesIO, io.BytesIO]:
    """An IOContext over UTF-8 text wrappers of BytesIO, and the two output byte buffers."""
    out, err = io.BytesIO(), io.BytesIO()
    context = IOContext(io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"),
                        io.TextIOWrapper(out, encoding="utf-8", write_through=True),
                        io.TextIOWrapper(err, encoding="utf-8", write_through=True))
    return context, out, err


def test_a_turn_runs_in_process_over_fake_streams(api, home, capsys):
    from gemini_cli.cli.invocation import turn_renderer
    from gemini_cli.runs.pipeline import run_turn
    from gemini_cli.runs.session import Resume, open_session

    api.stream(text_events("Grüß ", "dich.", thought="Pondering", interaction_id="v1_io"))
    context, out, err = byte_streams()
    settings = config.resolve({"usage": True, "thoughts": True}, io=context)
    console = Console(quiet=settings.quiet, io=context)
    session = open_session(settings, Resume(), console)
    try:
        outcome = run_turn(settings, session, "hi", [], None, key=API_KEY, console=console,
                           renderer_for=turn_renderer(console))
    finally:
        session.close()
    assert outcome.error is None and outcome.result["id"] == "v1_io"
    assert out.getvalue() == "Grüß dich.\n".encode()
    assert err.getvalue() == b"Pondering\nusage: 5 input, 7 output, 3 thought, 15 total tokens\n"
    assert api.bodies() == [{"model": MODEL, "input": "hi", "generation_config": {"thinking_summaries": "auto"},
                             "stream": True}]
    assert capsys.readouterr() == ("", "")  # nothing went to the process's own streams


def test_warnings_and_quiet_belong_to_the_context(home, capsys):
    (home / "config.yaml").write_text("retry_delay: 0.01\ncolour: red\n")
    context, _, err = byte_streams()
    config.resolve({}, io=context)
    assert (context.quiet, err.getvalue()) == (
        False, f"gemini-cli: warning: config file {home / 'config.yaml'}: unknown setting 'colour' ignored\n".encode())
    quiet, _, quiet_err = byte_streams()
    config.resolve({"quiet": True}, io=quiet)
    assert (quiet.quiet, quiet_err.getvalue(), context.quiet) == (True, b"", False)
    assert capsys.readouterr() == ("", "")


def test_a_key_from_the_config_file_is_a_secret_of_its_invocation_only(home, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    (home / "config.yaml").write_text("retry_delay: 0.01\napi_key: cfg-key-0123456789\n")
    (home / "config.yaml").chmod(0o600)
    context, _, err = byte_streams()
    assert apikey.get(context) == "cfg-key-0123456789"
    assert context.secrets == {"cfg-key-0123456789"}
    assert apikey.source_of(context, "cfg-key-0123456789") == f"api_key in {home / 'config.yaml'}"
    Console(io=context).error("the server said: bad key cfg-key-0123456789")
    assert err.getvalue() == b"gemini-cli: error: the server said: bad key <redacted>\n"
    other, _, _ = byte_streams()
    assert (other.secrets, apikey.source_of(other, "cfg-key-0123456789")) == (set(), None)


def test_quiet_in_one_invocation_does_not_silence_the_next(api, home):
    """Each in-process run builds its own context: `-q` used to stay set for the next run."""
    templates = home / "templates"
    templates.mkdir()
    (templates / "t.yaml").write_text("prompt: hi\ncolour: red\n")
    assert run(["generate", "--dry-run", "-q", "x"]).exit_code == 0
    result = run(["generate", "--dry-run", "-t", "t"])
    assert (result.exit_code, result.stderr) == (
        0, f"gemini-cli: warning: template {templates / 't.yaml'}: unknown field 'colour' ignored\n")


def test_a_closed_stderr_drops_notes_and_warnings_instead_of_failing_the_run():
    out = io.StringIO()
    context = IOContext(io.StringIO(), out, None)  # `2>&-`
    console = Console(quiet=False, io=context)
    console.note("a note")
    console.warn("a warning")
    context.warn("another")
    context.error("an error")
    assert out.getvalue() == ""
