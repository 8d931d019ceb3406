"""Usage across continuation hops, summed as the SDK sums it (interactions-api.md §4.1, §9):
token counts added up (`initial_input_tokens` is the first hop's), the `*_by_modality` lists
by modality and `grounding_tool_count` by tool type."""

from __future__ import annotations

from typing import Any

# Usage lists summed entry by entry across hops: the key of an entry, and its count.
USAGE_LISTS: dict[str, tuple[str, str]] = {
    "input_tokens_by_modality": ("modality", "tokens"), "output_tokens_by_modality": ("modality", "tokens"),
    "cached_tokens_by_modality": ("modality", "tokens"), "tool_use_tokens_by_modality": ("modality", "tokens"),
    "grounding_tool_count": ("type", "count"),
}


def total(reports: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The hops' usage reports (one per hop, in order) summed; None without any."""
    if not reports:
        return None
    summed = dict(reports[0])
    for usage in reports[1:]:
        for key, value in usage.items():
            old = summed.get(key)
            if _count(value) and _count(old) and key != "initial_input_tokens":
                summed[key] = old + value
            elif key in USAGE_LISTS and isinstance(value, list) and isinstance(old, list):
                summed[key] = _sum_entries(old, value, *USAGE_LISTS[key])
            elif key not in summed:
                summed[key] = value
    return summed


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sum_entries(old: list[Any], new: list[Any], key: str, count: str) -> list[Any]:
    """[{modality, tokens}] (or [{type, count}]) lists of two hops, summed entry by entry
    in the order first seen; an entry of another shape is kept as it came."""
    summed: list[Any] = []
    at: dict[Any, dict[str, Any]] = {}
    for entry in [*old, *new]:
        name = entry.get(key) if isinstance(entry, dict) else None
        if not isinstance(name, str) or not _count(entry.get(count)):
            summed.append(entry)
        elif name in at:
            at[name][count] += entry[count]
        else:
            at[name] = dict(entry)
            summed.append(at[name])
    return summed
