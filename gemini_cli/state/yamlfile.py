"""Reading YAML safely: yaml.safe_load, minus what makes it hang or crash.

A YAML alias (*name) repeats the whole node it names, so nine nested aliases of nine
can stand for 9**9 values (an "alias bomb") that every walk of the data (the scan for
an API key in the config, `config show`) would visit. Aliases that would add more than
ALIAS_EXPANSION_LIMIT values are refused; within it, aliases and `<<:` merges (profiles
sharing settings) work as usual. Nesting too deep for the parser is an error too.
"""

from __future__ import annotations

from typing import Any
# yaml is imported inside load_yaml: ~12 ms, paid only when a YAML file is read.

ALIAS_EXPANSION_LIMIT = 10_000


def load_yaml(text: str) -> Any:
    """yaml.safe_load, refusing (yaml.YAMLError) a file whose aliases expand too far or
    that is nested too deeply for the parser."""
    import yaml

    class Loader(yaml.SafeLoader):
        def get_single_node(self):
            node = super().get_single_node()
            if node is not None and _expanded_size(node) > _unique_size(node) + ALIAS_EXPANSION_LIMIT:
                raise yaml.YAMLError(f"aliases (*name) expand to more than {ALIAS_EXPANSION_LIMIT} values; "
                                     "refusing to read it (an alias bomb?)")
            return node

    loader = Loader(text)
    try:
        return loader.get_single_data()
    except RecursionError:
        raise yaml.YAMLError("nested too deeply") from None
    finally:
        loader.dispose()


def _children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(value, list):  # a sequence's items, a mapping's (key, value) pairs
        return [part for item in value for part in (item if isinstance(item, tuple) else (item,))]
    return []


def _expanded_size(node: Any) -> int:
    """Values in the document with every alias expanded (computed once per node)."""
    sizes: dict[int, int] = {}

    def size(n: Any) -> int:
        if id(n) not in sizes:
            sizes[id(n)] = 0  # a recursive alias counts once
            sizes[id(n)] = 1 + sum(size(child) for child in _children(n))
        return sizes[id(n)]

    return size(node)


def _unique_size(node: Any) -> int:
    seen: set[int] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) not in seen:
            seen.add(id(n))
            stack.extend(_children(n))
    return len(seen)
