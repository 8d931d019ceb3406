"""Start-up and streaming benchmarks for gemini-cli, printed side by side.

How to run (from the repository root, with the project's virtualenv):

    python tests/benchmarks/bench_generate.py              # 10 timed runs per command
    python tests/benchmarks/bench_generate.py --runs 20    # more runs, steadier medians
    python tests/benchmarks/bench_generate.py --profile    # also: -X importtime and cProfile

No extra dependencies: the standard library, the project's own, and the system's curl.
It is a script, not a pytest test (pytest collects only test_*.py), so it never slows
the test suite. Exit status: 0 when every target is met and the streamed output is
exact, 1 otherwise.

What it measures (median wall time of N runs each, after one warm-up run; the two
commands of a row alternate so that machine drift hits both alike):

  (a) `gemini-cli --version`                       vs `python -c "import typer"`        target <= 1.25x
  (b) `gemini-cli generate --no-stream "hi"`       vs `python -c "import typer, httpx,
      against a local server answering with a         httpx_sse, yaml"`                  target <= 1.3x
      small Interaction JSON
  (c) `gemini-cli generate "hi"` streamed, 20,000  vs `curl -sN` POSTing to the same    target <= 2.5x
      text deltas, stdout to a file                   URL on the same server

The local servers (threads of this script on 127.0.0.1, a free port each) stream like
the real API: one SSE event per HTTP chunk (chunked transfer encoding), with the event
sequence of the API's streaming docs (interaction.created, status_update, a thought
step with a signature, model_output step.start, N text step.delta events, step.stop,
interaction.completed with usage, then `event: done` / `data: [DONE]`). (c) is printed
for two servers (`--server raw|werkzeug|both`, default both), because the ratio to
curl depends on how fast the server can send:
  raw       http.server, each event's chunk in one send() with TCP_NODELAY: curl reads
            the 20,000 events in ~20-50 ms, below the start-up of any Python process
            that imports typer + httpx (~90 ms), so 2.5x is out of reach of a Python CLI;
  werkzeug  werkzeug's dev server (what pytest-httpserver runs) yielding one event at
            a time, four writes per chunk: curl needs ~110-130 ms.
The streamed stdout is checked to be exactly the concatenated text plus the final
newline (OK/MISMATCH), and curl's body to be exactly the SSE bytes sent.

The child processes get GEMINI_API_KEY=dummy, GOOGLE_GEMINI_BASE_URL, a temporary
GEMINI_CLI_HOME, and byte-code caching under a temporary PYTHONPYCACHEPREFIX (with
PYTHONDONTWRITEBYTECODE / PYTHONUNBUFFERED removed), as in a user's shell after install.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pstats
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# A user's shell has none of these; PYTHONDONTWRITEBYTECODE alone would add ~20 ms of
# compiling gemini_cli's sources to every run (site-packages are precompiled by pip).
SCRUBBED = ("GOOGLE_API_KEY", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED",
            "PYTHONPROFILEIMPORTTIME", "PYTHONPYCACHEPREFIX", "PYTHONDEVMODE", "PYTHONMALLOC", "PYTHONTRACEMALLOC")
TIMEOUT = 120.0  # seconds, for any single command
INTERACTION_ID = "v1_ChdCZW5jaG1hcmtJbnRlcmFjdGlvbklk"
MODEL = "gemini-3-flash-preview"
USAGE = {
    "total_input_tokens": 2,
    "total_output_tokens": 61234,
    "total_thought_tokens": 12,
    "total_tokens": 61248,
    "input_tokens_by_modality": [{"modality": "text", "tokens": 2}],
}
WORDS = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do",
         "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua", "café")


# -- the canned answers -------------------------------------------------------


def text_chunks(count: int) -> list[str]:
    """`count` deltas of a few words each (one in a while ends a line)."""
    chunks = []
    for n in range(count):
        words = [WORDS[(n * 7 + k * 3) % len(WORDS)] for k in range(2 + n % 3)]
        chunk = " ".join(words) + ("\n" if n % 50 == 49 else " ")
        chunks.append(chunk)
    chunks[-1] = chunks[-1].rstrip() + "."
    return chunks


def stream_events(chunks: list[str]) -> list[dict[str, Any]]:
    """The event sequence of a text answer, as in interactions-api.md §5.3."""
    events: list[dict[str, Any]] = [
        {"event_type": "interaction.created", "event_id": "e0",
         "interaction": {"id": INTERACTION_ID, "status": "in_progress", "object": "interaction", "model": MODEL}},
        {"event_type": "interaction.status_update", "event_id": "e1", "interaction_id": INTERACTION_ID, "status": "in_progress"},
        {"event_type": "step.start", "event_id": "e2", "index": 0, "step": {"type": "thought"}},
        {"event_type": "step.delta", "event_id": "e3", "index": 0,
         "delta": {"type": "thought_signature", "signature": "c2lnbmF0dXJlLWJ5dGVzLWZvci10aGUtYmVuY2htYXJr+/=="}},
        {"event_type": "step.stop", "event_id": "e4", "index": 0},
        {"event_type": "step.start", "event_id": "e5", "index": 1, "step": {"type": "model_output"}},
    ]
    for n, chunk in enumerate(chunks):
        events.append({"event_type": "step.delta", "event_id": f"t{n}", "index": 1, "delta": {"type": "text", "text": chunk}})
    events.append({"event_type": "step.stop", "event_id": "e6", "index": 1})
    events.append({"event_type": "interaction.completed", "event_id": "e7", "interaction": {
        "id": INTERACTION_ID, "status": "completed", "object": "interaction", "model": MODEL, "usage": USAGE,
        "created": "2026-05-20T10:00:00Z", "updated": "2026-05-20T10:00:09Z", "service_tier": "standard"}})
    return events


def sse_frames(events: list[dict[str, Any]]) -> list[bytes]:
    """One SSE frame per event (`event:` line, `data:` line, blank line), then [DONE]."""
    frames = [f"event: {e['event_type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events]
    frames.append(b"event: done\ndata: [DONE]\n\n")
    return frames


def interaction_json(text: str) -> bytes:
    return json.dumps({
        "id": INTERACTION_ID, "object": "interaction", "status": "completed", "model": MODEL,
        "created": "2026-05-20T10:00:00Z", "updated": "2026-05-20T10:00:01Z", "service_tier": "standard",
        "steps": [
            {"type": "thought", "signature": "c2lnbmF0dXJlLWJ5dGVz+/=="},
            {"type": "model_output", "content": [{"type": "text", "text": text}]},
        ],
        "usage": {"total_input_tokens": 2, "total_output_tokens": 9, "total_thought_tokens": 12, "total_tokens": 23},
    }).encode()


# -- the local server ---------------------------------------------------------


class FakeApi(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, frames: list[bytes], reply: bytes):
        # Each SSE event goes out as its own HTTP chunk, in one write, as a real server flushes it.
        self.chunks = [b"%x\r\n%s\r\n" % (len(frame), frame) for frame in frames]
        self.reply = reply
        self.requests = 0
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeApi

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the access log
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.server.requests += 1
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = {}
        if not self.path.startswith("/v1beta/interactions"):
            self.send_error(404)
            return
        if isinstance(body, dict) and body.get("stream"):
            self.send_stream()
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(self.server.reply)))
            self.end_headers()
            self.wfile.write(self.server.reply)

    def send_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        send = self.connection.sendall
        try:
            for chunk in self.server.chunks:
                send(chunk)
            send(b"0\r\n\r\n")
        except OSError:
            pass
        self.close_connection = True


class Server:
    """A running fake API: `url`, a request counter, and `stop()`."""

    def __init__(self, kind: str, frames: list[bytes], reply: bytes):
        self.kind = kind
        self._requests = 0
        if kind == "werkzeug":
            self.server = werkzeug_server(frames, reply, self)
        else:
            self.server = FakeApi(frames, reply)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def requests(self) -> int:
        return getattr(self.server, "requests", 0) + self._requests

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def werkzeug_server(frames: list[bytes], reply: bytes, counter: Server) -> Any:
    """The same answers from werkzeug's threaded dev server (what pytest-httpserver runs on).

    The SSE body is a generator: werkzeug sends each yielded event as its own chunk
    (size line, data and CRLF as separate writes), flushing after each.
    """
    import logging

    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    @Request.application
    def app(request: Request) -> Response:
        counter._requests += 1
        if not request.path.startswith("/v1beta/interactions"):
            return Response("not found", status=404)
        body = request.get_json(silent=True, force=True)
        if isinstance(body, dict) and body.get("stream"):
            return Response((frame for frame in frames), content_type="text/event-stream",
                            headers={"Cache-Control": "no-cache"})
        return Response(reply, content_type="application/json; charset=UTF-8")

    return make_server("127.0.0.1", 0, app, threaded=True)


# -- timing -------------------------------------------------------------------


def gemini_cli_script() -> str:
    beside = Path(sys.executable).with_name("gemini-cli")
    if beside.exists():
        return str(beside)
    found = shutil.which("gemini-cli")
    if not found:
        sys.exit("bench: no gemini-cli script beside this python nor on PATH (pip install -e . first)")
    return found


def run_once(argv: list[str], env: dict[str, str], stdout_path: str | None = None) -> float:
    """Wall time of one run; stdout to a file (or /dev/null). A failure aborts the benchmark."""
    with open(stdout_path or os.devnull, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, env=env, timeout=TIMEOUT)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)!r} exited {proc.returncode}:\n{proc.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def compare(cli: list[str], base: list[str], env: dict[str, str], runs: int,
            cli_out: str | None = None, base_out: str | None = None) -> tuple[list[float], list[float]]:
    """One warm-up each, then `runs` alternating timed runs of each."""
    run_once(cli, env, cli_out)
    run_once(base, env, base_out)
    cli_times, base_times = [], []
    for _ in range(runs):
        cli_times.append(run_once(cli, env, cli_out))
        base_times.append(run_once(base, env, base_out))
    return cli_times, base_times


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


# -- profiling (--profile) ----------------------------------------------------

IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S.*)$")


def import_times(argv: list[str], env: dict[str, str]) -> dict[str, tuple[int, int, int]]:
    """module -> (self µs, cumulative µs, depth) from `python -X importtime`."""
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env=env, timeout=TIMEOUT, text=True)
    modules = {}
    for line in proc.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            own, cumulative, indent, name = match.groups()
            modules[name.strip()] = (int(own), int(cumulative), len(indent) // 2)
    return modules


def profile_imports(py: str, env: dict[str, str], args: list[str], baseline: str) -> None:
    cli = import_times([py, "-X", "importtime", "-m", "gemini_cli", *args], env)
    base = import_times([py, "-X", "importtime", "-c", baseline], env)
    extra = {name: t for name, t in cli.items() if name not in base}
    total_self = sum(t[0] for t in extra.values())
    print(f"\n-X importtime, `gemini-cli {' '.join(args)}`: {len(cli)} modules imported, {len(extra)} beyond "
          f"`{baseline}`, costing {total_self / 1000:.1f} ms of their own import time.")
    print("  top-level packages beyond the baseline (sum of self times):")
    by_package: dict[str, int] = {}
    for name, (own, _, _) in extra.items():
        by_package[name.split(".")[0]] = by_package.get(name.split(".")[0], 0) + own
    for package, own in sorted(by_package.items(), key=lambda item: -item[1])[:15]:
        print(f"    {own / 1000:7.2f} ms  {package}")
    print("  slowest single modules beyond the baseline (self / cumulative):")
    for name, (own, cumulative, _) in sorted(extra.items(), key=lambda item: -item[1][0])[:20]:
        print(f"    {own / 1000:7.2f} / {cumulative / 1000:7.2f} ms  {name}")
    ours = {name: t for name, t in cli.items() if name.startswith("gemini_cli")}
    print("  gemini_cli modules (self / cumulative):")
    for name, (own, cumulative, _) in sorted(ours.items(), key=lambda item: -item[1][1]):
        print(f"    {own / 1000:7.2f} / {cumulative / 1000:7.2f} ms  {name}")


def profile_stream(py: str, env: dict[str, str], args: list[str], tmp: Path, top: int = 30) -> None:
    stats_file = tmp / "stream.prof"
    argv = [py, "-m", "cProfile", "-o", str(stats_file), "-m", "gemini_cli", *args]
    run_once(argv, env, str(tmp / "profiled-stream.txt"))
    print(f"\ncProfile, `gemini-cli {' '.join(args)}` (stream of the (c) case), top {top} by cumulative time:")
    stats = pstats.Stats(str(stats_file), stream=sys.stdout)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    print(f"top {top} by own time:")
    stats.sort_stats("tottime").print_stats(top)


# -- main ---------------------------------------------------------------------


def stream_check(path: Path, expected: bytes) -> str | None:
    """None when the file holds exactly `expected`, else what differs."""
    got = path.read_bytes()
    if got == expected:
        return None
    at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
    return (f"{len(got):,} bytes, expected {len(expected):,}; first difference at byte {at}: "
            f"got {got[at:at + 40]!r}, expected {expected[at:at + 40]!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command (default 10)")
    parser.add_argument("--deltas", type=int, default=20_000, help="text deltas in the streamed reply (default 20000)")
    parser.add_argument("--server", choices=("raw", "werkzeug", "both"), default="both",
                        help="the server for (c): raw = http.server sending each event as one chunk in one send "
                             "(fast: curl reads 20,000 events in ~40 ms); werkzeug = werkzeug's dev server yielding "
                             "one event at a time (~3x slower per event); both (default) = one (c) row for each")
    parser.add_argument("--profile", action="store_true", help="also profile start-up (-X importtime) and the stream (cProfile)")
    args = parser.parse_args()
    if args.runs < 1 or args.deltas < 1:
        parser.error("--runs and --deltas must be at least 1")
    curl = shutil.which("curl")
    if not curl:
        sys.exit("bench: curl is needed for case (c)")

    py = sys.executable
    cli = gemini_cli_script()
    chunks = text_chunks(args.deltas)
    expected = ("".join(chunks) + "\n").encode()
    frames = sse_frames(stream_events(chunks))
    wire = b"".join(frames)
    reply = interaction_json("Hi! How can I help you today?")
    kinds = ["raw", "werkzeug"] if args.server == "both" else [args.server]
    if "werkzeug" in kinds and importlib.util.find_spec("werkzeug") is None:
        if args.server == "werkzeug":
            sys.exit("bench: werkzeug is not installed (pip install -e '.[test]')")
        print("bench: werkzeug is not installed; (c) runs on the raw server only", file=sys.stderr)
        kinds = ["raw"]
    servers: dict[str, Server] = {}
    ok = True
    try:
        for kind in kinds:
            servers[kind] = Server(kind, frames, reply)
        first = servers[kinds[0]]
        with tempfile.TemporaryDirectory(prefix="gemini-cli-bench-") as tmpdir:
            tmp = Path(tmpdir)
            home = tmp / "home"
            home.mkdir()
            base_env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
            base_env.update(GEMINI_API_KEY="dummy", GEMINI_CLI_HOME=str(home), NO_COLOR="1",
                            # Byte-code is cached as after a normal install, but under the temporary folder,
                            # so that no __pycache__ lands in the working tree (the warm-up run fills it).
                            PYTHONPYCACHEPREFIX=str(tmp / "pycache"))

            def env_for(server: Server) -> dict[str, str]:
                return {**base_env, "GOOGLE_GEMINI_BASE_URL": server.url}

            def curl_argv(server: Server) -> list[str]:
                return [curl, "-sN", "--max-time", str(int(TIMEOUT)), "-X", "POST",
                        "-H", "Content-Type: application/json", "-H", "Accept: text/event-stream",
                        "-H", "x-goog-api-key: dummy", "--data-binary", json.dumps({"model": MODEL, "input": "hi", "stream": True}),
                        f"{server.url}/v1beta/interactions"]

            # (name, gemini-cli argv, baseline argv, baseline label, target, env, stream server kind or None)
            cases: list[tuple[str, list[str], list[str], str, float, dict[str, str], str | None]] = [
                ("(a) --version", [cli, "--version"], [py, "-c", "import typer"], "python -c 'import typer'",
                 1.25, env_for(first), None),
                ("(b) generate --no-stream", [cli, "generate", "--no-stream", "hi"],
                 [py, "-c", "import typer, httpx, httpx_sse, yaml"], "python -c 'import typer, httpx, httpx_sse, yaml'",
                 1.3, env_for(first), None),
            ]
            for kind in kinds:
                cases.append((f"(c) stream, {kind} server", [cli, "generate", "hi"], curl_argv(servers[kind]),
                              f"curl -sN, same URL ({args.deltas:,} deltas)", 2.5, env_for(servers[kind]), kind))
            print(f"gemini-cli benchmarks: median of {args.runs} runs after 1 warm-up; python {sys.version.split()[0]}; "
                  f"{os.cpu_count()} CPUs; {cli}")
            rows, checks = [], []
            for name, cli_argv, base_argv, label, target, env, kind in cases:
                cli_out = base_out = None
                if kind:
                    cli_out, base_out = str(tmp / f"cli-{kind}.txt"), str(tmp / f"curl-{kind}.txt")
                cli_times, base_times = compare(cli_argv, base_argv, env, args.runs, cli_out, base_out)
                rows.append((name, label, cli_times, base_times, target))
                if kind:
                    checks.append((kind, stream_check(Path(cli_out), expected), stream_check(Path(base_out), wire)))
                print(f"  measured {name}", file=sys.stderr)

            header = (f"{'case':<26} {'gemini-cli ms':>13} {'(min)':>8}   {'baseline ms':>11} {'(min)':>8}  "
                      f"{'ratio':>6}  {'target':>6}  verdict  baseline")
            print()
            print(header)
            print("-" * len(header))
            for name, label, cli_times, base_times, target in rows:
                ratio = statistics.median(cli_times) / statistics.median(base_times)
                verdict = "ok" if ratio <= target else "MISSED"
                ok &= ratio <= target
                print(f"{name:<26} {ms(statistics.median(cli_times)):>13} {ms(min(cli_times)):>8}   "
                      f"{ms(statistics.median(base_times)):>11} {ms(min(base_times)):>8}  {ratio:5.2f}x  "
                      f"{target:5.2f}x  {verdict:<7}  {label}")
            print()
            for kind, cli_problem, curl_problem in checks:
                ok &= cli_problem is None and curl_problem is None
                print(f"(c) {kind} server: streamed stdout "
                      + (f"OK ({len(expected):,} bytes: exactly the {args.deltas:,} deltas + final newline)"
                         if cli_problem is None else f"MISMATCH ({cli_problem})")
                      + f"; curl body {'OK' if curl_problem is None else 'MISMATCH (' + curl_problem + ')'}"
                      + f"; {servers[kind].requests} requests served")

            if args.profile:
                env = env_for(first)
                profile_imports(py, env, ["--version"], "import typer")
                profile_imports(py, env, ["generate", "--no-stream", "hi"], "import typer, httpx, httpx_sse, yaml")
                profile_stream(py, env, ["generate", "hi"], tmp)
    finally:
        for server in servers.values():
            server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
