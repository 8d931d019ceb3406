"""Where config and state live: $GEMINI_CLI_HOME for everything, else XDG dirs."""

from __future__ import annotations

import os
from pathlib import Path

APP = "gemini-cli"


def _home_override() -> Path | None:
    home = os.environ.get("GEMINI_CLI_HOME")
    return Path(home).expanduser() if home else None


def _xdg(var: str, fallback: str) -> Path:
    base = os.environ.get(var) or str(Path.home() / fallback)
    return Path(base) / APP


def config_dir() -> Path:
    return _home_override() or _xdg("XDG_CONFIG_HOME", ".config")


def data_dir() -> Path:
    return _home_override() or _xdg("XDG_DATA_HOME", ".local/share")


def state_dir() -> Path:
    return _home_override() or _xdg("XDG_STATE_HOME", ".local/state")


def config_file() -> Path:
    return config_dir() / "config.yaml"


def conversations_dir() -> Path:
    return data_dir() / "conversations"
