"""The list endpoints' paging (`pageSize`, `pageToken`, `nextPageToken`), as the Files and
Batch APIs page their lists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gemini_cli.api.bounds import MAX_JSON_BODY
from gemini_cli.api.client import ApiClient, parse_json_body
from gemini_cli.errors import ApiError


def every_page(client: ApiClient, path: str, page_size: int, limit: int = MAX_JSON_BODY) -> Iterator[dict[str, Any]]:
    """Each page of GET /{v}/{path}, following nextPageToken until it is empty. A page that is
    not an object, or a token the API sent before (a server bug must not make us loop
    forever), is an ApiError naming the list (502)."""
    token = None
    seen: set[str] = set()
    while True:
        params = {"pageSize": str(page_size)}
        if token:
            params["pageToken"] = token
        page = parse_json_body(client.send("GET", client.url(path), params=params, limit=limit))
        if not isinstance(page, dict):
            raise ApiError(f"{path} list: the API sent a body that is not an object", status=502)
        yield page
        token = page.get("nextPageToken")
        if not token:
            return
        if token in seen:
            raise ApiError(f"{path} list: the API repeated the page token {token!r}", status=502)
        seen.add(token)
