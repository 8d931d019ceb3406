"""A small MCP server written with the official SDK (2.x lowlevel `Server`), for the MCP client
tests: over stdio when run as a script (`python tests/mcp_server.py [--fail-start|--hang]`),
over streamable HTTP through `app()` (tests/test_mcp_client.py serves it on loopback).

Its tools cover what the client must handle: text, an image, structuredContent, isError, a
schema with `$defs`, a call that never ends, a server that dies mid-call, the environment it
was given, its own pid, and `tools/list` in pages of two (`nextCursor`).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel.server import Server

# A 1x1 PNG, as a server would send a screenshot.
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

TEXT = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
NONE = {"type": "object", "properties": {}}
NODE = {  # as pydantic writes a model with a nested model: $defs, $ref, anyOf with null, titles
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "title": "create_nodeArguments",
    "$defs": {"Point": {"type": "object", "title": "Point", "additionalProperties": False,
                        "properties": {"x": {"type": "number"}, "y": {"type": "number"}}, "required": ["x", "y"]}},
    "properties": {"at": {"$ref": "#/$defs/Point"},
                   "label": {"anyOf": [{"type": "string", "format": "uri"}, {"type": "null"}], "default": None}},
    "required": ["at"],
}

TOOLS = [
    types.Tool(name="echo", description="Echo the text back", input_schema=TEXT),
    types.Tool(name="image", description="A tiny picture", input_schema=NONE),
    types.Tool(name="stats", description="Counts, as structured content", input_schema=NONE),
    types.Tool(name="fail", description="Always fails", input_schema=NONE),
    types.Tool(name="create_node", description="A node at a point", input_schema=NODE),
    types.Tool(name="env", description="One environment variable", input_schema={
        "type": "object", "properties": {"name": {"type": "string"}}}),
    types.Tool(name="pid", description="The server's process id", input_schema=NONE),
    types.Tool(name="crash", description="The server dies", input_schema=NONE),
    types.Tool(name="hang", description="Never answers", input_schema=NONE),
    types.Tool(name="headers", description="The HTTP request's headers", input_schema=NONE),
    types.Tool(name="read-file.v2", description="A name to sanitise", input_schema=NONE),
]
PAGE = 2


async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    start = int(params.cursor) if params and params.cursor else 0
    end = start + PAGE
    return types.ListToolsResult(tools=TOOLS[start:end], next_cursor=str(end) if end < len(TOOLS) else None)


def text(value: str) -> list[types.TextContent]:
    return [types.TextContent(text=value)]


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    args = params.arguments or {}
    name = params.name
    if name == "echo":
        return types.CallToolResult(content=text(args.get("text", "")))
    if name == "image":
        return types.CallToolResult(content=[types.TextContent(text="a dot"),
                                             types.ImageContent(data=PNG, mime_type="image/png")])
    if name == "stats":
        return types.CallToolResult(content=text('{"count": 3}'), structured_content={"count": 3, "ok": True})
    if name == "fail":
        return types.CallToolResult(content=text("boom: no such thing"), is_error=True)
    if name == "create_node":
        return types.CallToolResult(content=text(f"node at {args['at']['x']},{args['at']['y']}"))
    if name == "env":
        return types.CallToolResult(content=text(os.environ.get(args.get("name", ""), "<unset>")))
    if name == "pid":
        return types.CallToolResult(content=text(str(os.getpid())))
    if name == "crash":
        sys.stderr.write("about to crash\n")
        sys.stderr.flush()
        os._exit(3)
    if name == "hang":
        await anyio.sleep(3600)
    if name == "headers":
        request = getattr(ctx, "request", None)
        seen = {} if request is None else {k: v for k, v in request.headers.items() if k.startswith("x-")}
        return types.CallToolResult(content=text(repr(sorted(seen.items()))), structured_content=seen)
    return types.CallToolResult(content=text(f"unknown tool {name}"), is_error=True)


def server() -> Server:
    return Server("test-server", version="1.0", on_list_tools=list_tools, on_call_tool=call_tool)


def app():
    """The streamable-HTTP ASGI app, for a loopback uvicorn."""
    return server().streamable_http_app()


async def main() -> None:
    from mcp.server.stdio import stdio_server

    srv = server()
    async with stdio_server() as (read, write):
        await srv.run(read, write, srv.create_initialization_options())


if __name__ == "__main__":
    if "--fail-start" in sys.argv:
        sys.stderr.write("cannot open the database: permission denied\n")
        sys.exit(4)
    if "--hang" in sys.argv:
        sys.stderr.write("starting slowly\n")
        sys.stderr.flush()
        import time

        time.sleep(3600)
    anyio.run(main)
