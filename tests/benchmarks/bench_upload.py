"""Memory and speed of `gemini-cli upload` on a large file (issue 4's benchmark).

How to run (from the repository root, with the project's virtualenv):

    python tests/benchmarks/bench_upload.py                 # 1 GiB sparse file
    python tests/benchmarks/bench_upload.py --size 256M     # a smaller one
    python tests/benchmarks/bench_upload.py --dense         # real (pseudo-random) bytes on disk
    python tests/benchmarks/bench_upload.py --runs 3        # several runs: the peak and the best rate
    python tests/benchmarks/bench_upload.py --stdin         # `generate -a -` with the file piped in

It is a script, not a pytest test (pytest collects only test_*.py), so it never slows the
test suite. Exit status: 0 when the peak RSS is under the target (64 MiB) and the server
received every byte with a finalize on the last chunk; 1 otherwise.

What happens: a local fake of the Files API (a threaded http.server on 127.0.0.1, a free
port) implements the resumable protocol of interactions-api.md §8.1 (start -> upload URL,
`upload` chunks at the right offsets, `upload, finalize`, `query`) and discards the bytes,
counting them. `gemini-cli upload --force FILE` runs in a child process against it
(GOOGLE_GEMINI_BASE_URL, a dummy GEMINI_API_KEY, a temporary GEMINI_CLI_HOME); the peak
resident set size of that child comes from os.wait4's rusage (ru_maxrss, KiB on Linux),
the time from the wall clock around it. The run includes everything the user waits for:
start-up, the SHA-256 of the file for the upload cache (read in 1 MiB blocks), the upload
in 8 MiB chunks, and the final File. For scale, the peak RSS of `gemini-cli upload` on a
one-byte file (start-up and imports only) is printed too.

With --stdin the child is `gemini-cli generate --no-stream -q --mime video/mp4 -a - "Describe"` with the file
as its stdin: past 20 MiB the stream is copied to a temporary file (in $TMPDIR) and uploaded
from there, then the fake answers the interaction with "ok". The upload cache is cleared
before each run, so every run uploads.

A sparse file reads as zeros from the page cache, so the rate is the client's and the
loopback's, not the disk's; --dense writes pseudo-random bytes first (slower to set up).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TARGET_RSS_MIB = 64
BLOCK = 1024 * 1024


class FakeFilesApi(BaseHTTPRequestHandler):
    """Start, chunk, finalize and query of the resumable protocol; bytes are discarded."""

    protocol_version = "HTTP/1.1"
    sessions: dict[str, dict] = {}
    lock = threading.Lock()

    def log_message(self, format, *args):  # quiet
        pass

    def _reply(self, status: int, headers: dict[str, str], payload: dict | None = None) -> None:
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _discard_body(self) -> int:
        left = int(self.headers.get("Content-Length") or 0)
        total = left
        while left:
            chunk = self.rfile.read(min(left, BLOCK))
            if not chunk:
                raise ConnectionError("the client closed the connection mid-body")
            left -= len(chunk)
        return total

    def do_POST(self):
        command = (self.headers.get("X-Goog-Upload-Command") or "").lower()
        if self.path.endswith("/interactions"):  # --stdin: the generate request after the upload
            self._discard_body()
            step = {"type": "model_output", "content": [{"type": "text", "text": "ok"}]}
            return self._reply(200, {}, {"id": "v1_bench", "status": "completed", "steps": [step]})
        if not self.path.startswith("/upload/"):
            self._discard_body()
            return self._reply(404, {}, {"error": {"code": 404, "message": "not here", "status": "NOT_FOUND"}})
        if command == "start":
            meta = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            with self.lock:
                upload_id = f"u{len(self.sessions) + 1}"
                self.sessions[upload_id] = {
                    "size": int(self.headers["X-Goog-Upload-Header-Content-Length"]),
                    "mime": self.headers["X-Goog-Upload-Header-Content-Type"],
                    "meta": meta, "received": 0, "chunks": 0, "final": False, "bad_offsets": 0,
                }
            host = self.headers.get("Host")
            url = f"http://{host}/upload/v1beta/files?upload_id={upload_id}&upload_protocol=resumable"
            return self._reply(200, {"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"})
        match = re.search(r"upload_id=([^&]+)", self.path)
        session = self.sessions.get(match.group(1)) if match else None
        n = self._discard_body()
        if session is None:
            return self._reply(404, {}, {"error": {"code": 404, "message": "no such upload", "status": "NOT_FOUND"}})
        if command == "query":
            return self._reply(200, {"X-Goog-Upload-Status": "active", "X-Goog-Upload-Size-Received": str(session["received"])})
        offset = int(self.headers.get("X-Goog-Upload-Offset") or -1)
        if offset != session["received"]:
            session["bad_offsets"] += 1
            return self._reply(400, {}, {"error": {"code": 400, "message": "bad offset", "status": "INVALID_ARGUMENT"}})
        session["received"] += n
        session["chunks"] += 1
        if "finalize" in command:
            session["final"] = True
            file = {
                "name": "files/bench1", "mimeType": session["mime"], "sizeBytes": str(session["received"]),
                "uri": "https://generativelanguage.googleapis.com/v1beta/files/bench1", "state": "ACTIVE",
                "expirationTime": "2099-01-01T00:00:00Z",
            }
            return self._reply(200, {"X-Goog-Upload-Status": "final"}, {"file": file})
        return self._reply(200, {"X-Goog-Upload-Status": "active"})

    def do_GET(self):
        file = {"name": "files/bench1", "state": "ACTIVE", "uri": "https://generativelanguage.googleapis.com/v1beta/files/bench1"}
        self._reply(200, {}, file)


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+)([KMG]?)i?B?", text.strip(), re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (for example 1G, 256M)")
    return int(m.group(1)) * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[m.group(2).upper()]


def make_file(path: str, size: int, dense: bool) -> None:
    with open(path, "wb") as f:
        if not dense:
            f.truncate(size)
            return
        block = os.urandom(8 * BLOCK)
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def run_child(args: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[int, float, int, str, str]:
    """Run a child (stdin from a file, or none); (exit code, wall seconds, peak RSS in KiB, stdout, stderr)."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    source = open(stdin, "rb") if stdin else subprocess.DEVNULL
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=out, stderr=err, stdin=source)
    _, status, usage = os.wait4(proc.pid, 0)
    if stdin:
        source.close()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    err.seek(0)
    return proc.returncode, wall, usage.ru_maxrss, out.read().decode(errors="replace"), err.read().decode(errors="replace")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=1024**3, help="file size (default 1G)")
    parser.add_argument("--dense", action="store_true", help="write real bytes instead of a sparse file")
    parser.add_argument("--runs", type=int, default=1, help="runs (default 1)")
    parser.add_argument("--stdin", action="store_true", help="pipe the file into `generate -a -` instead of `upload FILE`")
    opts = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeFilesApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"

    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")}
        env.update(GEMINI_API_KEY="dummy-key", GOOGLE_GEMINI_BASE_URL=base_url, GEMINI_CLI_HOME=os.path.join(tmp, "home"))
        os.mkdir(env["GEMINI_CLI_HOME"])
        cli = [sys.executable, "-m", "gemini_cli", "upload", "--force", "--mime", "video/mp4"]

        tiny = os.path.join(tmp, "tiny.mp4")
        make_file(tiny, 1, dense=True)
        code, wall, base_rss, out, err = run_child(cli + [tiny], env)
        if code != 0:
            print(f"baseline upload failed (exit {code}):\n{err}", file=sys.stderr)
            return 1

        big = os.path.join(tmp, "big.mp4")
        t0 = time.perf_counter()
        make_file(big, opts.size, opts.dense)
        setup = time.perf_counter() - t0
        kind = "dense" if opts.dense else "sparse"
        print(f"file: {opts.size / 1024**2:.0f} MiB ({kind}, written in {setup:.1f} s); server: {base_url}")
        print(f"baseline (1-byte upload: start-up and imports): peak RSS {base_rss / 1024:.1f} MiB, {wall:.2f} s")

        peaks, rates = [], []
        if opts.stdin:
            print("piped into: gemini-cli generate --no-stream -q --mime video/mp4 -a - Describe")
        for run in range(1, opts.runs + 1):
            FakeFilesApi.sessions.clear()
            cache = os.path.join(env["GEMINI_CLI_HOME"], "uploads.json")
            if os.path.exists(cache):
                os.unlink(cache)
            if opts.stdin:
                generate = [sys.executable, "-m", "gemini_cli", "generate", "--no-stream", "-q", "--mime", "video/mp4", "-a", "-", "Describe"]
                code, wall, rss, out, err = run_child(generate, env, stdin=big)
            else:
                code, wall, rss, out, err = run_child(cli + [big], env)
            (session,) = FakeFilesApi.sessions.values() or [None]
            complete = (
                code == 0 and session is not None and session["received"] == opts.size and session["final"]
                and not session["bad_offsets"] and (out == "ok\n" if opts.stdin else out.startswith("files/bench1\t"))
            )
            rate = opts.size / 1024**2 / wall
            peaks.append(rss)
            rates.append(rate)
            chunks = session["chunks"] if session else 0
            print(
                f"run {run}: exit {code}, {wall:.2f} s, {rate:.0f} MiB/s, peak RSS {rss / 1024:.1f} MiB, "
                f"{chunks} chunks, server got {session['received'] if session else 0} bytes"
                f"{'' if complete else '  INCOMPLETE'}"
            )
            if not complete:
                ok = False
                print(err, file=sys.stderr)
    server.shutdown()

    peak = max(peaks) / 1024
    verdict = "OK" if peak < TARGET_RSS_MIB else "OVER"
    print(f"peak RSS {peak:.1f} MiB (target < {TARGET_RSS_MIB} MiB: {verdict}); best throughput {max(rates):.0f} MiB/s")
    return 0 if ok and peak < TARGET_RSS_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
