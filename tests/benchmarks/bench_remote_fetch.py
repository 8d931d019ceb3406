"""Memory and time of `gemini-cli jobs fetch` on a job with a responses file (issue 23).

How to run (from the repository root, with the project's virtualenv):

    python tests/benchmarks/bench_remote_fetch.py               # 10,000 then 100,000 rows, then 100,000 again
    python tests/benchmarks/bench_remote_fetch.py --rows 20000 50000

It is a script, not a pytest test. Exit status 0 when the peak RSS of the largest fetch
stays within 10% of the smallest's (memory does not grow with the rows) and under 100 MiB.

What happens: for each size, the job's local record (state/jobs.py: the header and the
rows file, as `batch --remote` writes them) is made directly, and a threaded loopback
server answers GET batches/bench (succeeded, with a responses file) and streams the
responses file (one GenerateContentResponse line per row, in reverse input order, so every
line is looked up by key). `gemini-cli jobs fetch OUT -q` runs in a child process; its
peak RSS comes from os.wait4's rusage (ru_maxrss). The output is checked: one completed
record per row. The last run fetches the same job again (every row already written).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TARGET_RSS_MIB = 100
GROWTH = 1.10


def make_job(home: Path, out: Path, rows: int) -> Path:
    """The job's local record and its responses file; returns the responses file."""
    folder = home / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    header = {"format": "gemini-cli-batch-job", "version": 1, "name": "batches/bench", "model": "gemini-3-flash-preview",
              "display_name": "bench", "output": os.path.realpath(out), "input": "-", "input_file": "files/in",
              "rows": rows, "created": "2026-06-01T10:00:00Z", "submission": "bench", "response_format": None,
              "fetched": None, "bad": 0}
    (folder / "bench.json").write_text(json.dumps(header))
    with open(folder / "bench.rows.jsonl", "w") as file:
        for n in range(rows):
            file.write(json.dumps([f"row-{n}", n + 1]) + "\n")
    responses = home.parent / "responses.jsonl"
    with open(responses, "w") as file:
        for n in reversed(range(rows)):
            file.write(json.dumps({"key": f"row-{n}", "response": {
                "candidates": [{"content": {"role": "model", "parts": [{"text": f"answer number {n}"}]},
                                "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 3, "totalTokenCount": 7}}}) + "\n")
    return responses


def serve(responses: Path) -> ThreadingHTTPServer:
    job = json.dumps({"name": "batches/bench", "metadata": {
        "name": "batches/bench", "state": "BATCH_STATE_SUCCEEDED", "displayName": "bench",
        "batchStats": {"requestCount": "1"}, "output": {"responsesFile": "files/batch-bench"}}}).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802
            if self.path.startswith("/v1beta/batches/bench"):
                self._send(job, "application/json")
            elif self.path.startswith("/v1beta/files/batch-bench:download"):
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(responses.stat().st_size))
                self.end_headers()
                with open(responses, "rb") as file:
                    while chunk := file.read(1 << 16):
                        self.wfile.write(chunk)
            else:
                self._send(b'{"error": {"code": 404, "message": "no"}}', "application/json", 404)

        def _send(self, body: bytes, kind: str, status: int = 200):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def fetch(folder: Path, rows: int, again: bool = False) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, completed records) of one `jobs fetch` child run."""
    home, out = folder / "home", folder / "out.jsonl"
    if not again:
        out.unlink(missing_ok=True)
        responses = make_job(home, out, rows)
    else:
        responses = folder / "responses.jsonl"
    server = serve(responses)
    env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}",
           "GEMINI_API_KEY": "bench-key-0123456789", "GEMINI_CLI_HOME": str(home)}
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "gemini_cli", "jobs", "fetch", str(out), "-q"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    stderr = child.stderr.read().decode()
    child.stderr.close()
    server.shutdown()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"jobs fetch failed ({os.waitstatus_to_exitcode(status)}): {stderr}")
    completed = 0
    with open(out, "rb") as file:
        for line in file:
            completed += json.loads(line)["status"] == "completed"
    return wall, usage.ru_maxrss / 1024, completed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    peaks = []
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            wall, rss, completed = fetch(Path(tmp), rows)
            assert completed == rows, f"{completed} of {rows} rows completed"
            peaks.append(rss)
            print(f"jobs fetch of {rows} rows (responses file, reverse order): {wall:.2f} s, "
                  f"{rows / wall:.0f} rows/s, peak RSS {rss:.1f} MiB")
            if rows == args.rows[-1]:
                wall, rss, completed = fetch(Path(tmp), rows, again=True)
                assert completed == rows, f"fetching again: {completed} records, expected {rows}"
                print(f"the same fetch again (every row written already): {wall:.2f} s, peak RSS {rss:.1f} MiB")
    growth = peaks[-1] / peaks[0]
    ok = growth <= GROWTH and max(peaks) < TARGET_RSS_MIB
    print(f"peak RSS {peaks[0]:.1f} -> {peaks[-1]:.1f} MiB ({growth:.2f}x; target <= {GROWTH}x, < {TARGET_RSS_MIB} MiB): "
          f"{'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
