"""The API key: $GOOGLE_API_KEY, $GEMINI_API_KEY, the key file `config set-key` wrote, the
config's `api_key:`, or `api_key_command:`.

The key file comes before the config file's entries: `set-key` is what the user did last and
on purpose (delete the file, `config set-key --remove`, to use api_key_command again), and
reading it runs nothing.

`api_key_command` runs a command (a password manager) and takes the first line of its stdout.
A string is split with shlex and run without a shell, unless it contains shell syntax
(`| & ; < > ( ) $ \\` * ? ~` or a newline): then it runs as `sh -c STRING`. A YAML list is
the argv exactly, never through a shell. stdin is /dev/null (so a piped prompt is never
consumed), stderr is the terminal's (so a password manager can explain itself). Messages
about a failing command never include what it printed.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
from typing import Any

from gemini_cli.backoff import capped
from gemini_cli.errors import AuthError, NetworkError
from gemini_cli.state import configfile, paths
from gemini_cli.state.configfile import HEADER_REFERENCE, KEY_VALUE, REDACTED, SECRET_NAME

ENV_VARS = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
SHELL_SYNTAX = frozenset("|&;<>()$`*?~\n")
KEY_CHARS = re.compile(r"[\x21-\x7e]+")  # what an HTTP header can carry as a key


def get(io: Any, required: bool = True, max_time: float | None = None) -> str | None:
    """GOOGLE_API_KEY wins over GEMINI_API_KEY (as in the official SDK), then the config file.
    None with --replay: the answers come from the cassette, so no key is read or sent.
    `max_time` (--max-time) bounds api_key_command too.

    io: the invocation's render.context.IOContext. A key read from the config file or
    api_key_command joins its `secrets` (redacted wherever we write: the environment's keys
    are known without it); its `key_sources` records where each key came from
    ("GEMINI_API_KEY", "api_key in PATH"), so that a key the API refuses can be traced to its
    setting without ever printing it."""
    if io.recording.replaying():
        return None
    google = (os.environ.get("GOOGLE_API_KEY") or "").strip()
    gemini = (os.environ.get("GEMINI_API_KEY") or "").strip()
    if google and gemini and google != gemini:
        io.warn("both GOOGLE_API_KEY and GEMINI_API_KEY are set; using GOOGLE_API_KEY")
    key = google or gemini
    source = "GOOGLE_API_KEY" if google else "GEMINI_API_KEY"
    if not key:
        key = read_key_file(io)
        source = f"the key file {paths.key_file()}"
        if key:
            io.secrets.add(key)
    if not key:
        cfg = configfile.read_config()
        if cfg.api_key:
            key, source = cfg.api_key, f"api_key in {cfg.path}"
        elif cfg.api_key_command is not None:
            source = f"api_key_command in {cfg.path}"
            key = run_command(cfg.api_key_command, cfg.api_key_command_timeout, source, max_time)
        if key:
            io.secrets.add(key)
    if key and not KEY_CHARS.fullmatch(key):
        # Caught here, not by the HTTP layer, whose message would quote the header: the key.
        raise AuthError(f"the API key from {source} has a space, control or non-ASCII character; "
                        "a key cannot have one (check how it was set)")
    if key:
        io.key_sources[key] = source
    if not key and required:
        raise AuthError(
            "no API key: set GEMINI_API_KEY (or GOOGLE_API_KEY) to a Gemini API key "
            "from https://aistudio.google.com/apikey, keep one with `gemini-cli config set-key`, "
            "or set api_key_command in the config file"
        )
    return key or None


def source_of(io: Any, key: str | None) -> str | None:
    """The variable or config entry a key returned by get(io) came from."""
    return io.key_sources.get(key) if key else None


def source() -> str | None:
    """Where the key would come from, without running api_key_command (for --dry-run); None: no key."""
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY"):
        if (os.environ.get(name) or "").strip():
            return name
    if paths.key_file().is_file():
        return "key file"
    cfg = configfile.read_config()
    if cfg.api_key:
        return "api_key"
    return "api_key_command" if cfg.api_key_command is not None else None


MAX_KEY_FILE = 4096  # a key is about 40 characters; anything much bigger is not a key file


def read_key_file(io: Any) -> str:
    """The key `config set-key` saved, stripped; "" when there is no such file."""
    path = paths.key_file()
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_KEY_FILE + 1)
            mode = os.fstat(file.fileno()).st_mode
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise AuthError(f"cannot read the key file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_KEY_FILE:
        raise AuthError(f"the key file {path} is over {MAX_KEY_FILE} bytes: not a key (run `gemini-cli config set-key` again)")
    key = data.decode("utf-8", "replace").strip()
    if not key:
        raise AuthError(f"the key file {path} is empty (run `gemini-cli config set-key` again, or delete it)")
    if mode & 0o077:
        io.warn(f"the key file {path} is readable by others; run: chmod 600 {path}")
    return key


def command_argv(command: str | list[str]) -> list[str]:
    """The argv to run: a list as it is; a string through sh -c only when it needs a shell."""
    if isinstance(command, list):
        return list(command)
    if SHELL_SYNTAX & set(command):
        return ["/bin/sh", "-c", command]
    try:
        return shlex.split(command)
    except ValueError as exc:  # an unterminated quote
        raise AuthError(f"api_key_command cannot be parsed: {exc}") from None


def run_command(command: str | list[str], timeout: float, what: str = "api_key_command",
                max_time: float | None = None) -> str:
    """Run the command; the first line of its stdout, stripped. Exit 3 on any failure; exit 7
    when --max-time (`max_time`, if shorter than `timeout`) ends the wait for it."""
    argv = command_argv(command)
    if not argv:
        raise AuthError(f"{what} is empty")
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        raise AuthError(f"{what}: cannot run {_program(argv[0])}: {exc.strerror or exc}") from None
    deadline = max_time is not None and max_time < timeout
    try:
        out, _ = process.communicate(timeout=capped(max_time if max_time is not None and deadline else timeout))
    except subprocess.TimeoutExpired:
        _kill(process)
        if deadline:
            raise NetworkError(f"gave up: the --max-time deadline of {max_time:g}s was reached "
                               f"(waiting for {what})") from None
        raise AuthError(f"{what} did not finish within {timeout:g} s") from None
    except BaseException:
        _kill(process)
        raise
    if process.returncode != 0:
        status = process.returncode
        how = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
        raise AuthError(f"{what} {how} (its output is not shown)")
    try:
        text = out.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise AuthError(f"{what} printed something that is not UTF-8 text (its output is not shown)") from None
    key = text.splitlines()[0].strip() if text else ""
    if not key:
        raise AuthError(f"{what} printed nothing on stdout")
    return key


def _program(name: str) -> str:
    """The program's name for a message; not shown when it looks like a key pasted in place
    of a command (a Google key, or one long word of key characters)."""
    if KEY_VALUE.search(name) or (len(name) >= 24 and re.fullmatch(r"[A-Za-z0-9_\-.]+", name)):
        return "<redacted> (it looks like an API key, not a command)"
    return repr(name)


def _kill(process: Any) -> None:
    """Kill the command and anything it started (a shell's children too)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def redact(data: Any, name: str = "", secrets: Any = ()) -> Any:
    """A copy of a config value with secrets replaced by <redacted>: values under key-, token-,
    secret- or password-like names, an MCP server's header values that are not references,
    Google API keys, the API key values of the environment and `secrets` (an IOContext's)."""
    if isinstance(data, dict) and name == "headers":  # an mcpServers entry's: only references are shown
        return {key: value if isinstance(value, str) and HEADER_REFERENCE.search(value.strip()) else REDACTED
                for key, value in data.items()}
    if isinstance(data, dict):
        return {key: redact(value, str(key), secrets) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [redact(value, name, secrets) for value in data]
    if isinstance(data, str):
        if SECRET_NAME.search(name) and data:
            return REDACTED
        data = KEY_VALUE.sub(REDACTED, data)
        for key in [(os.environ.get(var) or "").strip() for var in ENV_VARS] + sorted(secrets):
            if len(key) >= 4:
                data = data.replace(key, REDACTED)
    return data
