"""Option groups: options declared once (in cli/options.py) that several commands take.

A command names a group with a placeholder parameter whose default is the group
(`connection: options.Values = options.CONNECTION`); `@with_groups` gives Typer a signature with the
group's options in the placeholder's place, and calls the command with the placeholder set
to their values. Adding an option to a group adds it to every command of the group.
"""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any


class Values(dict):
    """What a group's placeholder parameter receives: its options' values by name."""


if typing.TYPE_CHECKING:
    # To the type checker a group is the Values its placeholder receives (with_groups swaps
    # one for the other), so `connection: options.Values = options.CONNECTION` checks as written.
    _Placeholder = Values
else:
    _Placeholder = object


class Group(_Placeholder):
    """Options, in order, that several commands take: name -> its Annotated declaration. A
    plain bool flag (--extract) defaults to False, every other option to None (not given).

    A command that takes only part of a group says which part (`without`, `pick`) or swaps one
    declaration for its own (`replacing`); everything else in the group comes with it."""

    def __init__(self, **options: Any) -> None:
        self.options = options

    def without(self, *names: str) -> "Group":
        return Group(**{name: o for name, o in self._known(names).options.items() if name not in names})

    def pick(self, *names: str) -> "Group":
        return Group(**{name: self._known(names).options[name] for name in names})

    def replacing(self, **options: Any) -> "Group":
        return Group(**{**self._known(tuple(options)).options, **options})

    def _known(self, names: tuple[str, ...]) -> "Group":
        unknown = [name for name in names if name not in self.options]
        if unknown:
            raise TypeError(f"not in this group: {', '.join(unknown)}")
        return self

    def parameters(self) -> list[inspect.Parameter]:
        return [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation,
                                  default=False if typing.get_args(annotation)[0] is bool else None)
                for name, annotation in self.options.items()]


def with_groups(command: Any) -> Any:
    """A command whose placeholder parameters (`connection: options.Values = options.CONNECTION`) stand
    for groups of options. Typer reads the signature (inspect.signature), which lists each
    group's options in its placeholder's place; the command is called with each placeholder
    set to the dict of its group's values (command_flags merges them into the flags)."""
    signature = inspect.signature(command, eval_str=True)
    parameters: list[inspect.Parameter] = []
    groups: dict[str, list[str]] = {}
    for parameter in signature.parameters.values():
        if isinstance(parameter.default, Group):
            groups[parameter.name] = list(parameter.default.options)
            parameters += parameter.default.parameters()
        else:
            parameters.append(parameter)

    @functools.wraps(command)
    def run(**values: Any) -> Any:
        for placeholder, names in groups.items():
            values[placeholder] = Values((name, values.pop(name)) for name in names)
        return command(**values)

    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return run
