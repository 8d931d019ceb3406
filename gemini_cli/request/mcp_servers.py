"""MCP server specs (request/mcp_spec.py) read from what `--mcp`, `--mcp-header`, `--mcp-allow`,
`--mcp-config` and `--remote-mcp` (or an `mcpServers` mapping from our config, a profile, a
template) name, header values resolved, and the remote servers' request tool and saved form.

Two kinds of server: those this tool connects to (a local command over stdio, or a URL over
streamable HTTP; runs/mcp.py starts them), and remote ones the API calls itself (the request
tool `{"type": "mcp_server", ...}`, interactions-api.md §11).

Header values are references (`env:VAR`, `cmd:COMMAND`, or a literal) resolved only when a
request is sent: `reference()` is what may be written (the conversation file, --dry-run,
-o json), `resolve_headers()` gives the values, to send and to redact, never to store.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from gemini_cli.errors import UsageError
from gemini_cli.request.mcp_spec import (
    ENV_NAME, HeaderValue, ServerSpec, check_header_name, check_header_value, check_name, check_url, is_url,
    parse_header_value,
)
from gemini_cli.request.schema import MAX_JSON_FILE, MAX_NESTING, nesting_ok

INSTALL_HINT = "pip install 'gemini-cli[mcp]'"
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
CMD_TIMEOUT = 10.0  # seconds a `cmd:` header command may take
CMD_OUTPUT_MAX = 64 * 1024


def split_pair(text: str, sep: str, flag: str, form: str) -> tuple[str, str]:
    name, found, rest = text.partition(sep)
    if not found or not name.strip() or not rest.strip():
        raise UsageError(f"{flag} {text!r}: expected {form}")
    return name.strip(), rest.strip()


def parse_mcp(text: str, flag: str = "--mcp") -> ServerSpec:
    """`--mcp NAME=COMMAND` (split like a shell line; no shell runs it) or `--mcp NAME=URL`."""
    name, target = split_pair(text, "=", flag, "NAME=COMMAND or NAME=URL")
    where = f"{flag} {name}"
    check_name(name, where)
    if is_url(target):
        return ServerSpec(name, flag, url=check_url(target, where))
    try:
        argv = tuple(shlex.split(target))
    except ValueError as exc:
        raise UsageError(f"{where}: cannot split the command: {exc}") from None
    if not argv:
        raise UsageError(f"{where}: the command is empty")
    return ServerSpec(name, flag, command=argv)


def parse_remote(text: str, flag: str = "--remote-mcp") -> ServerSpec:
    """`--remote-mcp NAME=URL`: a server Google's servers call (they must reach the URL)."""
    name, url = split_pair(text, "=", flag, "NAME=URL")
    where = f"{flag} {name}"
    check_name(name, where)
    if not is_url(url):
        raise UsageError(f"{where}: a remote MCP server is a URL (http:// or https://), got {url!r}")
    return ServerSpec(name, flag, url=check_url(url, where), remote=True)


def parse_header(text: str, flag: str = "--mcp-header") -> tuple[str, str, HeaderValue]:
    """`--mcp-header NAME:Header=VALUE` -> (server, header, value)."""
    target, found, value = text.partition("=")
    server, found2, header = target.partition(":")
    server, header = server.strip(), header.strip()
    if not found or not found2 or not server or not header:
        raise UsageError(f"{flag} {text.split('=')[0]!r}...: expected NAME:Header=VALUE "
                         "(VALUE: env:VAR, cmd:COMMAND or the value itself)")
    where = f"{flag} {server}:{header}"
    return server, check_header_name(header, where), check_header_value(parse_header_value(value), where)


def parse_allow(text: str, flag: str = "--mcp-allow") -> tuple[str, str]:
    """`--mcp-allow NAME:TOOL` -> (server, tool)."""
    return split_pair(text, ":", flag, "NAME:TOOL")


# --- mcpServers mappings: Claude Desktop, Google's gemini-cli, our config/profile/template ---

def servers_from_mapping(servers: Any, source: str, environ: Mapping[str, str] | None = None) -> list[ServerSpec]:
    """The entries of an `mcpServers` mapping (name -> entry). An entry has `command` (+ `args`,
    `env`, `cwd`) for a local server, or `url` / `httpUrl` (+ `headers`) for streamable HTTP.
    Also read: `includeTools`/`excludeTools` (gemini-cli), `allow`, `confirm`; `remote: true`
    makes a URL server one the API calls. Other keys (`trust`, `timeout`, `description`, `type`:
    stdio/http) are ignored, so files written for other tools work as they are."""
    if not isinstance(servers, Mapping):
        raise UsageError(f"{source}: mcpServers must be a mapping of server names to entries")
    return [server_from_entry(str(name), entry, source, environ) for name, entry in servers.items()]


def server_from_entry(name: str, entry: Any, source: str, environ: Mapping[str, str] | None = None) -> ServerSpec:
    where = f"{source}: MCP server {name}"
    check_name(name, where)
    if not isinstance(entry, Mapping):
        raise UsageError(f"{where}: the entry must be a mapping")
    kind = entry.get("type")
    if kind == "sse":
        raise UsageError(f"{where}: the SSE transport is not supported; give the server's streamable HTTP "
                         "URL (often ending in /mcp) as httpUrl")
    url = entry.get("httpUrl") or entry.get("url")
    command = entry.get("command")
    if bool(url) == bool(command):
        raise UsageError(f"{where}: give either command (a local server) or url/httpUrl")
    common: dict[str, Any] = dict(allow=_names(entry, ("allow", "includeTools"), where), exclude=_names(entry, ("excludeTools",), where) or (),
                  confirm=_bool(entry.get("confirm", False), f"{where}: confirm"))
    if url:
        if not isinstance(url, str):
            raise UsageError(f"{where}: url must be a string")
        headers = entry.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise UsageError(f"{where}: headers must be a mapping of header names to values")
        parsed = {check_header_name(str(h), f"{where}: header"): check_header_value(
            _config_header(v, f"{where}: header {h}"), f"{where}: header {h}") for h, v in headers.items()}
        return ServerSpec(name, source, url=check_url(url, where), headers=parsed,
                          remote=_bool(entry.get("remote", False), f"{where}: remote"), **common)
    if isinstance(command, str):
        argv = [command]
    elif isinstance(command, list) and command and all(isinstance(a, str) for a in command):
        argv = list(command)
    else:
        raise UsageError(f"{where}: command must be a string (the program) or a list of strings")
    args = entry.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, (str, int, float)) for a in args):
        raise UsageError(f"{where}: args must be a list of strings")
    env, passed = _env(entry.get("env"), where, os.environ if environ is None else environ)
    cwd = entry.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise UsageError(f"{where}: cwd must be a string")
    return ServerSpec(name, source, command=tuple(argv + [str(a) for a in args]), env=env, env_pass=passed,
                      cwd=str(Path(cwd).expanduser()) if cwd else None, **common)


def _config_header(value: Any, where: str) -> HeaderValue:
    if not isinstance(value, str):
        raise UsageError(f"{where}: a header value must be a string")
    match = ENV_REFERENCE.fullmatch(value.strip())
    if match:  # "$TOKEN" / "${TOKEN}", as gemini-cli expands them: a reference to a variable
        return HeaderValue("env", match.group(1) or match.group(2))
    if ENV_REFERENCE.search(value):  # "Bearer ${TOKEN}": the variables filled in at send time
        return HeaderValue("template", value.strip())
    return parse_header_value(value)


def _env(env: Any, where: str, environ: Mapping[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """`env`: a mapping of names to values (`$VAR`/`${VAR}` in a value read from our
    environment, as gemini-cli does), or a list of names passed through from ours."""
    if env is None:
        return {}, ()
    if isinstance(env, list):
        bad = [n for n in env if not isinstance(n, str) or not ENV_NAME.fullmatch(n)]
        if bad:
            raise UsageError(f"{where}: env names a bad variable: {bad[0]!r}")
        return {}, tuple(env)
    if not isinstance(env, Mapping):
        raise UsageError(f"{where}: env must be a mapping of names to values (or a list of names)")
    values = {}
    for key, value in env.items():
        if not isinstance(key, str) or not ENV_NAME.fullmatch(key):
            raise UsageError(f"{where}: env has a bad variable name {key!r}")
        if not isinstance(value, (str, int, float, bool)):
            raise UsageError(f"{where}: env {key} must be a string")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        values[key] = ENV_REFERENCE.sub(lambda m: environ.get(m.group(1) or m.group(2), ""), text)
    return values, ()


def _names(entry: Mapping[str, Any], keys: Iterable[str], where: str) -> tuple[str, ...] | None:
    for key in keys:
        if key in entry and entry[key] is not None:
            value = entry[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{where}: {key} must be a list of tool names")
            return tuple(value)
    return None


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{where} must be true or false")
    return value


def load_config(path: str | Path) -> list[ServerSpec]:
    """`--mcp-config FILE`: the `mcpServers` of a Claude Desktop / gemini-cli JSON file."""
    path = Path(path).expanduser()
    source = f"--mcp-config {path}"

    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_JSON_FILE + 1)  # /dev/zero is not read forever
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
    if len(raw) > MAX_JSON_FILE:
        raise UsageError(f"{source} is over {MAX_JSON_FILE // 1024**2} MiB (stopped reading there)")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{source} is not valid JSON: {exc}") from None
    except RecursionError:
        raise UsageError(f"{source} is nested deeper than {MAX_NESTING} levels") from None
    if not nesting_ok(data):
        raise UsageError(f"{source} is nested deeper than {MAX_NESTING} levels")
    if not isinstance(data, dict) or not isinstance(data.get("mcpServers"), dict):
        raise UsageError(f"{source} has no mcpServers mapping")
    return servers_from_mapping(data["mcpServers"], source)


def collect(mcp: Iterable[str] = (), remote: Iterable[str] = (), configs: Iterable[str | Path] = (),
            headers: Iterable[str] = (), allow: Iterable[str] = (),
            mappings: Iterable[tuple[Any, str]] = (), earlier: Iterable[ServerSpec] = ()) -> list[ServerSpec]:
    """Every server a run names, in order: `earlier` (the remote servers a resumed conversation
    remembers), `mappings` (our config, a profile, a template: each a (mcpServers mapping,
    source label) pair), then `--mcp-config` files, `--mcp` and `--remote-mcp`; a later server
    of the same name replaces an earlier one. Then the `--mcp-header` and `--mcp-allow` flags
    are applied to the server they name."""
    found: dict[str, ServerSpec] = {}
    specs = list(earlier) + [s for mapping, source in mappings for s in servers_from_mapping(mapping, source)]
    specs += [s for path in configs for s in load_config(path)]
    specs += [parse_mcp(t) for t in mcp] + [parse_remote(t) for t in remote]
    for spec in specs:
        found.pop(spec.name, None)
        found[spec.name] = spec
    for text in headers:
        server, header, value = parse_header(text)
        spec = _named(found, server, "--mcp-header")
        if spec.local:
            raise UsageError(f"--mcp-header {server}:{header}: {server} is a local command; headers are for URL servers")
        found[server] = replace(spec, headers={**spec.headers, header: value})
    allowed: dict[str, list[str]] = {}
    for text in allow:
        server, tool = parse_allow(text)
        _named(found, server, "--mcp-allow")
        allowed.setdefault(server, []).append(tool)
    for server, tools in allowed.items():
        found[server] = replace(found[server], allow=tuple(tools))
    return list(found.values())


def _named(found: Mapping[str, ServerSpec], server: str, flag: str) -> ServerSpec:
    if server not in found:
        known = ", ".join(found) or "none"
        raise UsageError(f"{flag} names MCP server {server!r}, which no --mcp, --remote-mcp or config names "
                         f"(known: {known})")
    return found[server]


def literal_warnings(specs: Iterable[ServerSpec]) -> list[str]:
    """One warning per header given as a literal value (it sits in shell history, configs)."""
    return [f"MCP server {s.name}: header {h} is a literal value; prefer env:VAR or cmd:COMMAND "
            "(it is never written to a file, but it is in your shell history or config)"
            for s in specs for h, v in s.headers.items() if v.kind == "literal"]


# --- header values: resolved at send time only ---

def resolve_headers(spec: ServerSpec, environ: Mapping[str, str] | None = None,
                    run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> dict[str, str]:
    """The header values to send. Errors name the server and header, never a value."""
    environ = os.environ if environ is None else environ
    resolved = {}
    for header, value in spec.headers.items():
        where = f"MCP server {spec.name}: header {header}"
        if value.kind == "env":
            if not environ.get(value.value):
                raise UsageError(f"{where}: environment variable {value.value} is not set")
            text = environ[value.value]
        elif value.kind == "template":  # "Bearer ${TOKEN}" from a config file
            missing = [m.group(1) or m.group(2) for m in ENV_REFERENCE.finditer(value.value)
                       if not environ.get(m.group(1) or m.group(2))]
            if missing:
                raise UsageError(f"{where}: environment variable {missing[0]} is not set")
            text = ENV_REFERENCE.sub(lambda m: environ[m.group(1) or m.group(2)], value.value)
        elif value.kind == "cmd":
            text = _run_header_command(value.value, where, run)
        elif value.kind == "saved_cmd":  # a conversation file (perhaps someone else's) runs nothing
            raise UsageError(f"{where} comes from cmd:{value.value}, which is never run from a conversation file: "
                             f"give it again with --mcp-header {spec.name}:{header}=cmd:... (or name the server in "
                             "the config file)")
        elif value.kind == "saved_env":  # a conversation file names the URL: it never gets our variables
            raise UsageError(f"{where} comes from {value.value}, which is never filled in from a conversation file "
                             f"(it names the URL the value would go to): give it again with --mcp-header "
                             f"{spec.name}:{header}={value.value if value.value.startswith('env:') else 'env:VAR'} "
                             "(or name the server in the config file)")
        elif value.kind == "redacted":
            raise UsageError(f"{where} was a literal value, which is never saved: give it again with "
                             f"--mcp-header {spec.name}:{header}=env:VAR (or cmd:COMMAND)")
        else:
            text = value.value
        text = text.strip()
        if not text or any(c in text for c in "\r\n\0"):
            raise UsageError(f"{where}: the value is empty or spans lines")
        resolved[header] = text
    return resolved


def _run_header_command(command: str, where: str, run: Callable[..., subprocess.CompletedProcess]) -> str:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"{where}: cannot split cmd:{command}: {exc}") from None
    try:
        done = run(argv, capture_output=True, timeout=CMD_TIMEOUT, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise UsageError(f"{where}: command not found: {argv[0] if argv else command}") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"{where}: cmd:{command} took longer than {CMD_TIMEOUT:g} s") from None
    except OSError as exc:
        raise UsageError(f"{where}: cannot run cmd:{command}: {exc.strerror or exc}") from None
    if done.returncode != 0:  # its stdout and stderr are not shown: they may hold the secret
        raise UsageError(f"{where}: cmd:{command} failed (exit {done.returncode})")
    return done.stdout[:CMD_OUTPUT_MAX].decode("utf-8", "replace")


def secret_values(resolved: Mapping[str, str]) -> list[str]:
    """The resolved values the caller must redact from everything it shows or writes."""
    return sorted({v for v in resolved.values() if v})


def reference_headers(spec: ServerSpec) -> dict[str, str]:
    """The headers as references, for the conversation file, --dry-run and -o json."""
    return {header: value.reference() for header, value in spec.headers.items()}


# --- remote servers: the request tool, and what a conversation remembers ---

def remote_tool(spec: ServerSpec, resolved: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`{"type": "mcp_server", "name", "url", "headers"?, "allowed_tools"?}`: with `resolved`
    (resolve_headers) the body to send; without, the reference form to show or save."""
    tool: dict[str, Any] = {"type": "mcp_server", "name": spec.name, "url": spec.url}
    if spec.headers:
        tool["headers"] = dict(resolved) if resolved is not None else reference_headers(spec)
    if spec.allow is not None:
        tool["allowed_tools"] = [{"tools": list(spec.allow)}]
    return tool


def remote_to_saved(spec: ServerSpec) -> dict[str, Any]:
    """What a conversation remembers of a remote server, so that `-c` keeps it: never a value."""
    saved: dict[str, Any] = {"name": spec.name, "url": spec.url}
    if spec.headers:
        saved["headers"] = reference_headers(spec)
    if spec.allow is not None:
        saved["allow"] = list(spec.allow)
    return saved


def remote_from_saved(saved: Any, source: str = "the conversation") -> ServerSpec:
    """A remembered remote server back; a literal header comes back as `redacted`, which
    resolve_headers refuses unless a flag gives the header again."""
    if not isinstance(saved, Mapping) or not isinstance(saved.get("name"), str) or not isinstance(saved.get("url"), str):
        raise UsageError(f"{source}: a remembered remote MCP server needs a name and a url")
    where = f"{source}: remote MCP server {saved['name']}"
    headers = {}
    for header, ref in (saved.get("headers") or {}).items():
        ref = str(ref)
        value = HeaderValue("template", ref[9:]) if ref.startswith("template:") else parse_header_value(ref)
        if value.kind == "literal":  # only references are ever saved; anything else is not trusted
            value = HeaderValue("redacted", "")
        elif value.kind == "cmd":
            value = HeaderValue("saved_cmd", value.value)
        elif value.kind in ("env", "template"):
            value = HeaderValue("saved_env", value.reference())
        headers[check_header_name(str(header), where)] = check_header_value(value, where)
    allow = saved.get("allow")
    return ServerSpec(check_name(saved["name"], where), source, url=check_url(saved["url"], where), headers=headers,
                      allow=tuple(allow) if isinstance(allow, list) else None, remote=True)
