"""Every setting, declared once: its type and range, where it goes in the request, and who
may set it (config.yaml and profiles, a template, a batch row) or remember it (a saved
conversation).

Everything else reads this table: `config.Settings` (its fields and defaults), the config
file check (configfile.check), templates (templates.SETTINGS), batch rows (rows.ROW_SETTINGS),
and the body builder (body.generation_config, body.remembered). A new generation setting
is one row here and its option in cli/options.py.

Stdlib only: every command loads it.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from gemini_cli.state.models import DEFAULT_MODEL

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_API_VERSION = "v1beta"
THINKING_LEVELS = ("minimal", "low", "medium", "high", "xhigh")
SERVICE_TIERS = ("flex", "standard", "priority", "deferred")
OUTPUT_MODES = ("text", "json", "jsonl")

NUMBER = (int, float)


class Setting(NamedTuple):  # a NamedTuple, not a dataclass: a quarter of the import time
    """One setting. `name` is the Settings attribute, the config key and (with - for _) the flag."""

    name: str
    default: Any = None  # None: not set, the API's own default; a list is copied per Settings
    types: tuple[type, ...] = ()  # what a file or row may give (bool before int: bool is an int)
    low: float | None = None  # the range the flag enforces, inclusive
    high: float | None = None
    positive: bool = False  # greater than 0
    choices: tuple[str, ...] = ()
    field: str | None = None  # its generation_config field in the request body
    to_wire: Callable[[Any], Any] | None = None  # the value -> the field's value (None: left out)
    from_wire: Callable[[Any], Any] | None = None  # and back, for a resumed conversation
    config: bool = False  # config.yaml and its profiles may set it
    template: bool = False  # a template (-t) may set it
    row: bool = False  # a batch JSON row may set it
    remembered: str | None = None  # where a saved conversation keeps it: a Conversation attribute,
    #   "extra.KEY", or "generation_config" (its `field` there)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def _list(value: Any) -> Any:
    return list(value) if value else None


def _voice(speech: Any) -> Any:
    if isinstance(speech, list) and speech and isinstance(speech[0], dict):
        return speech[0].get("voice")
    return None


GEN: dict[str, Any] = dict(config=True, template=True, row=True, remembered="generation_config")  # a sampling setting

# In this order: `config show` prints the file's settings so, and generation_config is built
# so (the body's bytes are what a --replay cassette matches).
TABLE: tuple[Setting, ...] = (
    Setting("model", DEFAULT_MODEL, (str,), config=True, template=True, remembered="model"),
    Setting("base_url", DEFAULT_BASE_URL, (str,), config=True),
    Setting("api_version", DEFAULT_API_VERSION, (str,), config=True),
    Setting("system", None, (str,), config=True, remembered="system_instruction"),
    Setting("temperature", None, NUMBER, low=0, high=2, field="temperature", **GEN),
    Setting("top_p", None, NUMBER, low=0, high=1, field="top_p", **GEN),
    Setting("seed", None, (int,), field="seed", **GEN),
    Setting("max_tokens", None, (int,), low=1, field="max_output_tokens", **GEN),
    Setting("stop", [], (list,), field="stop_sequences", to_wire=_list, **GEN),
    Setting("thinking", None, (str,), choices=THINKING_LEVELS, field="thinking_level", **GEN),
    Setting("thoughts", False, (bool,), field="thinking_summaries", to_wire=lambda on: "auto" if on else None,
            from_wire=lambda value: True if value == "auto" else None, **GEN),
    Setting("stream", True, (bool,), config=True),
    Setting("output", "text", (str,), choices=OUTPUT_MODES, config=True),
    Setting("usage", False, (bool,), config=True),
    Setting("quiet", False, (bool,), config=True),
    Setting("timeout", 300.0, NUMBER, positive=True, config=True),
    Setting("retries", 4, (int,), low=0, config=True),
    Setting("retry_delay", 0.5, NUMBER, low=0, config=True),
    Setting("max_time", None, NUMBER, positive=True, config=True),
    Setting("save", True, (bool,), config=True),
    Setting("store", True, (bool,), config=True, remembered="store"),
    Setting("lock_timeout", 30.0, NUMBER, low=0, config=True),
    Setting("markdown", False, (bool,), config=True),
    Setting("service_tier", None, (str,), choices=SERVICE_TIERS, config=True),
    Setting("media_dir", None, (str,), config=True),  # None: the current directory
    Setting("stdin", True, (bool,), config=True),  # generate reads piped stdin into the prompt
    # Flags only (request/schema.py, render/tools.py, render/extract.py, render/media.py, request/body.py).
    Setting("schema"),  # --schema JSON|@FILE (or a template's mapping); request.body.check_settings loads it
    Setting("json_mode"),  # --json / --no-json; None: as the conversation remembers
    Setting("response_format", remembered="response_format"),  # only as remembered (wire shape)
    Setting("tools", [], remembered="tools"),  # --tool names, or remembered tool objects
    # --remote-mcp NAME=URL texts, or the servers a conversation remembers (request/remote_mcp.py:
    # name, url, header references; never a header's value).
    Setting("remote_mcp", None, remembered="extra.remote_mcp"),  # None: not given, nothing remembered
    Setting("extract", False),
    Setting("extract_last", False),
    Setting("image", False),
    Setting("audio", False),
    Setting("aspect_ratio"),
    Setting("image_size"),
    Setting("voice", field="speech_config", to_wire=lambda voice: [{"voice": voice}] if voice else None,
            from_wire=_voice, remembered="generation_config"),
    Setting("agent", remembered="extra.agent"),  # an agent conversation goes on with its agent
    Setting("body_extra"),  # --body-extra JSON|@FILE; request.body.check_settings parses it
    # Function calling and MCP (runs/tool_setup.py builds the turn's tool loop from them).
    # Never remembered: a conversation file never makes a later run execute anything.
    Setting("tool_timeout", 60.0, NUMBER, positive=True, config=True, template=True),
    Setting("max_tool_calls", 10, (int,), low=1, config=True, template=True),
    Setting("confirm", False, (bool,), config=True, template=True),
    # `functions:` and `mcpServers:` mappings: config.resolve keeps every layer's, as
    # ((mapping, source), ...), lowest first (a profile adds to the file's, a template to both).
    # mcpServers is spelled as Claude Desktop's and gemini-cli's files spell it; its entries with
    # `remote: true` are servers the API calls (request/remote_mcp.py), the others ours.
    Setting("functions", (), (dict,), config=True, template=True),
    Setting("mcpServers", (), (dict,), config=True, template=True),
    Setting("function", []),  # --function NAME=COMMAND
    Setting("functions_file", []),  # --functions FILE
    Setting("mcp", []),  # --mcp NAME=COMMAND|URL
    Setting("mcp_header", []),  # --mcp-header NAME:Header=VALUE
    Setting("mcp_allow", []),  # --mcp-allow NAME:TOOL
    Setting("mcp_config", []),  # --mcp-config FILE
)
LAYERED = ("functions", "mcpServers")  # merged across layers, not replaced

BY_NAME: dict[str, Setting] = {s.name: s for s in TABLE}
CONFIG_KEYS = tuple(s.name for s in TABLE if s.config)  # config.yaml, profiles, `config show`
TEMPLATE_KEYS = tuple(s.name for s in TABLE if s.template)
ROW_KEYS = tuple(s.name for s in TABLE if s.row)
GENERATION = tuple(s for s in TABLE if s.field)  # in the order generation_config is built
