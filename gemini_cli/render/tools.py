"""Built-in tools (--tool) and grounding: what the tool steps did (shown on stderr in text
mode), and the citations of an answer. The request's `tools` are built in request/body.py.

Step shapes (interactions-api.md sec. 4.2): `google_search_call` {arguments:{queries}},
`google_search_result` {result:[{search_suggestions}]}, `code_execution_call`
{arguments:{code, language}}, `code_execution_result` {result: string | Content[],
is_error}, `url_context_call` {arguments:{urls}}, `url_context_result`
{result:[{url, status}]}. Citations are the `url_citation` (also `file_citation`,
`place_citation`) annotations of the answer's text blocks. A remote MCP server's
`mcp_server_tool_call` {name, server_name, arguments} and `mcp_server_tool_result`
{name?, server_name?, result} are one line each: `→ docs.search(query="x")`, `← docs.search: 3 lines`.
"""

from __future__ import annotations

import json
from typing import Any

from gemini_cli.render.terminal import visible


def _indent(text: str, prefix: str = "  ") -> list[str]:
    lines = text.rstrip("\n").split("\n") if text.strip() else []
    return [prefix + line for line in lines]


def _result_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, list):
        return "".join(
            block.get("text", "") for block in result if isinstance(block, dict) and block.get("type") == "text"
        )
    return "" if result is None else str(result)


def describe(step: dict[str, Any]) -> list[str]:
    """What one finished tool step did, as lines for stderr (no newlines)."""
    kind = step.get("type")
    args = step["arguments"] if isinstance(step.get("arguments"), dict) else {}
    result = step.get("result")
    failed = bool(step.get("is_error"))
    if kind == "google_search_call":
        queries = [q for q in args.get("queries") or [] if isinstance(q, str)]
        return [f"search: {q}" for q in queries] or ["search"]
    if kind == "google_search_result":
        return ["search: failed"] if failed else []
    if kind == "code_execution_call":
        language = args.get("language") or "python"
        return [f"code ({language}):", *_indent(str(args.get("code") or ""))]
    if kind == "code_execution_result":
        text = _result_text(result)
        head = "output (error):" if failed else "output:"
        body = _indent(text)
        return [head, *body] if body else [f"{head} (none)"]
    if kind == "url_context_call":
        urls = [u for u in args.get("urls") or [] if isinstance(u, str)]
        return [f"read: {u}" for u in urls] or ["read"]
    if kind == "url_context_result":
        lines = [
            f"read: {item.get('url', '?')}: {item.get('status')}"
            for item in result or [] if isinstance(item, dict) and item.get("status") not in (None, "success")
        ] if isinstance(result, list) else []
        return lines or (["read: failed"] if failed else [])
    if kind == "mcp_server_tool_call":
        shown = ", ".join(f"{key}={_clip(json.dumps(value, ensure_ascii=False), VALUE_MAX)}" for key, value in args.items())
        return [_one_line(f"→ {_mcp_tool(step)}({shown})")]
    if kind == "mcp_server_tool_result":
        return [_one_line(f"← {_mcp_tool(step)}: {_summary(result)}")]
    if isinstance(kind, str) and kind.endswith("_call"):
        return [f"tool: {kind[:-5]}" + (f" {step['name']}" if isinstance(step.get("name"), str) else "")]
    if isinstance(kind, str) and kind.endswith("_result") and failed:
        return [f"tool: {kind[:-7]}: failed"]
    return []


# -- remote MCP servers' steps (the API called the server; shown as function calls are) --

NOTE_MAX = 200  # characters of a → or ← line (as runs/toolcalls.py's)
VALUE_MAX = 60  # characters of one argument in a → line


def _mcp_tool(step: dict[str, Any]) -> str:
    """`SERVER.TOOL`, or what the step names of it (a result's names are optional)."""
    names = [n for n in (step.get("server_name"), step.get("name")) if isinstance(n, str) and n]
    return ".".join(names) or "mcp"


def _summary(result: Any) -> str:
    """`3 lines`, `empty`, `JSON object`, `1 line, 2 images`: what a result holds, not its text."""
    if isinstance(result, dict):
        return "JSON object"
    parts = [_lines(_result_text(result))]
    if isinstance(result, list):
        for kind in ("image", "audio", "video", "document"):
            n = sum(1 for block in result if isinstance(block, dict) and block.get("type") == kind)
            if n:
                parts.append(f"{n} {kind}" + ("" if n == 1 else "s"))
        if parts[0] == "empty" and len(parts) > 1:
            parts.pop(0)
    return ", ".join(parts)


def _lines(text: str) -> str:
    if not text:
        return "empty"
    n = text.count("\n") + (0 if text.endswith("\n") else 1)
    return f"{n} line" + ("" if n == 1 else "s")


def _one_line(text: str) -> str:
    """One stderr line: newlines and tabs as spaces, other control characters made visible
    (a server's tool names and arguments are not ours to let through)."""
    return _clip(visible(" ".join(text.split())), NOTE_MAX)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- citations -----------------------------------------------------------------


def citations(steps: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The sources cited by the answer's text, once each, in order of first citation.

    Each is `{"url", "title"}` (title omitted when the API gave none); numbered from 1
    in the order listed, as on stderr.
    """
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for step in steps or []:
        if not isinstance(step, dict) or step.get("type") != "model_output":
            continue
        for block in step.get("content") or []:
            if not isinstance(block, dict):
                continue
            for note in block.get("annotations") or []:
                source = _source(note)
                if source and source["url"] not in seen:
                    seen.add(source["url"])
                    found.append(source)
    return found


def _source(note: Any) -> dict[str, Any] | None:
    if not isinstance(note, dict):
        return None
    kind = note.get("type")
    if kind == "url_citation" or kind == "place_citation":
        url, title = note.get("url"), note.get("title") or note.get("name")
    elif kind == "file_citation":
        url, title = note.get("document_uri") or note.get("file_name"), note.get("file_name")
    else:
        return None
    if not isinstance(url, str) or not url:
        return None
    source = {"url": url}
    if isinstance(title, str) and title and title != url:
        source["title"] = title
    return source


def citation_lines(sources: list[dict[str, Any]]) -> list[str]:
    return [
        f"[{n}] {source['title']} — {source['url']}" if source.get("title") else f"[{n}] {source['url']}"
        for n, source in enumerate(sources, 1)
    ]


def with_citations(result: dict[str, Any]) -> dict[str, Any]:
    """Add a top-level `citations` list to a reassembled Interaction when its answer cites sources."""
    sources = citations(result.get("steps"))
    if sources:
        result["citations"] = sources
    return result
