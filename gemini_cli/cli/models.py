"""`gemini-cli models`: the models the key can use, from the API, with the aliases beside them."""

from __future__ import annotations

import time
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from gemini_cli.cli import options
from gemini_cli.cli.invocation import io_context
from gemini_cli.render.terminal import for_stream
from gemini_cli.state import config
from gemini_cli.state.models import CACHE_MAX_AGE, read_cache, write_cache

# render/output.py (~4 ms) is imported inside the command, as api/ and runs/ (httpx, ~160 ms):
# the root's --help loads this module and needs neither.
if TYPE_CHECKING:
    from gemini_cli.render.output import Console

COLUMNS = ("NAME", "DISPLAY NAME", "INPUT", "OUTPUT", "THINKING", "ALIASES")


class ModelsOutput(str, Enum):
    text = "text"
    json = "json"


@options.with_groups
def models(
    output: Annotated[Optional[ModelsOutput], typer.Option("--output", "-o", help="text (a table) or json (an array).")] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Ask the API again instead of using the day-old cache.")] = False,
    connection: options.Values = options.CONNECTION,
) -> None:
    """List the models the API key can use (GET /models, every page): name, display name,
    input and output token limits, whether it thinks, and the aliases that name it.

    The list is cached for a day in the state folder (it also feeds TAB completion of -m);
    --refresh asks again.

    Examples:

      gemini-cli models

      gemini-cli models -o json | jq -r '.[] | select(.thinking) | .name'
    """
    from gemini_cli.render.output import Console, dumps, table

    io = io_context()
    settings = config.resolve(options.command_flags(connection), io=io)
    console = Console(quiet=settings.quiet, io=io)
    stdout = io.stdout
    where = f"{settings.base_url}/{settings.api_version}"
    now = time.time()
    cache = None if refresh else read_cache()
    if cache is not None and (cache.get("base_url") != where or not 0 <= now - cache["fetched"] < CACHE_MAX_AGE):
        cache = None
    if cache is not None:
        found = cache["models"]
        age = int((now - cache["fetched"]) // 60)
        console.note(f"models: the list cached {age // 60} h {age % 60} min ago (--refresh asks the API again)")
    else:
        found = _fetch(settings, console)
        try:
            write_cache(where, found, now)
        except Exception as exc:  # noqa: BLE001 - UsageError from write_atomic: the list is still shown
            console.warn(f"the models list was not cached: {getattr(exc, 'message', exc)}")
    aliases: dict[str, list[str]] = {}
    for alias, target in sorted(settings.aliases.items()):
        aliases.setdefault(target, []).append(alias)
    rows = [{**model, "aliases": aliases.get(model["name"], [])} for model in found]
    if output == ModelsOutput.json:
        stdout.write(for_stream(dumps(rows) + "\n", stdout))
        return
    if not rows:
        console.note("the API lists no models for this key")
        return
    cells: list[tuple[str, ...]] = [
        (row["name"], row["display_name"], _number(row["input_token_limit"]), _number(row["output_token_limit"]),
         {True: "yes", False: "no"}.get(row["thinking"], "?"), ", ".join(row["aliases"])) for row in rows]
    stdout.write(for_stream(table(COLUMNS, cells), stdout))
    listed = {row["name"] for row in rows}
    unlisted = [f"{alias} -> {target}" for target, names in aliases.items() if target not in listed for alias in names]
    if unlisted:
        console.note("aliases naming a model the API does not list: " + ", ".join(unlisted))


def _fetch(settings: Any, console: Console) -> list[dict[str, Any]]:
    # Imported here: api/ and runs/ load httpx (about 160 ms), which `models --help` and a TAB
    # completion must not pay.
    from gemini_cli.api.models import iter_models, summary
    from gemini_cli.runs.connection import connect

    with connect(settings, console) as client:
        return [summary(model) for model in iter_models(client)]


def _number(value: Any) -> str:
    return f"{value:,}".replace(",", " ") if isinstance(value, int) else "?"
