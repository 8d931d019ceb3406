"""A saved conversation as a readable transcript (`history show`) or Markdown (`history export`).

Plain string building over conversation.py's model; no I/O, nothing heavy imported.
"""

from __future__ import annotations

import json
from datetime import timezone
from typing import Any

from gemini_cli.render.output import usage_text
from gemini_cli.state.conversation import Conversation, Turn, parse_time


def short_time(value: Any) -> str:
    """RFC 3339 -> `2026-05-22 10:00 UTC` (as given when it is not a timestamp).

    Our own timestamps (UTC, ending in Z) are cut as text: `history list` formats hundreds
    of them and never imports datetime; the API's (any offset) are parsed.
    """
    if isinstance(value, str) and len(value) >= 16 and value[10:11] == "T" and value.endswith("Z"):
        return f"{value[:10]} {value[11:16]} UTC"
    when = parse_time(value)
    if when is None:
        return str(value or "")

    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def mode_name(conv: Conversation) -> str:
    return "server-side" if conv.store else "stateless (store: false)"


def block_text(block: Any) -> str:
    """A content block as text: its text, or a one-line placeholder for media."""
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return ""
    kind = block.get("type", "text")
    if kind == "text":
        return str(block.get("text", ""))
    where = block.get("uri") or (f"{len(block['data']) * 3 // 4} bytes inline" if isinstance(block.get("data"), str) else "")
    described = " ".join(str(x) for x in (kind, block.get("mime_type") or "", where) if x)
    return f"[{described}]"


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "".join(block_text(b) if (isinstance(b, dict) and b.get("type", "text") == "text") else
                   "\n" + block_text(b) + "\n" for b in content).strip("\n")


def thought_text(step: dict[str, Any]) -> str:
    return "".join(block_text(b) for b in step.get("summary") or [] if isinstance(b, dict))


def user_text(turn: Turn) -> str:
    parts = []
    for step in turn.input:
        if step.get("type") == "user_input":
            parts.append(content_text(step.get("content")))
        elif step.get("type") == "function_result":
            parts.append(result_line(step))
    return "\n".join(p for p in parts if p)


RESULT_SHOWN = 200  # characters of a function's result in a transcript


def result_line(step: dict[str, Any]) -> str:
    """`[function_result NAME: what it gave]` on one line (` (error)` after the name when it
    failed), the result cut at RESULT_SHOWN characters."""
    name = str(step.get("name") or step.get("call_id") or "")
    result = step.get("result")
    if isinstance(result, str):
        text = result
    elif isinstance(result, list):
        text = content_text(result)
    else:
        text = "" if result is None else json.dumps(result, ensure_ascii=False, sort_keys=True)
    text = text.strip().replace("\r", "\\r").replace("\n", "\\n")
    if len(text) > RESULT_SHOWN:
        text = text[:RESULT_SHOWN] + "…"
    head = " ".join(part for part in ("function_result", name, "(error)" if step.get("is_error") else "") if part)
    return f"[{head}: {text}]" if text else f"[{head}]"


def tool_line(step: dict[str, Any]) -> str:
    """A one-line note for a step that is neither thought nor answer text."""
    kind = str(step.get("type"))
    if kind == "function_call":
        args = json.dumps(step.get("arguments", {}), ensure_ascii=False, sort_keys=True)
        return f"[function_call {step.get('name', '')}({args})]"
    return f"[{kind}]"


def _answer_parts(turn: Turn, thoughts: bool) -> list[tuple[str, str]]:
    """(kind, text) for each step worth showing: thought, answer, tool, error."""
    parts = []
    for step in turn.steps:
        kind = step.get("type")
        if kind == "thought":
            text = thought_text(step)
            if thoughts and text:
                parts.append(("thought", text))
        elif kind == "model_output":
            text = content_text(step.get("content"))
            if text:
                parts.append(("answer", text))
            error = step.get("error")
            if isinstance(error, dict):
                parts.append(("error", f"[blocked: {error.get('message') or error.get('code') or 'no reason given'}]"))
            elif isinstance(error, str) and error.strip():  # a server that sent the error as a bare string
                parts.append(("error", f"[blocked: {error}]"))
        elif kind != "user_input":
            parts.append(("tool", tool_line(step)))
    return parts


def _turn_status(turn: Turn) -> str:
    if turn.status == "pending" and turn.interaction_id:
        return f"pending: no answer yet (gemini-cli history fetch {turn.interaction_id} --wait)"
    if turn.status == "pending":
        return "pending: no answer was saved"
    return turn.status


def render_text(conv: Conversation, path: Any = None, *, thoughts: bool = False) -> str:
    """The transcript `history show` prints."""
    lines = [f"conversation {conv.id}: {conv.title or '(untitled)'}"]
    if path is not None:
        lines.append(f"file: {path}")
    lines.append(f"model: {conv.model} · {mode_name(conv)} · {len(conv.turns)} turn{'s' if len(conv.turns) != 1 else ''}")
    lines.append(f"created {short_time(conv.created)} · updated {short_time(conv.updated)}")
    if conv.extra.get("parent_interaction_id"):
        lines.append(f"continues interaction {conv.extra['parent_interaction_id']}")
    if conv.system_instruction:
        lines.append("system: " + conv.system_instruction.strip().replace("\n", "\n        "))
    for n, turn in enumerate(conv.turns, 1):
        head = [f"turn {n}", short_time(turn.created)]
        if turn.model and turn.model != conv.model:
            head.append(turn.model)
        head += [turn.interaction_id or "", _turn_status(turn)]
        lines += ["", "── " + " · ".join(h for h in head if h)]
        lines.append(_quote(user_text(turn)))
        for kind, text in _answer_parts(turn, thoughts):
            lines.append("")
            if kind == "thought":
                lines += ["thinking: " + text.strip().replace("\n", "\n          ")]
            else:
                lines.append(text)
        usage = usage_text(turn.usage)
        if usage:
            lines += ["", f"usage: {usage}"]
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def render_markdown(conv: Conversation, *, thoughts: bool = False) -> str:
    """The conversation as a Markdown document (`history export --format markdown`)."""
    out = [f"# {conv.title or 'Untitled conversation'}", "",
           f"- Conversation: `{conv.id}`", f"- Model: `{conv.model}`", f"- Mode: {mode_name(conv)}",
           f"- Created: {short_time(conv.created)}", f"- Updated: {short_time(conv.updated)}"]
    if conv.system_instruction:
        out += ["", "**System instruction:**", "", _quote(conv.system_instruction.strip())]
    for n, turn in enumerate(conv.turns, 1):
        out += ["", f"## Turn {n}", ""]
        if turn.status != "completed":
            out += [f"*Status: {_turn_status(turn)}*", ""]
        out += ["**User:**", "", user_text(turn) or "*(no text)*"]
        parts = _answer_parts(turn, thoughts)
        if parts:
            out += ["", "**Model:**"]
        for kind, text in parts:
            out.append("")
            if kind == "thought":
                out += ["<details><summary>Thoughts</summary>", "", text.strip(), "", "</details>"]
            else:
                out.append(text)
        usage = usage_text(turn.usage)
        if usage:
            out += ["", f"*Usage: {usage}*"]
    return "\n".join(out) + "\n"
