"""Options -> create-interaction request body, and back. The place to look for "where does
--seed go", for what a turn sends (its history, and the next hop of a tool loop), and for
how a saved conversation's fields become settings again on resume.

Pure functions: only the fields that are set, snake_case, as the API documents them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gemini_cli.errors import UsageError
from gemini_cli.request.fields import unknown_keys
from gemini_cli.request.inputs import user_input_step
from gemini_cli.request import schema
from gemini_cli.state.config import Settings
from gemini_cli.state.settings import GENERATION, TABLE

REMEMBERED = tuple(s for s in TABLE if s.remembered)

# Settings <-> generation_config fields: the settings table's `field` column (state/settings.py).
GENERATION_FIELDS = {s.name: s.field for s in GENERATION}


def generation_config(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for setting in GENERATION:
        value = getattr(settings, setting.name)
        if setting.to_wire is not None:
            value = setting.to_wire(value)
        if value is not None:
            assert setting.field is not None  # GENERATION: the rows with a field
            config[setting.field] = value
    return config


def remembered(conv: Any) -> dict[str, Any]:
    """The settings a saved conversation (state.conversation.Conversation) carries, by the
    names of their flags (the settings table's `remembered` column); config.remember lets
    flags given now override them. The API keeps none of these between turns, so they are
    re-sent each turn."""
    if conv is None:
        return {}
    config = conv.generation_config or {}
    values: dict[str, Any] = {}
    for setting in REMEMBERED:
        where = setting.remembered
        assert where is not None  # REMEMBERED: the rows with a place
        if where == "generation_config":
            value = config.get(setting.field)
            value = setting.from_wire(value) if setting.from_wire is not None else value
        elif where.startswith("extra."):
            value = conv.extra.get(where[len("extra."):])
        else:
            value = getattr(conv, where)
        values[setting.name] = list(value) if isinstance(value, list) else value  # never the conversation's own list
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
    """`response_format`: `{"type": "text", "mime_type": "application/json", "schema"?: {...}}`
    for --schema/--json, `{"type": "image", "aspect_ratio"?, "image_size"?}` for --image,
    `{"type": "audio"}` for --audio; an array when several are asked. Flags replace the
    format a resumed conversation remembers.

    The schema must already be loaded (check_settings turns --schema @FILE into a mapping).
    """
    media = media_formats(settings)
    if not media:
        return schema.response_format(settings.schema, settings.json_mode, settings.response_format)
    text = schema.response_format(settings.schema, settings.json_mode, None)
    formats = ([text] if text is not None else []) + media
    return formats[0] if len(formats) == 1 else formats


def media_formats(settings: Settings) -> list[dict[str, Any]]:
    formats: list[dict[str, Any]] = []
    if settings.image or settings.aspect_ratio or settings.image_size:
        image: dict[str, Any] = {"type": "image"}
        if settings.aspect_ratio:
            image["aspect_ratio"] = settings.aspect_ratio
        if settings.image_size:
            image["image_size"] = settings.image_size
        formats.append(image)
    if settings.audio:
        formats.append({"type": "audio"})
    return formats


# Settings that become generation_config fields: an agent interaction takes none of them.
_GENERATION_FLAGS = {s.name: s.flag for s in GENERATION}
# Body fields the tool manages itself: --body-extra may not set them (use the flag).
_MANAGED = {"model": "--model", "agent": "--agent", "input": "the prompt", "stream": "--stream/--no-stream",
            "store": "--store/--no-store", "background": "--background", "previous_interaction_id": "--previous-interaction-id"}


def _check_agent(settings: Settings) -> str | None:
    """The agent to run: exit 2 for --agent combined with what agents do not take; None for
    -m on a resumed agent conversation (it goes back to a model)."""
    if not settings.agent:
        return settings.agent
    if settings.sources.get("agent") == "conversation" and "model" in settings.explicit:
        return None
    if "model" in settings.explicit and settings.sources.get("agent") != "conversation":
        raise UsageError("--agent runs an agent instead of a model; give --agent or --model, not both")
    given = [flag for key, flag in _GENERATION_FLAGS.items() if key in settings.explicit and getattr(settings, key)]
    if given:
        raise UsageError(f"{', '.join(given)} set generation_config, which an agent interaction does not take")
    if not settings.store:
        raise UsageError("--agent runs in the background, which needs server-side storage; it cannot be combined with --no-store")
    return settings.agent


def load_body_extra(value: Any, warn: Any = None) -> dict[str, Any] | None:
    """--body-extra: a JSON object, as text or @FILE; `warn` is told of keys the request does not define."""
    if value is None or isinstance(value, dict):
        return value

    extra, where = schema.json_argument(str(value), "--body-extra")
    if not isinstance(extra, dict):
        raise UsageError(f"{where} must be a JSON object, got {type(extra).__name__}")
    for key, flag in _MANAGED.items():
        if key in extra:
            raise UsageError(f"--body-extra may not set {key!r}; the tool sets it ({flag})")

    unknown = unknown_keys(extra)
    if unknown and warn is not None:  # sent all the same: the API may know a field the reference does not
        warn(f"--body-extra sets {', '.join(unknown)}, which the create request does not define "
             "(a typo?); sending it as given")
    return extra


def merge_extra(body: dict[str, Any], extra: dict[str, Any] | None, path: str = "") -> dict[str, Any]:
    """Merge --body-extra into the body, deep: objects merge key by key; any other value
    at a place the tool already set is a collision (exit 2), never a silent override."""
    for key, value in (extra or {}).items():
        where = f"{path}.{key}" if path else key
        if key not in body:
            body[key] = value
        elif isinstance(body[key], dict) and isinstance(value, dict):
            merge_extra(body[key], value, where)
        else:
            raise UsageError(f"--body-extra sets {where!r}, which the tool already sets (from a flag, the config "
                             "or the conversation); give it one way only")
    return body


def create_body(
    *,
    model: str,
    input: Any,
    agent: str | None = None,
    service_tier: str | None = None,
    system_instruction: str | None = None,
    generation_config: dict[str, Any] | None = None,
    tools: list[Any] | None = None,
    response_format: Any = None,
    previous_interaction_id: str | None = None,
    store: bool = True,
    background: bool = False,
    stream: bool = False,
) -> dict[str, Any]:
    # An agent interaction names the agent and carries no model or generation_config.
    body: dict[str, Any] = {"agent": agent, "input": input} if agent else {"model": model, "input": input}
    if system_instruction:
        body["system_instruction"] = system_instruction
    if generation_config and not agent:
        body["generation_config"] = generation_config
    if tools:
        body["tools"] = tools
    if response_format is not None:
        body["response_format"] = response_format
    if previous_interaction_id:
        body["previous_interaction_id"] = previous_interaction_id
    if not store:
        body["store"] = False  # true is the API's default
    if service_tier:
        body["service_tier"] = service_tier
    if background or agent:
        body["background"] = True  # agents run in the background (streamed or not)
    if stream:
        body["stream"] = True
    return body


def history_fields(conversation: Any, input: Any, pending: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The body's `input` (and `previous_interaction_id`) for a turn of the conversation
    (state.conversation.Conversation). Stateless: every usable earlier step verbatim, then
    `pending` (function_result steps answering the last turn's calls), then the user_input
    step. Server mode: chained to the newest usable interaction; `input` is the user's text as
    given, or a step list when results or attachments go with it."""
    step = user_input_step(input)
    if not conversation.store:
        return {"input": conversation.history_steps(pending) + list(pending or []) + [step]}
    previous = conversation.last_interaction_id() or conversation.extra.get("parent_interaction_id")
    # A list of content blocks (attachments) goes in one user_input step, as the SDK sends it.
    sent = [*(pending or []), step] if pending or isinstance(input, list) else input
    return {"input": sent, "previous_interaction_id": previous}


def create_request(settings: Settings, conversation: Any, input: Any, *, generation_config: dict[str, Any],
                   tools: list[Any], response_format: Any, pending: list[dict[str, Any]] | None = None,
                   background: bool = False, stream: bool | None = None) -> dict[str, Any]:
    """The whole create body of a turn: the settings' fields, the conversation's history,
    then --body-extra merged in. `stream` None: as the settings say (never with background)."""
    body = create_body(
        model=settings.model, agent=settings.agent, system_instruction=settings.system,
        generation_config=generation_config, tools=tools, response_format=response_format,
        service_tier=settings.service_tier, store=settings.store, background=background,
        stream=settings.stream and not background if stream is None else stream,
        **history_fields(conversation, input, pending),
    )
    return merge_extra(body, settings.body_extra)


def next_hop_body(body: dict[str, Any], hop_id: Any, hop_steps: list[dict[str, Any]],
                  results: list[dict[str, Any]]) -> dict[str, Any]:
    """The create after a hop that ended requires_action, answering its calls with `results`.

    Server mode: chained to the hop (`previous_interaction_id`), `input` the results alone.
    Stateless (store false): the hop's input resent whole, then its output steps unchanged
    (signatures and call ids included), then the results. Everything else (model, tools,
    generation_config, system_instruction) is sent again as it was: the API inherits none.
    """
    following = {key: value for key, value in body.items() if key not in ("input", "continuation_token")}
    if body.get("store", True) is not False:
        following.pop("previous_interaction_id", None)
        return {**following, "previous_interaction_id": hop_id, "input": list(results)}
    earlier = body.get("input")
    return {**following, "input": [*(earlier if isinstance(earlier, list) else []), *hop_steps, *results]}


def check_settings(settings: Settings, warn: Any = None) -> Settings:
    """Exit 2 before anything is sent: a bad --schema, contradictory flags, --tool none mixed,
    --agent combined with what agents do not take, a bad --body-extra. Returns the settings
    with --schema and --body-extra loaded (mappings, from JSON text or @FILE), marked checked:
    checked settings come back as they are, so a turn checks them once (chat: once per run),
    however many callers ask. `warn`: the console's, for what is sent but looks wrong."""
    if settings.checked:
        return settings
    loaded = settings.schema
    if settings.json_mode is False and str(settings.sources.get("schema", "")).startswith("template"):
        loaded = None  # --no-json drops a template's schema (a --schema flag with it is an error)
    loaded = schema.load_schema(loaded)
    schema.response_format(loaded, settings.json_mode)  # --schema with --no-json is exit 2
    tool_list(settings.tools)  # --tool none mixed with others is exit 2
    if settings.extract and settings.extract_last:
        raise UsageError("give --extract or --extract-last, not both")
    if (settings.extract or settings.extract_last) and settings.output != "text":
        raise UsageError(f"--extract prints a code block as text; it cannot be combined with -o {settings.output}")
    body_extra = load_body_extra(settings.body_extra, warn)
    return replace(settings, schema=loaded, body_extra=body_extra, agent=_check_agent(settings), checked=True)
