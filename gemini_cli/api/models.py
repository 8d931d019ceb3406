"""The models list (interactions-api.md §12): `GET /{v}/models`, every page.

Knows HTTP; never prints, never reads argv. Each Model (camelCase on the wire) is reduced to
the fields `gemini-cli models` shows and caches (state/models.py).
"""

from __future__ import annotations

from typing import Any, Iterator

from gemini_cli.api.client import ApiClient, parse_json_body
from gemini_cli.errors import ApiError

PAGE_SIZE = 1000  # the API caps a page itself; fewer round trips when it allows more
MAX_PAGES = 100  # a server that never stops paging must not keep us forever


def iter_models(client: ApiClient, page_size: int = PAGE_SIZE) -> Iterator[dict[str, Any]]:
    """Every Model resource, following nextPageToken until it is absent."""
    token = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        params = {"pageSize": str(page_size)}
        if token:
            params["pageToken"] = token
        page = parse_json_body(client.send("GET", client.url("models"), params=params))
        if not isinstance(page, dict) or not isinstance(page.get("models", []), list):
            raise ApiError("models list: the API sent a body that is not a models page", status=502)
        yield from (model for model in page.get("models") or [] if isinstance(model, dict))
        token = page.get("nextPageToken")
        if not token:
            return
        if not isinstance(token, str) or token in seen:
            raise ApiError(f"models list: the API repeated the page token {token!r}", status=502)
        seen.add(token)
    raise ApiError(f"models list: the API sent more than {MAX_PAGES} pages", status=502)


def summary(model: dict[str, Any]) -> dict[str, Any]:
    """What is shown of a model: its id (without `models/`), display name, limits, thinking."""
    name = str(model.get("name") or "")

    def number(key: str) -> int | None:
        value = model.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return {
        "name": name[len("models/"):] if name.startswith("models/") else name,
        "display_name": str(model.get("displayName") or ""),
        "input_token_limit": number("inputTokenLimit"),
        "output_token_limit": number("outputTokenLimit"),
        "thinking": model.get("thinking") if isinstance(model.get("thinking"), bool) else None,
    }
