"""`--dry-run`: print the exact request that would be sent, with the key redacted."""

from __future__ import annotations

import json
import sys
from typing import Any

from gemini_cli.render.terminal import for_stream


def show_request(url: str, headers: dict[str, str], body: dict[str, Any], stdout: Any = None) -> None:
    """POST url, the headers as the HTTP client would send them (api.client.ApiClient.headers
    with the key shown redacted), then the body."""
    out = stdout or sys.stdout
    lines = [f"POST {url}", *(f"{name}: {value}" for name, value in headers.items()), "",
             json.dumps(body, ensure_ascii=False, indent=2)]
    out.write(for_stream("\n".join(lines) + "\n", out))  # a template's text may hold escapes
