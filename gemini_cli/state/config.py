"""Settings: flag > template > environment > profile > config file (YAML) > built-in default.

config.yaml holds settings at the top level, plus `profiles:` (named sets of settings, chosen
with --profile, $GEMINI_CLI_PROFILE or `default_profile:`), `aliases:` (short model names) and
the API key's source (`api_key:` or `api_key_command:`, see apikey.py).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from pathlib import Path
from typing import Any, Mapping

from gemini_cli.state import paths
from gemini_cli.errors import UsageError
from gemini_cli.state.models import BUILTIN_ALIASES, DEFAULT_MODEL  # noqa: F401 (re-exported)

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_API_VERSION = "v1beta"
API_REVISION = "2026-05-20"
PROFILE_ENV = "GEMINI_CLI_PROFILE"

# BUILTIN_ALIASES: short model names that work everywhere a model id does (state/models.py);
# `aliases:` in the config adds to them and overrides them. One level only.


@dataclass(frozen=True)
class Settings:
    """Every setting a command may read. None means "not set": the API's own default.

    Made once by resolve() and never changed afterwards: a variant (a resumed conversation's
    settings, a chat's /model) is a new Settings from dataclasses.replace.
    """

    model: str = DEFAULT_MODEL
    base_url: str = DEFAULT_BASE_URL
    api_version: str = DEFAULT_API_VERSION
    system: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    thinking: str | None = None
    thoughts: bool = False
    stream: bool = True
    output: str = "text"
    usage: bool = False
    quiet: bool = False
    timeout: float = 300.0
    retries: int = 4
    retry_delay: float = 0.5
    max_time: float | None = None
    save: bool = True
    store: bool = True
    lock_timeout: float = 30.0
    stdin: bool = True  # generate reads piped stdin into the prompt; false: --no-stdin
    # Structured output, tools, rendering (request/schema.py, render/tools.py, render/markdown.py, render/extract.py).
    schema: Any = None  # --schema JSON|@FILE (or a template's parsed mapping); loaded by request.schema.load_schema
    json_mode: bool | None = None  # --json / --no-json; None: as the conversation remembers
    response_format: Any = None  # the response_format a resumed conversation remembers (wire shape)
    tools: list[Any] = field(default_factory=list)  # --tool names, or remembered tool objects
    markdown: bool = False
    extract: bool = False
    extract_last: bool = False
    # Media answers, service tier, agents, raw body fields (request/body.py, render/media.py).
    image: bool = False
    audio: bool = False
    aspect_ratio: str | None = None
    image_size: str | None = None
    voice: str | None = None
    media_dir: str | None = None  # None: the current directory
    service_tier: str | None = None
    agent: str | None = None
    body_extra: Any = None  # --body-extra JSON|@FILE; parsed by request.body.check_settings
    # Set by resolve(), never copied from a flag of the same name: the profile in use, the
    # loaded prompt template (templates.Template), the alias table, where each value came from,
    # and the settings a resumed conversation must not override (flag, template, --profile).
    profile: str | None = field(default=None, compare=False)
    template: Any = field(default=None, repr=False, compare=False)
    aliases: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    sources: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    explicit: frozenset[str] = field(default_factory=frozenset, repr=False, compare=False)


INTERNAL = frozenset({"profile", "template", "aliases", "sources", "explicit"})

# Config keys that take a value of this type (bool before int: bool is an int).
_TYPES: dict[str, tuple[type, ...]] = {
    "model": (str,), "base_url": (str,), "api_version": (str,), "system": (str,),
    "temperature": (int, float), "top_p": (int, float), "max_tokens": (int,), "seed": (int,),
    "stop": (list,), "thinking": (str,), "thoughts": (bool,), "stream": (bool,),
    "output": (str,), "usage": (bool,), "quiet": (bool,), "timeout": (int, float),
    "retries": (int,), "retry_delay": (int, float), "max_time": (int, float),
    "save": (bool,), "store": (bool,), "lock_timeout": (int, float), "markdown": (bool,),
    "service_tier": (str,), "media_dir": (str,),
    "stdin": (bool,),
}
SETTING_KEYS = tuple(_TYPES)  # what config.yaml and profiles may set (and `config show` prints)
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list of strings"}
# Numeric ranges, as the command-line flags enforce them.
_BOUNDS = {"temperature": (0, 2), "top_p": (0, 1), "max_tokens": (1, None), "retries": (0, None),
           "retry_delay": (0, None), "lock_timeout": (0, None)}
_POSITIVE = frozenset({"timeout", "max_time", "api_key_command_timeout"})
THINKING_LEVELS = ("minimal", "low", "medium", "high", "xhigh")
SERVICE_TIERS = ("flex", "standard", "priority", "deferred")
OUTPUT_MODES = ("text", "json", "jsonl")
# Top-level keys that are not settings.
SECTIONS = ("profiles", "default_profile", "aliases", "api_key", "api_key_command", "api_key_command_timeout")
# A Google API key, or a value stored under a name that says it is secret (apikey.redact uses
# them too; here they find a key kept in a config file that others can read).
KEY_VALUE = re.compile(r"AIza[0-9A-Za-z_\-]{30,}")
SECRET_NAME = re.compile(r"(key|token|secret|password|passwd|credentials?)$", re.IGNORECASE)
REDACTED = "<redacted>"


@dataclass
class ConfigFile:
    """config.yaml, read and checked."""

    path: Path
    exists: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_profile: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    api_key: str | None = None
    api_key_command: str | list[str] | None = None
    api_key_command_timeout: float = 30.0
    insecure: bool = False  # holds a key-looking value and is readable by group or others
    mode: int = 0


def load_config_file(path: Path | None = None) -> dict[str, Any]:
    """Read config.yaml; a missing file is an empty config, a malformed one exit 2."""
    path = path or paths.config_file()
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):  # NotADirectoryError: HOME is a file (/dev/null)
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}") from None
    return parse_yaml(text, f"config file {path}", "a mapping of settings")


def parse_yaml(text: str, where: str, expected: str) -> dict[str, Any]:
    """load_yaml a mapping; errors name `where` (and the line and column)."""
    import yaml  # only when there is a file to read

    from gemini_cli.state.yamlfile import load_yaml

    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f": line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise UsageError(f"{where}{place}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected {expected} at the top level")
    return data


def check(key: str, value: Any, where: str, label: str | None = None) -> Any:
    """Check one setting's type and range; `label` names it in messages (e.g. profiles.x.model)."""
    label = label or key
    types = _TYPES.get(key, (int, float))
    ok = isinstance(value, types) and not (bool not in types and isinstance(value, bool))
    if key == "stop" and ok:
        ok = all(isinstance(s, str) for s in value)
    if not ok:
        names = " or ".join(_TYPE_NAMES[t] for t in types if t is not int or float not in types)
        raise UsageError(f"{where}: '{label}' must be {names}, got {kind(value)}")
    low, high = _BOUNDS.get(key, (None, None))
    if key in _POSITIVE and value <= 0:
        raise UsageError(f"{where}: '{label}' must be greater than 0, got {value!r}")
    if low is not None and high is not None and not low <= value <= high:
        raise UsageError(f"{where}: '{label}' must be between {low} and {high}, got {value!r}")
    if low is not None and high is None and value < low:
        raise UsageError(f"{where}: '{label}' must be at least {low}, got {value!r}")
    if key == "thinking" and value not in THINKING_LEVELS:
        raise UsageError(f"{where}: '{label}' must be one of {', '.join(THINKING_LEVELS)}")
    if key == "service_tier" and value not in SERVICE_TIERS:
        raise UsageError(f"{where}: '{label}' must be one of {', '.join(SERVICE_TIERS)}")
    if key == "output" and value not in OUTPUT_MODES:
        raise UsageError(f"{where}: '{label}' must be one of {', '.join(OUTPUT_MODES)}")
    return float(value) if float in types and not isinstance(value, bool) and key != "seed" else value


def check_settings(data: dict[str, Any], where: str, prefix: str = "", note: Any = None) -> dict[str, Any]:
    """The known settings of a mapping, checked; unknown keys are a warning."""
    checked = {}
    for key, value in data.items():
        if key not in _TYPES:
            (note or warn)(f"{where}: unknown setting '{_name(prefix, key)}' ignored")
        elif value is not None:
            checked[key] = check(key, value, where, f"{prefix}{key}")
    return checked


def kind(value: Any) -> str:
    """What a config value is, for an error message: never the value itself, which may be
    an API key pasted in the wrong place."""
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return "an empty string" if not value.strip() else "a string"
    for types, name in ((int, "an integer"), (float, "a decimal number"), (list, "a list"), (dict, "a mapping")):
        if isinstance(value, types):
            return name
    return type(value).__name__


def _name(prefix: str, key: Any) -> str:
    """A setting's name for a message; one that looks like an API key is not shown."""
    return prefix + KEY_VALUE.sub(REDACTED, str(key))


def _mapping_of(value: Any, where: str, label: str, what: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"{where}: '{label}' must be a mapping of {what}, got {kind(value)}")
    return value


def _string(value: Any, where: str, label: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: '{label}' must be a non-empty string, got {kind(value)}")
    return value


def read_config(path: Path | None = None, *, warnings: bool = True, note: Any = None) -> ConfigFile:
    """Read and check the whole config file (exit 2 on any error)."""
    path = path or paths.config_file()
    data = load_config_file(path)
    cfg = ConfigFile(path=path, exists=bool(data) or path.is_file())
    where = f"config file {path}"
    note = (note or warn) if warnings else (lambda message: None)
    cfg.settings = check_settings({k: v for k, v in data.items() if k not in SECTIONS}, where, note=note)
    for name, profile in _mapping_of(data.get("profiles"), where, "profiles", "profile names to settings").items():
        label = f"profiles.{name}"
        if not isinstance(name, str) or not name:
            raise UsageError(f"{where}: profile names must be strings, got {kind(name)}")
        if profile is not None and not isinstance(profile, dict):
            raise UsageError(f"{where}: '{label}' must be a mapping of settings, got {kind(profile)}")
        cfg.profiles[name] = check_settings(profile or {}, where, f"{label}.", note=note)
    for name, model in _mapping_of(data.get("aliases"), where, "aliases", "short names to model ids").items():
        cfg.aliases[str(name)] = _string(model, where, f"aliases.{name}")
    if data.get("default_profile") is not None:
        cfg.default_profile = _string(data["default_profile"], where, "default_profile")
        if cfg.default_profile not in cfg.profiles:
            raise UsageError(f"{where}: default_profile '{cfg.default_profile}' is not a profile ({known_profiles(cfg)})")
    if data.get("api_key") is not None:
        cfg.api_key = _string(data["api_key"], where, "api_key").strip()
    command = data.get("api_key_command")
    if command is not None:
        if isinstance(command, list):
            if not command or not all(isinstance(arg, str) for arg in command):
                raise UsageError(f"{where}: 'api_key_command' must be a command line (a string or a list of strings)")
        else:
            _string(command, where, "api_key_command")
        if cfg.api_key is not None:
            raise UsageError(f"{where}: give api_key or api_key_command, not both")
        cfg.api_key_command = command
    if data.get("api_key_command_timeout") is not None:
        cfg.api_key_command_timeout = check("api_key_command_timeout", data["api_key_command_timeout"], where)
    if cfg.exists:
        cfg.mode = path.stat().st_mode & 0o777
        cfg.insecure = bool(cfg.mode & 0o077) and holds_secret(data)
    return cfg


def holds_secret(data: Any, name: str = "") -> bool:
    """Whether a config value holds something that looks like a key."""
    if isinstance(data, dict):
        return any(holds_secret(value, str(key)) for key, value in data.items())
    if isinstance(data, list):
        return any(holds_secret(value, name) for value in data)
    if isinstance(data, str):
        return bool(KEY_VALUE.search(data) or (SECRET_NAME.search(name) and data.strip()))
    return False


def insecure_warning(cfg: Any) -> str:
    return (
        f"config file {cfg.path} contains an API key and is readable by other users "
        f"(mode {cfg.mode:04o}): run `chmod 600 {cfg.path}`, or use api_key_command "
        "to fetch the key from a password manager"
    )


def known_profiles(cfg: ConfigFile) -> str:
    if not cfg.profiles:
        return f"no profiles are defined in {cfg.path}"
    return "known: " + ", ".join(sorted(cfg.profiles))


def resolve(flags: dict[str, Any], config_path: Path | None = None, *, template: Any = None) -> Settings:
    """Merge flags (None = not given) over a template, the environment, the profile, the file, defaults.

    template: the request.templates.Template that flags["template"] names, loaded by the
    caller (templates.from_flags), so that this module stays below request/.
    """
    if flags.get("template") and template is None:
        raise TypeError("config.resolve: pass template=templates.from_flags(flags)")
    values: dict[str, Any] = {}
    sources = {f.name: "default" for f in fields(Settings) if f.name not in INTERNAL}
    explicit: set[str] = set()

    def layer(layer_values: dict[str, Any], source: str, is_explicit: bool = False) -> None:
        for key, value in layer_values.items():
            values[key] = value
            sources[key] = source
            if is_explicit:
                explicit.add(key)

    global QUIET
    QUIET = bool(flags.get("quiet"))
    early_warnings: list[str] = []  # shown once -q or `quiet:` in the config is known
    cfg = read_config(config_path, note=early_warnings.append)
    layer(cfg.settings, "config file")
    name, chosen_by = flags.get("profile"), "--profile"
    if not name and os.environ.get(PROFILE_ENV):
        name, chosen_by = os.environ[PROFILE_ENV], PROFILE_ENV
    if not name and cfg.default_profile:
        name, chosen_by = cfg.default_profile, "default_profile"
    if name:
        if name not in cfg.profiles:
            raise UsageError(f"unknown profile '{name}' (from {chosen_by}; {known_profiles(cfg)})")
        layer(cfg.profiles[name], f"profile {name}", is_explicit=chosen_by == "--profile")
    env_base = os.environ.get("GOOGLE_GEMINI_BASE_URL")
    if env_base:
        layer({"base_url": env_base}, "environment (GOOGLE_GEMINI_BASE_URL)")
    late_warnings: list[str] = []
    if template is not None:
        template_values, notes = template.applied(flags.get("param") or [], flags.get("system") is not None)
        layer(template_values, f"template {template.name}", is_explicit=True)
        late_warnings += notes
    elif flags.get("param"):
        names = ", ".join(dict.fromkeys(name for name, _ in flags["param"]))
        known = paths.known_templates()
        raise UsageError(f"--param {names}: no template to fill; give --template NAME too "
                         f"({'templates: ' + ', '.join(known) if known else 'no templates in ' + str(paths.templates_dir())})")
    layer({key: value for key, value in flags.items() if key in sources and value is not None and value != []},
          "flag", is_explicit=True)
    aliases = {**BUILTIN_ALIASES, **cfg.aliases}
    model = values.get("model", DEFAULT_MODEL)
    if model in aliases:
        sources["model"] += f" (alias '{model}')"
        values["model"] = aliases[model]
    values["base_url"] = values.get("base_url", DEFAULT_BASE_URL).rstrip("/")
    if not values.get("model", DEFAULT_MODEL).strip():
        source = sources.get("model", "default")
        raise UsageError(f"the model name is empty (from {'-m/--model' if source == 'flag' else source}); "
                         f"give a model id or alias, e.g. -m {DEFAULT_MODEL}")
    if cfg.insecure:
        late_warnings.append(insecure_warning(cfg))
    QUIET = bool(values.get("quiet", False))
    for message in early_warnings + late_warnings:
        warn(message)
    return Settings(**values, profile=name or None, template=template, aliases=MappingProxyType(aliases),
                    sources=MappingProxyType(sources), explicit=frozenset(explicit))


def check_base_url(settings: Settings) -> str:
    """The base URL, or exit 2 naming where a malformed one came from: it would only be
    retried as a network error otherwise."""
    from urllib.parse import urlsplit

    url = settings.base_url
    source = settings.sources.get("base_url", "default")
    where = f"base URL {url!r} (from {'--base-url' if source == 'flag' else source})"
    if not url or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise UsageError(f"{where} contains spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise UsageError(f"{where} is malformed: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{where} must be http(s)://host[:port][/path]")
    if parts.query or parts.fragment:
        raise UsageError(f"{where} must not have a query or fragment")
    last = parts.path.rstrip("/").rsplit("/", 1)[-1]
    if last == settings.api_version or (last[:1] == "v" and last[1:2].isdigit()):
        base = url.rstrip("/")[: -len(last)].rstrip("/")
        fix = f"give {base}" + (f" with --api-version {last}" if last != settings.api_version else "")
        raise UsageError(f"{where} ends with an API version, which is added to it ({settings.api_version}): {fix}")
    return url


def model_id(settings: Settings, name: str) -> str:
    """A model id, or the model an alias stands for."""
    return (settings.aliases or BUILTIN_ALIASES).get(name, name)


def remember(settings: Settings, flags: dict[str, Any], remembered: dict[str, Any]) -> Settings:
    """The settings with a resumed conversation's: they beat the file and defaults; a flag (or
    template, or an explicit --profile) beats them."""
    changes = {key: value for key, value in remembered.items()
               if value is not None and flags.get(key) in (None, []) and key not in settings.explicit}
    if not changes:
        return settings
    return replace(settings, **changes,
                   sources=MappingProxyType({**settings.sources, **dict.fromkeys(changes, "conversation")}))


QUIET = False  # -q or `quiet: true`: no warnings at all (set by resolve)


def warn(message: str) -> None:
    if not QUIET:
        from gemini_cli.render.terminal import for_stream

        sys.stderr.write(f"gemini-cli: warning: {for_stream(message, sys.stderr)}\n")
