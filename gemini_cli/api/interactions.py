"""Interactions endpoints: create (JSON or SSE), get / resume, cancel, delete."""

from __future__ import annotations

from typing import Any

import httpx

from gemini_cli.api.client import ApiClient, parse_json_body

SSE = "text/event-stream"


def create(client: ApiClient, body: dict[str, Any]) -> httpx.Response:
    """POST /interactions. With body["stream"] the response is open SSE; else read JSON."""
    stream = bool(body.get("stream"))
    return client.send(
        "POST", client.url("interactions"), json_body=body,
        headers=client.headers(SSE if stream else "application/json"), stream=stream,
    )


def get(client: ApiClient, interaction_id: str) -> dict[str, Any]:
    response = client.send("GET", client.url(f"interactions/{interaction_id}"), params={"stream": "false"})
    return parse_json_body(response)


def stream(client: ApiClient, interaction_id: str, last_event_id: str | None = None, *, retry: bool = True) -> httpx.Response:
    """GET ...?stream=true, resuming after `last_event_id` when given."""
    params = {"stream": "true"}
    if last_event_id:
        params["last_event_id"] = last_event_id
    return client.send(
        "GET", client.url(f"interactions/{interaction_id}"), params=params,
        headers=client.headers(SSE), stream=True, retry=retry,
    )


def cancel(client: ApiClient, interaction_id: str) -> dict[str, Any]:
    response = client.send("POST", client.url(f"interactions/{interaction_id}/cancel"), content=b"")
    return parse_json_body(response)


def delete(client: ApiClient, interaction_id: str) -> None:
    client.send("DELETE", client.url(f"interactions/{interaction_id}")).close()


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
