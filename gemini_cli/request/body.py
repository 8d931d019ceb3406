"""Options -> create-interaction request body. The place to look for "where does --seed go".

Pure functions: only the fields that are set, snake_case, as the API documents them.
"""

from __future__ import annotations

from typing import Any

from gemini_cli.state.config import Settings


def generation_config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if settings.temperature is not None:
        config["temperature"] = settings.temperature
    if settings.top_p is not None:
        config["top_p"] = settings.top_p
    if settings.seed is not None:
        config["seed"] = settings.seed
    if settings.max_tokens is not None:
        config["max_output_tokens"] = settings.max_tokens
    if settings.stop:
        config["stop_sequences"] = list(settings.stop)
    if settings.thinking is not None:
        config["thinking_level"] = settings.thinking
    if settings.thoughts:
        config["thinking_summaries"] = "auto"
    return config


def tools(settings: Settings) -> list[dict[str, Any]]:
    """`tools`: `{"type": NAME}` per --tool (google_search, code_execution, url_context), or remembered ones."""
    from gemini_cli.render.tools import tools as build

    return build(settings.tools)


def response_format(settings: Settings) -> Any:
    """`response_format`: `{"type": "text", "mime_type": "application/json", "schema"?: {...}}`.

    The schema must already be loaded (structured.check_settings turns --schema @FILE into a mapping).
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
