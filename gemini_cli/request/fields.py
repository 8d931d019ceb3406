"""The create-interaction request's known fields, from the wire reference
(interactions-api.md §3 and §3.1), so that a --body-extra key the API does not define
(a typo such as `generation_config.bogus`, sent silently otherwise) gets a warning.

Only the objects whose fields the reference lists are checked; free-form values (JSON
schemas, labels, tools, agent_config variants, `...`-open configs) are not.
"""

from __future__ import annotations

from typing import Any

FREE = None  # a value whose inside is not checked

GENERATION_CONFIG: dict[str, Any] = {
    "temperature": FREE, "top_p": FREE, "seed": FREE, "max_output_tokens": FREE, "stop_sequences": FREE,
    "thinking_level": FREE, "thinking_summaries": FREE, "tool_choice": FREE, "speech_config": FREE,
    "transcription_config": FREE,  # open in the reference ("...")
    "video_config": {"task": FREE},
    "image_config": {"aspect_ratio": FREE, "image_size": FREE},  # deprecated, still defined
}

CREATE_BODY: dict[str, Any] = {
    "model": FREE, "agent": FREE, "input": FREE, "system_instruction": FREE,
    "generation_config": GENERATION_CONFIG, "tools": FREE, "response_format": FREE,
    "stream": FREE, "store": FREE, "background": FREE, "previous_interaction_id": FREE,
    "continuation_token": FREE, "safety_settings": FREE, "service_tier": FREE, "labels": FREE,
    "webhook_config": {"uris": FREE, "user_metadata": FREE},
    "environment": FREE, "agent_config": FREE,
    # deprecated in the SDK model, still defined
    "cached_content": FREE, "response_mime_type": FREE, "response_modalities": FREE,
}


def unknown_keys(value: dict[str, Any], known: dict[str, Any] = CREATE_BODY, path: str = "") -> list[str]:
    """The dotted paths of keys in `value` that `known` does not define, in order."""
    found: list[str] = []
    for key, item in value.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in known:
            found.append(where)
        elif isinstance(known[key], dict) and isinstance(item, dict):
            found.extend(unknown_keys(item, known[key], where))
    return found
