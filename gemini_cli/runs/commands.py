"""The runner of local functions: one process per call, run from its FunctionSpec.

No shell unless the spec says `shell: true`; the environment scrubbed of secrets
(toolbox.scrubbed_env); stdin closed, or the arguments as JSON; the process in its own
process group (a new session: no controlling terminal), the whole group killed on a
timeout, when its leader exits (helpers left behind) and on close. stdout is kept up to
max_output bytes and stderr's tail up to STDERR_KEEP; the rest is read and dropped, so a
chatty command neither fills memory nor blocks on a full pipe.
"""

from __future__ import annotations

import codecs
import json
import os
import shlex
import signal
import subprocess
import threading
import time
from typing import Any, Iterable

from gemini_cli.request.functions import ArgumentProblem, FunctionSpec, argument_text, argv_for
from gemini_cli.runs.toolbox import CallResult, Tool, scrubbed_env
# jsonschema is imported inside argument_problem: only a function with a declared schema needs it
# (~55 ms).

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_OUTPUT = 64 * 1024
STDERR_KEEP = 4096  # bytes of stderr's tail kept for an error result
STDERR_LINES = 10  # lines of that tail an error result carries
CHUNK = 16 * 1024
KILL_GRACE = 1.0  # seconds between SIGTERM and SIGKILL on a timeout
READER_GRACE = 2.0  # seconds to finish reading the pipes once the group is killed


class CommandRunner:
    """A toolbox Runner for FunctionSpecs: `tools()` declares them, `call` runs one."""

    def __init__(self, specs: Iterable[FunctionSpec], environ: dict[str, str] | None = None):
        self.specs = {spec.name: spec for spec in specs}
        self.environ = environ  # None: os.environ at each call
        self._live: set[subprocess.Popen] = set()
        self._lock = threading.Lock()

    def tools(self) -> list[Tool]:
        return [Tool(name=s.name, description=s.description, parameters=s.parameters, confirm=s.confirm, origin="function")
                for s in self.specs.values()]

    def describe(self, tool: Tool, arguments: dict[str, Any]) -> str | None:
        """The exact argv the call would run, shell-quoted (for a confirmation prompt);
        None when the arguments cannot fill it (the call then fails without running)."""
        try:
            return shlex.join(self._argv(self.specs[tool.name], arguments))
        except (ArgumentProblem, KeyError):
            return None

    def call(self, tool: Tool, arguments: dict[str, Any], timeout: float | None) -> CallResult:
        spec = self.specs.get(tool.name)
        if spec is None:
            return CallResult(f"function {tool.name!r} is not declared", is_error=True, summary="not declared")
        problem = argument_problem(spec.parameters, arguments)
        if problem is None:
            try:
                argv = self._argv(spec, arguments)
            except ArgumentProblem as exc:
                problem = str(exc)
        if problem is not None:
            return CallResult(f"bad arguments: {problem}", is_error=True, summary=f"bad arguments: {problem}")
        limit = spec.timeout or timeout or DEFAULT_TIMEOUT
        return self._run(spec, argv, arguments, limit)

    def close(self) -> None:
        """Kill every process group still running (Ctrl-C, an error in the turn); the
        runner stays usable (`cancel` is the same: a chat's next turn may call again)."""
        with self._lock:
            live = list(self._live)
        for proc in live:
            _kill_group(proc, signal.SIGKILL)

    cancel = close

    def _argv(self, spec: FunctionSpec, arguments: dict[str, Any]) -> list[str]:
        return argv_for(spec, arguments)

    def _env(self, spec: FunctionSpec, arguments: dict[str, Any]) -> dict[str, str]:
        env = scrubbed_env(spec.env, environ=self.environ)
        if spec.shell:  # the arguments by name too, for the script: "$GEMINI_ARG_city"
            env.update((f"GEMINI_ARG_{k}", argument_text(v)) for k, v in arguments.items()
                       if k.isidentifier() and k.isascii() and "\0" not in argument_text(v))
        return env

    def _run(self, spec: FunctionSpec, argv: list[str], arguments: dict[str, Any], limit: float) -> CallResult:
        max_output = spec.max_output or DEFAULT_MAX_OUTPUT
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE if spec.stdin else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=spec.cwd,
                                    env=self._env(spec, arguments), start_new_session=True, close_fds=True)
        except (OSError, ValueError) as exc:  # no such program, not executable, no cwd, a NUL in an argument
            why = getattr(exc, "strerror", None) or str(exc)
            if isinstance(exc, OSError) and exc.filename:
                why = f"{why}: {exc.filename}"
            return CallResult(f"the command could not start: {why}", is_error=True, summary=f"could not start: {why}")
        with self._lock:
            self._live.add(proc)
        out, err = _Capture(proc.stdout, max_output), _Capture(proc.stderr, STDERR_KEEP, tail=True)
        threads = [threading.Thread(target=c.drain, daemon=True) for c in (out, err)]
        if spec.stdin:
            payload = json.dumps(arguments, ensure_ascii=False).encode()
            threads.append(threading.Thread(target=_feed, args=(proc.stdin, payload), daemon=True))
        for thread in threads:
            thread.start()
        timed_out = False
        try:
            timed_out = not _wait_exited(proc, time.monotonic() + limit)
            if timed_out:
                _kill_group(proc, signal.SIGTERM)
                _wait_exited(proc, time.monotonic() + KILL_GRACE)
            _kill_group(proc, signal.SIGKILL)  # what the leader left running, while its pid still names the group
            status = proc.wait()
            for thread in threads:  # the pipes close once the group is gone; bounded for one that left it (setsid)
                thread.join(READER_GRACE)
        except BaseException:  # Ctrl-C, SIGTERM: nothing keeps running behind us
            _kill_group(proc, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            with self._lock:
                self._live.discard(proc)
        return _result(out, err, status, timed_out, limit)


def argument_problem(schema: dict[str, Any], arguments: Any) -> str | None:
    """Why the arguments do not fit the parameter schema, or None."""
    if not isinstance(arguments, dict):
        return "the arguments are not a JSON object"
    from jsonschema import validators

    validator = validators.validator_for(schema)(schema)
    error = next(iter(sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))), None)
    if error is None:
        return None
    at = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"{error.message}" + (f" (at {at[1:] if at.startswith('.') else at})" if at else "")


class _Capture:
    """A pipe read to its end, keeping `keep` bytes (the head, or the tail)."""

    def __init__(self, pipe: Any, keep: int, tail: bool = False):
        self.pipe, self.keep, self.tail = pipe, keep, tail
        self.data = bytearray()
        self.total = 0

    def drain(self) -> None:
        fd = self.pipe.fileno()
        try:
            while chunk := os.read(fd, CHUNK):
                self.total += len(chunk)
                if self.tail:
                    self.data += chunk
                    del self.data[:-self.keep]
                elif len(self.data) < self.keep:
                    self.data += chunk[: self.keep - len(self.data)]
        except OSError:
            pass
        finally:
            self.pipe.close()

    @property
    def truncated(self) -> bool:
        return self.total > len(self.data)

    def text(self) -> str:
        """UTF-8, invalid bytes replaced; a character cut by the bound is dropped whole."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        return decoder.decode(bytes(self.data), final=not self.truncated or self.tail)


def _feed(pipe: Any, payload: bytes) -> None:
    try:
        pipe.write(payload)
    except OSError:  # the command did not read it all (closed its stdin, exited)
        pass
    finally:
        try:
            pipe.close()
        except OSError:
            pass


def _wait_exited(proc: subprocess.Popen, deadline: float) -> bool:
    """Wait until the leader exits, without reaping it (its pid keeps naming the group,
    so killing the group afterwards cannot hit a stranger). False at the deadline."""
    delay = 0.001
    while True:
        try:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:
            return True  # already reaped
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(delay, left))
        delay = min(delay * 2, 0.05)


def _kill_group(proc: subprocess.Popen, sig: int) -> None:
    if proc.returncode is not None:
        return  # reaped: its pid may name someone else's group by now
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _result(out: _Capture, err: _Capture, status: int, timed_out: bool, limit: float) -> CallResult:
    stdout = out.text()
    if out.truncated:
        stdout += f"\n[output truncated: the first {len(out.data)} of {out.total} bytes are shown]"
    stderr_lines = err.text().splitlines()[-STDERR_LINES:]
    if not timed_out and status == 0:
        return CallResult(stdout, summary=_lines(out) + (" (truncated)" if out.truncated else ""))
    if timed_out:
        head = f"timed out after {_seconds(limit)}s (the command was stopped)"
        summary = f"timed out after {_seconds(limit)}s"
    elif status < 0:
        name = signal.Signals(-status).name if -status in signal.Signals._value2member_map_ else str(-status)
        head = summary = f"killed by signal {-status} ({name})"
    else:
        head = f"exit status {status}"
        summary = f"exit {status}" + (f": {stderr_lines[-1].strip()}" if stderr_lines and stderr_lines[-1].strip() else "")
    parts = [head]
    if stderr_lines:
        parts.append("stderr:\n" + "\n".join(stderr_lines))
    if stdout:
        parts.append("stdout:\n" + stdout)
    return CallResult("\n".join(parts), is_error=True, summary=summary)


def _lines(out: _Capture) -> str:
    if not out.total:
        return "no output"
    count = out.data.count(b"\n") + (0 if out.data.endswith(b"\n") else 1)
    return "1 line" if count == 1 else f"{count} lines"


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
