"""Interactions endpoints: create (JSON or SSE), get / resume, cancel, delete."""

from __future__ import annotations

import re
from typing import Any

import httpx

from gemini_cli.api.client import ApiClient, parse_json_body
from gemini_cli.errors import ApiError, UsageError, after_answer

SSE = "text/event-stream"
# What an interaction id may hold before it goes into a URL path ("v1_ChdTMjQ0..."):
# no "/", "..", "?", "#" or "%", so an id read from a file cannot reach another endpoint.
_SAFE_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.=-]{0,511}")


def check_id(interaction_id: Any) -> str:
    """The id, if it is safe in a URL path; else a UsageError (exit 2) naming it."""
    if isinstance(interaction_id, str) and _SAFE_ID.fullmatch(interaction_id):
        return interaction_id
    shown = repr(interaction_id)[:80] if isinstance(interaction_id, str) else f"of type {type(interaction_id).__name__}"
    raise UsageError(f"interaction id {shown} is not a valid id (letters, digits, '_', '-', '.', '=' only); "
                     "refusing to put it in a URL")


def interaction_body(response: httpx.Response) -> dict[str, Any]:
    """A JSON body that must be an Interaction object (exit 6 for anything else)."""
    body = parse_json_body(response)
    if not isinstance(body, dict):
        raise after_answer(ApiError(f"HTTP {response.status_code}: the API sent JSON that is not an object", status=502))
    return body


def create(client: ApiClient, body: dict[str, Any]) -> httpx.Response:
    """POST /interactions. With body["stream"] the response is open SSE; else read JSON."""
    stream = bool(body.get("stream"))
    return client.send(
        "POST", client.url("interactions"), json_body=body,
        headers=client.headers(SSE if stream else "application/json"), stream=stream,
    )


def get(client: ApiClient, interaction_id: str) -> dict[str, Any]:
    return interaction_body(get_response(client, interaction_id))


def get_response(client: ApiClient, interaction_id: str) -> httpx.Response:
    """GET ...?stream=false, its body read (api/surrogates.py marks it when it was repaired)."""
    return client.send("GET", client.url(f"interactions/{check_id(interaction_id)}"), params={"stream": "false"})


def stream(client: ApiClient, interaction_id: str, last_event_id: str | None = None, *, retry: bool = True) -> httpx.Response:
    """GET ...?stream=true, resuming after `last_event_id` when given."""
    params = {"stream": "true"}
    if last_event_id:
        params["last_event_id"] = last_event_id
    return client.send(
        "GET", client.url(f"interactions/{check_id(interaction_id)}"), params=params,
        headers=client.headers(SSE), stream=True, retry=retry,
    )


def cancel(client: ApiClient, interaction_id: str) -> dict[str, Any]:
    response = client.send("POST", client.url(f"interactions/{check_id(interaction_id)}/cancel"), content=b"")
    return interaction_body(response)


def delete(client: ApiClient, interaction_id: str) -> None:
    client.send("DELETE", client.url(f"interactions/{check_id(interaction_id)}")).close()


def continuation_body(body: dict[str, Any], hop: dict[str, Any]) -> dict[str, Any]:
    """The next hop's body after `requires_continuation`.

    Stored: chain to the hop that issued the token and leave out `input`.
    Stateless (store false): resend the original input with the token.
    """
    token = hop.get("continuation_token")
    following = {key: value for key, value in body.items() if key != "continuation_token"}
    following["continuation_token"] = token
    if body.get("store", True):
        following.pop("input", None)
        following["previous_interaction_id"] = hop.get("id")
    return following
