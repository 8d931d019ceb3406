"""Settings: command-line flag > environment > config file (YAML) > built-in default."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from gemini_cli import paths
from gemini_cli.errors import AuthError, UsageError

DEFAULT_MODEL = "gemini-3-flash-preview"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_API_VERSION = "v1beta"
API_REVISION = "2026-05-20"


@dataclass
class Settings:
    """Every setting a command may read. None means "not set": the API's own default."""

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


# Config keys that take a value of this type (bool before int: bool is an int).
_TYPES: dict[str, tuple[type, ...]] = {
    "model": (str,), "base_url": (str,), "api_version": (str,), "system": (str,),
    "temperature": (int, float), "top_p": (int, float), "max_tokens": (int,), "seed": (int,),
    "stop": (list,), "thinking": (str,), "thoughts": (bool,), "stream": (bool,),
    "output": (str,), "usage": (bool,), "quiet": (bool,), "timeout": (int, float),
    "retries": (int,), "retry_delay": (int, float), "max_time": (int, float),
    "save": (bool,), "store": (bool,), "lock_timeout": (int, float),
}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list of strings"}
# Numeric ranges, as the command-line flags enforce them.
_BOUNDS = {"temperature": (0, 2), "top_p": (0, 1), "max_tokens": (1, None), "retries": (0, None),
           "retry_delay": (0, None), "lock_timeout": (0, None)}
_POSITIVE = frozenset({"timeout", "max_time"})
THINKING_LEVELS = ("minimal", "low", "medium", "high")
OUTPUT_MODES = ("text", "json", "jsonl")


def load_config_file(path: Path | None = None) -> dict[str, Any]:
    """Read config.yaml; a missing file is an empty config, a malformed one exit 2."""
    path = path or paths.config_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}") from None
    import yaml  # only when a config file exists

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise UsageError(f"config file {path}:{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"config file {path}: expected a mapping of settings at the top level")
    return data


def _check(key: str, value: Any, path: Path) -> Any:
    types = _TYPES[key]
    ok = isinstance(value, types) and not (bool not in types and isinstance(value, bool))
    if key == "stop" and ok:
        ok = all(isinstance(s, str) for s in value)
    if not ok:
        names = " or ".join(_TYPE_NAMES[t] for t in types if t is not int or float not in types)
        raise UsageError(f"config file {path}: '{key}' must be {names}, got {value!r}")
    low, high = _BOUNDS.get(key, (None, None))
    if key in _POSITIVE and value <= 0:
        raise UsageError(f"config file {path}: '{key}' must be greater than 0, got {value!r}")
    if low is not None and high is not None and not low <= value <= high:
        raise UsageError(f"config file {path}: '{key}' must be between {low} and {high}, got {value!r}")
    if low is not None and high is None and value < low:
        raise UsageError(f"config file {path}: '{key}' must be at least {low}, got {value!r}")
    if key == "thinking" and value not in THINKING_LEVELS:
        raise UsageError(f"config file {path}: 'thinking' must be one of {', '.join(THINKING_LEVELS)}")
    if key == "output" and value not in OUTPUT_MODES:
        raise UsageError(f"config file {path}: 'output' must be one of {', '.join(OUTPUT_MODES)}")
    return float(value) if float in types and not isinstance(value, bool) and key != "seed" else value


def resolve(flags: dict[str, Any], config_path: Path | None = None) -> Settings:
    """Merge flags (None = not given) over the environment over the config file over defaults."""
    settings = Settings()
    path = config_path or paths.config_file()
    for key, value in load_config_file(path).items():
        if key not in _TYPES:
            warn(f"config file {path}: unknown setting '{key}' ignored")
            continue
        if value is not None:
            setattr(settings, key, _check(key, value, path))
    env_base = os.environ.get("GOOGLE_GEMINI_BASE_URL")
    if env_base:
        settings.base_url = env_base
    known = {f.name for f in fields(Settings)}
    for key, value in flags.items():
        if key in known and value is not None and value != []:
            setattr(settings, key, value)
    settings.base_url = settings.base_url.rstrip("/")
    return settings


def remember(settings: Settings, flags: dict[str, Any], remembered: dict[str, Any]) -> None:
    """A resumed conversation's settings beat the file and defaults; a flag beats both."""
    for key, value in remembered.items():
        if value is not None and flags.get(key) in (None, []):
            setattr(settings, key, value)


def api_key(required: bool = True) -> str | None:
    """GOOGLE_API_KEY wins over GEMINI_API_KEY, as in the official SDK."""
    google = (os.environ.get("GOOGLE_API_KEY") or "").strip()
    gemini = (os.environ.get("GEMINI_API_KEY") or "").strip()
    if google and gemini and google != gemini:
        warn("both GOOGLE_API_KEY and GEMINI_API_KEY are set; using GOOGLE_API_KEY")
    key = google or gemini
    if not key and required:
        raise AuthError(
            "no API key: set GEMINI_API_KEY (or GOOGLE_API_KEY) to a Gemini API key "
            "from https://aistudio.google.com/apikey"
        )
    return key or None


def warn(message: str) -> None:
    sys.stderr.write(f"gemini-cli: warning: {message}\n")
