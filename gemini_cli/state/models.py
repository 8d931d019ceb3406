"""The model ids the tool knows: one table for the built-in aliases, TAB completion and the
README (a test checks the README's alias list against it). Stdlib only, no imports: the
completion path reads it.

`-m` takes any id (the API's model enum is open); these are the current text models of the
Gemini API as of this release. Retired ids are left out: `gemini-3-pro-preview` was shut
down on 2026-03-09 (replaced by `gemini-3.1-pro-preview`), `gemini-3.1-flash-lite-preview`
by `gemini-3.1-flash-lite`, and the Gemini 2.5 models have passed their shutdown dates.
"""

from __future__ import annotations

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
