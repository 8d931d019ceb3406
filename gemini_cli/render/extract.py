"""--extract / --extract-last: the first (last) fenced code block of an answer.

Fences follow CommonMark: a line of three or more backticks or tildes (indented at
most three spaces, optionally followed by an info string such as `python`) opens a
block; a line of the same character, at least as long, closes it; a block left open
runs to the end of the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_CLOSE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*$")


@dataclass
class CodeBlock:
    info: str  # the info string, e.g. "python" (may be empty)
    code: str  # the lines between the fences, each ending in "\n"
    closed: bool


def code_blocks(text: str) -> list[CodeBlock]:
    blocks: list[CodeBlock] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        match = _OPEN.match(lines[i].rstrip("\r\n"))
        if not match or (match.group(2)[0] == "`" and "`" in match.group(3)):
            i += 1
            continue
        indent, fence, info = len(match.group(1)), match.group(2), match.group(3).strip()
        body: list[str] = []
        closed = False
        i += 1
        while i < len(lines):
            line = lines[i].rstrip("\r\n")
            close = _CLOSE.match(line)
            if close and close.group(1)[0] == fence[0] and len(close.group(1)) >= len(fence):
                closed = True
                i += 1
                break
            strip = len(line) - len(line.lstrip(" "))
            body.append(line[min(indent, strip):] + "\n")
            i += 1
        blocks.append(CodeBlock(info=info, code="".join(body), closed=closed))
    return blocks


def extract(text: str, last: bool = False) -> CodeBlock | None:
    blocks = code_blocks(text)
    if not blocks:
        return None
    return blocks[-1] if last else blocks[0]
