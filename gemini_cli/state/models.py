"""The model ids the tool knows: one table for the built-in aliases, TAB completion and the
README (a test checks the README's alias list against it), and the cache of the API's list
that `gemini-cli models` keeps. Stdlib only: the completion path reads it.

`-m` takes any id (the API's model enum is open); these are the current text models of the
Gemini API as of this release. Retired ids are left out: `gemini-3-pro-preview` was shut
down on 2026-03-09 (replaced by `gemini-3.1-pro-preview`), `gemini-3.1-flash-lite-preview`
by `gemini-3.1-flash-lite`, and the Gemini 2.5 models have passed their shutdown dates.
"""

from __future__ import annotations
# state/paths.py, state/atomic.py and json (~2 ms) are imported inside the cache's functions:
# `completion bash` loads this module (the built-in aliases) and needs none of them.

DEFAULT_MODEL = "gemini-3-flash-preview"

# (model id, built-in alias or None), the default first.
MODELS: tuple[tuple[str, str | None], ...] = (
    ("gemini-3-flash-preview", "flash"),
    ("gemini-3.1-pro-preview", "pro"),
    ("gemini-3.1-flash-lite", "flash-lite"),
    ("gemini-3.5-flash", "flash-3.5"),
    ("gemini-pro-latest", None),
    ("gemini-flash-latest", None),
    ("gemini-flash-lite-latest", None),
    ("gemma-4-31b-it", None),
    ("gemma-4-26b-a4b-it", None),
)

MODEL_IDS: tuple[str, ...] = tuple(model for model, _ in MODELS)
BUILTIN_ALIASES: dict[str, str] = {alias: model for model, alias in MODELS if alias}


# -- the API's list, cached by `gemini-cli models` ------------------------------------------

CACHE_MAX_AGE = 24 * 3600.0  # a day: new models are rare, a TAB must never wait on the network
CACHE_MAX_SIZE = 4 * 1024 * 1024


def cache_file():
    from gemini_cli.state import paths

    return paths.state_dir() / "models.json"


def read_cache() -> dict | None:
    """The cached list ({"fetched", "base_url", "models": [summary...]}), or None when there is
    none or it is unreadable (a cache is never an error)."""
    import json

    try:
        with open(cache_file(), "rb") as file:
            data = json.loads(file.read(CACHE_MAX_SIZE))
    except (OSError, ValueError, RecursionError):
        return None
    if not (isinstance(data, dict) and isinstance(data.get("models"), list) and isinstance(data.get("fetched"), (int, float))):
        return None
    data["models"] = [m for m in data["models"] if isinstance(m, dict) and isinstance(m.get("name"), str)]
    return data


def write_cache(base_url: str, models: list[dict], now: float) -> None:
    import json

    from gemini_cli.state.atomic import write_atomic

    write_atomic(cache_file(), json.dumps({"fetched": now, "base_url": base_url, "models": models}), durable=False)


def cached_model_ids() -> list[str]:
    """The model ids of the cache, whatever its age (for TAB completion); [] without one."""
    data = read_cache()
    return [m["name"] for m in data["models"]] if data else []
