"""Options -> create-interaction request body, and back. The place to look for "where does
--seed go", and for how a saved conversation's fields become settings again on resume.

Pure functions: only the fields that are set, snake_case, as the API documents them.
"""

from __future__ import annotations

from typing import Any

from gemini_cli.errors import UsageError
from gemini_cli.state.config import Settings


# Settings keys <-> generation_config fields: the body is built, and a resumed conversation's
# settings recovered, from this one table.
GENERATION_FIELDS = {
    "temperature": "temperature", "top_p": "top_p", "seed": "seed", "max_tokens": "max_output_tokens",
    "stop": "stop_sequences", "thinking": "thinking_level",
}


def generation_config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, name in GENERATION_FIELDS.items():
        value = getattr(settings, key)
        if key == "stop":
            if value:
                config[name] = list(value)
        elif value is not None:
            config[name] = value
    if settings.thoughts:
        config["thinking_summaries"] = "auto"
    return config


def remembered(conv: Any) -> dict[str, Any]:
    """The settings a saved conversation (state.conversation.Conversation) carries, by the
    names of their flags; config.remember lets flags given now override them. The API keeps
    none of these between turns, so they are re-sent each turn."""
    if conv is None:
        return {}
    config = conv.generation_config or {}
    values: dict[str, Any] = {"model": conv.model, "system": conv.system_instruction, "store": conv.store}
    values.update({key: config.get(name) for key, name in GENERATION_FIELDS.items()})
    if config.get("thinking_summaries") == "auto":
        values["thoughts"] = True
    values["tools"] = list(conv.tools) or None  # tool objects, sent back as they are
    values["response_format"] = conv.response_format  # --schema/--json/--no-json replace it
    return values


def tools(settings: Settings) -> list[dict[str, Any]]:
    """`tools`: `{"type": NAME}` per --tool (google_search, code_execution, url_context), or remembered ones."""
    return tool_list(settings.tools)


NO_TOOLS = "none"  # `--tool none`


def tool_list(names: Any) -> list[dict[str, Any]]:
    """`--tool` names (or remembered tool objects) -> the body's `tools`, in order, once each.

    `--tool none` alone means no tools (it clears tools a conversation remembers).
    Tool objects from a saved conversation are sent back unchanged.
    """
    names = list(names or [])
    if NO_TOOLS in names:
        if len(names) > 1:
            raise UsageError("--tool none means no tools; it cannot be combined with other --tool values")
        return []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in names:
        tool = dict(item) if isinstance(item, dict) else {"type": str(item)}
        key = repr(sorted(tool.items()))
        if key not in seen:
            seen.add(key)
            out.append(tool)
    return out


def response_format(settings: Settings) -> Any:
    """`response_format`: `{"type": "text", "mime_type": "application/json", "schema"?: {...}}`.

    The schema must already be loaded (check_settings turns --schema @FILE into a mapping).
    """
    from gemini_cli.request.schema import response_format as build

    return build(settings.schema, settings.json_mode, settings.response_format)


def create_body(
    *,
    model: str,
    input: Any,
    system_instruction: str | None = None,
    generation_config: dict[str, Any] | None = None,
    tools: list[Any] | None = None,
    response_format: Any = None,
    previous_interaction_id: str | None = None,
    store: bool = True,
    background: bool = False,
    stream: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": input}
    if system_instruction:
        body["system_instruction"] = system_instruction
    if generation_config:
        body["generation_config"] = generation_config
    if tools:
        body["tools"] = tools
    if response_format is not None:
        body["response_format"] = response_format
    if previous_interaction_id:
        body["previous_interaction_id"] = previous_interaction_id
    if not store:
        body["store"] = False  # true is the API's default
    if background:
        body["background"] = True
    if stream:
        body["stream"] = True
    return body


def check_settings(settings: Any) -> Any:
    """Exit 2 before anything is sent: a bad --schema, contradictory flags, --tool none mixed.
    Returns the settings with the schema loaded (a mapping, from JSON text or @FILE)."""
    from dataclasses import replace

    from gemini_cli.request.schema import load_schema, response_format

    schema = settings.schema
    if settings.json_mode is False and str(settings.sources.get("schema", "")).startswith("template"):
        schema = None  # --no-json drops a template's schema (a --schema flag with it is an error)
    settings = replace(settings, schema=load_schema(schema))
    response_format(settings.schema, settings.json_mode)  # --schema with --no-json is exit 2
    tool_list(settings.tools)  # --tool none mixed with others is exit 2
    if settings.extract and settings.extract_last:
        raise UsageError("give --extract or --extract-last, not both")
    if (settings.extract or settings.extract_last) and settings.output != "text":
        raise UsageError(f"--extract prints a code block as text; it cannot be combined with -o {settings.output}")
    return settings
