"""Text for a terminal: what the server or a file sent is shown, never obeyed.

An answer, a thought, an API message or a file name may hold escape sequences: OSC 52
(writes the clipboard), OSC 0 (the window title), CSI 2J (clears the screen), OSC 8
(a hidden link target). On a terminal every control character but newline and tab is
made visible in caret notation (ESC -> "^["), so the sequence shows as text; C1
controls (U+0080-U+009F, which some terminals also obey) as "\\u009b", which keeps JSON
output valid JSON (JSON escapes C0 controls itself). Output that is not
a terminal (a pipe, a file) stays byte-exact. The tool's own styling (dim, markdown)
is added after this, so it is the only escape sequence a terminal receives.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return "^" + chr(code + 0x40)
    return "^?" if code == 0x7F else f"\\u{code:04x}"


def visible(text: str) -> str:
    """text with each control character (but \\n and \\t) shown as text."""
    return _CONTROLS.sub(_show, text) if _CONTROLS.search(text) else text


def isatty(stream: Any) -> bool:
    """Whether stream is a terminal; False for None, a closed stream or a test's fake."""
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def for_stream(text: str, stream: Any) -> str:
    """visible(text) when stream is a terminal; text unchanged otherwise."""
    return visible(text) if isatty(stream) else text
