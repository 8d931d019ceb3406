"""`gemini-cli models`: GET /v1beta/models, every page, cached for a day; -m completion reads the cache."""

from __future__ import annotations

import json
import os
import time

from conftest import API_KEY, run


def model(name, display, inp, out, thinking=None):
    body = {"name": f"models/{name}", "displayName": display, "inputTokenLimit": inp, "outputTokenLimit": out,
            "supportedGenerationMethods": ["generateContent"]}
    if thinking is not None:
        body["thinking"] = thinking
    return body


PAGE1 = {"models": [model("gemini-3-flash-preview", "Gemini 3 Flash", 1048576, 65536, True)], "nextPageToken": "p2"}
PAGE2 = {"models": [model("gemini-3.1-pro-preview", "Gemini 3.1 Pro", 1048576, 65536, True),
                    model("text-embedding-004", "Text Embedding 004", 2048, 1)]}
TABLE = (
    "NAME                    DISPLAY NAME        INPUT      OUTPUT  THINKING  ALIASES\n"
    "gemini-3-flash-preview  Gemini 3 Flash      1 048 576  65 536  yes       flash\n"
    "gemini-3.1-pro-preview  Gemini 3.1 Pro      1 048 576  65 536  yes       pro\n"
    "text-embedding-004      Text Embedding 004  2 048      1       ?\n"
)


def serve_pages(api):
    api.json(PAGE1, path="/v1beta/models", method="GET", query_string="pageSize=1000")
    api.json(PAGE2, path="/v1beta/models", method="GET", query_string="pageSize=1000&pageToken=p2")


def test_models_lists_every_page_with_the_aliases(api, home):
    serve_pages(api)
    result = run(["models"])
    assert (result.exit_code, result.stdout) == (0, TABLE)
    assert result.stderr == ("gemini-cli: aliases naming a model the API does not list: "
                             "flash-3.5 -> gemini-3.5-flash, flash-lite -> gemini-3.1-flash-lite\n")
    assert [r.headers["x-goog-api-key"] for r in api.requests()] == [API_KEY, API_KEY]
    cache = json.loads((home / "models.json").read_text())
    assert cache["base_url"] == f"{api.base_url}/v1beta"
    assert [m["name"] for m in cache["models"]] == ["gemini-3-flash-preview", "gemini-3.1-pro-preview", "text-embedding-004"]
    assert oct(os.stat(home / "models.json").st_mode & 0o777) == "0o600"


def test_models_json_and_the_cache_serves_a_second_run(api, home):
    serve_pages(api)
    first = run(["models", "-o", "json", "-q"])
    assert first.exit_code == 0
    rows = json.loads(first.stdout)
    assert rows[0] == {"name": "gemini-3-flash-preview", "display_name": "Gemini 3 Flash", "input_token_limit": 1048576,
                       "output_token_limit": 65536, "thinking": True, "aliases": ["flash"]}
    assert rows[2]["thinking"] is None and rows[2]["aliases"] == []
    second = run(["models", "-o", "json"])  # no request queued: served from the cache
    assert (second.exit_code, json.loads(second.stdout)) == (0, rows)
    assert second.stderr.startswith("gemini-cli: models: the list cached 0 h 0 min ago (--refresh asks the API again)\n")
    assert len(api.requests()) == 2


def test_refresh_and_a_day_old_cache_ask_again(api, home):
    serve_pages(api)
    assert run(["models", "-q"]).exit_code == 0
    serve_pages(api)
    assert run(["models", "-q", "--refresh"]).stdout == TABLE
    data = json.loads((home / "models.json").read_text())
    data["fetched"] = time.time() - 25 * 3600
    (home / "models.json").write_text(json.dumps(data))
    serve_pages(api)
    assert run(["models", "-q"]).stdout == TABLE
    assert len(api.requests()) == 6


def test_a_repeated_page_token_is_an_error_not_a_loop(api):
    api.json({"models": [], "nextPageToken": "same"}, path="/v1beta/models", method="GET")
    api.json({"models": [], "nextPageToken": "same"}, path="/v1beta/models", method="GET")
    result = run(["models"])
    assert result.exit_code == 6
    assert "models list: the API repeated the page token 'same'" in result.stderr


def test_model_completion_offers_the_cached_ids(home, api):
    from gemini_cli.cli.shell_complete import complete_model

    assert "text-embedding-004" not in [v for v, _ in complete_model(incomplete="")]
    serve_pages(api)
    assert run(["models", "-q"]).exit_code == 0
    offered = [v for v, _ in complete_model(incomplete="te")]
    assert offered == ["text-embedding-004"]
    assert [v for v, _ in complete_model(incomplete="gemini-3.1-p")] == ["gemini-3.1-pro-preview"]  # once
