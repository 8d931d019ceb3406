"""`gemini-cli config path|show|edit`: where the config file is, the effective settings, editing it."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from gemini_cli.cli import options
from gemini_cli.cli.invocation import io_context
from gemini_cli.errors import UsageError
from gemini_cli.state import config, configfile, paths
# state/apikey.py (~2 ms), state/atomic.py, yaml (~11 ms), getpass and cli/repl.py (~23 ms) are
# imported inside the commands that use them: config --help and a TAB need none of them.

config_app = options.sub_app("config", "The config file: its path, the effective settings, editing it, the saved key.")

# What `config edit` writes when there is no config file yet: every line a comment.
TEMPLATE = """\
# gemini-cli configuration (YAML). Every key is optional; `gemini-cli config show` prints
# the effective settings and where each comes from.
# Precedence: command-line flag > template > environment > profile > this file > default.

# model: gemini-3-flash-preview   # or an alias: flash, pro, flash-lite, flash-3.5
# system: You are terse.
# temperature: 1.0
# thinking: low                    # minimal | low | medium | high | xhigh
# output: text                     # text | json | jsonl
# usage: false                     # token usage on stderr
# thoughts: false                  # thought summaries on stderr
# save: true                       # save every turn to the history
# service_tier: standard          # flex | standard | priority | deferred
# media_dir: ~/Pictures/gemini     # where image/audio answers are saved (default: the current directory)

# Named sets of settings: --profile NAME, $GEMINI_CLI_PROFILE, or default_profile.
# default_profile: quick
# profiles:
#   quick:
#     model: flash
#     thinking: minimal
#   careful:
#     model: pro
#     thinking: high
#     usage: true

# Short model names (they override the built-in ones).
# aliases:
#   lite: gemini-3.1-flash-lite

# The API key, when neither GEMINI_API_KEY nor GOOGLE_API_KEY is set: better a password
# manager command than a key in this file.
# api_key_command: pass show google/gemini-api-key
"""


@config_app.command("path")
def path_cmd() -> None:
    """Print the config file's path (it may not exist yet)."""
    io_context().stdout.write(f"{paths.config_file()}\n")


@config_app.command("show")
def show(profile: options.Profile = None) -> None:
    """Print the effective settings as YAML, each with where it came from; secrets redacted."""
    from gemini_cli.state import apikey, config, configfile

    io = io_context()
    settings = config.resolve({"profile": profile}, io=io)
    cfg = configfile.read_config()
    lines = [f"# config file: {cfg.path}" + ("" if cfg.exists else " (not found)")]
    if settings.profile:
        lines.append(f"# profile: {settings.profile}")
    for name, value in _settings(settings).items():
        if name in config.LAYERED:  # functions:, mcpServers: one entry per layer that sets them
            for mapping, source in value or ():
                lines += _entry(name, apikey.redact(mapping, name, io.secrets), source)
            continue
        lines += _entry(name, apikey.redact(value, name, io.secrets), settings.sources.get(name, "default"))
    user = set(cfg.aliases)
    aliases = {name: model for name, model in sorted(settings.aliases.items())}
    lines.append("aliases:" if aliases else "aliases: {}")
    for name, model in aliases.items():
        lines += ["  " + line for line in _entry(name, model, "config file" if name in user else "built-in")]
    lines.append(_dump("profiles", sorted(cfg.profiles)))
    lines += _entry("api_key", *_key_source(cfg))
    if cfg.api_key_command is not None:
        lines += _entry("api_key_command", apikey.redact(cfg.api_key_command, secrets=io.secrets),
                        "config file (not run by show)")
    io.stdout.write("\n".join(lines) + "\n")


def _settings(settings: Any) -> dict[str, Any]:
    """The settings a config file can set, in the order of configfile._TYPES."""
    return {name: getattr(settings, name) for name in configfile.SETTING_KEYS}


def _key_source(cfg: Any) -> tuple[Any, str]:
    from gemini_cli.state import apikey

    for var in apikey.ENV_VARS:
        if (os.environ.get(var) or "").strip():
            return apikey.REDACTED, f"environment ({var})"

    if paths.key_file().is_file():
        return apikey.REDACTED, f"key file {paths.key_file()} (config set-key)"
    if cfg.api_key:
        return apikey.REDACTED, "config file"
    if cfg.api_key_command is not None:
        return None, "from api_key_command"
    return None, "not set"


def _dump(name: str, value: Any) -> str:
    """One YAML line (or a few, for a multi-line string): lists and mappings in flow style."""
    import yaml

    if isinstance(value, (list, dict)) and value:
        flow = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6).strip()
        return f"{name}: {flow}"
    class Dumper(yaml.SafeDumper):
        pass

    def string(dumper: Any, data: str) -> Any:  # multi-line strings as `|` blocks
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)

    Dumper.add_representer(str, string)
    text = yaml.dump({name: value}, Dumper=Dumper, default_flow_style=False, allow_unicode=True, width=10**6)
    return text.rstrip("\n")


def _entry(name: str, value: Any, source: str) -> list[str]:
    """`name: value  # source` (the comment on a line of its own above a multi-line value)."""
    text = _dump(name, value)
    if "\n" in text:
        return [f"# {name}: {source}", text]
    return [f"{text}  # {source}"]


MAX_KEY_INPUT = 64 * 1024  # stdin is read this far at most: a key is ~40 characters


@config_app.command("set-key")
def set_key(
    remove: Annotated[bool, typer.Option("--remove", help="Delete the saved key instead.")] = False,
) -> None:
    """Save the API key in a private file (mode 0600) in the config folder.

    At a terminal the key is asked for without echo; otherwise it is read from stdin
    (`pass show gemini | gemini-cli config set-key`). It is never printed. GEMINI_API_KEY and
    GOOGLE_API_KEY, when set, still win over the saved key.
    """
    from gemini_cli.state import apikey, paths
    from gemini_cli.state.atomic import write_atomic

    io = io_context()
    path = paths.key_file()
    if remove:
        try:
            path.unlink()
        except FileNotFoundError:
            raise UsageError(f"no saved key to remove ({path} does not exist)") from None
        except OSError as exc:
            raise UsageError(f"cannot remove {path}: {exc.strerror or exc}") from None
        io.stderr.write(f"gemini-cli: removed the saved API key ({path})\n")
        return
    key = _read_key(io).strip()  # the newline of `echo KEY |` or a paste
    if not key:
        raise UsageError("no key given (an empty key is not saved); get one at https://aistudio.google.com/apikey")
    if not apikey.KEY_CHARS.fullmatch(key):
        raise UsageError("the key has a space, a control or a non-ASCII character, which a key cannot have; "
                         "nothing was saved (give the key alone, on one line)")
    write_atomic(path, key + "\n")
    io.stderr.write(f"gemini-cli: saved the API key to {path} (mode 0600)\n")
    for var in apikey.ENV_VARS:
        if (os.environ.get(var) or "").strip():
            io.stderr.write(f"gemini-cli: note: {var} is set and wins over the saved key while it is\n")
            break


def _read_key(io: Any) -> str:
    """The key from the terminal without echo, or from stdin (bounded)."""
    stdin = io.stdin
    if stdin is None or stdin.closed:
        return ""
    if stdin.isatty():
        import getpass

        try:
            return getpass.getpass("Gemini API key (not shown): ", stream=io.stderr)
        except EOFError:
            return ""
    data = stdin.buffer.read(MAX_KEY_INPUT + 1) if hasattr(stdin, "buffer") else stdin.read(MAX_KEY_INPUT + 1).encode()
    if len(data) > MAX_KEY_INPUT:
        raise UsageError(f"stdin is over {MAX_KEY_INPUT // 1024} KiB: not a key; nothing was saved")
    return data.decode("utf-8", "replace")


@config_app.command("edit")
def edit() -> None:
    """Open the config file in $VISUAL or $EDITOR (created from a commented template), then check it."""
    io = io_context()
    path = paths.config_file()
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            from gemini_cli.state.atomic import open_private

            fd = open_private(path, exclusive=True)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(TEMPLATE)
        except FileExistsError:
            pass
        except OSError as exc:
            raise UsageError(f"cannot create config file {path}: {exc.strerror or exc}") from None
        io.stderr.write(f"gemini-cli: created {path}\n")
    from gemini_cli.cli.repl import run_editor

    editor, status = run_editor(str(path))
    if status != 0:
        raise UsageError(f"the editor {editor!r} exited with status {status}; {path} was not checked")
    try:
        settings = config.resolve({}, io=io)
    except UsageError as exc:
        raise UsageError(f"{exc.message} (run `gemini-cli config edit` again to fix it)") from None
    if not settings.quiet:
        io.stderr.write(f"gemini-cli: {path}: OK\n")
