"""`gemini-cli demo`: a first answer without a key or a network, replayed from the recorded
exchange shipped in the package (gemini_cli/data/demo.jsonl, written by
tests/data/make_demo_cassette.py).

A command of its own rather than `--replay PATH`: a newcomer cannot know where pip put the
file, and the user's config (a model, a system instruction) must not change the request,
which would then match nothing in the cassette. The answer streams through the same code as
`generate` (client, SSE decoding, rendering); nothing is saved to the history.
"""

from __future__ import annotations

from gemini_cli.cli.invocation import io_context, turn_renderer
from gemini_cli.state.recording import RunCassette
# runs/ (httpx, ~130 ms), render/output.py (~5 ms) and importlib.resources (~3 ms) are imported
# inside the command: demo --help needs none of them.

DEMO_PROMPT = "How does AI work?"


def demo() -> None:
    """Replay a recorded answer to "How does AI work?": no API key, no network, nothing saved.

    The first thing to try after installing; then set a key with `gemini-cli config set-key`.
    """
    from importlib.resources import as_file, files

    from gemini_cli.render.output import Console
    from gemini_cli.runs.session import Resume, open_session
    from gemini_cli.state.config import Settings
    from gemini_cli.state.models import BUILTIN_ALIASES

    # The built-in defaults only: the request must be the recorded one, whatever the config says.
    settings = Settings(save=False, stdin=False, aliases=BUILTIN_ALIASES)
    io = io_context()
    console = Console(quiet=False, io=io)
    given = io.recording
    with as_file(files("gemini_cli") / "data" / "demo.jsonl") as cassette:
        io.recording = RunCassette(replay=str(cassette))  # replaces a --record or --replay given before `demo`
        conversation = open_session(settings, Resume(), console)
        try:
            from gemini_cli.runs.pipeline import run_turn

            outcome = run_turn(settings, conversation, DEMO_PROMPT, [], None, key=None, console=console,
                               renderer_for=turn_renderer(console))
        finally:
            conversation.close()
            io.recording.close()
            io.recording = given
    if outcome is not None and outcome.error is not None:
        raise outcome.error
