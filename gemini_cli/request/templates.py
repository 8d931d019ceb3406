"""Prompt templates (-t/--template) and where piped stdin goes in the prompt (--stdin-position).

A template is a YAML mapping, `templates/NAME.yaml` in the config folder or a file given by
path, with the fields: description, system, prompt, model, the generation settings
(temperature, top_p, max_tokens, seed, stop, thinking, thoughts: SETTINGS), schema, and defaults
(values for placeholders). In system and prompt, `{name}` is a placeholder filled with
`-p name VALUE` (or `defaults:`), `{input}` (prompt only) is the input: PROMPT and/or stdin,
combined as --stdin-position says. `{{` and `}}` are literal braces; any other brace is an
error. A prompt without `{input}` gets the input appended after a blank line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from gemini_cli.errors import UsageError
from gemini_cli.state import configfile
from gemini_cli.state.configfile import kind
from gemini_cli.state.paths import known_templates, templates_dir
from gemini_cli.state.settings import TEMPLATE_KEYS

SETTINGS = TEMPLATE_KEYS  # the settings a template may set (the settings table's `template`)
FIELDS = ("description", "system", "prompt", "schema", "defaults") + SETTINGS
INPUT = "input"
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_-]*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass
class Template:
    name: str  # as given to -t
    path: Path
    system: list[Any] | None = None  # parsed: literal strings and Field(name)
    prompt: list[Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    schema: Any = None
    defaults: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    per_row: bool = False  # batch: each row may fill placeholders (CSV columns, "params")

    def placeholders(self) -> set[str]:
        return {part.name for parts in (self.system or [], self.prompt or []) for part in parts if isinstance(part, Field)}

    def render(self, parts: list[Any], values: dict[str, str], *, partial: bool = False) -> str:
        """parts filled from values; a missing one is an error, or with `partial` stays `{name}`."""
        missing = sorted({p.name for p in parts if isinstance(p, Field) and p.name not in values and p.name != INPUT})
        if missing and not partial:
            row = " or the row (a CSV column, or JSONL \"params\")" if self.per_row else ""
            if len(missing) == 1:
                raise UsageError(f"template '{self.name}' needs parameter '{missing[0]}': "
                                 f"give it with -p {missing[0]} VALUE{row}")
            names = ", ".join(f"'{name}'" for name in missing)
            raise UsageError(f"template '{self.name}' needs parameters {names}: give each with -p NAME VALUE{row}")
        return "".join(values.get(p.name, f"{{{p.name}}}") if isinstance(p, Field) else p for p in parts)

    def render_prompt(self, params: list[tuple[str, str]], text: str | None) -> str:
        """The request text: the prompt with its placeholders filled, or the input alone."""
        if self.prompt is None:
            if not text:
                raise UsageError(f"template '{self.name}' has no prompt: give PROMPT or pipe text on stdin")
            return text
        values = self.values(params)
        uses_input = any(isinstance(p, Field) and p.name == INPUT for p in self.prompt)
        if uses_input and not text:
            raise UsageError(f"template '{self.name}' needs input for {{input}}: give PROMPT or pipe text on stdin")
        rendered = self.render(self.prompt, {**values, INPUT: (text or "").rstrip("\n")})
        if text and not uses_input:
            rendered = f"{rendered.rstrip(chr(10))}\n\n{text}"
        return rendered

    def applied(self, params: list[tuple[str, str]], system_flag: bool) -> tuple[dict[str, Any], list[str]]:
        """The settings this template gives (config.resolve layers them under the flags): its
        own, its system instruction filled (unless --system is given) and its schema; and
        warnings for -p parameters it does not use."""
        values = dict(self.settings)
        if self.system is not None and not system_flag:
            # per row: the rows fill what -p does not, and each row's system is rendered then
            values["system"] = self.render(self.system, self.values(params), partial=self.per_row)
        else:
            self.values(params)  # rejects -p input
        if self.schema is not None:  # for structured output (a --schema flag wins)
            values["schema"] = self.schema
        used = self.placeholders() | {INPUT}
        return values, [f"parameter '{name}' is not used by template '{self.name}'"
                        for name in dict.fromkeys(name for name, _ in params) if name not in used]

    def values(self, params: list[tuple[str, str]]) -> dict[str, str]:
        values = dict(self.defaults)
        for name, value in params:
            if name == INPUT:
                raise UsageError("{input} is filled from PROMPT and stdin, not with -p")
            values[name] = value
        return values


@dataclass(frozen=True)
class Field:
    name: str


def find(spec: str) -> Path:
    """A template's file: a path (it has a slash or a .yaml/.yml suffix) or templates/NAME.yaml."""
    if "/" in spec or spec.endswith((".yaml", ".yml")) or spec.startswith("~"):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise UsageError(f"template file {path} not found")
        return path
    if not _NAME.fullmatch(spec):
        raise UsageError(f"bad template name {spec!r}: use letters, digits, '_', '-' and '.', or give a path")
    folder = templates_dir()
    for suffix in (".yaml", ".yml"):
        if (folder / f"{spec}{suffix}").is_file():
            return folder / f"{spec}{suffix}"
    known = known_templates()
    listing = f"known: {', '.join(known)}" if known else f"there are no templates in {folder}"
    raise UsageError(f"unknown template '{spec}': no {folder / (spec + '.yaml')} ({listing})")


def from_flags(flags: dict[str, Any], warn: Callable[[str], None], *, per_row: bool = False) -> Template | None:
    """The template -t/--template names, loaded; None without one (for config.resolve).
    `per_row` (batch): placeholders may be filled by each row, so none is missing yet."""
    if not flags.get("template"):
        return None
    template = load(flags["template"], warn)
    template.per_row = per_row
    return template


def load(spec: str, warn: Callable[[str], None]) -> Template:
    """Read and check a template (exit 2 on any error, naming the file and field); `warn`
    (the I/O context's) hears of the fields it ignores."""
    path = find(spec)
    where = f"template {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {where}: {getattr(exc, 'strerror', None) or exc}") from None
    data = configfile.parse_yaml(text, where, "a mapping of template fields")
    template = Template(name=spec, path=path)
    for key, value in data.items():
        if key not in FIELDS:
            warn(f"{where}: unknown field '{key}' ignored")
        elif value is None:
            continue
        elif key in SETTINGS:
            template.settings[key] = configfile.check(key, value, where)
        elif key in ("system", "prompt", "description"):
            if not isinstance(value, str):
                raise UsageError(f"{where}: '{key}' must be a string, got {kind(value)}")
            if key == "description":
                template.description = value
            else:
                setattr(template, key, parse(value, where, key))
        elif key == "defaults":
            template.defaults = _defaults(value, where)
        elif key == "schema":
            template.schema = _schema(value, path, where)
    if template.system and any(isinstance(p, Field) and p.name == INPUT for p in template.system):
        raise UsageError(f"{where}: {{input}} can only be used in 'prompt', not in 'system'")
    return template


def parse(text: str, where: str, key: str) -> list[Any]:
    """Split text into literal strings and Field(name) placeholders."""
    parts: list[Any] = []
    at = 0
    for match in _TOKEN.finditer(text):
        if match.start() > at:
            parts.append(text[at:match.start()])
        token = match.group(0)
        if match.group(1):
            parts.append(Field(match.group(1)))
        elif token in ("{{", "}}"):
            parts.append(token[0])
        else:
            line = text.count("\n", 0, match.start()) + 1
            column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
            raise UsageError(
                f"{where}: '{key}' line {line}, column {column}: a lone '{token}' "
                f"(placeholders are {{name}}; write {token * 2} for a literal brace)"
            )
        at = match.end()
    if at < len(text):
        parts.append(text[at:])
    return parts


def _defaults(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise UsageError(f"{where}: 'defaults' must be a mapping of parameter names to values, got {kind(value)}")
    out = {}
    for name, default in value.items():
        if isinstance(default, bool) or not isinstance(default, (str, int, float)):
            raise UsageError(f"{where}: 'defaults.{name}' must be a string or a number, got {kind(default)}")
        out[str(name)] = str(default)
    return out


def _schema(value: Any, path: Path, where: str) -> dict[str, Any]:
    """A JSON schema: a mapping, JSON text, or @FILE (JSON or YAML, relative to the template)."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise UsageError(f"{where}: 'schema' must be a mapping, JSON text or @FILE, got {kind(value)}")
    if value.startswith("@"):
        file = (path.parent / value[1:]).expanduser()
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{where}: cannot read schema file {file}: {getattr(exc, 'strerror', None) or exc}") from None

        return configfile.parse_yaml(text, f"schema file {file}", "a JSON schema object")
    try:
        schema = json.loads(value)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: 'schema' is not valid JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise UsageError(f"{where}: 'schema' must be a JSON object")
    return schema


def compose(piped: str, argument: str | None, *, template: Template | None = None,
            params: list[tuple[str, str]] | None = None, position: str = "before") -> str | None:
    """The request text from piped stdin (already read; "" when none) and the PROMPT argument.

    before: stdin, a blank line, PROMPT (the default); after: PROMPT, a blank line, stdin;
    input: every `{input}` in PROMPT is replaced by stdin (PROMPT must have one when stdin is
    piped). With a template, that text is the template's {input}.
    """
    text: str | None
    if piped and argument:
        body = piped.rstrip("\n")
        if position == "after":
            text = f"{argument}\n\n{body}"
        elif position == "input":
            if "{input}" not in argument:
                raise UsageError("--stdin-position input: PROMPT has no {input} for the piped text to replace")
            text = argument.replace("{input}", body)
        else:
            text = f"{body}\n\n{argument}"
    else:
        if position == "input" and argument and "{input}" in argument:
            raise UsageError("--stdin-position input: PROMPT has {input} but nothing was piped on stdin")
        text = piped or argument
    if template is not None:
        return template.render_prompt(params or [], text)
    return text
