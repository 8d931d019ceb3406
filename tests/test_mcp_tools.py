"""request/mcp_tools.py: declared names (SERVER__TOOL), input schemas cleaned into what the API
takes (real-world shapes: the filesystem and GitHub servers, pydantic with $defs), and
tools/call results as function_result values."""

from __future__ import annotations

import re

import pytest

from gemini_cli.errors import UsageError
from gemini_cli.request.functions import NAME_RULE
from gemini_cli.request.mcp_tools import clean_schema, declared_name, declared_names, function_result

API_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,63}")  # google-genai FunctionDeclaration.name


def test_local_functions_and_mcp_tools_follow_one_name_rule():
    assert NAME_RULE.pattern == API_NAME.pattern


@pytest.mark.parametrize("server, tool, name", [
    ("fs", "read_file", "fs__read_file"),
    ("gh", "get-issue.v2", "gh__get-issue.v2"),
    ("gh", "repos/list issues", "gh__repos_list_issues"),
    ("x", "café:ünïcode", "x__caf_:_n_code"),
    ("x", "", "x___"),
])
def test_declared_names_say_the_server_and_fit_the_api_charset(server, tool, name):
    assert declared_name(server, tool) == name
    assert API_NAME.fullmatch(name)


def test_a_long_name_is_cut_with_a_hash_that_keeps_it_unique():
    one, two = declared_name("server", "a" * 80 + "1"), declared_name("server", "a" * 80 + "2")
    assert len(one) == len(two) == 64 and one != two
    assert one.startswith("server__aaaa") and API_NAME.fullmatch(one)


def test_tools_whose_names_collide_are_refused_clearly():
    assert declared_names("gh", ["a.b", "a-b"]) == {"gh__a.b": "a.b", "gh__a-b": "a-b"}
    with pytest.raises(UsageError) as caught:
        declared_names("gh", ["list issues", "list_issues"])
    assert caught.value.message == ("MCP server gh: tools 'list issues' and 'list_issues' would both be declared as "
                                    "gh__list_issues; narrow the server with --mcp-allow gh:TOOL")


# --- schemas ---------------------------------------------------------------------------------

FS_EDIT_FILE = {  # @modelcontextprotocol/server-filesystem (zod-to-json-schema)
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "edits": {"type": "array", "items": {
            "type": "object",
            "properties": {"oldText": {"type": "string", "description": "Text to search for - must match exactly"},
                           "newText": {"type": "string", "description": "Text to replace with"}},
            "required": ["oldText", "newText"], "additionalProperties": False}},
        "dryRun": {"type": "boolean", "default": False, "description": "Preview changes using git-style diff format"},
    },
    "required": ["path", "edits"], "additionalProperties": False, "$schema": "http://json-schema.org/draft-07/schema#",
}


def test_the_filesystem_servers_schema_loses_only_schema_and_additional_properties():
    cleaned, dropped = clean_schema(FS_EDIT_FILE, "t")
    expected = {k: v for k, v in FS_EDIT_FILE.items() if k not in ("$schema", "additionalProperties")}
    expected["properties"] = {**FS_EDIT_FILE["properties"], "edits": {"type": "array", "items": {
        k: v for k, v in FS_EDIT_FILE["properties"]["edits"]["items"].items() if k != "additionalProperties"}}}
    assert cleaned == expected
    assert dropped == ["additionalProperties at /", "$schema at /", "additionalProperties at /properties/edits/items"]


GITHUB_PUSH_FILES = {  # the TypeScript GitHub server: zod-to-json-schema reuses a part by a $ref to its path
    "type": "object",
    "properties": {
        "owner": {"type": "string", "description": "Repository owner"},
        "files": {"type": "array", "items": {"type": "object", "properties": {
            "path": {"type": "string"}, "content": {"type": "string"}}, "required": ["path", "content"],
            "additionalProperties": False}},
        "more_files": {"$ref": "#/properties/files", "description": "Files for a second commit"},
        "state": {"type": "string", "enum": ["open", "closed", "all"]},
        "since": {"type": "string", "format": "date-time"},
        "homepage": {"type": "string", "format": "uri"},
        "per_page": {"type": "number", "minimum": 1, "maximum": 100, "exclusiveMaximum": 101},
    },
    "required": ["owner", "files", "ghost"],
    "$schema": "http://json-schema.org/draft-07/schema#",
}


def test_the_github_servers_schema_has_its_path_refs_inlined_and_its_formats_checked():
    cleaned, dropped = clean_schema(GITHUB_PUSH_FILES, "t")
    files = {"type": "array", "items": {"type": "object", "properties": {"path": {"type": "string"},
                                                                          "content": {"type": "string"}},
                                        "required": ["path", "content"]}}
    assert cleaned["properties"]["files"] == files
    assert cleaned["properties"]["more_files"] == {**files, "description": "Files for a second commit"}
    assert cleaned["properties"]["since"] == {"type": "string", "format": "date-time"}
    assert cleaned["properties"]["homepage"] == {"type": "string"}
    assert cleaned["properties"]["per_page"] == {"type": "number", "minimum": 1, "maximum": 100}
    assert cleaned["properties"]["state"] == {"type": "string", "enum": ["open", "closed", "all"]}
    assert cleaned["required"] == ["owner", "files"]
    assert dropped == ["$schema at /", "additionalProperties at /properties/files/items",
                       "additionalProperties at /properties/more_files/items", "format 'uri' at /properties/homepage",
                       "exclusiveMaximum at /properties/per_page", "required names without a property at /"]


PYDANTIC = {  # MCPServer / FastMCP: a pydantic model's JSON Schema
    "$defs": {
        "Color": {"enum": ["red", "green"], "title": "Color", "type": "string"},
        "Address": {"properties": {"street": {"title": "Street", "type": "string"},
                                   "zip": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Zip"}},
                    "required": ["street"], "title": "Address", "type": "object"},
    },
    "properties": {
        "color": {"$ref": "#/$defs/Color", "default": "red"},
        "home": {"allOf": [{"$ref": "#/$defs/Address"}], "description": "Where they live"},
        "work": {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}], "default": None},
        "tags": {"items": {"type": "string"}, "title": "Tags", "type": "array", "uniqueItems": True},
    },
    "required": ["home"],
    "title": "add_personArguments",
    "type": "object",
}


def test_a_pydantic_schema_with_defs_is_inlined_and_keeps_any_of_with_null():
    cleaned, dropped = clean_schema(PYDANTIC, "t")
    address = PYDANTIC["$defs"]["Address"]
    assert cleaned == {
        "properties": {
            "color": {"enum": ["red", "green"], "title": "Color", "type": "string", "default": "red"},
            "home": {**address, "description": "Where they live"},
            "work": {"anyOf": [address, {"type": "null"}], "default": None},
            "tags": {"items": {"type": "string"}, "title": "Tags", "type": "array"},
        },
        "required": ["home"], "title": "add_personArguments", "type": "object",
    }
    assert dropped == ["$defs at /", "uniqueItems at /properties/tags"]


def test_a_recursive_ref_is_cut_where_it_recurs():
    tree = {"type": "object", "definitions": {"Node": {"type": "object", "properties": {
        "value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/definitions/Node"}}}}},
        "properties": {"root": {"$ref": "#/definitions/Node"}, "self": {"$ref": "#"}}}
    cleaned, dropped = clean_schema(tree, "t")
    assert cleaned["properties"]["root"] == {"type": "object", "properties": {
        "value": {"type": "integer"}, "children": {"type": "array", "items": {"type": "object"}}}}
    assert cleaned["properties"]["self"]["properties"]["self"] == {"type": "object"}
    assert "$ref #/definitions/Node (recursive, cut) at /properties/root/properties/children/items" in dropped


def test_a_ref_fan_out_that_explodes_is_refused_naming_the_tool():
    defs = {f"L{i}": {"type": "object", "properties": {"a": {"$ref": f"#/$defs/L{i + 1}"}, "b": {"$ref": f"#/$defs/L{i + 1}"}}}
            for i in range(20)}
    defs["L20"] = {"type": "string"}
    with pytest.raises(UsageError) as caught:
        clean_schema({"type": "object", "$defs": defs, "properties": {"x": {"$ref": "#/$defs/L0"}}}, "MCP tool gh__big")
    assert caught.value.message.startswith("MCP tool gh__big: the input schema is too large once its $refs are inlined")


def test_keywords_the_api_does_not_take_are_rewritten_or_dropped():
    schema = {"type": "object", "properties": {
        "mode": {"const": "fast"},
        "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "maybe": {"type": ["string", "null"], "format": "email"},
        "pair": {"type": "array", "items": [{"type": "string"}, {"type": "number"}]},
        "meta": {"type": "object", "patternProperties": {"^x-": {"type": "string"}}, "additionalProperties": True},
        "missing": {"$ref": "#/$defs/Nope"},
        "both": {"allOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]},
                           {"properties": {"b": {"type": "string"}}, "required": ["b"]}], "type": "object"},
        "odd": {"type": "decimal"},
    }}
    cleaned, dropped = clean_schema(schema, "t")
    props = cleaned["properties"]
    assert props["mode"] == {"enum": ["fast"]}
    assert props["either"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert props["maybe"] == {"type": ["string", "null"]}
    assert props["pair"] == {"type": "array", "items": {"type": "string"}}
    assert props["meta"] == {"type": "object"}
    assert props["missing"] == {}
    assert props["both"] == {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                             "required": ["a", "b"]}
    assert props["odd"] == {}
    assert dropped == ["oneOf (kept as anyOf) at /properties/either", "format 'email' at /properties/maybe",
                       "items as a list (tuple) at /properties/pair", "patternProperties at /properties/meta",
                       "additionalProperties at /properties/meta", "$ref #/$defs/Nope (not found) at /properties/missing",
                       "type 'decimal' at /properties/odd"]


@pytest.mark.parametrize("schema, cleaned", [
    (None, {"type": "object", "properties": {}}),
    ({}, {"type": "object", "properties": {}}),
    ({"type": "object"}, {"type": "object", "properties": {}}),
    ({"properties": {"a": {"type": "string"}}}, {"type": "object", "properties": {"a": {"type": "string"}}}),
])
def test_the_top_level_is_always_an_object(schema, cleaned):
    assert clean_schema(schema, "t") == (cleaned, [])


def test_a_top_level_that_is_not_an_object_is_reported():
    assert clean_schema({"type": "string"}, "t") == ({"type": "object", "properties": {}},
                                                     ["top-level type 'string' (declared as an object) at /"])


# --- results ---------------------------------------------------------------------------------

def text(value):
    return {"type": "text", "text": value}


@pytest.mark.parametrize("mcp, expected", [
    ({"content": [text("one")]}, ("one", False, "1 line")),
    ({"content": [text("a\nb"), text("c")]}, ("a\nb\nc", False, "3 lines")),
    ({"content": [], "isError": False}, ("", False, "empty")),
    ({"content": [text("denied")], "isError": True}, ("denied", True, "error: 1 line")),
    ({"content": [text('{"n": 1}')], "structuredContent": {"n": 1}}, ({"n": 1}, False, "JSON object")),
    ({"content": [text("x"), {"type": "image", "data": "AAAA", "mimeType": "image/png"}]},
     ([text("x"), {"type": "image", "data": "AAAA", "mime_type": "image/png"}], False, "1 line, 1 image")),
    ({"content": [{"type": "image", "data": "AAAA", "mimeType": "image/png"}], "structuredContent": {"n": 1}},
     ([{"type": "image", "data": "AAAA", "mime_type": "image/png"}], False, "1 image")),
    ({"content": [{"type": "audio", "data": "UklG", "mimeType": "audio/wav"}]},
     ([{"type": "audio", "data": "UklG", "mime_type": "audio/wav"}], False, "1 audio")),
    ({"content": [{"type": "resource_link", "uri": "file:///a.txt", "name": "a.txt"}]},
     ("[resource a.txt: file:///a.txt]", False, "1 line")),
    ({"content": [{"type": "resource", "resource": {"uri": "file:///a.txt", "text": "inside"}}]},
     ("inside", False, "1 line")),
    ({"content": [{"type": "resource", "resource": {"uri": "file:///p.png", "blob": "AAAA", "mimeType": "image/png"}}]},
     ([{"type": "image", "data": "AAAA", "mime_type": "image/png"}], False, "1 image")),
    ({"content": [{"type": "resource", "resource": {"uri": "file:///a.bin", "blob": "AAAA", "mimeType": "application/zip"}}]},
     ("[binary resource file:///a.bin (application/zip) not shown]", False, "1 line")),
    ({"content": [{"type": "mystery"}, "not a block", text("kept")]}, ("kept", False, "1 line")),
])
def test_call_results_become_function_result_values(mcp, expected):
    assert function_result(mcp) == expected


def test_long_text_is_cut_with_a_marker():
    result, _, _ = function_result({"content": [text("x" * 50), text("y" * 50)]}, text_max=60)
    assert result == "x" * 50 + "\n" + "y" * 10 + "\n[... 40 more characters cut by gemini-cli]"
