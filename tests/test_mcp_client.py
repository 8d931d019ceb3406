"""runs/mcp.py against real MCP servers written with the SDK (tests/mcp_server.py): over stdio
(a subprocess of sys.executable) and over streamable HTTP (uvicorn on 127.0.0.1, a free port).

Start (every page of tools/list, --mcp-allow, failures with the server's stderr), calls (text,
image, structuredContent, isError, a $defs schema, a timeout, a server that dies mid-call),
headers resolved from env and cmd, the scrubbed environment, and close() leaving no process.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from gemini_cli.errors import UsageError
from gemini_cli.render.output import Console
from gemini_cli.request.mcp_servers import collect, parse_mcp, servers_from_mapping
from gemini_cli.runs.mcp import McpServers

SERVER = Path(__file__).with_name("mcp_server.py")
ROOT = Path(__file__).resolve().parent.parent
ALL_TOOLS = ["echo", "image", "stats", "fail", "create_node", "env", "pid", "crash", "hang", "headers", "read-file.v2"]


def local(name: str = "t", *args: str) -> str:
    return f"{name}={sys.executable} {SERVER} {' '.join(args)}".strip()


def start(*specs, **options):
    err = io.StringIO()
    servers = McpServers.start(list(specs), console=Console(stderr=err), **options)
    return servers, err


def tools_of(servers):
    return {t.name: t for t in servers.tools}


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


@pytest.fixture(scope="module")
def stdio():
    """One running stdio server for the call tests (a start costs ~1 s)."""
    servers, err = start(parse_mcp(local()))
    yield servers
    servers.close()


def test_every_page_of_tools_is_declared_with_the_server_in_the_name(stdio):
    names = [t.name for t in stdio.tools]
    assert names == [f"t__{n}" for n in ALL_TOOLS[:-1]] + ["t__read-file.v2"]
    echo = tools_of(stdio)["t__echo"]
    assert echo.origin == "mcp:t" and echo.description == "Echo the text back" and not echo.confirm
    assert echo.declaration() == {"type": "function", "name": "t__echo", "description": "Echo the text back",
                                  "parameters": {"type": "object", "properties": {"text": {"type": "string"}},
                                                 "required": ["text"]}}


def test_a_schema_with_defs_is_declared_inlined_and_its_call_works(stdio):
    node = tools_of(stdio)["t__create_node"]
    assert node.parameters["properties"]["at"] == {
        "type": "object", "title": "Point", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
        "required": ["x", "y"]}
    assert "$defs" not in node.parameters and "$schema" not in node.parameters
    assert stdio.dropped["t__create_node"] == ["$schema at /", "$defs at /", "additionalProperties at /properties/at",
                                               "format 'uri' at /properties/label/anyOf/0"]
    result = stdio.call(node, {"at": {"x": 1, "y": 2}}, 5)
    assert (result.result, result.is_error, result.summary) == ("node at 1,2", False, "1 line")


def test_text_image_structured_content_and_is_error_results(stdio):
    tools = tools_of(stdio)
    echo = stdio.call(tools["t__echo"], {"text": "hello\nworld"}, 5)
    assert (echo.result, echo.is_error, echo.summary) == ("hello\nworld", False, "2 lines")
    image = stdio.call(tools["t__image"], {}, 5)
    assert image.result == [{"type": "text", "text": "a dot"},
                            {"type": "image", "data": image.result[1]["data"], "mime_type": "image/png"}]
    assert image.result[1]["data"].startswith("iVBORw0KGgo") and image.summary == "1 line, 1 image"
    stats = stdio.call(tools["t__stats"], {}, 5)
    assert (stats.result, stats.is_error, stats.summary) == ({"count": 3, "ok": True}, False, "JSON object")
    fail = stdio.call(tools["t__fail"], {}, 5)
    assert (fail.result, fail.is_error, fail.summary) == ("boom: no such thing", True, "error: 1 line")


def test_a_call_that_does_not_answer_in_time_is_an_error_result_and_the_server_goes_on(stdio):
    tools = tools_of(stdio)
    began = time.monotonic()
    hang = stdio.call(tools["t__hang"], {}, 0.5)
    assert time.monotonic() - began < 4  # bounded: 0.5 s and the cancellation
    assert (hang.result, hang.is_error) == ("MCP server t did not answer t__hang within 0.5 s", True)
    assert hang.summary == "error: timed out after 0.5 s"
    assert stdio.call(tools["t__echo"], {"text": "still here"}, 5).result == "still here"


def test_the_server_gets_the_scrubbed_environment_plus_what_its_entry_gives(monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", "shh-1234")
    monkeypatch.setenv("PLAIN_SETTING", "plain")
    monkeypatch.setenv("PASSED_API_KEY", "passed-5678")
    spec, = servers_from_mapping({"e": {"command": sys.executable, "args": [str(SERVER)],
                                        "env": {"GIVEN": "given-$PLAIN_SETTING"}}}, "test")
    passed, = servers_from_mapping({"p": {"command": sys.executable, "args": [str(SERVER)],
                                          "env": ["PASSED_API_KEY"]}}, "test")
    servers, _ = start(spec, passed)
    try:
        tools = tools_of(servers)
        seen = {name: servers.call(tools["e__env"], {"name": name}, 5).result
                for name in ("MY_SERVICE_TOKEN", "GEMINI_API_KEY", "PLAIN_SETTING", "GIVEN", "PASSED_API_KEY")}
        assert seen == {"MY_SERVICE_TOKEN": "<unset>", "GEMINI_API_KEY": "<unset>", "PLAIN_SETTING": "plain",
                        "GIVEN": "given-plain", "PASSED_API_KEY": "<unset>"}
        assert servers.call(tools["p__env"], {"name": "PASSED_API_KEY"}, 5).result == "passed-5678"
        assert servers.call(tools["p__env"], {"name": "MY_SERVICE_TOKEN"}, 5).result == "<unset>"
    finally:
        servers.close()


def test_allow_narrows_the_declared_tools_and_an_unknown_allowed_tool_is_refused():
    specs = collect(mcp=[local()], allow=["t:echo", "t:read-file.v2"])
    servers, _ = start(*specs)
    try:
        assert [t.name for t in servers.tools] == ["t__echo", "t__read-file.v2"]
    finally:
        servers.close()
    with pytest.raises(UsageError) as caught:
        start(*collect(mcp=[local()], allow=["t:ecco"]))
    assert caught.value.message.startswith("--mcp-allow t:ecco: MCP server t has no tool 'ecco' (it has: echo, image, ")


def test_a_server_that_dies_mid_call_gives_an_error_result_naming_it_and_its_stderr():
    servers, err = start(parse_mcp(local()))
    try:
        tools = tools_of(servers)
        pid = int(servers.call(tools["t__pid"], {}, 5).result)
        crash = servers.call(tools["t__crash"], {}, 5)
        assert (crash.result, crash.is_error) == ("MCP server t stopped during the call of t__crash", True)
        assert crash.summary == "error: MCP server t stopped"
        assert "gemini-cli: MCP server t stderr:\n  about to crash\n" in err.getvalue()
        after = servers.call(tools["t__echo"], {"text": "x"}, 5)
        assert after.is_error and after.result.startswith("MCP server t is not running")
    finally:
        servers.close()
    assert gone(pid)


def test_close_stops_every_server_and_leaves_no_process():
    servers, _ = start(parse_mcp(local("a")), parse_mcp(local("b")))
    tools = tools_of(servers)
    pids = [int(servers.call(tools[f"{n}__pid"], {}, 5).result) for n in ("a", "b")]
    assert all(not gone(pid) for pid in pids)
    began = time.monotonic()
    servers.close()
    assert time.monotonic() - began < 8  # the SDK waits 2 s for an exit, then SIGTERM, 2 s, SIGKILL
    assert all(gone(pid) for pid in pids)
    servers.close()  # twice is harmless
    assert servers.call(tools["a__echo"], {"text": "x"}, 5).is_error


def test_ctrl_c_during_a_call_leaves_no_process_behind(tmp_path):
    """A run interrupted while a call waits: the KeyboardInterrupt ends the interpreter, and
    the servers stop on the way out (atexit), without the caller's close()."""
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        from gemini_cli.request.mcp_servers import parse_mcp
        from gemini_cli.runs.mcp import McpServers
        servers = McpServers.start([parse_mcp({local()!r})])
        tools = {{t.name: t for t in servers.tools}}
        print(servers.call(tools["t__pid"], {{}}, 5).result, flush=True)
        servers.call(tools["t__hang"], {{}}, 60)
    """))
    driver = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=ROOT)
    try:
        pid = int(driver.stdout.readline())
        time.sleep(0.2)  # the hanging call is under way
        driver.send_signal(signal.SIGINT)
        driver.wait(timeout=15)
    finally:
        driver.kill()
    assert "KeyboardInterrupt" in driver.stderr.read()
    deadline = time.monotonic() + 5
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(pid)


def test_a_server_that_exits_at_start_is_exit_2_naming_it_with_its_stderr():
    with pytest.raises(UsageError) as caught:
        start(parse_mcp(local("db", "--fail-start")))
    assert caught.value.exit_code == 2
    assert caught.value.message == (f"MCP server db (--mcp: {sys.executable} {SERVER} --fail-start) "
                                    "exited before it answered initialize")


def test_the_stderr_of_a_failed_server_is_shown_and_not_otherwise():
    err = io.StringIO()
    with pytest.raises(UsageError):
        McpServers.start([parse_mcp(local("db", "--fail-start"))], console=Console(stderr=err))
    assert err.getvalue() == "gemini-cli: MCP server db stderr:\n  cannot open the database: permission denied\n"


def test_a_server_that_does_not_answer_in_time_is_refused_and_stopped():
    began = time.monotonic()
    err = io.StringIO()
    with pytest.raises(UsageError) as caught:
        McpServers.start([parse_mcp(local("slow", "--hang"))], console=Console(stderr=err), start_timeout=0.5)
    assert caught.value.message.endswith("did not answer initialize and tools/list within 0.5 s")
    assert "starting slowly" in err.getvalue()
    assert time.monotonic() - began < 12  # the SDK's bounded shutdown: stdin closed, 2 s, SIGTERM, 2 s


def test_a_command_that_does_not_exist_is_refused():
    with pytest.raises(UsageError) as caught:
        start(parse_mcp("x=/nonexistent/mcp-server --flag"))
    assert caught.value.message == ("MCP server x (--mcp: /nonexistent/mcp-server --flag) cannot start "
                                    "'/nonexistent/mcp-server': command not found")


def test_every_failing_server_is_named_in_one_error():
    with pytest.raises(UsageError) as caught:
        start(parse_mcp("x=/nonexistent/one"), parse_mcp("y=/nonexistent/two"))
    assert caught.value.message == ("MCP server x (--mcp: /nonexistent/one) cannot start '/nonexistent/one': command "
                                    "not found; MCP server y (--mcp: /nonexistent/two) cannot start '/nonexistent/two': "
                                    "command not found")


def test_debug_shows_the_cleaned_schema_parts_and_the_server_stderr():
    servers, err = start(parse_mcp(local()), debug=True)
    try:
        servers.call(tools_of(servers)["t__crash"], {}, 5)
    finally:
        servers.close()
    assert ("gemini-cli: MCP tool t__create_node: input schema cleaned: dropped $schema at /, $defs at /, "
            "additionalProperties at /properties/at, format 'uri' at /properties/label/anyOf/0\n") in err.getvalue()
    assert "[t] about to crash\n" in err.getvalue()


def test_without_the_sdk_naming_a_server_is_exit_2_with_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp", None)  # import mcp raises ImportError
    with pytest.raises(UsageError) as caught:
        McpServers.start([parse_mcp("fs=npx -y @modelcontextprotocol/server-filesystem ./docs")])
    assert caught.value.message == ("MCP server fs needs the MCP SDK, which is not installed: "
                                    "pip install 'gemini-cli[mcp]'")
    # remote servers are the API's: no SDK, nothing started
    remote = McpServers.start(collect(remote=["docs=https://mcp.example.com/mcp"]))
    assert remote.tools == [] and remote.servers == []
    remote.close()


def test_loading_the_modules_does_not_import_the_sdk():
    code = ("import sys, gemini_cli.runs.mcp, gemini_cli.request.mcp_servers, gemini_cli.request.mcp_tools; "
            "print(sorted(m for m in ('mcp', 'anyio', 'httpx2', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout == "[]\n"


# --- streamable HTTP ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def http_url():
    import uvicorn
    from mcp_server import app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app(), host="127.0.0.1", port=port, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    thread.join(5)
    sock.close()


def test_an_http_server_gets_the_headers_resolved_from_env_and_cmd(http_url, monkeypatch):
    monkeypatch.setenv("WEB_TOKEN", "tok-from-env-9876")
    command = f"{sys.executable} -c \"print('tok-from-cmd-5432')\""
    specs = collect(mcp=[f"web={http_url}"], headers=["web:X-Token=env:WEB_TOKEN", f"web:X-Other=cmd:{command}"])
    servers, err = start(*specs)
    try:
        tools = tools_of(servers)
        assert list(tools) == [f"web__{n}" for n in ALL_TOOLS]
        seen = servers.call(tools["web__headers"], {}, 5)
        # The server got both values; what it echoes back is redacted before anything sees it.
        assert seen.result == {"x-token": "<redacted>", "x-other": "<redacted>"}
        assert servers.call(tools["web__echo"], {"text": "over http"}, 5).result == "over http"
        assert servers.secrets == ["tok-from-cmd-5432", "tok-from-env-9876"]
    finally:
        servers.close()
    assert err.getvalue() == ""
    assert specs[0].headers["X-Token"].reference() == "env:WEB_TOKEN"  # what may be written


def test_an_http_server_that_is_not_there_is_refused_without_its_header_values(monkeypatch):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    monkeypatch.setenv("WEB_TOKEN", "tok-secret-1111")
    specs = collect(mcp=[f"web=http://127.0.0.1:{port}/mcp"], headers=["web:Authorization=env:WEB_TOKEN"])
    with pytest.raises(UsageError) as caught:
        start(*specs, start_timeout=5)
    assert caught.value.message.startswith(f"MCP server web (--mcp: http://127.0.0.1:{port}/mcp) failed to start: ")
    assert "tok-secret-1111" not in caught.value.message


def test_a_header_whose_variable_is_not_set_is_refused_before_anything_starts(monkeypatch):
    monkeypatch.delenv("NO_SUCH_TOKEN", raising=False)
    specs = collect(mcp=["web=http://127.0.0.1:9/mcp", local()], headers=["web:X-Token=env:NO_SUCH_TOKEN"])
    with pytest.raises(UsageError) as caught:
        start(*specs)
    assert caught.value.message == "MCP server web: header X-Token: environment variable NO_SUCH_TOKEN is not set"
