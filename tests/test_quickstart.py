"""The first ten minutes: `gemini-cli demo` (a recorded answer, no key, no network) and the
README's quick start run from a fresh virtualenv, offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from conftest import run

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "data"))
from make_demo_cassette import CHUNKS  # noqa: E402  (the answer the cassette was recorded with)

ANSWER = "".join(CHUNKS)


def test_demo_replays_the_shipped_answer_without_a_key(monkeypatch, home):
    monkeypatch.delenv("GEMINI_API_KEY")
    result = run(["demo"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, ANSWER, "")
    assert not (home / "conversations").exists()  # nothing saved


def test_demo_ignores_the_config_that_would_change_the_request(home):
    (home / "config.yaml").write_text("model: pro\nsystem: You are terse.\nthinking: high\nusage: true\noutput: json\n")
    result = run(["demo"])
    assert (result.exit_code, result.stdout) == (0, ANSWER)


def test_demo_replaces_a_record_given_before_it(tmp_path):
    target = tmp_path / "rec.jsonl"
    result = run(["--record", str(target), "demo"])
    assert (result.exit_code, result.stdout) == (0, ANSWER)
    assert not target.exists()  # the demo replays: nothing to record, no request sent


def test_the_shipped_cassette_holds_one_exchange_for_the_demo_prompt():
    from gemini_cli.cli.demo import DEMO_PROMPT

    lines = (ROOT / "gemini_cli" / "data" / "demo.jsonl").read_text().splitlines()
    assert len(lines) == 1
    request = json.loads(lines[0])["request"]
    assert request["body"] == {"model": "gemini-3-flash-preview", "input": DEMO_PROMPT, "stream": True}
    assert "<redacted>" in dict(request["headers"]).values()


def _fresh_clone(target: Path) -> Path:
    """The files a clone has (tracked by git), copied: no .venv, no build, no egg-info."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def test_quick_start_in_a_fresh_virtualenv_offline(tmp_path):
    clone = _fresh_clone(tmp_path / "gemini-cli")
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    # The dependencies come from this test's environment (offline: no index), through a .pth
    # line, which adds the folder without running its .pth files (this checkout's editable hook).
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {key: value for key, value in os.environ.items()
           if key not in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "PYTHONPATH")}
    env.update(GEMINI_CLI_HOME=str(tmp_path / "home"), PIP_NO_INDEX="1")
    cli = str(venv / "bin" / "gemini-cli")
    for install in (["."], ["-e", "."]):  # pipx and `pip install .` copy; the quick start's -e links
        proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", *install],
                              cwd=clone, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        demo = subprocess.run([cli, "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert (demo.returncode, demo.stdout, demo.stderr) == (0, ANSWER, "")
        where = subprocess.run([str(python), "-c", "import gemini_cli; print(gemini_cli.__file__)"], cwd=tmp_path,
                               env=env, capture_output=True, text=True, check=True).stdout
        assert where.startswith(purelib if install == ["."] else str(clone)), where
    help_ = subprocess.run([cli, "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert help_.returncode == 0
    assert "demo" in help_.stdout and "generate" in help_.stdout
