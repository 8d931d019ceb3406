"""Which cassette this run uses: --record / --replay (root options) or GEMINI_CLI_RECORD /
GEMINI_CLI_REPLAY. Set once by the root command; read where the key is demanded and where
the HTTP client is opened. The cassette itself lives in api/cassette.py (recording) and
api/replay.py, opened lazily so that start-up imports nothing for it.
"""

from __future__ import annotations

from typing import Any

record: str | None = None
replay: str | None = None
# The open cassette (api.cassette.Recording or Replay), shared by every client of the run:
# a replay hands out each recorded exchange once, whichever client asks.
active: Any = None


def configure(record_path: str | None, replay_path: str | None) -> None:
    global record, replay, active
    from gemini_cli.errors import UsageError

    if record_path and replay_path:
        raise UsageError("give --record or --replay (GEMINI_CLI_RECORD or GEMINI_CLI_REPLAY), not both")
    if active is not None:
        active.close()
    record, replay, active = record_path or None, replay_path or None, None


def in_use() -> bool:
    return bool(record or replay)


def replaying() -> bool:
    return bool(replay)


def cassette(secrets: list[str]) -> Any:
    """The run's cassette (opened on first use), or None without --record / --replay."""
    global active
    if active is None and replay:
        from gemini_cli.api.replay import Replay

        active = Replay(replay)
    elif active is None and record:
        from gemini_cli.api.cassette import Recording

        active = Recording(record)
    if active is not None:
        active.secrets.update(s for s in secrets if s and len(s) >= 4)
    return active
