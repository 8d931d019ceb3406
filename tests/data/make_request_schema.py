"""Writes interactions_request.schema.json: the create-interaction request body as the API
reference documents it (fields, step, content, tool and format shapes), as a JSON Schema
with additionalProperties false on every object. Run it after editing; the test compares
the checked-in file with what this prints, so the two cannot drift.

Deprecated fields (cached_content, response_mime_type, response_modalities,
generation_config.image_config) are left out on purpose: the tool must not send them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def obj(properties: dict, required: tuple = ()) -> dict:
    out = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return out


def const(value: str) -> dict:
    return {"const": value}


def enum(*values: str) -> dict:
    return {"enum": list(values)}


STR, INT, NUM, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
ANY_OBJECT = {"type": "object"}  # free-form by definition: JSON Schemas, function arguments/results, metadata
STRINGS = {"type": "array", "items": STR}
REF = lambda name: {"$ref": f"#/$defs/{name}"}  # noqa: E731
SIGNATURE = STR
MEDIA = {"data": STR, "uri": STR, "mime_type": STR}
ONE_SOURCE = {"oneOf": [{"required": ["data"]}, {"required": ["uri"]}]}

ANNOTATIONS = {
    "url_citation": {"url": STR, "title": STR, "start_index": INT, "end_index": INT},
    "file_citation": {"document_uri": STR, "file_name": STR, "source": STR, "page_number": INT, "media_id": STR,
                      "custom_metadata": ANY_OBJECT, "start_index": INT, "end_index": INT},
    "place_citation": {"name": STR, "place_id": STR, "url": STR, "review_snippets": {"type": "array"},
                       "start_index": INT, "end_index": INT},
    "speech_metadata": {"speaker": STR, "style": STR, "start_index": INT, "end_index": INT},
    "word_info": {"text": STR, "start_index": INT, "end_index": INT, "start_offset": STR, "end_offset": STR, "speaker": STR},
}

CONTENT = {
    "text": obj({"type": const("text"), "text": STR, "annotations": {"type": "array", "items": REF("annotation")}}, ("type", "text")),
    "image": {**obj({"type": const("image"), **MEDIA, "resolution": enum("low", "medium", "high", "ultra_high")}, ("type",)), **ONE_SOURCE},
    "audio": {**obj({"type": const("audio"), **MEDIA, "sample_rate": INT, "channels": INT}, ("type",)), **ONE_SOURCE},
    "video": {**obj({"type": const("video"), **MEDIA, "resolution": STR, "name": STR, "processing": {"oneOf": [
        enum("static", "agentic"),
        obj({"type": enum("static", "agentic"), "start_offset": STR, "end_offset": STR, "fps": NUM}, ("type",))]}}, ("type",)),
              **ONE_SOURCE},
    "document": {**obj({"type": const("document"), **MEDIA}, ("type",)), **ONE_SOURCE},
}

RESULT_ANY = {"oneOf": [ANY_OBJECT, STR, {"type": "array", "items": REF("content")}]}
RESULT_CONTENT = {"oneOf": [STR, {"type": "array", "items": REF("content")}]}
QUERIES = obj({"queries": STRINGS}, ("queries",))

STEPS = {
    "user_input": obj({"type": const("user_input"), "content": {"oneOf": [STR, {"type": "array", "items": REF("content")}]}}, ("type", "content")),
    "model_output": obj({"type": const("model_output"), "content": {"type": "array", "items": REF("content")},
                         "error": obj({"code": INT, "message": STR, "details": {"type": "array"}})}, ("type",)),
    "thought": obj({"type": const("thought"), "signature": SIGNATURE,
                    "summary": {"type": "array", "items": {"oneOf": [CONTENT["text"], CONTENT["image"]]}}}, ("type", "signature")),
    "function_call": obj({"type": const("function_call"), "id": STR, "name": STR, "arguments": ANY_OBJECT}, ("type", "id", "name", "arguments")),
    "function_result": obj({"type": const("function_result"), "call_id": STR, "result": RESULT_ANY, "name": STR, "is_error": BOOL},
                           ("type", "call_id", "result")),
    "code_execution_call": obj({"type": const("code_execution_call"), "id": STR, "signature": SIGNATURE,
                                "arguments": obj({"code": STR, "language": enum("python", "bash")}, ("code",))}, ("type", "id", "arguments")),
    "code_execution_result": obj({"type": const("code_execution_result"), "call_id": STR, "result": RESULT_CONTENT,
                                  "is_error": BOOL, "signature": SIGNATURE}, ("type", "call_id", "result")),
    "url_context_call": obj({"type": const("url_context_call"), "id": STR, "signature": SIGNATURE,
                             "arguments": obj({"urls": STRINGS}, ("urls",))}, ("type", "id", "arguments")),
    "url_context_result": obj({"type": const("url_context_result"), "call_id": STR, "is_error": BOOL, "signature": SIGNATURE,
                               "result": {"type": "array", "items": obj({"url": STR, "status": enum("success", "error", "paywall", "unsafe")})}},
                              ("type", "call_id", "result")),
    "google_search_call": obj({"type": const("google_search_call"), "id": STR, "arguments": QUERIES, "search_type": STR,
                               "signature": SIGNATURE}, ("type", "id", "arguments")),
    "google_search_result": obj({"type": const("google_search_result"), "call_id": STR, "is_error": BOOL, "signature": SIGNATURE,
                                 "result": {"type": "array", "items": obj({"search_suggestions": STR})}}, ("type", "call_id", "result")),
    "google_maps_call": obj({"type": const("google_maps_call"), "id": STR, "arguments": QUERIES, "signature": SIGNATURE}, ("type", "id")),
    "google_maps_result": obj({"type": const("google_maps_result"), "call_id": STR, "signature": SIGNATURE,
                               "result": {"type": "array", "items": obj({
                                   "places": {"type": "array", "items": obj({"name": STR, "place_id": STR, "url": STR,
                                                                             "review_snippets": {"type": "array"}})},
                                   "widget_context_token": STR})}}, ("type", "call_id")),
    "file_search_call": obj({"type": const("file_search_call"), "id": STR, "signature": SIGNATURE}, ("type", "id")),
    "file_search_result": obj({"type": const("file_search_result"), "call_id": STR, "signature": SIGNATURE}, ("type", "call_id")),
    "mcp_server_tool_call": obj({"type": const("mcp_server_tool_call"), "id": STR, "name": STR, "server_name": STR,
                                 "arguments": ANY_OBJECT}, ("type", "id", "name", "server_name", "arguments")),
    "mcp_server_tool_result": obj({"type": const("mcp_server_tool_result"), "call_id": STR, "result": RESULT_ANY,
                                   "name": STR, "server_name": STR}, ("type", "call_id", "result")),
    "retrieval_call": obj({"type": const("retrieval_call"), "id": STR, "arguments": QUERIES, "retrieval_type": STR,
                           "signature": SIGNATURE}, ("type", "id", "arguments")),
    "retrieval_result": obj({"type": const("retrieval_result"), "call_id": STR, "is_error": BOOL, "signature": SIGNATURE},
                            ("type", "call_id")),
    "processing_call": obj({"type": const("processing_call"), "id": STR, "signature": SIGNATURE}, ("type", "id")),
    "processing_result": obj({"type": const("processing_result"), "call_id": STR, "signature": SIGNATURE}, ("type", "call_id")),
}

TOOL_CHOICE_MODE = enum("auto", "any", "none", "validated")
TOOLS = {
    "function": obj({"type": const("function"), "name": STR, "description": STR, "parameters": ANY_OBJECT}, ("type", "name")),
    "google_search": obj({"type": const("google_search"), "search_types": {
        "type": "array", "items": enum("web_search", "image_search", "enterprise_web_search")}}, ("type",)),
    "code_execution": obj({"type": const("code_execution")}, ("type",)),
    "url_context": obj({"type": const("url_context")}, ("type",)),
    "file_search": obj({"type": const("file_search"), "file_search_store_names": STRINGS, "metadata_filter": STR, "top_k": INT}, ("type",)),
    "google_maps": obj({"type": const("google_maps"), "enable_widget": BOOL, "latitude": NUM, "longitude": NUM}, ("type",)),
    "computer_use": obj({"type": const("computer_use"), "environment": enum("browser", "mobile", "desktop"),
                         "excluded_predefined_functions": STRINGS, "disabled_safety_policies": STRINGS,
                         "enable_prompt_injection_detection": BOOL}, ("type",)),
    "mcp_server": obj({"type": const("mcp_server"), "name": STR, "url": STR, "headers": {"type": "object", "additionalProperties": STR},
                       "allowed_tools": {"type": "array", "items": obj({"mode": TOOL_CHOICE_MODE, "tools": STRINGS})}}, ("type", "name", "url")),
    # The SDK's Retrieval tool: one config object per retrieval type (their insides are not in the reference).
    "retrieval": obj({"type": const("retrieval"), "retrieval_types": {"type": "array", "items": enum(
        "vertex_ai_search", "rag_store", "exa_ai_search", "parallel_ai_search")},
        "vertex_ai_search_config": ANY_OBJECT, "rag_store_config": ANY_OBJECT, "exa_ai_search_config": ANY_OBJECT,
        "parallel_ai_search_config": ANY_OBJECT}, ("type",)),
}

FORMATS = {
    "text": obj({"type": const("text"), "mime_type": enum("application/json", "text/plain"), "schema": {"type": ["object", "boolean"]}}, ("type",)),
    "image": obj({"type": const("image"), "mime_type": STR, "delivery": enum("inline", "uri"),
                  "aspect_ratio": enum("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9", "1:8", "8:1", "1:4", "4:1"),
                  "image_size": enum("512", "1K", "2K", "4K")}, ("type",)),
    "audio": obj({"type": const("audio"), "mime_type": enum("audio/mp3", "audio/ogg_opus", "audio/l16", "audio/wav", "audio/alaw", "audio/mulaw"),
                  "sample_rate": INT, "bit_rate": INT, "delivery": enum("inline", "uri")}, ("type",)),
    "video": obj({"type": const("video"), "aspect_ratio": enum("16:9", "9:16"), "resolution": enum("360p", "720p", "1080p", "4k"),
                  "duration": STR, "delivery": enum("inline", "uri"), "gcs_uri": STR}, ("type",)),
}

SPEAKER = obj({"voice": STR, "language": STR, "speaker": STR})
GENERATION_CONFIG = obj({
    "temperature": NUM, "top_p": NUM, "seed": INT, "max_output_tokens": INT, "stop_sequences": STRINGS,
    "thinking_level": enum("minimal", "low", "medium", "high", "xhigh"),
    "thinking_summaries": enum("auto", "none"),
    "tool_choice": {"oneOf": [TOOL_CHOICE_MODE, obj({"allowed_tools": obj({"mode": TOOL_CHOICE_MODE, "tools": STRINGS})}, ("allowed_tools",))]},
    "speech_config": {"oneOf": [obj({"speakers": {"type": "array", "items": SPEAKER}}), {"type": "array", "items": SPEAKER}]},
    "transcription_config": obj({"language_codes": STRINGS, "custom_vocabulary": {"type": "array"}, "mode": {"oneOf": [
        enum("verbatim", "smart"), obj({"type": const("verbatim")}, ("type",)),
        obj({"type": const("smart"), "source_text": STR}, ("type",))]}}),
    "video_config": obj({"task": enum("text_to_video", "image_to_video", "reference_to_video", "edit", "extend", "upscale")}),
})

AGENT_CONFIG = {"oneOf": [
    obj({"type": const("dynamic")}, ("type",)),
    obj({"type": const("deep-research"), "thinking_summaries": enum("auto", "none"), "visualization": enum("off", "auto"),
         "collaborative_planning": BOOL, "enable_bigquery_tool": BOOL}, ("type",)),
    obj({"type": const("antigravity"), "model": STR, "max_total_tokens": INT}, ("type",)),
]}

LABEL = {"type": "string", "maxLength": 63, "pattern": "^[a-z0-9_-]*$"}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Create interaction request body (POST /{version}/interactions)",
    **obj({
        "model": STR, "agent": STR, "input": REF("input"), "system_instruction": STR,
        "generation_config": GENERATION_CONFIG,
        "tools": {"type": "array", "items": REF("tool")},
        "response_format": {"oneOf": [REF("response_format"), {"type": "array", "items": REF("response_format"), "minItems": 1}]},
        "stream": BOOL, "store": BOOL, "background": BOOL, "previous_interaction_id": STR, "continuation_token": STR,
        "safety_settings": {"type": "array", "items": obj({
            "type": enum("hate_speech", "dangerous_content", "harassment", "sexually_explicit", "civic_integrity", "image_hate",
                         "image_dangerous_content", "image_harassment", "image_sexually_explicit", "jailbreak"),
            "threshold": enum("block_low_and_above", "block_medium_and_above", "block_only_high", "block_none", "off"),
            "method": enum("severity", "probability")}, ("type", "threshold"))},
        "service_tier": enum("flex", "standard", "priority", "deferred"),
        "labels": {"type": "object", "propertyNames": {"pattern": "^[a-z][a-z0-9_-]{0,62}$"}, "additionalProperties": LABEL},
        "webhook_config": obj({"uris": STRINGS, "user_metadata": ANY_OBJECT}),
        "environment": {"oneOf": [STR, obj({"type": const("remote"), "env": ANY_OBJECT, "environment_id": STR,
                                            "network": ANY_OBJECT, "sources": {"type": "array"}}, ("type",))]},
        "agent_config": AGENT_CONFIG,
    }),  # `input` is left out of a stored continuation hop (continuation_token + previous_interaction_id)
    # Model and agent interactions are exclusive; an agent takes no generation_config.
    "oneOf": [
        {"required": ["model"], "not": {"anyOf": [{"required": ["agent"]}, {"required": ["agent_config"]}]}},
        {"required": ["agent"], "not": {"anyOf": [{"required": ["model"]}, {"required": ["generation_config"]}]}},
    ],
    "$defs": {
        "input": {"oneOf": [STR, REF("content"), {"type": "array", "items": REF("content"), "minItems": 1},
                            {"type": "array", "items": REF("step"), "minItems": 1}]},
        "content": {"oneOf": list(CONTENT.values())},
        "annotation": {"oneOf": [obj({"type": const(kind), **fields}, ("type",)) for kind, fields in ANNOTATIONS.items()]},
        "step": {"oneOf": list(STEPS.values())},
        "tool": {"oneOf": list(TOOLS.values())},
        "response_format": {"oneOf": list(FORMATS.values())},
    },
}


def text() -> str:
    return json.dumps(SCHEMA, indent=1, sort_keys=False) + "\n"


if __name__ == "__main__":
    out = Path(__file__).with_name("interactions_request.schema.json")
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if out.read_text() == text() else 1)
    out.write_text(text())
