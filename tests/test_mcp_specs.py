"""request/mcp_servers.py: --mcp, --remote-mcp, --mcp-header, --mcp-allow, --mcp-config and
mcpServers mappings; header references (what may be written) and values (sent only)."""

from __future__ import annotations

import json
import sys

import pytest

from gemini_cli.errors import UsageError
from gemini_cli.request import mcp_servers as ms
from gemini_cli.request.mcp_spec import HeaderValue, ServerSpec


def test_mcp_takes_a_command_split_like_a_shell_line_or_a_url():
    fs = ms.parse_mcp("fs=npx -y @modelcontextprotocol/server-filesystem './my docs'")
    assert fs == ServerSpec("fs", "--mcp", command=("npx", "-y", "@modelcontextprotocol/server-filesystem", "./my docs"))
    assert fs.local and not fs.remote
    web = ms.parse_mcp("web=https://mcp.example.com/mcp")
    assert (web.url, web.command, web.local) == ("https://mcp.example.com/mcp", (), False)


@pytest.mark.parametrize("text, message", [
    ("fs", "--mcp 'fs': expected NAME=COMMAND or NAME=URL"),
    ("=npx x", "--mcp '=npx x': expected NAME=COMMAND or NAME=URL"),
    ("a__b=npx x", "--mcp a__b: bad MCP server name 'a__b': use up to 24 letters, digits, '-' or single '_', "
                   "starting with a letter"),
    ("9fs=npx", "--mcp 9fs: bad MCP server name '9fs'"),
    ("fs=npx 'open", "--mcp fs: cannot split the command: No closing quotation"),
    ("web=https://", "--mcp web: bad URL 'https://'"),
])
def test_bad_mcp_specs_are_usage_errors_naming_the_server(text, message):
    with pytest.raises(UsageError) as caught:
        ms.parse_mcp(text)
    assert caught.value.message.startswith(message) and caught.value.exit_code == 2


def test_remote_mcp_needs_a_url():
    assert ms.parse_remote("docs=https://mcp.example.com/mcp") == ServerSpec(
        "docs", "--remote-mcp", url="https://mcp.example.com/mcp", remote=True)
    with pytest.raises(UsageError, match=r"^--remote-mcp docs: a remote MCP server is a URL"):
        ms.parse_remote("docs=npx server")


def test_headers_are_env_cmd_or_literal_and_only_references_are_shown():
    assert ms.parse_header("web:Authorization=env:WEB_TOKEN") == ("web", "Authorization", HeaderValue("env", "WEB_TOKEN"))
    assert ms.parse_header("web:X-Key=cmd:pass show web") == ("web", "X-Key", HeaderValue("cmd", "pass show web"))
    assert ms.parse_header("web:X-Key=abc=def") == ("web", "X-Key", HeaderValue("literal", "abc=def"))
    assert [HeaderValue(k, "v").reference() for k in ("env", "cmd", "literal", "redacted")] == [
        "env:v", "cmd:v", "<redacted>", "<redacted>"]


@pytest.mark.parametrize("text, message", [
    ("web=env:X", "--mcp-header 'web'...: expected NAME:Header=VALUE"),
    ("web:Bad Header=env:X", "--mcp-header web:Bad Header: bad HTTP header name 'Bad Header'"),
    ("web:X=env:1BAD", "--mcp-header web:X: bad variable name in env:1BAD"),
    ("web:X=cmd:", "--mcp-header web:X: cmd: needs a command"),
])
def test_bad_headers_are_refused_without_echoing_a_value(text, message):
    with pytest.raises(UsageError) as caught:
        ms.parse_header(text)
    assert caught.value.message.startswith(message)


def test_collect_applies_headers_and_allow_to_the_server_they_name():
    specs = ms.collect(mcp=["fs=npx fs-server"], remote=["docs=https://mcp.example.com/mcp"],
                       headers=["docs:Authorization=env:DOCS_TOKEN"], allow=["docs:search", "docs:fetch", "fs:read"])
    fs, docs = specs
    assert fs.allow == ("read",) and fs.allows("read") and not fs.allows("write")
    assert docs.headers == {"Authorization": HeaderValue("env", "DOCS_TOKEN")} and docs.allow == ("search", "fetch")
    with pytest.raises(UsageError) as caught:
        ms.collect(mcp=["fs=npx fs-server"], allow=["gh:search"])
    assert caught.value.message == ("--mcp-allow names MCP server 'gh', which no --mcp, --remote-mcp or config names "
                                    "(known: fs)")
    with pytest.raises(UsageError, match=r"^--mcp-header fs:X: fs is a local command; headers are for URL servers$"):
        ms.collect(mcp=["fs=npx fs-server"], headers=["fs:X=env:T"])


def test_a_later_server_of_the_same_name_replaces_an_earlier_one(tmp_path):
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"mcpServers": {"fs": {"command": "old"}, "gh": {"command": "gh-server"}}}))
    specs = ms.collect(mcp=["fs=new-server"], configs=[config], mappings=[({"fs": {"command": "first"}}, "config")])
    assert [(s.name, s.command, s.source) for s in specs] == [
        ("gh", ("gh-server",), f"--mcp-config {config}"), ("fs", ("new-server",), "--mcp")]


def test_a_claude_desktop_config_works_as_it_is(tmp_path, monkeypatch):
    monkeypatch.setenv("GH_TOKEN", "ghp_secret")
    config = tmp_path / "claude_desktop_config.json"
    config.write_text(json.dumps({"mcpServers": {
        "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"]},
        "github": {"command": "docker", "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN",
                                                 "ghcr.io/github/github-mcp-server"],
                   "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GH_TOKEN}", "DEBUG": True, "PORT": 8080}},
        "linear": {"type": "http", "url": "https://mcp.linear.app/mcp", "headers": {"Authorization": "Bearer ${LIN}"}},
    }, "globalShortcut": "Ctrl+Space"}))
    fs, gh, linear = ms.load_config(config)
    source = f"--mcp-config {config}"
    assert fs == ServerSpec("filesystem", source, command=(
        "npx", "-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"))
    assert gh.command[0] == "docker" and gh.env == {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_secret", "DEBUG": "true",
                                                     "PORT": "8080"}
    assert linear.url == "https://mcp.linear.app/mcp"
    assert linear.headers == {"Authorization": HeaderValue("template", "Bearer ${LIN}")}
    assert ms.reference_headers(linear) == {"Authorization": "template:Bearer ${LIN}"}
    monkeypatch.setenv("LIN", "lin_api_1")
    assert ms.resolve_headers(linear) == {"Authorization": "Bearer lin_api_1"}


def test_a_gemini_cli_settings_file_with_http_url_and_tool_lists(tmp_path):
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"theme": "dark", "mcpServers": {
        "web": {"httpUrl": "https://example.com/mcp", "headers": {"X-Api-Key": "$WEB_KEY"}, "timeout": 30000,
                "trust": False, "includeTools": ["search"], "excludeTools": ["delete"]},
        "py": {"command": "python", "args": ["-m", "server"], "cwd": "~/srv", "env": {"A": "1"}},
    }}))
    web, py = ms.load_config(config)
    assert web.url == "https://example.com/mcp" and web.headers == {"X-Api-Key": HeaderValue("env", "WEB_KEY")}
    assert (web.allow, web.exclude) == (("search",), ("delete",))
    assert py.cwd.endswith("/srv") and not py.cwd.startswith("~") and py.env == {"A": "1"}


@pytest.mark.parametrize("entry, message", [
    ({"args": ["x"]}, "give either command (a local server) or url/httpUrl"),
    ({"command": "x", "url": "https://a/mcp"}, "give either command (a local server) or url/httpUrl"),
    ({"command": 3}, "command must be a string (the program) or a list of strings"),
    ({"command": "x", "args": "a b"}, "args must be a list of strings"),
    ({"command": "x", "env": {"A": ["list"]}}, "env A must be a string"),
    ({"command": "x", "env": "A=1"}, "env must be a mapping of names to values (or a list of names)"),
    ({"url": "https://a/mcp", "headers": ["X"]}, "headers must be a mapping of header names to values"),
    ({"url": "sse://a"}, "bad URL 'sse://a'"),
    ({"type": "sse", "url": "https://a/sse"}, "the SSE transport is not supported"),
    ({"command": "x", "includeTools": "read"}, "includeTools must be a list of tool names"),
    ("npx", "the entry must be a mapping"),
])
def test_bad_config_entries_name_the_file_and_the_server(entry, message):
    with pytest.raises(UsageError) as caught:
        ms.servers_from_mapping({"srv": entry}, "config file /c.yaml")
    assert caught.value.message.startswith("config file /c.yaml: MCP server srv")
    assert message in caught.value.message


def test_an_unreadable_or_wrong_config_file_is_exit_2(tmp_path):
    with pytest.raises(UsageError, match=r"^cannot read --mcp-config .*nope.json: No such file or directory$"):
        ms.load_config(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(UsageError, match=r"^--mcp-config .*bad.json is not valid JSON: "):
        ms.load_config(bad)
    bad.write_text('{"servers": {}}')
    with pytest.raises(UsageError, match=r"^--mcp-config .*bad.json has no mcpServers mapping$"):
        ms.load_config(bad)


def test_header_values_are_resolved_from_env_and_cmd_at_send_time(monkeypatch):
    spec = ms.collect(remote=["r=https://a.example/mcp"], headers=[
        "r:A=env:TOKEN_A", f"r:B=cmd:{sys.executable} -c \"print('  from-cmd  ')\"", "r:C=lit-value"])[0]
    monkeypatch.setenv("TOKEN_A", "from-env")
    resolved = ms.resolve_headers(spec)
    assert resolved == {"A": "from-env", "B": "from-cmd", "C": "lit-value"}
    assert ms.secret_values(resolved) == ["from-cmd", "from-env", "lit-value"]
    assert ms.literal_warnings([spec]) == [
        "MCP server r: header C is a literal value; prefer env:VAR or cmd:COMMAND (it is never written to a file, "
        "but it is in your shell history or config)"]


@pytest.mark.parametrize("value, message", [
    ("env:UNSET_TOKEN", "MCP server r: header A: environment variable UNSET_TOKEN is not set"),
    ("cmd:/nonexistent/secret-tool", "MCP server r: header A: command not found: /nonexistent/secret-tool"),
    (f"cmd:{sys.executable} -c \"import sys; print('hunter2'); sys.exit(3)\"",
     f"MCP server r: header A: cmd:{sys.executable} -c \"import sys; print('hunter2'); sys.exit(3)\" failed (exit 3)"),
    (f"cmd:{sys.executable} -c \"print('two'); print('lines')\"", "MCP server r: header A: the value is empty or spans lines"),
])
def test_a_header_that_cannot_be_resolved_is_exit_2_without_its_output(value, message, monkeypatch):
    monkeypatch.delenv("UNSET_TOKEN", raising=False)
    spec = ms.collect(remote=["r=https://a.example/mcp"], headers=[f"r:A={value}"])[0]
    with pytest.raises(UsageError) as caught:
        ms.resolve_headers(spec)
    assert caught.value.message == message


def test_a_slow_header_command_is_bounded(monkeypatch):
    monkeypatch.setattr(ms, "CMD_TIMEOUT", 0.2)
    spec = ms.collect(remote=["r=https://a.example/mcp"], headers=[f"r:A=cmd:{sys.executable} -c \"import time; time.sleep(5)\""])[0]
    with pytest.raises(UsageError, match=r"took longer than 0.2 s$"):
        ms.resolve_headers(spec)


def test_the_remote_tool_sends_values_and_shows_references(monkeypatch):
    spec = ms.collect(remote=["docs=https://mcp.example.com/mcp"], headers=["docs:Authorization=env:DOCS_TOKEN",
                                                                           "docs:X-Lit=abc"],
                      allow=["docs:search"])[0]
    monkeypatch.setenv("DOCS_TOKEN", "Bearer t0k")
    assert ms.remote_tool(spec, ms.resolve_headers(spec)) == {
        "type": "mcp_server", "name": "docs", "url": "https://mcp.example.com/mcp",
        "headers": {"Authorization": "Bearer t0k", "X-Lit": "abc"}, "allowed_tools": [{"tools": ["search"]}]}
    assert ms.remote_tool(spec) == {
        "type": "mcp_server", "name": "docs", "url": "https://mcp.example.com/mcp",
        "headers": {"Authorization": "env:DOCS_TOKEN", "X-Lit": "<redacted>"}, "allowed_tools": [{"tools": ["search"]}]}
    assert ms.remote_tool(ms.parse_remote("d=https://a.example/mcp")) == {
        "type": "mcp_server", "name": "d", "url": "https://a.example/mcp"}


def test_a_conversation_remembers_remote_servers_without_values(monkeypatch):
    spec = ms.collect(remote=["docs=https://mcp.example.com/mcp"], headers=["docs:A=env:DOCS_TOKEN", "docs:B=secret-lit"],
                      allow=["docs:search"])[0]
    saved = ms.remote_to_saved(spec)
    assert saved == {"name": "docs", "url": "https://mcp.example.com/mcp",
                     "headers": {"A": "env:DOCS_TOKEN", "B": "<redacted>"}, "allow": ["search"]}
    assert "secret-lit" not in json.dumps(saved)
    back = ms.remote_from_saved(json.loads(json.dumps(saved)))
    assert (back.name, back.url, back.allow, back.remote) == ("docs", "https://mcp.example.com/mcp", ("search",), True)
    # kept as references, never filled in from the file (it names the URL they would go to)
    assert back.headers == {"A": HeaderValue("saved_env", "env:DOCS_TOKEN"), "B": HeaderValue("redacted", "")}
    assert ms.remote_to_saved(back)["headers"] == {"A": "env:DOCS_TOKEN", "B": "<redacted>"}
    monkeypatch.setenv("DOCS_TOKEN", "t")
    with pytest.raises(UsageError) as caught:
        ms.resolve_headers(back)
    assert caught.value.message.startswith("MCP server docs: header A comes from env:DOCS_TOKEN, which is never filled in")
    with pytest.raises(UsageError) as caught:
        ms.resolve_headers(ms.collect(remote=[], headers=["docs:A=env:DOCS_TOKEN"], earlier=[back])[0])
    assert caught.value.message == ("MCP server docs: header B was a literal value, which is never saved: give it again "
                                    "with --mcp-header docs:B=env:VAR (or cmd:COMMAND)")


def test_a_saved_header_that_is_not_a_reference_is_never_sent():
    back = ms.remote_from_saved({"name": "d", "url": "https://a.example/mcp", "headers": {"A": "plain-value"}})
    assert back.headers == {"A": HeaderValue("redacted", "")}
    with pytest.raises(UsageError, match="needs a name and a url"):
        ms.remote_from_saved({"name": "d"})


def test_the_header_command_runs_without_a_shell(tmp_path):
    marker = tmp_path / "ran"
    spec = ms.collect(remote=["r=https://a.example/mcp"], headers=[f"r:A=cmd:echo x; touch {marker}"])[0]
    assert ms.resolve_headers(spec) == {"A": f"x; touch {marker}"}
    assert not marker.exists()
