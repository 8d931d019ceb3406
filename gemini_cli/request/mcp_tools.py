"""An MCP server's tools as the API takes them, and their results back as function_result
values: the declared name (SERVER__TOOL), the input schema cleaned into the subset the API
accepts, and a `tools/call` result turned into a `result` (text, content list, object).

Pure: plain dicts in the MCP wire shape (camelCase: `inputSchema`, `structuredContent`,
`isError`, `mimeType`), as `model_dump(by_alias=True)` gives them.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Mapping

from gemini_cli.errors import UsageError
from gemini_cli.request.functions import NAME_CHARS, NAME_MAX, SCHEMA_FORMATS, SCHEMA_KEYWORDS, SCHEMA_TYPES

# --- names -------------------------------------------------------------------------------

# The API's function names, one rule with local functions (request/functions.py NAME_RULE):
# letters, digits, '_', '.', ':', '-', at most 64, starting with a letter or '_'. A declared
# MCP tool is SERVER__TOOL: the server first (it starts with a letter), so the model (and
# the stderr lines) always say where a tool came from.
SEPARATOR = "__"
_NOT_IN_NAME = re.compile(f"[^{NAME_CHARS}]")


def declared_name(server: str, tool: str) -> str:
    """`SERVER__TOOL` with every character the API refuses made '_'; past 64 characters the
    tool part is cut and 8 hex digits of its hash keep it unique."""
    name = f"{server}{SEPARATOR}{_NOT_IN_NAME.sub('_', tool) or '_'}"
    if len(name) > NAME_MAX:
        digest = hashlib.sha1(tool.encode("utf-8")).hexdigest()[:8]
        name = f"{name[:NAME_MAX - 9]}_{digest}"
    return name


def declared_names(server: str, tools: list[str]) -> dict[str, str]:
    """declared name -> the server's own name; two tools that come out the same are refused."""
    names: dict[str, str] = {}
    for tool in tools:
        name = declared_name(server, tool)
        if name in names:
            raise UsageError(f"MCP server {server}: tools {names[name]!r} and {tool!r} would both be declared "
                             f"as {name}; narrow the server with --mcp-allow {server}:TOOL")
        names[name] = tool
    return names


# --- input schemas -------------------------------------------------------------------------

# What is kept of a JSON Schema: what a function's own schema may hold (request/functions.py);
# everything else is dropped and reported. `$ref`s are inlined first.
KEEP = SCHEMA_KEYWORDS
FORMATS = SCHEMA_FORMATS  # any other format (uri, email, uuid...) is dropped
TYPES = SCHEMA_TYPES
MAX_DEPTH = 24  # nesting kept; deeper parts become {} (a recursive $ref is cut where it recurs)
MAX_NODES = 5000  # schemas past this after inlining are refused (a $ref fan-out can explode)


class _Cleaner:
    def __init__(self, root: Mapping[str, Any], where: str):
        self.root = root
        self.where = where
        self.dropped: list[str] = []
        self.nodes = 0

    def drop(self, path: str, what: str) -> None:
        note = f"{what} at {path or '/'}"
        if note not in self.dropped:
            self.dropped.append(note)

    def resolve(self, ref: str) -> Any:
        if ref == "#":
            return self.root
        if not ref.startswith("#/"):
            return None
        node: Any = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node if isinstance(node, Mapping) else None

    def clean(self, schema: Any, path: str, refs: tuple[str, ...] = ()) -> dict[str, Any]:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise UsageError(f"{self.where}: the input schema is too large once its $refs are inlined "
                             f"(over {MAX_NODES} parts); narrow the server with --mcp-allow")
        if schema is True or schema == {}:
            return {}
        if not isinstance(schema, Mapping):
            self.drop(path, "a schema that is not an object")
            return {}
        if len(refs) > MAX_DEPTH:
            self.drop(path, "nesting deeper than %d" % MAX_DEPTH)
            return {}
        schema = dict(schema)
        ref = schema.pop("$ref", None)
        while isinstance(ref, str):  # a target may itself be a $ref
            if ref in refs:
                self.drop(path, f"$ref {ref} (recursive, cut)")
                target: Mapping[str, Any] = {"type": "object"}
            else:
                target = self.resolve(ref)
                if target is None:
                    self.drop(path, f"$ref {ref} (not found)")
                    target = {}
                refs = refs + (ref,)
            # Keywords beside a $ref (a description) win over the target's.
            schema = {**{k: v for k, v in target.items() if k not in ("$defs", "definitions")}, **schema}
            ref = schema.pop("$ref", None)
        all_of = schema.pop("allOf", None)
        if isinstance(all_of, list):
            schema = self.merge_all_of(schema, all_of, path, refs)
        one_of = schema.pop("oneOf", None)
        if isinstance(one_of, list) and "anyOf" not in schema:
            self.drop(path, "oneOf (kept as anyOf)")
            schema["anyOf"] = one_of
        if "const" in schema and "enum" not in schema:
            schema["enum"] = [schema.pop("const")]
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key not in KEEP:
                self.drop(path, key)
                continue
            out[key] = value
        return self.children(out, path, refs)

    def merge_all_of(self, schema: dict[str, Any], parts: list[Any], path: str, refs: tuple[str, ...]) -> dict[str, Any]:
        """allOf of objects (pydantic wraps a described $ref in one): merged into one schema."""
        merged = dict(schema)
        for index, part in enumerate(parts):
            part = self.clean(part, f"{path}/allOf/{index}", refs)
            for key, value in part.items():
                if key == "properties" and isinstance(merged.get(key), dict):
                    merged[key] = {**merged[key], **value}
                elif key == "required" and isinstance(merged.get(key), list):
                    merged[key] = merged[key] + [r for r in value if r not in merged[key]]
                elif key not in merged:
                    merged[key] = value
                elif merged[key] != value:
                    self.drop(path, f"allOf's {key} (conflicting)")
        return merged

    def children(self, out: dict[str, Any], path: str, refs: tuple[str, ...]) -> dict[str, Any]:
        kind = out.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k in TYPES]
            out["type"] = kinds if len(kinds) > 1 else (kinds[0] if kinds else "string")
        elif kind is not None and kind not in TYPES:
            self.drop(path, f"type {kind!r}")
            del out["type"]
        fmt = out.get("format")
        if fmt is not None:
            types = out["type"] if isinstance(out.get("type"), list) else [out.get("type")]
            if not any(fmt in FORMATS.get(t or "", ()) for t in types):
                self.drop(path, f"format {fmt!r}")
                del out["format"]
        props = out.get("properties")
        if props is not None:
            if isinstance(props, Mapping):
                out["properties"] = {str(k): self.clean(v, f"{path}/properties/{k}", refs) for k, v in props.items()}
            else:
                self.drop(path, "properties that are not a mapping")
                del out["properties"]
        if "required" in out:
            names = out.get("properties") or {}
            required = [r for r in out["required"] if isinstance(r, str) and r in names] \
                if isinstance(out["required"], list) else []
            if required != out["required"]:
                self.drop(path, "required names without a property")
            if required:
                out["required"] = required
            else:
                del out["required"]
        items = out.get("items")
        if items is not None:
            if isinstance(items, list):  # draft-04 tuple form: the first item's schema stands for all
                self.drop(path, "items as a list (tuple)")
                items = items[0] if items else {}
            out["items"] = self.clean(items, f"{path}/items", refs)
        any_of = out.get("anyOf")
        if any_of is not None:
            branches = [self.clean(b, f"{path}/anyOf/{i}", refs) for i, b in enumerate(any_of)] \
                if isinstance(any_of, list) else []
            branches = [b for b in branches if b]
            if len(branches) == 1 and not set(branches[0]) & (set(out) - {"anyOf"}):
                del out["anyOf"]
                out.update(branches[0])
            elif branches:
                out["anyOf"] = branches
            else:
                del out["anyOf"]
        if "enum" in out and not isinstance(out["enum"], list):
            self.drop(path, "enum that is not a list")
            del out["enum"]
        return out


def clean_schema(schema: Any, where: str) -> tuple[dict[str, Any], list[str]]:
    """(the schema the API takes, what was dropped): `$ref`s inlined (a recursive one cut where
    it recurs), `$schema`, `$defs`, `additionalProperties`, unknown formats and keywords
    dropped, `oneOf` kept as `anyOf`, `allOf` merged, `const` as a one-value `enum`. The top
    level is always an object. `where` names the tool in errors."""
    if not isinstance(schema, Mapping):
        return {"type": "object", "properties": {}}, (["an input schema that is not an object"] if schema else [])
    cleaner = _Cleaner(schema, where)
    cleaned = cleaner.clean(schema, "")
    if cleaned.get("type") != "object":
        if "type" in cleaned:
            cleaner.drop("", f"top-level type {cleaned['type']!r} (declared as an object)")
        cleaned["type"] = "object"
    cleaned.setdefault("properties", {})
    return cleaned, cleaner.dropped


# --- results -------------------------------------------------------------------------------

TEXT_MAX = 64 * 1024  # characters of text kept from one result (as local commands' max_output)
MEDIA_MAX = 8 * 1024 * 1024  # base64 characters of one image or audio block
MARKER = "\n[... {n} more characters cut by gemini-cli]"


def function_result(mcp_result: Mapping[str, Any], text_max: int = TEXT_MAX) -> tuple[Any, bool, str]:
    """A `tools/call` result -> (result, is_error, summary). Text alone -> a string; with images
    (or audio) -> a content list (`{"type": "image", "data", "mime_type"}`); `structuredContent`
    (an object) -> the object itself, unless there are images to carry."""
    is_error = bool(mcp_result.get("isError"))
    blocks: list[dict[str, Any]] = []
    budget = [text_max]
    for block in mcp_result.get("content") or []:
        converted = _block(block, budget) if isinstance(block, Mapping) else None
        if converted is not None:
            blocks.append(converted)
    media = [b for b in blocks if b["type"] != "text"]
    structured = mcp_result.get("structuredContent")
    texts = [b["text"] for b in blocks if b["type"] == "text"]
    if isinstance(structured, Mapping) and not media:
        result: Any = dict(structured)
        summary = "JSON object"
    elif media:
        result = blocks
        summary = _count(texts, media)
    else:
        result = "\n".join(texts)
        summary = _lines(result)
    return result, is_error, ("error: " if is_error else "") + summary  # the loop adds the arrow


def _block(block: Mapping[str, Any], budget: list[int]) -> dict[str, Any] | None:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": _cut(str(block.get("text", "")), budget)}
    if kind in ("image", "audio"):
        data, mime = block.get("data"), block.get("mimeType")
        if not isinstance(data, str) or not isinstance(mime, str):
            return None
        if len(data) > MEDIA_MAX:
            return {"type": "text", "text": f"[{kind} of {len(data)} base64 characters not passed on: over {MEDIA_MAX}]"}
        return {"type": kind, "data": data, "mime_type": mime}
    if kind == "resource_link":
        return {"type": "text", "text": _cut(f"[resource {block.get('name', '')}: {block.get('uri', '')}]", budget)}
    if kind == "resource":
        resource = block["resource"] if isinstance(block.get("resource"), Mapping) else {}
        if isinstance(resource.get("text"), str):
            return {"type": "text", "text": _cut(resource["text"], budget)}
        mime = str(resource.get("mimeType") or "")
        blob = resource.get("blob")
        if mime.startswith("image/") and isinstance(blob, str) and len(blob) <= MEDIA_MAX:
            return {"type": "image", "data": blob, "mime_type": mime}
        return {"type": "text", "text": f"[binary resource {resource.get('uri', '')} ({mime or 'unknown type'}) not shown]"}
    return None


def _cut(text: str, budget: list[int]) -> str:
    if len(text) <= budget[0]:
        budget[0] -= len(text)
        return text
    kept = text[:max(budget[0], 0)]
    budget[0] = 0
    return kept + MARKER.format(n=len(text) - len(kept))


def _lines(text: str) -> str:
    if not text:
        return "empty"
    n = text.count("\n") + (0 if text.endswith("\n") else 1)
    return f"{n} line" + ("" if n == 1 else "s")


def _count(texts: list[str], media: list[dict[str, Any]]) -> str:
    parts = [_lines("\n".join(texts))] if texts else []
    for kind in ("image", "audio"):
        n = sum(1 for b in media if b["type"] == kind)
        if n:
            parts.append(f"{n} {kind}" + ("" if n == 1 else "s"))
    return ", ".join(parts)
