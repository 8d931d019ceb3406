"""Benchmark: `history list` over 2,000 conversations of 20 turns each.

Not a pytest test (design.md §7: benchmarks print figures, they assert nothing).
Run: python tests/benchmarks/bench_history_list.py [--conversations N] [--turns N]

Each turn is realistic in size: a user_input step, a thought step with a ~200-char
base64 signature, a ~500-char model_output, and usage. Figures printed:
  cold  first list() in a fresh process, no cache yet (parses every file, writes .index.json)
  warm  list() again in the same process, and in a new process (cache only)
  e2e   the whole `python -c "from gemini_cli.state.store import ..."` subprocess, interpreter start-up included
  cli   the real command, `gemini-cli history list` (the console script next to this python,
        else `python -m gemini_cli`), wall time with the table written to a pipe
Target: `gemini-cli history list` (warm) under 0.5 s.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from gemini_cli.state import store  # noqa: E402
from gemini_cli.request.inputs import user_input_step  # noqa: E402
from gemini_cli.state.conversation import Conversation  # noqa: E402

WORDS = "the of model answer token stream gemini turn history signature quick brown fox data".split()

LIST_SNIPPET = (
    "import time; t = time.perf_counter();"
    "from gemini_cli.state.store import ConversationStore;"
    "s = ConversationStore().list();"
    "print(len(s), time.perf_counter() - t)"
)


def text(rng: random.Random, chars: int) -> str:
    out = []
    while sum(map(len, out)) + len(out) < chars:
        out.append(rng.choice(WORDS))
    return " ".join(out)[:chars]


def make_conversation(rng: random.Random, n: int, turns: int) -> Conversation:
    conv = Conversation.new("gemini-3-flash-preview", store=n % 3 != 0,
                            generation_config={"temperature": 0.7, "thinking_level": "low"})
    for t in range(turns):
        turn = conv.add_turn([user_input_step(f"Question {t}: " + text(rng, 120))])
        signature = base64.b64encode(rng.randbytes(150)).decode()  # 200 chars
        turn.record({
            "id": f"v1_{conv.id}_{t}", "status": "completed",
            "steps": [{"type": "thought", "signature": signature},
                      {"type": "model_output", "content": [{"type": "text", "text": text(rng, 500)}]}],
            "usage": {"total_input_tokens": 40 * (t + 1), "total_output_tokens": 120, "total_thought_tokens": 64,
                      "total_tokens": 40 * (t + 1) + 184},
        })
    # Spread `updated` over a year so the sort has real work to do.
    conv.updated = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(1_760_000_000 + rng.randrange(31_536_000)))
    return conv


def create(root: Path, count: int, turns: int) -> int:
    rng = random.Random(1234)
    root.mkdir(parents=True, mode=0o700)
    total = 0
    for n in range(count):
        conv = make_conversation(rng, n, turns)
        data = store.dumps(conv)
        # Plain write, not write_atomic: 2,000 fsyncs would time the disk, not the listing.
        (root / f"{conv.id}.json").write_bytes(data)
        total += len(data)
    return total


def run_subprocess(env: dict[str, str]) -> tuple[int, float, float]:
    """(count listed, list() time inside the child, whole subprocess wall time)."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", LIST_SNIPPET], env=env, cwd=REPO, check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]), float(out[1]), time.perf_counter() - start


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("gemini-cli")
    if script.exists():
        return [str(script)]
    found = shutil.which("gemini-cli")
    return [found] if found else [sys.executable, "-m", "gemini_cli"]


def run_cli(env: dict[str, str], *args: str) -> tuple[int, float]:
    """(rows printed, wall time) of `gemini-cli history list ARGS`."""
    start = time.perf_counter()
    out = subprocess.run([*cli_command(), "history", "list", *args], env=env, cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    return out.count("\n") - 1, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gemini-cli-bench-") as home:
        env = dict(os.environ, GEMINI_CLI_HOME=home, PYTHONPATH=str(REPO))
        os.environ["GEMINI_CLI_HOME"] = home
        root = store.ConversationStore().root

        start = time.perf_counter()
        size = create(root, args.conversations, args.turns)
        print(f"created {args.conversations} conversations x {args.turns} turns: "
              f"{size / 1e6:.1f} MB in {time.perf_counter() - start:.1f} s "
              f"({size / args.conversations / 1e3:.1f} kB each)")

        rows, cold_cli = run_cli(env)
        print(f"cli   `{' '.join(cli_command())} history list`, cold (builds the cache): "
              f"{cold_cli * 1000:8.1f} ms   [{rows} rows]")
        (root / store.INDEX_NAME).unlink()

        count, inner, wall = run_subprocess(env)
        print(f"cold  (fresh process, no cache)   list(): {inner * 1000:8.1f} ms   "
              f"subprocess e2e: {wall * 1000:8.1f} ms   [{count} listed]")
        print(f"      index file: {(root / store.INDEX_NAME).stat().st_size / 1e3:.0f} kB")

        cs = store.ConversationStore()
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            count = len(cs.list())
            times.append(time.perf_counter() - t)
        print(f"warm  (same process, x{args.repeat})          list(): median {statistics.median(times) * 1000:.1f} ms, "
              f"min {min(times) * 1000:.1f} ms   [{count} listed]")

        runs = [run_subprocess(env) for _ in range(args.repeat)]
        print(f"warm  (fresh process, x{args.repeat})          list(): median "
              f"{statistics.median(r[1] for r in runs) * 1000:.1f} ms   subprocess e2e: median "
              f"{statistics.median(r[2] for r in runs) * 1000:.1f} ms")

        cli = [run_cli(env) for _ in range(args.repeat)]
        cli_n = [run_cli(env, "-n", "20") for _ in range(args.repeat)]
        print(f"cli   `gemini-cli history list` (warm, x{args.repeat}):  median "
              f"{statistics.median(r[1] for r in cli) * 1000:.1f} ms, max {max(r[1] for r in cli) * 1000:.1f} ms   "
              f"[{cli[0][0]} rows]   TARGET < 500 ms")
        print(f"cli   `gemini-cli history list -n 20` (warm):  median "
              f"{statistics.median(r[1] for r in cli_n) * 1000:.1f} ms")

        t = time.perf_counter()
        cs.list(limit=20)
        print(f"warm  list(limit=20):                      {(time.perf_counter() - t) * 1000:.1f} ms")

        # One conversation changed: only that file is re-parsed.
        victim = next(root.glob("*.json"))
        conv = store.load(victim)
        conv.add_turn([user_input_step("one more")])
        store.save(victim, conv)
        t = time.perf_counter()
        cs.list()
        print(f"after one file changed:                    {(time.perf_counter() - t) * 1000:.1f} ms")

        base = [time.perf_counter() for _ in range(1)]
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        startup = time.perf_counter() - base[0]
        imp = subprocess.run([sys.executable, "-X", "importtime", "-c", "import gemini_cli.state.store"], env=env,
                             capture_output=True, text=True).stderr.strip().splitlines()[-1]
        print(f"reference: bare `python -c pass` {startup * 1000:.1f} ms; "
              f"import gemini_cli.state.store {int(imp.split('|')[1]) / 1000:.1f} ms cumulative")


if __name__ == "__main__":
    main()
