"""Structured output: --schema JSON|@FILE and --json, and checking the answer afterwards.

The request side builds `response_format` exactly as the API documents it
(`{"type": "text", "mime_type": "application/json", "schema": {...}}`); the answer
side parses the JSON text and validates it with `jsonschema`, imported only when a
schema is actually used (never for --help or a plain turn).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gemini_cli.errors import SchemaMismatch, UsageError
# jsonschema is imported inside the functions that validate: only --schema (and a schema's answer)
# needs it (~55 ms of every other turn).

JSON_MIME = "application/json"


MAX_JSON_FILE = 20 * 1024 * 1024  # a whole request's limit: @/dev/zero is not read forever
MAX_NESTING = 100  # deeper JSON would exhaust the recursion of the parser, the merge or jsonschema


def json_argument(text: str, flag: str, hint: str = "") -> tuple[Any, str]:
    """A flag's JSON value, given as text or as @FILE: (the parsed value, how messages name
    it). Exit 2 when the file cannot be read, is over MAX_JSON_FILE, or the text is not JSON
    or is nested deeper than MAX_NESTING (hint: for text only)."""
    where = flag
    if text.startswith("@"):
        path = Path(text[1:]).expanduser()
        where, hint = f"{flag} file {path}", ""
        try:
            with open(path, "rb") as file:
                data = file.read(MAX_JSON_FILE + 1)
            if len(data) > MAX_JSON_FILE:
                raise UsageError(f"{where} is over {MAX_JSON_FILE // 1024**2} MiB (stopped reading there)")
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {where}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{where} is not valid JSON: {exc}{hint}") from None
    except RecursionError:
        raise UsageError(f"{where} is nested deeper than {MAX_NESTING} levels") from None
    if not nesting_ok(value):
        raise UsageError(f"{where} is nested deeper than {MAX_NESTING} levels")
    return value, where


def nesting_ok(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether parsed JSON is nested at most `limit` deep (checked without recursion)."""
    level: list[Any] = [value]
    for _ in range(limit + 1):
        level = [child for item in level if isinstance(item, (dict, list))
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return True
    return False


def load_schema(value: Any) -> dict[str, Any] | bool | None:
    """--schema (or a template's `schema:`): JSON text, @FILE, or an already parsed mapping.

    Exit 2 (UsageError) for unreadable files, text that is not JSON, or a document that
    is not a valid JSON Schema; all of this happens before anything is sent.
    """
    if value is None:
        return None
    if isinstance(value, (dict, bool)):
        schema, where = value, "the schema"
    elif isinstance(value, str):
        schema, where = json_argument(value, "--schema", " (give JSON text, or @FILE to read a file)")
    else:
        raise UsageError(f"the schema must be a JSON object, got {type(value).__name__}")
    if not isinstance(schema, (dict, bool)):
        raise UsageError(f"{where} must be a JSON object (a JSON Schema), got {type(schema).__name__}")
    check_schema(schema, where)
    return schema


def check_schema(schema: dict[str, Any] | bool, where: str = "the schema") -> None:
    from jsonschema import exceptions, validators

    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)  # type: ignore[arg-type]  # a boolean schema too; the stubs say a dict
    except exceptions.SchemaError as exc:
        raise UsageError(f"{where} is not a valid JSON Schema: {exc.message} (at {pointer(exc.absolute_path)})") from None


def response_format(schema: Any, json_mode: bool | None, remembered: Any = None) -> Any:
    """The body's `response_format`: --schema and --json replace a remembered one; --no-json drops it."""
    if json_mode is False:
        if schema is not None:
            raise UsageError("--schema asks for JSON; it cannot be combined with --no-json")
        return None
    if schema is not None:
        return {"type": "text", "mime_type": JSON_MIME, "schema": schema}
    if json_mode:
        return {"type": "text", "mime_type": JSON_MIME}
    return remembered


def json_format(response_format: Any) -> dict[str, Any] | None:
    """The JSON text format among those requested (one object or a list), if any."""
    formats = response_format if isinstance(response_format, list) else [response_format]
    for fmt in formats:
        if isinstance(fmt, dict) and fmt.get("type", "text") == "text" and fmt.get("mime_type") == JSON_MIME:
            return fmt
    return None


def check_answer(text: str, response_format: Any) -> SchemaMismatch | None:
    """None when the answer is the JSON asked for; else the error to report (exit 10)."""
    fmt = json_format(response_format)
    if fmt is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        shown = text.strip()
        shown = "an empty answer" if not shown else f"{shown[:60]!r}" + ("…" if len(shown) > 60 else "")
        return SchemaMismatch(f"the answer is not valid JSON ({exc}): {shown}")
    schema = fmt.get("schema")
    if schema is None:
        return None
    from jsonschema import exceptions, validators

    validator = validators.validator_for(schema)(schema)
    errors = list(validator.iter_errors(value))
    if not errors:
        return None
    best = exceptions.best_match(errors)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return SchemaMismatch(
        f"the answer does not match the schema: at {pointer(best.absolute_path)}: {best.message}{more}"
    )


def pointer(path: Any) -> str:
    """A jsonschema error path as `$`, `$.items[0].name` (JSONPath-like, as jq users read it)."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out
