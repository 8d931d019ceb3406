"""Lone surrogates in API JSON: "\\ud800" is valid JSON, and json.loads gives a str holding
U+D800, which no UTF-8 writer accepts (stdout, the conversation file, a batch record). Every
place that parses the API's JSON (unary bodies, stream event data, replayed bodies alike)
repairs them here, once: each lone surrogate becomes U+FFFD, as undecodable bytes already do,
and the response is marked so the turn warns once.
"""

from __future__ import annotations

import re
from typing import Any

# Where a lone surrogate can come from: a \\uD800-\\uDFFF escape, or (json.loads of bytes
# decodes with surrogatepass) UTF-8-encoded surrogate bytes. A match only means "look".
_SUSPECT_TEXT = re.compile(r"\\u[dD][89a-fA-F]")
_SUSPECT_BYTES = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_LONE = re.compile("[\ud800-\udfff]")
MARK = "gemini_cli.lone_surrogates"  # set in a response's extensions once something was repaired
PROBLEM = "text holding lone surrogates (\\ud800-\\udfff halves of no character), shown and saved as U+FFFD"


def suspect(raw: str | bytes) -> bool:
    """Whether raw JSON text may decode to a lone surrogate (cheap: no parse, no walk)."""
    if isinstance(raw, bytes):
        return _SUSPECT_BYTES.search(raw) is not None
    return _SUSPECT_TEXT.search(raw) is not None


def is_text(value: str) -> bool:
    """Whether a str holds no lone surrogate (so UTF-8 can write it)."""
    return value.isascii() or not _LONE.search(value)


def repaired(value: Any) -> tuple[Any, bool]:
    """(value with every lone surrogate in its strings and keys as U+FFFD, whether any was)."""
    if isinstance(value, str):
        if is_text(value):
            return value, False
        return _LONE.sub("\ufffd", value), True
    if isinstance(value, dict):
        changed = False
        out = {}
        for key, item in value.items():
            key, a = repaired(key)
            out[key], b = repaired(item)
            changed = changed or a or b
        return (out, True) if changed else (value, False)
    if isinstance(value, list):
        changed = False
        items = []
        for item in value:
            item, a = repaired(item)
            items.append(item)
            changed = changed or a
        return (items, True) if changed else (value, False)
    return value, False


def loads_repaired(raw: str | bytes, loads: Any, response: Any = None) -> Any:
    """loads(raw), its lone surrogates repaired; `response` (httpx) marked when any was."""
    return repaired_from(loads(raw), raw, response)


def repaired_from(value: Any, raw: str | bytes, response: Any = None) -> Any:
    """`value` (parsed from `raw`) with its lone surrogates repaired; `response` marked when any was."""
    if suspect(raw):
        value, changed = repaired(value)
        if changed and response is not None:
            response.extensions[MARK] = True
    return value


def was_repaired(response: Any) -> bool:
    """Whether a body or event of this response held lone surrogates (now U+FFFD)."""
    extensions = getattr(response, "extensions", None)
    return isinstance(extensions, dict) and bool(extensions.get(MARK))
