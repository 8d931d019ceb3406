"""Interactions request body -> GenerateContentRequest, and GenerateContentResponse -> the
fields of a batch record: the Batch API (interactions-api.md §13) speaks generateContent.

Pure functions. A field with no Batch API equivalent is refused (UsageError, exit 2) with
the flag that set it, never dropped: a job that silently ran without its tools or schema
would be paid for and wrong.
"""

from __future__ import annotations

from typing import Any

from gemini_cli.errors import API_CODES, ExitCode, GeminiCliError, NotCompleted, UsageError, exit_code_for_status

THINKING_LEVELS = ("minimal", "low", "medium", "high")  # the generateContent enum has no xhigh
TOOLS = {"google_search": "googleSearch", "code_execution": "codeExecution", "url_context": "urlContext"}
GENERATION = {"temperature": "temperature", "top_p": "topP", "seed": "seed", "max_output_tokens": "maxOutputTokens",
              "stop_sequences": "stopSequences"}
MEDIA_BLOCKS = ("image", "audio", "video", "document")
# Interactions fields that cannot travel in a batch job, and the flag a user set them with.
REFUSED = {
    "agent": "--agent: an agent run has no Batch API equivalent",
    "background": "--background: a batch job already runs on Google's side; drop --background",
    "previous_interaction_id": "conversations (--session, -c, --cid) cannot continue in a batch job: "
                               "each request stands alone",
    "continuation_token": "a continuation has no Batch API equivalent",
}


def translate(body: dict[str, Any]) -> dict[str, Any]:
    """The GenerateContentRequest (REST JSON, camelCase) for a create-interaction body."""
    for key, why in REFUSED.items():
        if body.get(key):
            raise UsageError(why)
    if body.get("store") is False:
        raise UsageError("--no-store: a batch job keeps its requests and results on Google's side until the job "
                         "is deleted (gemini-cli jobs delete); there is no stateless batch")
    known = {"model", "input", "system_instruction", "generation_config", "tools", "response_format", "store",
             "stream", "service_tier"}
    for key in body:
        if key not in known:
            raise UsageError(f"the request field {key!r} has no Batch API equivalent")
    request: dict[str, Any] = {"contents": [{"role": "user", "parts": parts_of(body.get("input"))}]}
    system = body.get("system_instruction")
    if system:
        request["systemInstruction"] = {"parts": [{"text": system}]}
    config = generation_config(body.get("generation_config") or {})
    config.update(response_config(body.get("response_format")))
    if config:
        request["generationConfig"] = config
    tools = [tool_of(tool) for tool in body.get("tools") or []]
    if tools:
        request["tools"] = tools
    return request


def parts_of(input: Any) -> list[dict[str, Any]]:
    """`input` (text, a block, blocks, or one user_input step) as generateContent parts."""
    if isinstance(input, str):
        return [{"text": input}]
    if isinstance(input, dict):
        input = [input]
    if not isinstance(input, list) or not input:
        raise UsageError("the request has no input to send")
    if all(isinstance(item, dict) and item.get("type") == "user_input" for item in input):
        if len(input) != 1:
            raise UsageError("a conversation history (several turns) cannot be sent in a batch job")
        return parts_of(input[0].get("content") or [])
    return [part_of(block) for block in input]


def part_of(block: Any) -> dict[str, Any]:
    kind = block.get("type", "text" if "text" in block else None) if isinstance(block, dict) else None
    if kind == "text":
        return {"text": block.get("text") or ""}
    if kind in MEDIA_BLOCKS:
        mime = block.get("mime_type")
        if block.get("data") is not None:
            return {"inlineData": {"mimeType": mime, "data": block["data"]}}
        if block.get("uri"):
            return {"fileData": {"mimeType": mime, "fileUri": block["uri"]}}
    raise UsageError(f"an input block of type {kind!r} has no Batch API equivalent")


def generation_config(config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    thinking: dict[str, Any] = {}
    for key, value in config.items():
        if key in GENERATION:
            out[GENERATION[key]] = value
        elif key == "thinking_level":
            if value not in THINKING_LEVELS:
                raise UsageError(f"--thinking {value}: the Batch API has no thinking level {value!r} "
                                 f"(it takes {', '.join(THINKING_LEVELS)})")
            thinking["thinkingLevel"] = value.upper()
        elif key == "thinking_summaries":
            if value == "auto":
                thinking["includeThoughts"] = True
        elif key == "speech_config":
            raise UsageError("--voice asks for an audio answer, which a batch job cannot give")
        else:
            raise UsageError(f"generation_config.{key} has no Batch API equivalent")
    if thinking:
        out["thinkingConfig"] = thinking
    return out


def response_config(response_format: Any) -> dict[str, Any]:
    """--schema/--json as responseMimeType + responseJsonSchema; image/audio answers refused."""
    if response_format is None:
        return {}
    formats = response_format if isinstance(response_format, list) else [response_format]
    out: dict[str, Any] = {}
    for fmt in formats:
        kind = fmt.get("type", "text") if isinstance(fmt, dict) else None
        if kind in ("image", "audio", "video"):
            raise UsageError(f"--{kind}: {kind} answers have no Batch API equivalent (it runs text models only)")
        if kind != "text":
            raise UsageError("this response_format has no Batch API equivalent")
        mime = fmt.get("mime_type")
        if mime and mime != "text/plain":
            out["responseMimeType"] = mime
        if fmt.get("schema") is not None:
            out["responseJsonSchema"] = fmt["schema"]
    return out


def tool_of(tool: Any) -> dict[str, Any]:
    kind = tool.get("type") if isinstance(tool, dict) else tool
    if kind in TOOLS:
        return {TOOLS[kind]: {}}
    if kind == "function":
        raise UsageError("client functions (--function, --functions) cannot run in a batch job: no client is "
                         "there to run them on Google's side")
    if kind == "mcp_server":
        raise UsageError("MCP servers (--mcp, --remote-mcp) cannot be used in a batch job")
    raise UsageError(f"the tool {kind!r} has no Batch API equivalent")


# -- answers ------------------------------------------------------------------------------

USAGE = {"promptTokenCount": "total_input_tokens", "candidatesTokenCount": "total_output_tokens",
         "thoughtsTokenCount": "total_thought_tokens", "cachedContentTokenCount": "total_cached_tokens",
         "toolUsePromptTokenCount": "total_tool_use_tokens", "totalTokenCount": "total_tokens"}
FINISHED = frozenset({"STOP", "FINISH_REASON_UNSPECIFIED", ""})
GRPC = {1: "cancelled", 2: "unknown", 3: "invalid_argument", 4: "deadline_exceeded", 5: "not_found",
        6: "already_exists", 7: "permission_denied", 8: "resource_exhausted", 9: "failed_precondition",
        10: "aborted", 11: "out_of_range", 12: "unimplemented", 13: "internal", 14: "unavailable",
        15: "data_loss", 16: "unauthenticated"}


def result_of(response: Any) -> tuple[dict[str, Any], GeminiCliError | None]:
    """A GenerateContentResponse as a batch result (output_text, usage with the Interactions
    keys, thoughts) and the error it amounts to: a blocked prompt, a cut or blocked answer."""
    if not isinstance(response, dict):
        return {}, GeminiCliError("the job sent a response that is not an object", exit_code=ExitCode.SERVER)
    result: dict[str, Any] = {"usage": usage_of(response.get("usageMetadata"))}
    candidates = response.get("candidates")
    first = candidates[0] if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict) else None
    if first is None:
        feedback = response.get("promptFeedback")
        reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
        return result, NotCompleted(f"the prompt was blocked (block reason {reason})" if reason
                                    else "the response has no answer (no candidates)")
    texts: list[str] = []
    thoughts: list[str] = []
    content = first.get("content")
    for part in (content.get("parts") if isinstance(content, dict) else None) or []:
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            (thoughts if part.get("thought") else texts).append(part["text"])
    result["output_text"] = "".join(texts)
    if thoughts:
        result["thoughts"] = "".join(thoughts)
    reason = first.get("finishReason")
    reason = reason if isinstance(reason, str) else ""
    if reason in FINISHED:
        return result, None
    if reason == "MAX_TOKENS":
        return result, NotCompleted("the answer was cut at the token limit (finish reason MAX_TOKENS)")
    return result, NotCompleted(f"the answer was blocked or stopped (finish reason {reason})")


def usage_of(metadata: Any) -> dict[str, Any] | None:
    if not isinstance(metadata, dict):
        return None
    usage = {name: metadata[key] for key, name in USAGE.items() if isinstance(metadata.get(key), int)}
    return usage or None


def error_of(status: Any) -> GeminiCliError:
    """A row's google.rpc.Status as the error of its record (code by exit code, as batch's)."""
    if not isinstance(status, dict):
        return GeminiCliError("the job reported an error without details", exit_code=ExitCode.SERVER)
    code, name = status.get("code"), status.get("status")
    message = " ".join(str(status.get("message") or "no message").split())
    if isinstance(name, str) and name:
        exit_code = API_CODES.get(name.lower(), ExitCode.SERVER)
    elif isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599:
        exit_code = exit_code_for_status(code)
    elif isinstance(code, int) and code in GRPC:
        name = GRPC[code].upper()
        exit_code = ExitCode.NOT_COMPLETED if code == 1 else API_CODES.get(GRPC[code], ExitCode.REJECTED)
    else:
        exit_code = ExitCode.SERVER
    return GeminiCliError(f"{name}: {message}" if name else message, exit_code=exit_code)
