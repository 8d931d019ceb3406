"""`--dry-run`: print the exact request that would be sent, with the key redacted."""

from __future__ import annotations

import json
import sys
from typing import Any

from gemini_cli.state.config import API_REVISION, Settings


def show_request(settings: Settings, body: dict[str, Any], path: str = "interactions") -> None:
    from gemini_cli.api.client import user_agent
    from gemini_cli.state import apikey

    key = "<redacted>" if apikey.source() else "<no API key found: set GEMINI_API_KEY>"

    accept = "text/event-stream" if body.get("stream") else "application/json"
    lines = [
        f"POST {settings.base_url}/{settings.api_version}/{path}",
        "Content-Type: application/json",
        f"Accept: {accept}",
        f"Api-Revision: {API_REVISION}",
        f"User-Agent: {user_agent()}",
        f"x-goog-api-key: {key}",
        "",
        json.dumps(body, ensure_ascii=False, indent=2),
    ]
    from gemini_cli.render.terminal import for_stream  # a template's text may hold escapes

    sys.stdout.write(for_stream("\n".join(lines) + "\n", sys.stdout))
