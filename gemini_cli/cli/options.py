"""Option declarations shared by the commands, and the groups they come in.

Each option is declared once here (an Annotated type Typer reads); the groups at the end
(GENERATION, ANSWER, ATTACH, OUTPUT, CONVERSATION, CONNECTION) bundle the options several
commands take, so an option added to a group reaches every command of the group. A command
names a group by a placeholder parameter whose default is the group; `@with_groups` puts
the group's options in its place (see with_groups).
"""

from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import click
import typer
from click.shell_completion import CompletionItem

from gemini_cli.cli.groups import Group, Values, with_groups  # noqa: F401 (the commands use them as options.*)
from gemini_cli.errors import UsageError
from gemini_cli.state.config import DEFAULT_API_VERSION, DEFAULT_BASE_URL
from gemini_cli.state.models import BUILTIN_ALIASES, DEFAULT_MODEL
# cli/shell_complete.py (~3 ms) and runs/session.py (~32 ms) are imported inside the functions
# that use them: every --help loads this module and needs neither.

class Completing(click.types.StringParamType):
    """A text parameter whose TAB candidates come from gemini_cli.cli.shell_complete (click's public
    `ParamType.shell_complete` hook). shell_complete.py is imported only when a shell asks, and
    `kind` names its completer: a value list, or a path the shell completes (`file`)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def shell_complete(self, ctx: Any, param: Any, incomplete: str) -> list[Any]:
        from gemini_cli.cli import shell_complete

        return shell_complete.candidates(self.kind, incomplete)


CONVERSATION_ID = Completing("conversation_id")


class Finite(click.FloatRange):
    """A float in range that is a number: click's FloatRange lets `nan` through (every
    comparison with it is false) and `inf` past an open top; neither is a time or a
    temperature (nan would even be sent as invalid JSON)."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number
CONVERSATION_ID_OR_FILE = Completing("conversation_id_or_file")
MODEL = Completing("model")
PROFILE = Completing("profile")
TEMPLATE = Completing("template")
FILE_OR_URL = Completing("file")
# For every Path parameter: Typer's own Path type offers nothing on TAB, click's lets the
# shell complete paths (no checks added: the commands report a bad path themselves).
PATH = click.Path()


class _Folder(click.Path):
    """A folder: TAB completes folder names only (no checks added either)."""

    def shell_complete(self, ctx: Any, param: Any, incomplete: str) -> list[Any]:
        return [CompletionItem(incomplete, type="dir")]


FOLDER = _Folder()


class Thinking(str, Enum):
    minimal = "minimal"
    low = "low"
    medium = "medium"
    high = "high"
    xhigh = "xhigh"


class OutputMode(str, Enum):
    text = "text"
    json = "json"
    jsonl = "jsonl"


GEN = "Generation"
CONN = "Connection"

# Defaults are written into the help text as "(default X)": rich help reads "[default: X]" as markup and drops it.
Model = Annotated[Optional[str], typer.Option(
    "--model", "-m", help=f"Model id (default {DEFAULT_MODEL}), or an alias: "
    f"{', '.join(f'{k} ({v})' for k, v in BUILTIN_ALIASES.items())}; more in the config file (aliases:).", rich_help_panel=GEN, click_type=MODEL)]
System = Annotated[Optional[str], typer.Option("--system", "-s", help="System instruction.", rich_help_panel=GEN)]
SystemFile = Annotated[
    Optional[Path], typer.Option("--system-file", click_type=PATH, help="Read the system instruction from a file.", rich_help_panel=GEN)
]
Temperature = Annotated[Optional[float], typer.Option("--temperature", click_type=Finite(0.0, 2.0), help="Sampling temperature.", rich_help_panel=GEN)]
TopP = Annotated[Optional[float], typer.Option("--top-p", click_type=Finite(0.0, 1.0), help="Nucleus sampling.", rich_help_panel=GEN)]
MaxTokens = Annotated[Optional[int], typer.Option("--max-tokens", min=1, help="Maximum output tokens.", rich_help_panel=GEN)]
Seed = Annotated[Optional[int], typer.Option("--seed", help="Sampling seed.", rich_help_panel=GEN)]
Stop = Annotated[Optional[list[str]], typer.Option("--stop", help="Stop sequence (repeatable).", rich_help_panel=GEN)]
ThinkingLevel = Annotated[Optional[Thinking], typer.Option("--thinking", help="Thinking level.", rich_help_panel=GEN)]
Thoughts = Annotated[
    Optional[bool], typer.Option("--thoughts/--no-thoughts", help="Request thought summaries; print them to stderr.", rich_help_panel=GEN)
]
Stream = Annotated[Optional[bool], typer.Option("--stream/--no-stream", help="Stream the answer (default).")]
Output = Annotated[Optional[OutputMode], typer.Option("--output", "-o", help="text, json (the whole Interaction) or jsonl (every event).")]
Usage = Annotated[Optional[bool], typer.Option("--usage/--no-usage", help="Print token usage to stderr.")]
Quiet = Annotated[Optional[bool], typer.Option("--quiet", "-q", help="No notes or warnings on stderr (errors still).")]
BaseUrl = Annotated[Optional[str], typer.Option(
    "--base-url", help=f"API base URL: scheme://host, optionally :port and a path, without the version (default {DEFAULT_BASE_URL}).",
    rich_help_panel=CONN)]
ApiVersion = Annotated[Optional[str], typer.Option(
    "--api-version", help=f"API version path segment (default {DEFAULT_API_VERSION}).", rich_help_panel=CONN)]
Timeout = Annotated[Optional[float], typer.Option(
    "--timeout", click_type=Finite(0.001), help="Network timeout per request, seconds (default 300).", rich_help_panel=CONN)]
Retries = Annotated[Optional[int], typer.Option(
    "--retries", min=0, help="Retries for 408/429/5xx/connection errors (default 4).", rich_help_panel=CONN)]
MaxTime = Annotated[Optional[float], typer.Option(
    "--max-time", click_type=Finite(0.001), help="Wall-clock deadline for the whole run, retries and waits included, seconds.",
    rich_help_panel=CONN)]


def sub_app(name: str, help: str) -> typer.Typer:
    """A command group (files, history, config) with the settings every group shares."""
    return typer.Typer(
        name=name, help=help, no_args_is_help=True, add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )


def read_system(system: str | None, system_file: Path | None, max_time: float | None = None) -> str | None:
    """--system-file read: at most 20 MiB (a whole request's limit: /dev/zero is not read
    forever); a pipe or /dev/stdin that stays open without sending ends at --max-time (exit 7)."""
    from gemini_cli.request.inputs import INLINE_LIMIT, within

    if system is not None and system_file is not None:
        raise UsageError("give --system or --system-file, not both")
    if system_file is None:
        return system
    try:
        with open(system_file, "rb") as file:
            data = within(file, max_time, f"--system-file {system_file}").read(INLINE_LIMIT + 1)
        if len(data) > INLINE_LIMIT:
            raise UsageError(f"--system-file {system_file} is over {INLINE_LIMIT >> 20} MiB (stopped reading there)")
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read --system-file {system_file}: {getattr(exc, 'strerror', None) or exc}") from None


def command_flags(values: dict[str, Any]) -> dict[str, Any]:
    """A command's parameters (its locals(), groups merged in) as config.resolve takes them:
    enum members as their values, --system-file read into system."""
    merged: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Values):
            merged.update(value)
        else:
            merged[key] = value
    flags = {key: enum_value(value) for key, value in merged.items()}
    if "system_file" in flags:
        flags["system"] = read_system(flags.get("system"), flags["system_file"], flags.get("max_time"))
    return flags


def enum_value(value: Any) -> Any:
    if isinstance(value, list):
        return [enum_value(item) for item in value]
    return value.value if isinstance(value, Enum) else value


TPL = "Profiles and templates"


class StdinPosition(str, Enum):
    before = "before"
    after = "after"
    input = "input"


def _pair() -> Any:
    """NAME VALUE: an option that takes two arguments (typer has no list-of-tuples type)."""
    return click.Tuple([str, str])


Profile = Annotated[Optional[str], typer.Option(
    "--profile", help="Use a profile from the config file's profiles:.", rich_help_panel=TPL, click_type=PROFILE)]
Template = Annotated[Optional[str], typer.Option(
    "--template", "-t", help="Prompt template: NAME (templates/NAME.yaml in the config folder) or a YAML file.", rich_help_panel=TPL,
    click_type=TEMPLATE)]
Param = Annotated[Optional[list[str]], typer.Option(
    "--param", "-p", click_type=_pair(), metavar="NAME VALUE", help="Fill the template's {NAME} placeholder (repeatable).",
    rich_help_panel=TPL)]
StdinPositionOption = Annotated[Optional[StdinPosition], typer.Option(
    "--stdin-position", help="Piped text goes before PROMPT (default), after it, or in place of {input} in it.", rich_help_panel=TPL)]


CONV = "Conversation"
MEDIA = "Attachments"

Attach = Annotated[
    Optional[list[str]],
    typer.Option("--attach", "-a", click_type=FILE_OR_URL, help="Attach a file, URL, Files API name/uri, or - for binary stdin (repeatable).", rich_help_panel=MEDIA),
]
ChatAttach = Annotated[  # chat reads its messages from stdin, so no `-`
    Optional[list[str]],
    typer.Option("--attach", "-a", click_type=FILE_OR_URL, help="Attach a file, URL or Files API name/uri to the first message (repeatable).",
                 rich_help_panel=MEDIA),
]
Mime = Annotated[Optional[str], typer.Option("--mime", help="MIME type for every attachment, overriding detection.", rich_help_panel=MEDIA)]
SessionFile = Annotated[
    Optional[Path], typer.Option("--session", click_type=PATH, help="Conversation file to resume and save to (created if missing).", rich_help_panel=CONV)
]
Continue = Annotated[bool, typer.Option("--continue", "-c", help="Continue the most recently used conversation.", rich_help_panel=CONV)]
Cid = Annotated[Optional[str], typer.Option(
    "--cid", help="Continue the conversation with this id (or unique prefix).", rich_help_panel=CONV,
    click_type=CONVERSATION_ID)]
PreviousInteraction = Annotated[
    Optional[str], typer.Option("--previous-interaction-id", help="Chain to a server interaction not in the local history.", rich_help_panel=CONV)
]
Store = Annotated[
    Optional[bool], typer.Option("--store/--no-store", help="Server-side history (default) or stateless: resend the whole history.", rich_help_panel=CONV)
]
LockTimeout = Annotated[Optional[float], typer.Option(
    "--lock-timeout", click_type=Finite(0), metavar="SECONDS",
    help="Seconds to wait for another gemini-cli using the same conversation (default 30).", rich_help_panel=CONV)]
ReadStdin = Annotated[Optional[bool], typer.Option(
    "--stdin/--no-stdin", help="Read piped stdin into the prompt (default), or leave stdin alone (for `while read` loops).")]
Save = Annotated[Optional[bool], typer.Option("--save/--no-save", help="Save the turn to the conversation history (default).", rich_help_panel=CONV)]


# -- structured output, tools, terminal rendering (structured.py, tools_display.py, markdown.py)

SHAPE = "Answer shape"


class ToolName(str, Enum):
    google_search = "google_search"
    code_execution = "code_execution"
    url_context = "url_context"
    none = "none"


Tools = Annotated[Optional[list[ToolName]], typer.Option(
    "--tool", help="Server-side tool: google_search, code_execution, url_context (repeatable); none clears remembered tools.",
    rich_help_panel=SHAPE)]
Schema = Annotated[Optional[str], typer.Option(
    "--schema", metavar="JSON|@FILE", help="Ask for JSON matching this JSON Schema; the answer is validated (exit 10).",
    rich_help_panel=SHAPE)]
JsonMode = Annotated[Optional[bool], typer.Option(
    "--json/--no-json", help="Ask for a JSON answer (no schema); --no-json drops a remembered format.", rich_help_panel=SHAPE)]
Markdown = Annotated[Optional[bool], typer.Option(
    "--markdown/--no-markdown", help="Render the answer as Markdown on a terminal (never when piped).", rich_help_panel=SHAPE)]
Extract = Annotated[bool, typer.Option(
    "--extract", help="Print only the first fenced code block of the answer (exit 10 if none).", rich_help_panel=SHAPE)]
ExtractLast = Annotated[bool, typer.Option(
    "--extract-last", help="Print only the last fenced code block of the answer.", rich_help_panel=SHAPE)]


# -- media answers, service tier, agents, raw body fields (request/body.py, render/media.py)

API = "Media answers, agents, raw fields"


class ServiceTier(str, Enum):
    flex = "flex"
    standard = "standard"
    priority = "priority"
    deferred = "deferred"


class AspectRatio(str, Enum):
    r1_1 = "1:1"
    r2_3 = "2:3"
    r3_2 = "3:2"
    r3_4 = "3:4"
    r4_3 = "4:3"
    r4_5 = "4:5"
    r5_4 = "5:4"
    r9_16 = "9:16"
    r16_9 = "16:9"
    r21_9 = "21:9"
    r1_8 = "1:8"
    r8_1 = "8:1"
    r1_4 = "1:4"
    r4_1 = "4:1"


class ImageSize(str, Enum):
    s512 = "512"
    s1k = "1K"
    s2k = "2K"
    s4k = "4K"


Image = Annotated[Optional[bool], typer.Option(
    "--image", help="Ask for an image answer (response_format type image); saved to --media-dir.", rich_help_panel=API)]
Audio = Annotated[Optional[bool], typer.Option(
    "--audio", help="Ask for an audio answer (response_format type audio); saved to --media-dir.", rich_help_panel=API)]
AspectRatioOption = Annotated[Optional[AspectRatio], typer.Option(
    "--aspect-ratio", metavar="W:H", help="Image aspect ratio: 1:1 2:3 3:2 3:4 4:3 4:5 5:4 9:16 16:9 21:9 1:8 8:1 1:4 4:1 (implies --image).",
    rich_help_panel=API)]
ImageSizeOption = Annotated[Optional[ImageSize], typer.Option(
    "--image-size", help="Image size (implies --image).", rich_help_panel=API)]
Voice = Annotated[Optional[str], typer.Option(
    "--voice", metavar="NAME", help="Voice of a spoken answer (generation_config.speech_config).", rich_help_panel=API)]
MediaDir = Annotated[Optional[Path], typer.Option(
    "--media-dir", metavar="DIR", click_type=FOLDER, help="Where image/audio/video answers are saved (default: the current directory).",
    rich_help_panel=API)]
ServiceTierOption = Annotated[Optional[ServiceTier], typer.Option(
    "--service-tier", help="service_tier of the request.", rich_help_panel=API)]
Agent = Annotated[Optional[str], typer.Option(
    "--agent", metavar="NAME", help="Run an agent (e.g. deep-research-preview-04-2026) instead of a model; implies --background unless streamed.",
    rich_help_panel=API)]
BodyExtra = Annotated[Optional[str], typer.Option(
    "--body-extra", metavar="JSON|@FILE", help="JSON object merged into the request body last (a key the tool set is an error).",
    rich_help_panel=API)]


# -- function calling and MCP (runs/tool_setup.py)

TOOLS_PANEL = "Functions and MCP"
MCP_SERVER = Completing("mcp_server")  # NAME: of the config's mcpServers
Function = Annotated[Optional[list[str]], typer.Option(
    "--function", metavar="NAME=COMMAND", help="Let the model run COMMAND (no shell; {param} or {param:int} "
    "placeholders are its parameters) (repeatable).", rich_help_panel=TOOLS_PANEL)]
FunctionsFile = Annotated[Optional[list[Path]], typer.Option(
    "--functions", metavar="FILE", click_type=PATH, help="YAML file of functions (top level functions:) (repeatable).",
    rich_help_panel=TOOLS_PANEL)]
ToolTimeout = Annotated[Optional[float], typer.Option(
    "--tool-timeout", click_type=Finite(0.001), metavar="SECONDS", help="Seconds a function call may run before it is killed (default 60).",
    rich_help_panel=TOOLS_PANEL)]
MaxToolCalls = Annotated[Optional[int], typer.Option(
    "--max-tool-calls", min=1, metavar="N", help="Function calls allowed in one turn; past it the turn stops (exit 13) (default 10).",
    rich_help_panel=TOOLS_PANEL)]
Confirm = Annotated[Optional[bool], typer.Option(
    "--confirm", help="Ask on the terminal before every function call (refused without one).", rich_help_panel=TOOLS_PANEL)]
Mcp = Annotated[Optional[list[str]], typer.Option(
    "--mcp", metavar="NAME=COMMAND|URL", help="Connect to an MCP server: a local command (stdio) or a streamable HTTP URL "
    "(repeatable).", rich_help_panel=TOOLS_PANEL)]
RemoteMcp = Annotated[Optional[list[str]], typer.Option(
    "--remote-mcp", metavar="NAME=URL",
    help="An MCP server Google's servers call (it must be reachable from the internet; repeatable); "
    "none forgets the ones the conversation remembers.", rich_help_panel=TOOLS_PANEL)]
McpHeader = Annotated[Optional[list[str]], typer.Option(
    "--mcp-header", metavar="NAME:HEADER=VALUE", help="HTTP header for MCP server NAME; VALUE is env:VAR, cmd:COMMAND or a "
    "literal (repeatable; never written anywhere).", rich_help_panel=TOOLS_PANEL, click_type=MCP_SERVER)]
McpAllow = Annotated[Optional[list[str]], typer.Option(
    "--mcp-allow", metavar="NAME:TOOL", help="Declare only these tools of MCP server NAME (repeatable).", rich_help_panel=TOOLS_PANEL,
    click_type=MCP_SERVER)]
McpConfig = Annotated[Optional[list[Path]], typer.Option(
    "--mcp-config", metavar="FILE", click_type=PATH, help="JSON file with an mcpServers mapping (Claude Desktop's format) "
    "(repeatable).", rich_help_panel=TOOLS_PANEL)]

# -- option groups (the mechanism: cli/groups.py) ----------------------------------------

# The groups. generate, chat and batch take GENERATION, ANSWER, ATTACH, OUTPUT, TOOLS and
# CONVERSATION (or the parts named where they are applied); every command that calls the
# API takes CONNECTION.
GENERATION = Group(
    model=Model, profile=Profile, template=Template, param=Param, stdin_position=StdinPositionOption,
    system=System, system_file=SystemFile, temperature=Temperature, top_p=TopP, max_tokens=MaxTokens,
    seed=Seed, stop=Stop, thinking=ThinkingLevel, thoughts=Thoughts,
)
ANSWER = Group(
    tools=Tools, schema=Schema, json_mode=JsonMode, markdown=Markdown, extract=Extract, extract_last=ExtractLast,
    image=Image, audio=Audio, aspect_ratio=AspectRatioOption, image_size=ImageSizeOption, voice=Voice,
    media_dir=MediaDir, service_tier=ServiceTierOption, agent=Agent, body_extra=BodyExtra,
)
ATTACH = Group(attach=Attach, mime=Mime)
OUTPUT = Group(stream=Stream, output=Output, usage=Usage)
CONVERSATION = Group(
    session=SessionFile, continue_=Continue, cid=Cid, previous_interaction_id=PreviousInteraction,
    store=Store, save=Save, lock_timeout=LockTimeout,
)


def resume_from(flags: dict[str, Any]) -> Any:
    """The CONVERSATION group's resume flags, as runs.session.Resume takes them."""
    from gemini_cli.runs.session import Resume

    return Resume(flags["session"], flags["continue_"], flags["cid"], flags["previous_interaction_id"], flags["store"])


# Functions and MCP servers: generate, chat, batch and history fetch.
TOOLS = Group(function=Function, functions_file=FunctionsFile, tool_timeout=ToolTimeout, max_tool_calls=MaxToolCalls,
              confirm=Confirm, mcp=Mcp, remote_mcp=RemoteMcp, mcp_header=McpHeader, mcp_allow=McpAllow,
              mcp_config=McpConfig)


CONNECTION = Group(quiet=Quiet, timeout=Timeout, retries=Retries, max_time=MaxTime, base_url=BaseUrl,
                   api_version=ApiVersion)
