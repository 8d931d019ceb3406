"""Local functions the model may call: `--function NAME=COMMAND`, `--functions FILE` and the
`functions:` mapping of a config file, profile or template, read into FunctionSpecs.

Pure parsing, checked before anything is sent (exit 2, naming the function). Running a
spec is runs/commands.py's job; this module also builds the argv a call would run
(`argv_for`), so the confirmation prompt and the runner agree on it word for word.

A COMMAND is split like a shell line (shlex) and never given to a shell. `{param}` or
`{param:TYPE}` placeholders declare the parameters and are replaced by the argument's
value inside their word: `wttr.in/{city}?format=3` stays one argv word whatever the
city holds (spaces, quotes, `; rm -rf ~`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from gemini_cli.errors import UsageError
from gemini_cli.request.schema import MAX_JSON_FILE
from gemini_cli.state.yamlfile import load_yaml
# yaml (~12 ms) and jsonschema (~55 ms) are imported inside the functions that read a YAML spec or
# check a parameter schema: a turn without --function pays for neither.

# The Gemini API's rule for a function name (google-genai FunctionDeclaration.name:
# "Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain
# underscores, dots, colons and dashes, with a maximum length of 64"; Vertex AI allows
# 128, the Gemini API 64: the stricter one is kept).
# One rule for every declared name: local functions are checked against it, MCP tools
# (request/mcp_tools.py) are made to fit it.
NAME_CHARS = "A-Za-z0-9_.:-"
NAME_MAX = 64
NAME_RULE = re.compile(rf"[A-Za-z_][{NAME_CHARS}]{{0,{NAME_MAX - 1}}}")

# {param} or {param:TYPE}; anything else in braces (`jq '{a: .b}'`) is left as it is.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?\}")
PLACEHOLDER_TYPES = {"str": "string", "int": "integer", "number": "number", "bool": "boolean"}

# The JSON-Schema types a parameter schema may name (the API's Schema subset).
SCHEMA_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
# The JSON Schema the API takes for parameters (interactions-api.md §3.3 and §10: the
# response_format subset): a function's own schema with anything else is refused, an MCP
# server's is cleaned to it (mcp_tools.clean_schema).
SCHEMA_KEYWORDS = frozenset({
    "type", "format", "title", "description", "nullable", "enum", "default", "example",
    "properties", "required", "propertyOrdering", "minProperties", "maxProperties",
    "items", "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "anyOf",
})
# The formats the API knows, by type (uri, email, uuid ... are not among them).
SCHEMA_FORMATS = {"string": {"date-time", "date", "time", "enum"}, "number": {"float", "double"},
                  "integer": {"int32", "int64"}}

ENTRY_KEYS = ("description", "parameters", "run", "shell", "stdin", "cwd", "env", "timeout", "max_output", "confirm")


@dataclass(frozen=True)
class FunctionSpec:
    """One local command the model may call, as declared (nothing here is remembered by a
    conversation file: every run declares its functions again)."""

    name: str
    run: tuple[str, ...]  # argv words with placeholders; with shell, (SCRIPT,)
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    shell: bool = False  # `sh -c SCRIPT NAME ARG...`: arguments as $1.. and GEMINI_ARG_<name>, never interpolated
    stdin: bool = False  # the arguments as one JSON object on the command's stdin
    cwd: str | None = None
    env: tuple[str, ...] = ()  # variables passed through the secret scrub
    timeout: float | None = None  # seconds; None: the run's --tool-timeout
    max_output: int | None = None  # bytes of stdout kept; None: the default
    confirm: bool = False
    source: str = ""  # where it was declared, for messages ("--function", "functions file x.yaml")

    def declaration(self) -> dict[str, Any]:
        """Exactly what `tools` carries for it (interactions-api.md §10)."""
        return {"type": "function", "name": self.name, "description": self.description, "parameters": self.parameters}


class ArgumentProblem(ValueError):
    """A call's arguments cannot fill the command (a placeholder with no argument): the
    call's result is an error for the model, not an error of the run."""


def parse_function_flag(text: str) -> FunctionSpec:
    """`--function NAME=COMMAND`."""
    name, sep, command = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise UsageError(f"--function {text!r}: give NAME=COMMAND, e.g. --function 'weather=curl -s wttr.in/{{city}}'")
    where = f"--function {name}"
    check_name(name, where)
    words = split_command(command, where)
    program = os.path.basename(words[0]) if PLACEHOLDER.search(words[0]) is None else ""
    return FunctionSpec(name=name, run=tuple(words), parameters=placeholder_schema(words, where),
                        description=f"Runs the local command `{program}`." if program else "", source="--function")


def load_functions_file(path: str | Path) -> list[FunctionSpec]:
    """`--functions FILE`: a YAML file whose top level is `functions:` (name -> entry).
    A relative `cwd` in it is taken from the file's folder."""
    path = Path(path).expanduser()
    where = f"--functions file {path}"

    try:
        with open(path, "rb") as file:
            data = file.read(MAX_JSON_FILE + 1)  # @/dev/zero is not read forever
        if len(data) > MAX_JSON_FILE:
            raise UsageError(f"{where} is over {MAX_JSON_FILE // 1024**2} MiB (stopped reading there)")
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {where}: {getattr(exc, 'strerror', None) or exc}") from None
    import yaml

    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{where} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict) or set(data) != {"functions"}:
        found = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise UsageError(f"{where}: the top level must be one `functions:` mapping (found {found})")
    return functions_from_mapping(data["functions"], where, base_dir=path.parent)


def functions_from_mapping(mapping: Any, source: str, base_dir: str | Path | None = None) -> list[FunctionSpec]:
    """The `functions:` mapping of a file, config, profile or template (name -> entry), with
    `source` naming it in messages ("config file ~/.config/gemini-cli/config.yaml",
    "profile work"). Duplicates cannot occur inside one mapping; `combine` checks across."""
    if not isinstance(mapping, dict):
        raise UsageError(f"{source}: `functions` must be a mapping of names to entries, got {_kind(mapping)}")
    return [function_from_entry(str(name), entry, source, base_dir) for name, entry in mapping.items()]


def function_from_entry(name: str, entry: Any, source: str, base_dir: str | Path | None = None) -> FunctionSpec:
    where = f"{source}: function {name!r}"
    check_name(name, where)
    if isinstance(entry, str):
        entry = {"run": entry}  # `name: COMMAND`, the short form
    if not isinstance(entry, dict):
        raise UsageError(f"{where} must be a mapping (description, parameters, run, ...), got {_kind(entry)}")
    unknown = sorted(str(k) for k in entry if k not in ENTRY_KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(ENTRY_KEYS)})")

    shell = _typed(entry, "shell", bool, where, False)
    run = entry.get("run")
    if run is None:
        raise UsageError(f"{where} has no `run` (the command: an argv list or a command line)")
    if shell:
        if not isinstance(run, str) or not run.strip():
            raise UsageError(f"{where}: with shell: true, `run` is the script, a non-empty string")
        words = [run]
    elif isinstance(run, str):
        words = split_command(run, where)
    elif isinstance(run, list) and run and all(isinstance(w, (str, int, float)) and not isinstance(w, bool) for w in run):
        words = [str(w) for w in run]
    else:
        raise UsageError(f"{where}: `run` must be a command line or a non-empty list of strings, got {_kind(run)}")

    description = _typed(entry, "description", str, where, "")
    parameters = entry.get("parameters")
    derived = {} if shell else placeholder_types(words, where)
    if parameters is None:
        parameters = placeholder_schema(words, where) if not shell else {"type": "object", "properties": {}}
    else:
        check_parameters(parameters, where)
        properties = parameters.get("properties") or {}
        for param, kind in derived.items():
            if param not in properties:
                raise UsageError(f"{where}: the placeholder {{{param}}} is not among its parameters")
            declared = properties[param].get("type") if isinstance(properties[param], dict) else None
            if kind is not None and declared is not None and declared != kind:
                raise UsageError(f"{where}: the placeholder {{{param}}} says {kind}, its parameter says {declared}")

    env = entry.get("env", [])
    if isinstance(env, str):
        env = [env]
    if not isinstance(env, list) or not all(isinstance(v, str) and v and "=" not in v for v in env):
        raise UsageError(f"{where}: `env` must be a list of variable names, got {_kind(env)}")
    cwd = _typed(entry, "cwd", str, where, None)
    if cwd is not None:
        cwd = os.path.expanduser(cwd)
        if base_dir is not None and not os.path.isabs(cwd):
            cwd = os.path.join(str(base_dir), cwd)
    timeout = entry.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 86400):
        raise UsageError(f"{where}: `timeout` must be a number of seconds above 0 (at most 86400), got {timeout!r}")
    max_output = entry.get("max_output")
    if max_output is not None and (isinstance(max_output, bool) or not isinstance(max_output, int) or max_output < 1):
        raise UsageError(f"{where}: `max_output` must be a whole number of bytes above 0, got {max_output!r}")
    return FunctionSpec(name=name, run=tuple(words), description=description, parameters=parameters, shell=shell,
                        stdin=_typed(entry, "stdin", bool, where, False), cwd=cwd, env=tuple(env),
                        timeout=None if timeout is None else float(timeout), max_output=max_output,
                        confirm=_typed(entry, "confirm", bool, where, False), source=source)


def combine(layers: Iterable[Iterable[FunctionSpec]]) -> list[FunctionSpec]:
    """The functions of a run from its sources, lowest priority first (config, profile,
    template, then the command line's --functions and --function as one layer): a name
    declared twice in one layer is refused; a later layer replaces an earlier one's."""
    chosen: dict[str, FunctionSpec] = {}
    for layer in layers:
        seen: dict[str, FunctionSpec] = {}
        for spec in layer:
            if spec.name in seen:
                first = seen[spec.name]
                sources = first.source if first.source == spec.source else f"{first.source} and {spec.source}"
                raise UsageError(f"function {spec.name!r} is declared twice ({sources})")
            seen[spec.name] = spec
        chosen.update(seen)
    return list(chosen.values())


def check_name(name: str, where: str) -> None:
    if not NAME_RULE.fullmatch(name):
        why = f"longer than {NAME_MAX} characters" if len(name) > NAME_MAX else \
            "it must start with a letter or _ and hold only letters, digits, _ . : -"
        raise UsageError(f"{where}: the API would refuse the name {name!r} ({why})")


def split_command(command: str, where: str) -> list[str]:
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"{where}: cannot split the command line: {exc}") from None
    if not words:
        raise UsageError(f"{where}: the command is empty")
    return words


def placeholder_types(words: Iterable[str], where: str) -> dict[str, str | None]:
    """Each placeholder's name and JSON type (None when it gives none), in order."""
    found: dict[str, str | None] = {}
    for word in words:
        for match in PLACEHOLDER.finditer(word):
            param, kind = match.group(1), match.group(2)
            if kind is not None and kind not in PLACEHOLDER_TYPES:
                raise UsageError(f"{where}: the placeholder {match.group()} has an unknown type "
                                 f"(known: {', '.join(PLACEHOLDER_TYPES)})")
            json_type = PLACEHOLDER_TYPES[kind] if kind else None
            if found.get(param) not in (None, json_type) and json_type is not None:
                raise UsageError(f"{where}: the placeholder {{{param}}} is given two types")
            found[param] = json_type or found.get(param)
    return found


def placeholder_schema(words: Iterable[str], where: str) -> dict[str, Any]:
    """The parameters a command line's placeholders declare: every one required."""
    types = placeholder_types(words, where)
    schema: dict[str, Any] = {"type": "object", "properties": {p: {"type": t or "string"} for p, t in types.items()}}
    if types:
        schema["required"] = list(types)
    return schema


def check_parameters(schema: Any, where: str) -> None:
    """Refuse a parameter schema the API cannot take: not an object schema, a type it does
    not know, references (`$ref`, `$defs`: inline them), or one that is not JSON Schema."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise UsageError(f"{where}: `parameters` must be a JSON Schema with type: object")
    _check_subschema(schema, where, "parameters", 0)
    from jsonschema import exceptions, validators

    try:
        validators.validator_for(schema).check_schema(schema)
    except exceptions.SchemaError as exc:
        raise UsageError(f"{where}: `parameters` is not a valid JSON Schema: {exc.message}") from None


def _check_subschema(schema: Any, where: str, at: str, depth: int) -> None:
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise UsageError(f"{where}: {at} must be a schema (a mapping), got {_kind(schema)}")
    if depth > 32:
        raise UsageError(f"{where}: `parameters` is nested too deeply")
    for key in schema:
        if not isinstance(key, str):
            raise UsageError(f"{where}: {at} has a key that is not a string: {key!r}")
        if key.startswith("$") or key == "definitions":
            raise UsageError(f"{where}: {at} uses {key}, which the API does not take (inline the schema it refers to)")
        if key not in SCHEMA_KEYWORDS:
            hint = {"const": " (use enum: [VALUE])", "oneOf": " (use anyOf)"}.get(key, "")
            raise UsageError(f"{where}: {at} uses {key}, which the API does not take{hint}")
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [] if kinds is None else [kinds]
    for kind in kinds:
        if kind not in SCHEMA_TYPES:
            raise UsageError(f"{where}: {at} has the unknown type {kind!r} (known: {', '.join(sorted(SCHEMA_TYPES))})")
    fmt = schema.get("format")
    if fmt is not None and not any(fmt in SCHEMA_FORMATS.get(kind, ()) for kind in kinds):
        known = "; ".join(f"{kind}: {', '.join(sorted(SCHEMA_FORMATS[kind]))}" for kind in SCHEMA_FORMATS)
        raise UsageError(f"{where}: {at} has the format {fmt!r}, which the API does not know for its type ({known})")
    properties = schema.get("properties")
    if properties is not None:
        if not isinstance(properties, dict):
            raise UsageError(f"{where}: {at}.properties must be a mapping, got {_kind(properties)}")
        for name, sub in properties.items():
            _check_subschema(sub, where, f"{at}.properties.{name}", depth + 1)
    if "items" in schema and not isinstance(schema["items"], list):
        _check_subschema(schema["items"], where, f"{at}.items", depth + 1)
    for key in ("anyOf", "items"):
        if isinstance(schema.get(key), list):
            for n, sub in enumerate(schema[key]):
                _check_subschema(sub, where, f"{at}.{key}[{n}]", depth + 1)


def argv_for(spec: FunctionSpec, arguments: Mapping[str, Any]) -> list[str]:
    """The argv a call runs: placeholders replaced inside their words; with shell,
    `sh -c SCRIPT NAME` and the arguments as positional parameters (in the order of the
    schema's properties, "" for one not given). ArgumentProblem when a placeholder has no argument."""
    if spec.shell:
        order = list(spec.parameters.get("properties") or {})  # $1 is always the first parameter, "" when absent
        return ["sh", "-c", spec.run[0], spec.name] + [argument_text(arguments[k]) if k in arguments else "" for k in order]

    def fill(match: re.Match[str]) -> str:
        param = match.group(1)
        if param not in arguments:
            raise ArgumentProblem(f"the argument {param!r} is missing (the command needs it for {match.group()})")
        return argument_text(arguments[param])

    return [PLACEHOLDER.sub(fill, word) for word in spec.run]


def argument_text(value: Any) -> str:
    """An argument as argv text: strings as they are, true/false, numbers as JSON writes
    them (a whole float as an integer: the model may send 5.0 for 5), objects as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _typed(entry: dict[str, Any], key: str, kind: type, where: str, default: Any) -> Any:
    value = entry.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise UsageError(f"{where}: `{key}` must be {'true or false' if kind is bool else 'a ' + kind.__name__}, "
                         f"got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "nothing"}.get(
        type(value), type(value).__name__)
