"""Where config and state live: $GEMINI_CLI_HOME for everything, else XDG dirs."""

from __future__ import annotations

import os
from pathlib import Path
# pwd is imported inside home(): only a HOME unset or relative needs it (and it may be missing).

APP = "gemini-cli"


def _home_override() -> Path | None:
    home = os.environ.get("GEMINI_CLI_HOME")
    return Path(home).expanduser() if home else None


def home() -> Path:
    """$HOME (if absolute), else the account's home directory. With neither (a daemon without HOME whose
    user has no passwd entry) a path under /dev/null: it never exists and cannot be created,
    so the config reads as empty and saving the history is skipped with a warning."""
    value = os.environ.get("HOME")
    if value and os.path.isabs(value):  # a relative HOME would put the history wherever we run
        return Path(value)
    try:
        import pwd

        return Path(pwd.getpwuid(os.getuid()).pw_dir)
    except (ImportError, KeyError, OSError):
        return Path(os.devnull) / "no-home"


def _xdg(var: str, fallback: str) -> Path:
    base = os.environ.get(var)
    if not base or not os.path.isabs(base):  # relative XDG paths are ignored, as the XDG spec says
        return home() / fallback / APP
    return Path(base) / APP


def config_dir() -> Path:
    return _home_override() or _xdg("XDG_CONFIG_HOME", ".config")


def data_dir() -> Path:
    return _home_override() or _xdg("XDG_DATA_HOME", ".local/share")


def state_dir() -> Path:
    return _home_override() or _xdg("XDG_STATE_HOME", ".local/state")


def config_file() -> Path:
    return config_dir() / "config.yaml"


def key_file() -> Path:
    """The API key `gemini-cli config set-key` keeps (mode 0600)."""
    return config_dir() / "api_key"


def conversations_dir() -> Path:
    return data_dir() / "conversations"


def templates_dir() -> Path:
    """Where prompt templates live: templates/ in the config folder."""
    return config_dir() / "templates"


def known_templates() -> list[str]:
    """The template names in templates_dir() (NAME.yaml or NAME.yml)."""
    try:
        return sorted({p.stem for p in templates_dir().iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()})
    except OSError:
        return []
