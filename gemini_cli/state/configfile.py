"""config.yaml, read and checked: its sections, each setting's type and range, YAML errors
named by line and column, and the scan for an API key kept in a file others can read.

config.yaml holds settings at the top level, plus `profiles:` (named sets of settings, chosen
with --profile, $GEMINI_CLI_PROFILE or `default_profile:`), `aliases:` (short model names) and
the API key's source (`api_key:` or `api_key_command:`, see apikey.py). Merging the file with
flags, the environment and defaults is config.py's; this module never prints: warnings (an
unknown key) go to the caller's `note`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gemini_cli.state import paths
from gemini_cli.errors import UsageError
from gemini_cli.state.settings import (  # noqa: F401 (the choices are re-exported)
    BY_NAME, CONFIG_KEYS, OUTPUT_MODES, SERVICE_TIERS, THINKING_LEVELS, Setting,
)
# yaml (~11 ms) is imported inside parse_yaml: only a YAML file that is there needs it (every
# --help loads this module).

# What config.yaml and profiles may set (and `config show` prints), each checked by its row of
# the settings table; api_key_command_timeout is checked the same way, though not a setting.
SETTING_KEYS = CONFIG_KEYS
_CHECKED = {**{name: BY_NAME[name] for name in CONFIG_KEYS},
            "api_key_command_timeout": Setting("api_key_command_timeout", types=(int, float), positive=True)}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list of strings",
               dict: "a mapping"}
# Top-level keys that are not settings.
SECTIONS = ("profiles", "default_profile", "aliases", "api_key", "api_key_command", "api_key_command_timeout")
# A Google API key, or a value stored under a name that says it is secret (apikey.redact uses
# them too; here they find a key kept in a config file that others can read).
KEY_VALUE = re.compile(r"AIza[0-9A-Za-z_\-]{30,}")
# An mcpServers entry's header value that names where the value is ($TOKEN, "Bearer ${TOKEN}",
# env:VAR, cmd:COMMAND); any other value is the secret itself.
HEADER_REFERENCE = re.compile(r"\$\{?[A-Za-z_]|^(env|cmd):")


def literal_headers(name: str, data: Any) -> bool:
    """Whether `data`, found under `name`, is an mcpServers entry's headers with a value given as itself."""
    return name == "headers" and isinstance(data, dict) and any(
        not (isinstance(v, str) and HEADER_REFERENCE.search(v.strip())) for v in data.values())
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
    setting = _CHECKED[key]
    types = setting.types
    ok = isinstance(value, types) and not (bool not in types and isinstance(value, bool))
    if list in types and ok:
        ok = all(isinstance(s, str) for s in value)
    if not ok:
        names = " or ".join(_TYPE_NAMES[t] for t in types if t is not int or float not in types)
        raise UsageError(f"{where}: '{label}' must be {names}, got {kind(value)}")
    if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        raise UsageError(f"{where}: '{label}' must be a finite number, got {value!r}")  # .nan, .inf in YAML
    low, high = setting.low, setting.high
    if setting.positive and value <= 0:
        raise UsageError(f"{where}: '{label}' must be greater than 0, got {value!r}")
    if low is not None and high is not None and not low <= value <= high:
        raise UsageError(f"{where}: '{label}' must be between {low} and {high}, got {value!r}")
    if low is not None and high is None and value < low:
        raise UsageError(f"{where}: '{label}' must be at least {low}, got {value!r}")
    if setting.choices and value not in setting.choices:
        raise UsageError(f"{where}: '{label}' must be one of {', '.join(setting.choices)}")
    return float(value) if float in types and not isinstance(value, bool) else value


def check_settings(data: dict[str, Any], where: str, prefix: str = "", note: Any = None) -> dict[str, Any]:
    """The known settings of a mapping, checked; unknown keys are a warning, to `note` (None: dropped)."""
    checked = {}
    known = CONFIG_KEYS if prefix else CONFIG_KEYS + SECTIONS  # a profile holds settings only
    for key, value in data.items():
        if key not in CONFIG_KEYS:
            (note or _ignore)(f"{where}: unknown setting '{_name(prefix, key)}' ignored{_did_you_mean(key, known, prefix)}")
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


def _did_you_mean(key: Any, known: tuple[str, ...], prefix: str) -> str:
    """"; did you mean 'temperature'?" for a misspelt key; "" when nothing is close."""
    if not isinstance(key, str) or KEY_VALUE.search(key):
        return ""
    close = difflib.get_close_matches(key.lower().replace("-", "_"), known, n=2, cutoff=0.7)
    return f"; did you mean {' or '.join(repr(prefix + name) for name in close)}?" if close else ""


def _ignore(message: str) -> None:
    pass


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


def read_config(path: Path | None = None, *, note: Any = None) -> ConfigFile:
    """Read and check the whole config file (exit 2 on any error); `note` takes the warnings
    (config.resolve shows them once -q is known), None drops them."""
    path = path or paths.config_file()
    data = load_config_file(path)
    cfg = ConfigFile(path=path, exists=bool(data) or path.is_file())
    where = f"config file {path}"
    note = note or _ignore
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
        return literal_headers(name, data) or any(holds_secret(value, str(key)) for key, value in data.items())
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
