"""Speed and memory of `gemini-cli batch` (issue 15's benchmark).

How to run (from the repository root, with the project's virtualenv):

    python tests/benchmarks/bench_batch.py                  # 1,000 rows, 200 ms latency, -j 32
    python tests/benchmarks/bench_batch.py --runs 3         # several runs: the best and the worst
    python tests/benchmarks/bench_batch.py --memory         # 100,000 rows, no latency: peak RSS (and resumed)
    python tests/benchmarks/bench_batch.py --rows 5000 --latency 0.05 --jobs 16

It is a script, not a pytest test. Exit status: 0 when the wall time is within 1.5x of
the ideal (rows x latency / jobs); with --memory, when the peak RSS is under 100 MiB and
stays within 10% of the peak of a 10,000-row run (memory does not grow with rows).

What happens: tests/batch_server.py's threaded loopback server (a thread per request,
HTTP/1.1 keep-alive) answers each create after `latency` with the input echoed.
`gemini-cli batch --format lines -q -o OUT -j N` runs in a child process against it
(GOOGLE_GEMINI_BASE_URL, a dummy key, a temporary GEMINI_CLI_HOME); its wall time
includes start-up; its peak RSS comes from os.wait4's rusage (ru_maxrss, KiB on Linux).
The output is checked: one completed record per row.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from batch_server import BatchServer  # noqa: E402

TARGET_RATIO = 1.5
TARGET_RSS_MIB = 100


def run_batch(server: BatchServer, rows: int, jobs: int, folder: Path, resume: bool = False) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, completed records) of one child run; `resume`: run the
    previous run's command again (every row skipped)."""
    source, out = folder / "rows.txt", folder / "out.jsonl"
    if not resume:
        with open(source, "w") as file:
            for n in range(rows):
                file.write(f"prompt number {n}\n")
        out.unlink(missing_ok=True)
    env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": server.url, "GEMINI_API_KEY": "bench-key-0123456789",
           "GEMINI_CLI_HOME": str(folder / "home")}
    command = [sys.executable, "-m", "gemini_cli", "batch", "--format", "lines", "-q", "-o", str(out), "-j", str(jobs), str(source)]
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    stderr = child.stderr.read().decode()
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"batch failed ({os.waitstatus_to_exitcode(status)}): {stderr}")
    completed = 0
    with open(out, "rb") as file:
        for line in file:
            completed += json.loads(line)["status"] == "completed"
    return wall, usage.ru_maxrss / 1024, completed


def speed(args: argparse.Namespace) -> int:
    server = BatchServer(latency=args.latency, keep=False)
    ideal = args.rows * args.latency / args.jobs
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            wall, rss, completed = run_batch(server, args.rows, args.jobs, Path(tmp))
            assert completed == args.rows, f"{completed} of {args.rows} rows completed"
            walls.append(wall)
            print(f"{args.rows} rows, {args.latency * 1000:.0f} ms latency, -j {args.jobs}: {wall:.2f} s "
                  f"(ideal {ideal:.2f} s, {wall / ideal:.2f}x), peak RSS {rss:.0f} MiB, server peak {server.peak} in flight")
    server.close()
    best, worst = min(walls), max(walls)
    print(f"best {best:.2f} s = {best / ideal:.2f}x, worst {worst:.2f} s = {worst / ideal:.2f}x of ideal (target <= {TARGET_RATIO}x)")
    return 0 if worst / ideal <= TARGET_RATIO else 1


def memory(args: argparse.Namespace) -> int:
    server = BatchServer(keep=False)
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (10_000, 100_000):
            wall, rss, completed = run_batch(server, rows, args.jobs, Path(tmp))
            assert completed == rows, f"{completed} of {rows} rows completed"
            peaks[rows] = rss
            print(f"{rows} rows, no latency, -j {args.jobs}: {wall:.1f} s ({rows / wall:.0f} rows/s), peak RSS {rss:.1f} MiB")
        wall, rss, completed = run_batch(server, 100_000, args.jobs, Path(tmp), resume=True)
        print(f"the same again, resumed (100,000 completed ids kept to skip every row): {wall:.1f} s, peak RSS {rss:.1f} MiB")
    server.close()
    grows = peaks[100_000] / peaks[10_000]
    print(f"peak RSS 100,000 vs 10,000 rows: {grows:.2f}x (target <= 1.10x, and < {TARGET_RSS_MIB} MiB)")
    return 0 if grows <= 1.10 and peaks[100_000] < TARGET_RSS_MIB else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--jobs", type=int, default=32)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--memory", action="store_true", help="100,000 rows without latency: peak RSS")
    args = parser.parse_args()
    return memory(args) if args.memory else speed(args)


if __name__ == "__main__":
    sys.exit(main())
