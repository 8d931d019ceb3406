"""Every command's options, pinned: names, order, defaults, help texts, help panels and types.

The option groups (cli/options.py) are declared once and applied to several commands; this
catches an option lost or moved when a group changes. After a deliberate change to a
command's options, rewrite the snapshot with
`python tests/test_command_options.py > tests/data/command_options.json` and review the diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

SNAPSHOT = Path(__file__).resolve().parent / "data" / "command_options.json"


def describe_param(param: click.Parameter) -> dict[str, Any]:
    kind = param.type
    out: dict[str, Any] = {
        "name": param.name,
        "opts": list(param.opts) + list(param.secondary_opts),
        "kind": "argument" if isinstance(param, click.Argument) else "option",
        "type": type(kind).__name__ + (f" {kind.choices!r}" if isinstance(kind, click.Choice) else ""),
        "default": repr(param.default),
        "multiple": param.multiple,
        "nargs": param.nargs,
        "metavar": param.metavar,
        "help": getattr(param, "help", None),
        "panel": getattr(param, "rich_help_panel", None),
    }
    for bound in ("min", "max"):
        if hasattr(kind, bound):
            out[bound] = getattr(kind, bound)
    return out


def commands() -> dict[str, click.Command]:
    """Every leaf command by its full name ("generate", "history fetch"), built as app.py builds them."""
    from gemini_cli.app import COMMANDS, load_command

    found: dict[str, click.Command] = {}
    for name in COMMANDS:
        command = load_command(name)
        if isinstance(command, click.Group):
            for sub, leaf in command.commands.items():
                found[f"{name} {sub}"] = leaf
        else:
            found[name] = command
    return found


def snapshot() -> dict[str, list[dict[str, Any]]]:
    return {name: [describe_param(p) for p in command.params] for name, command in sorted(commands().items())}


def test_every_command_keeps_its_options_in_order():
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    actual = snapshot()
    assert sorted(actual) == sorted(expected)
    for name in expected:
        assert [p["opts"] for p in actual[name]] == [p["opts"] for p in expected[name]], name
        assert actual[name] == expected[name], name


def test_the_option_groups_read_the_same_on_every_command():
    """A shared option is one declaration: the same help, default and type wherever it appears."""
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    # Options that mean something else on these commands (their own declarations).
    own = {("batch", "--output"), ("batch", "--save"), ("batch", "--dry-run"), ("batch", "--attach"),
           ("batch", "--store"), ("batch", "--thoughts"), ("batch", "--lock-timeout"), ("chat", "--attach"),
           ("generate", "--dry-run")}
    for name, params in snapshot().items():
        for param in params:
            flag = param["opts"][0]
            if param["kind"] != "option" or (name, flag) in own or not name in ("generate", "chat", "batch"):
                continue
            first = seen.setdefault(flag, (name, param))
            assert param == first[1], f"{flag} on {name} differs from {first[0]}"


def test_the_connection_flags_are_on_every_command_that_calls_the_api():
    connection = ["--quiet", "--timeout", "--retries", "--max-time", "--base-url", "--api-version"]
    names = {name: [p["opts"][0] for p in params] for name, params in snapshot().items()}
    for name in ("generate", "chat", "upload", "files list", "files get", "files delete",
                 "history delete", "history fetch", "history cancel"):
        assert [flag for flag in names[name] if flag in connection] == connection, name
    assert [flag for flag in names["batch"] if flag in connection] == [f for f in connection if f != "--max-time"]


if __name__ == "__main__":
    json.dump(snapshot(), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
