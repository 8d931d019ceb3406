"""`jobs` on the terminal: the list's table rows, and `jobs wait`'s progress line.

The progress line is drawn on stderr only when it is a terminal (and not with -q): one
line rewritten in place with the state and counts, ended by a newline when the wait ends.
"""

from __future__ import annotations

from typing import Any

from gemini_cli.errors import one_line
from gemini_cli.render.output import Console
from gemini_cli.render.transcript import short_time

COLUMNS = ("NAME", "DISPLAY NAME", "STATE", "DONE", "FAILED", "TOTAL", "CREATED")


def row(job: dict[str, Any], state: str, counts: dict[str, int], meta: dict[str, Any]) -> tuple[str, ...]:
    return (
        str(job.get("name") or ""),
        one_line(meta.get("displayName"))[:60],
        state,
        str(counts["succeeded"] + counts["failed"]),
        str(counts["failed"]),
        str(counts["total"]),
        short_time(meta.get("createTime")),
    )


class WaitProgress:
    def __init__(self, console: Console):
        self.console = console
        self.enabled = console.terminal and not console.quiet
        self.shown = False

    def update(self, text: str) -> None:
        if self.enabled:
            self.console.write(f"\r\x1b[2K{self.console.clean(text)}")
            self.shown = True

    def close(self) -> None:
        if self.shown:
            self.console.write("\n")
            self.shown = False
