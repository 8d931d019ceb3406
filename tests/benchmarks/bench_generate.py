"""Start-up and streaming benchmarks for gemini-cli against the libraries it stands on.

How to run (from the repository root, with the project's virtualenv):

    python tests/benchmarks/bench_generate.py              # 10 timed runs per command
    python tests/benchmarks/bench_generate.py --runs 20    # more runs, steadier medians
    python tests/benchmarks/bench_generate.py --profile    # also: -X importtime and cProfile

Needs the project's dependencies, the system's curl and openssl (for the https server's
test certificate, made at run time in a temporary folder). It is a script, not a pytest
test (pytest collects only test_*.py), so it never slows the test suite. Exit status: 0
when every target is met and every output is exact, 1 otherwise.

What it measures (median wall time of N runs each, after one warm-up run; the commands
of a row alternate so that machine drift hits them alike), over http and over https:

  (a) `gemini-cli --version`                 vs `python -c "import typer"`          target <= 1.25x
  (b) `gemini-cli generate --no-stream "hi"` vs a bare script: imports typer and     target <= 1.25x
      against a local server answering with     yaml, makes the same POST with
      a small Interaction JSON                  httpx.Client, prints the answer
  (c) `gemini-cli generate "hi"` streamed,   vs a bare script: the same POST with    target <= 1.5x
      20,000 text deltas, stdout to a file      httpx + httpx-sse, printing the same
                                                deltas; curl -sN printed for reference

The local server (a thread of this script on 127.0.0.1; TLS with a self-signed
certificate for https, trusted through SSL_CERT_FILE) streams like the real API: one SSE
event per HTTP chunk (chunked transfer encoding), each in one send(), with the event
sequence of the API's streaming docs (interaction.created, status_update, a thought step
with a signature, model_output step.start, N text step.delta events, step.stop,
interaction.completed with usage, then `event: done` / `data: [DONE]`). Every stdout is
checked: gemini-cli's and the bare scripts' are exactly the text plus the final newline,
curl's is exactly the SSE bytes sent.

The child processes get GEMINI_API_KEY=dummy, GOOGLE_GEMINI_BASE_URL, a temporary
GEMINI_CLI_HOME, and byte-code caching under a temporary PYTHONPYCACHEPREFIX (with
PYTHONDONTWRITEBYTECODE / PYTHONUNBUFFERED removed), as in a user's shell after install.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import resource
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
    """A running fake API over http or https: `url`, a request counter, and `stop()`."""

    def __init__(self, frames: list[bytes], reply: bytes, certificate: tuple[Path, Path] | None = None):
        self.server = FakeApi(frames, reply)
        self.scheme = "https" if certificate else "http"
        if certificate:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    @property
    def requests(self) -> int:
        return self.server.requests

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made now by the openssl CLI (never committed)."""
    openssl = shutil.which("openssl")
    if not openssl:
        sys.exit("bench: the openssl CLI is needed for the https server's test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    return cert, key


# -- the bare scripts: the same work on the libraries alone --------------------

HEADERS = """headers = {"Content-Type": "application/json", "Accept": ACCEPT, "Api-Revision": "2026-05-20",
           "User-Agent": "bare/1.0", "x-goog-api-key": os.environ["GEMINI_API_KEY"]}
url = os.environ["GOOGLE_GEMINI_BASE_URL"] + "/v1beta/interactions"
"""

BARE_POST = """import json, os, sys
import typer, yaml
import httpx
ACCEPT = "application/json"
""" + HEADERS + """with httpx.Client(timeout=300) as client:
    response = client.post(url, content=json.dumps({"model": "gemini-3-flash-preview", "input": "hi"}), headers=headers)
    response.raise_for_status()
    answer = response.json()
text = "".join(part.get("text", "") for step in answer["steps"] if step["type"] == "model_output" for part in step["content"])
sys.stdout.write(text + "\\n")
"""

BARE_STREAM = """import json, os, sys
import httpx
from httpx_sse import connect_sse
ACCEPT = "text/event-stream"
""" + HEADERS + """body = {"model": "gemini-3-flash-preview", "input": "hi", "stream": True}
write = sys.stdout.write
with httpx.Client(timeout=300) as client:
    with connect_sse(client, "POST", url, json=body, headers=headers) as source:
        source.response.raise_for_status()
        for sse in source.iter_sse():
            if sse.data == "[DONE]":
                break
            event = json.loads(sse.data)
            if event.get("event_type") == "step.delta" and event["delta"].get("type") == "text":
                write(event["delta"]["text"])
write("\\n")
"""


# -- timing -------------------------------------------------------------------


def gemini_cli_script() -> str:
    beside = Path(sys.executable).with_name("gemini-cli")
    if beside.exists():
        return str(beside)
    found = shutil.which("gemini-cli")
    if not found:
        sys.exit("bench: no gemini-cli script beside this python nor on PATH (pip install -e . first)")
    return found


CPU: dict[str, list[float]] = {}  # " ".join(argv) -> CPU seconds (user + system) of each run


def run_once(argv: list[str], env: dict[str, str], stdout_path: str | None = None) -> float:
    """Wall time of one run (its CPU time is added to CPU); stdout to a file (or /dev/null).
    A failure aborts the benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(stdout_path or os.devnull, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, env=env, timeout=TIMEOUT)
        elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)!r} exited {proc.returncode}:\n{proc.stderr.decode(errors='replace')[-2000:]}")
    # The children are run one at a time: the difference is this run's.
    CPU.setdefault(" ".join(argv), []).append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return elapsed


def compare(commands: list[tuple[list[str], str | None]], env: dict[str, str], runs: int) -> list[list[float]]:
    """One warm-up each, then `runs` rounds running each (argv, stdout file) in turn: times per command."""
    for argv, out in commands:
        run_once(argv, env, out)
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for n, (argv, out) in enumerate(commands):
            times[n].append(run_once(argv, env, out))
    return times


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
    parser.add_argument("--scheme", choices=("http", "https", "both"), default="both",
                        help="measure (b) and (c) over http, https or both (default)")
    parser.add_argument("--profile", action="store_true", help="also profile start-up (-X importtime) and the stream (cProfile)")
    args = parser.parse_args()
    if args.runs < 1 or args.deltas < 1:
        parser.error("--runs and --deltas must be at least 1")
    curl = shutil.which("curl")
    if not curl:
        sys.exit("bench: curl is needed for the reference figure of (c)")

    py = sys.executable
    cli = gemini_cli_script()
    chunks = text_chunks(args.deltas)
    expected = ("".join(chunks) + "\n").encode()
    frames = sse_frames(stream_events(chunks))
    wire = b"".join(frames)
    answer = "Hi! How can I help you today?"
    reply = interaction_json(answer)
    schemes = ["http", "https"] if args.scheme == "both" else [args.scheme]
    servers: dict[str, Server] = {}
    ok = True
    with tempfile.TemporaryDirectory(prefix="gemini-cli-bench-") as tmpdir:
        tmp = Path(tmpdir)
        certificate = make_certificate(tmp) if "https" in schemes else None
        try:
            for scheme in schemes:
                servers[scheme] = Server(frames, reply, certificate if scheme == "https" else None)
            home = tmp / "home"
            home.mkdir()
            bare_post, bare_stream = tmp / "bare_post.py", tmp / "bare_stream.py"
            bare_post.write_text(BARE_POST)
            bare_stream.write_text(BARE_STREAM)
            base_env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
            base_env.update(GEMINI_API_KEY="dummy", GEMINI_CLI_HOME=str(home), NO_COLOR="1",
                            # Byte-code is cached as after a normal install, but under the temporary folder,
                            # so that no __pycache__ lands in the working tree (the warm-up run fills it).
                            PYTHONPYCACHEPREFIX=str(tmp / "pycache"))
            if certificate:
                base_env["SSL_CERT_FILE"] = str(certificate[0])  # trusted by httpx (and so by both sides)

            def env_for(server: Server) -> dict[str, str]:
                return {**base_env, "GOOGLE_GEMINI_BASE_URL": server.url}

            def curl_argv(server: Server) -> list[str]:
                argv = [curl, "-sN", "--max-time", str(int(TIMEOUT)), "-X", "POST",
                        "-H", "Content-Type: application/json", "-H", "Accept: text/event-stream",
                        "-H", "x-goog-api-key: dummy", "--data-binary",
                        json.dumps({"model": MODEL, "input": "hi", "stream": True}), f"{server.url}/v1beta/interactions"]
                return argv + (["--cacert", str(certificate[0])] if certificate and server.scheme == "https" else [])

            def out(name: str) -> str:
                return str(tmp / f"{name}.txt")

            # (name, [(argv, stdout file)], labels, target, env, expected stdouts)
            cases: list[tuple[str, list[tuple[list[str], str | None]], list[str], float, dict[str, str], list[bytes | None]]] = [
                ("(a) --version", [([cli, "--version"], None), ([py, "-c", "import typer"], None)],
                 ["gemini-cli", "python -c 'import typer'"], 1.25, env_for(servers[schemes[0]]), [None, None]),
            ]
            for scheme in schemes:
                server = servers[scheme]
                cases.append((f"(b) --no-stream, {scheme}",
                               [([cli, "generate", "--no-stream", "hi"], out(f"b-cli-{scheme}")),
                                ([py, str(bare_post)], out(f"b-bare-{scheme}"))],
                               ["gemini-cli", "bare typer+yaml+httpx POST"], 1.25, env_for(server),
                               [f"{answer}\n".encode(), f"{answer}\n".encode()]))
                cases.append((f"(c) stream, {scheme}",
                               [([cli, "generate", "hi"], out(f"c-cli-{scheme}")),
                                ([py, str(bare_stream)], out(f"c-bare-{scheme}")),
                                (curl_argv(server), out(f"c-curl-{scheme}"))],
                               ["gemini-cli", f"bare httpx+httpx-sse ({args.deltas:,} deltas)", "curl -sN (reference)"],
                               1.5, env_for(server), [expected, expected, wire]))
            print(f"gemini-cli benchmarks: median of {args.runs} runs after 1 warm-up; python {sys.version.split()[0]}; "
                  f"{os.cpu_count()} CPUs; {cli}")
            rows, problems, cpus = [], [], []
            for name, commands, labels, target, env, expect in cases:
                times = compare(commands, env, args.runs)
                cpu = [statistics.median(CPU[" ".join(argv)][1:]) for argv, _ in commands]  # timed runs only
                rows.append((name, labels, times, target))
                cpus.append((name, labels, cpu))
                for (argv, path), label, want in zip(commands, labels, expect):
                    if path and want is not None and (problem := stream_check(Path(path), want)):
                        problems.append(f"{name}, {label}: stdout MISMATCH: {problem}")
                print(f"  measured {name}", file=sys.stderr)

            header = f"{'case':<22} {'gemini-cli ms':>13} {'(min)':>8}   {'baseline ms':>11} {'(min)':>8}  {'ratio':>6}  {'target':>6}  verdict  baseline"
            print()
            print(header)
            print("-" * len(header))
            for name, labels, times, target in rows:
                ratio = statistics.median(times[0]) / statistics.median(times[1])
                verdict = "ok" if ratio <= target else "MISSED"
                ok &= ratio <= target
                print(f"{name:<22} {ms(statistics.median(times[0])):>13} {ms(min(times[0])):>8}   "
                      f"{ms(statistics.median(times[1])):>11} {ms(min(times[1])):>8}  {ratio:5.2f}x  "
                      f"{target:5.2f}x  {verdict:<7}  {labels[1]}")
                for label, extra in zip(labels[2:], times[2:]):
                    print(f"{'':<22} {'':>13} {'':>8}   {ms(statistics.median(extra)):>11} {ms(min(extra)):>8}  "
                          f"{statistics.median(times[0]) / statistics.median(extra):5.2f}x  {'':>6}  {'':<7}  {label}")
            print()
            print("CPU time (user + system, median), steadier than wall time on a busy machine:")
            for name, labels, cpu in cpus:
                print(f"  {name:<22} " + "  ".join(f"{label} {seconds * 1000:.0f} ms" for label, seconds in zip(labels, cpu))
                      + f"  (ratio {cpu[0] / cpu[1]:.2f}x)")
            print()
            for problem in problems:
                print(problem)
            ok &= not problems
            if not problems:
                print(f"every stdout exact (the streams: {len(expected):,} bytes of text + newline; curl: the "
                      f"{len(wire):,} SSE bytes); requests served: "
                      + ", ".join(f"{scheme} {servers[scheme].requests}" for scheme in schemes))

            if args.profile:
                env = env_for(servers[schemes[-1]])
                profile_imports(py, env, ["--version"], "import typer")
                profile_imports(py, env, ["generate", "--no-stream", "hi"], "import typer, yaml, httpx")
                profile_stream(py, env, ["generate", "hi"], tmp)
        finally:
            for server in servers.values():
                server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
