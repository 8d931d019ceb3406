"""A small Markdown-to-ANSI renderer for --markdown on a terminal.

It knows the Markdown models write: ATX headings, fenced code blocks, bullet and
numbered lists, block quotes, rules, **bold**, *italic*, ~~strike~~, `code`,
[links](url) and <autolinks>. Everything it knows is line-based (fences carry
state from line to line), so an answer is rendered line by line as each line
completes and still streams; rendering the whole text at once gives the same bytes.
Markers of headings, numbered lists and fences stay visible (as in glow); bullets become
•, block quotes │; emphasis and code markers are replaced by their styles. Styles are switched off with their own SGR
codes (22, 23, 24, 29, 39), so that nested spans keep the outer style.
"""

from __future__ import annotations

import re

BOLD, NORMAL = "\x1b[1m", "\x1b[22m"
DIM = "\x1b[2m"
ITALIC, NO_ITALIC = "\x1b[3m", "\x1b[23m"
UNDERLINE, NO_UNDERLINE = "\x1b[4m", "\x1b[24m"
STRIKE, NO_STRIKE = "\x1b[9m", "\x1b[29m"
MAGENTA, GREEN, YELLOW, BLUE, CYAN, DEFAULT = "\x1b[35m", "\x1b[32m", "\x1b[33m", "\x1b[34m", "\x1b[36m", "\x1b[39m"

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_FENCE_CLOSE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_BULLET = re.compile(r"^([ \t]*)([-*+])[ \t]+(.*)$")
_NUMBERED = re.compile(r"^([ \t]*)(\d{1,9}[.)])[ \t]+(.*)$")
_QUOTE = re.compile(r"^ {0,3}>[ \t]?(.*)$")

_INLINE = re.compile(
    r"(?P<code>(?P<ticks>`+)(?P<code_text>.+?)(?P=ticks))"
    r"|\\(?P<escaped>[!-/:-@\[-`{-~])"
    r"|\[(?P<link_text>[^\]\n]+)\]\((?P<link_url>[^)\s]+)(?:[ \t]+\"[^\"]*\")?\)"
    r"|<(?P<autolink>(?:https?|mailto|ftp):[^>\s]+)>"
    r"|\*\*(?=\S)(?P<bold>.+?)(?<=\S)\*\*"
    r"|(?<![\w_])__(?=\S)(?P<bold2>.+?)(?<=\S)__(?![\w_])"
    r"|~~(?=\S)(?P<strike>.+?)(?<=\S)~~"
    r"|(?<!\*)\*(?=[^\s*])(?P<italic>.+?)(?<=[^\s*])\*(?!\*)"
    r"|(?<![\w_])_(?=[^\s_])(?P<italic2>.+?)(?<=[^\s_])_(?![\w_])"
)

RULE_WIDTH = 40


def inline(text: str) -> str:
    """Style the spans of one line of text."""
    if not any(ch in text for ch in "`\\[<*_~"):
        return text
    return _INLINE.sub(_span, text)


def _span(match: re.Match[str]) -> str:
    group = match.lastgroup
    if match.group("code") is not None:
        code = match.group("code_text")
        if code.startswith(" ") and code.endswith(" ") and code.strip():
            code = code[1:-1]
        return f"{CYAN}{code}{DEFAULT}"
    if group == "escaped":
        return match.group("escaped")
    if match.group("link_text") is not None:
        text, url = match.group("link_text"), match.group("link_url")
        if text == url:
            return f"{UNDERLINE}{BLUE}{url}{DEFAULT}{NO_UNDERLINE}"
        return f"{UNDERLINE}{inline(text)}{NO_UNDERLINE} {BLUE}({url}){DEFAULT}"
    if group == "autolink":
        return f"{UNDERLINE}{BLUE}{match.group('autolink')}{DEFAULT}{NO_UNDERLINE}"
    if group in ("bold", "bold2"):
        return f"{BOLD}{inline(match.group(group))}{NORMAL}"
    if group == "strike":
        return f"{STRIKE}{inline(match.group(group))}{NO_STRIKE}"
    assert group is not None  # every alternative of _INLINE is a named group
    return f"{ITALIC}{inline(match.group(group))}{NO_ITALIC}"


class MarkdownStream:
    """Feed answer text as it arrives; get back the rendered form of each completed line."""

    def __init__(self) -> None:
        self.fence: str | None = None  # the opening fence while inside a code block
        self.pending = ""  # the current, incomplete line

    def feed(self, text: str) -> str:
        if "\n" not in text:
            self.pending += text
            return ""
        head, _, tail = text.rpartition("\n")
        lines, self.pending = (self.pending + head).split("\n"), tail
        return "".join(self.line(line) + "\n" for line in lines)

    def finish(self) -> str:
        rest, self.pending = self.pending, ""
        return self.line(rest) if rest else ""

    def line(self, line: str) -> str:
        cr = "\r" if line.endswith("\r") else ""
        line = line[:-1] if cr else line
        if self.fence is not None:
            close = _FENCE_CLOSE.match(line)
            if close and close.group(1)[0] == self.fence[0] and len(close.group(1)) >= len(self.fence):
                self.fence = None
                return f"{DIM}{line}{NORMAL}{cr}"
            return f"{GREEN}{line}{DEFAULT}{cr}" if line else cr
        return self._block(line) + cr

    def _block(self, line: str) -> str:
        fence = _FENCE_OPEN.match(line)
        if fence and not (fence.group(1)[0] == "`" and "`" in fence.group(2)):
            self.fence = fence.group(1)
            return f"{DIM}{line}{NORMAL}"
        heading = _HEADING.match(line)
        if heading:
            marks, text = heading.group(1), heading.group(2) or ""
            title = f" {inline(text)}" if text else ""
            return f"{BOLD}{MAGENTA}{marks}{title}{DEFAULT}{NORMAL}"
        if _RULE.match(line):
            return f"{DIM}{'─' * RULE_WIDTH}{NORMAL}"
        bullet = _BULLET.match(line)
        if bullet:
            indent, _, text = bullet.groups()
            return f"{indent}{YELLOW}•{DEFAULT} {inline(text)}"
        numbered = _NUMBERED.match(line)
        if numbered:
            indent, number, text = numbered.groups()
            return f"{indent}{YELLOW}{number}{DEFAULT} {inline(text)}"
        quote = _QUOTE.match(line)
        if quote:
            return f"{DIM}│{NORMAL} {ITALIC}{inline(quote.group(1))}{NO_ITALIC}"
        return inline(line)


def render(text: str) -> str:
    """The whole text at once (the same bytes as feeding it piece by piece)."""
    stream = MarkdownStream()
    return stream.feed(text) + stream.finish()
