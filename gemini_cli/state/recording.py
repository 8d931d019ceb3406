"""Which cassette this run uses: --record / --replay (root options) or GEMINI_CLI_RECORD /
GEMINI_CLI_REPLAY. Chosen once by the root command and kept on the run's I/O context
(render/context.py); read where the key is demanded and where the HTTP client is opened.
The cassette itself lives in api/cassette.py (recording) and api/replay.py, opened lazily so
that start-up imports nothing for it.
"""

from __future__ import annotations

from typing import Any

from gemini_cli.errors import UsageError
# api/replay.py and api/cassette.py are imported inside open(), with --replay or --record only:
# they load httpx (~85 ms of every start-up, --version included).


class RunCassette:
    def __init__(self, record: str | None = None, replay: str | None = None):
        if record and replay:
            raise UsageError("give --record or --replay (GEMINI_CLI_RECORD or GEMINI_CLI_REPLAY), not both")
        self.record, self.replay = record or None, replay or None
        # The open cassette (api.cassette.Recording or Replay), shared by every client of the
        # run: a replay hands out each recorded exchange once, whichever client asks.
        self.active: Any = None

    def in_use(self) -> bool:
        return bool(self.record or self.replay)

    def replaying(self) -> bool:
        return bool(self.replay)

    def open(self, secrets: list[str]) -> Any:
        """The run's cassette (opened on first use), or None without --record / --replay."""
        if self.active is None and self.replay:
            from gemini_cli.api.replay import Replay

            self.active = Replay(self.replay)
        elif self.active is None and self.record:
            from gemini_cli.api.cassette import Recording

            self.active = Recording(self.record)
        if self.active is not None:
            self.active.secrets.update(s for s in secrets if s and len(s) >= 4)
        return self.active

    def close(self) -> None:
        if self.active is not None:
            self.active.close()
            self.active = None
