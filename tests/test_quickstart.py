"""The first ten minutes: `gemini-cli demo` (a recorded answer, no key, no network) and the
README's quick start run from a fresh virtualenv, offline."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import run, text_events

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


class FreshVenv:
    """A fresh clone of this checkout with its own virtualenv (no pip index: offline)."""

    def __init__(self, root: Path):
        self.clone = _fresh_clone(root / "gemini-cli")
        self.venv = self.clone / ".venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(self.venv)], check=True, timeout=60)
        self.python = self.venv / "bin" / "python"
        self.cli = str(self.venv / "bin" / "gemini-cli")
        # The dependencies come from this test's environment (offline: no index), through a .pth
        # line, which adds the folder without running its .pth files (this checkout's editable hook).
        self.purelib = subprocess.run([str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                      capture_output=True, text=True, check=True).stdout.strip()
        Path(self.purelib, "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        self.installed: list[str] | None = None

    def env(self, home: Path) -> dict[str, str]:
        """This process's environment (the conftest's `home` fixture cleared the stray settings)
        without a key and without PYTHONPATH, with GEMINI_CLI_HOME=home."""
        env = {key: value for key, value in os.environ.items()
               if key not in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "PYTHONPATH")}
        env.update(GEMINI_CLI_HOME=str(home), PIP_NO_INDEX="1")
        return env

    def install(self, args: list[str], env: dict[str, str]) -> None:
        proc = subprocess.run([str(self.python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", *args],
                              cwd=self.clone, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        self.installed = args


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> FreshVenv:
    """Built once for the module: the tests below share it."""
    return FreshVenv(tmp_path_factory.mktemp("quickstart"))


def test_quick_start_in_a_fresh_virtualenv_offline(fresh_venv, tmp_path, home):
    qs = fresh_venv
    env = qs.env(home)
    for install in (["."], ["-e", "."]):  # pipx and `pip install .` copy; the quick start's -e links
        qs.install(install, env)
        demo = subprocess.run([qs.cli, "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert (demo.returncode, demo.stdout, demo.stderr) == (0, ANSWER, "")
        where = subprocess.run([str(qs.python), "-c", "import gemini_cli; print(gemini_cli.__file__)"], cwd=tmp_path,
                               env=env, capture_output=True, text=True, check=True).stdout
        assert where.startswith(qs.purelib if install == ["."] else str(qs.clone)), where
    help_ = subprocess.run([qs.cli, "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert help_.returncode == 0
    assert "demo" in help_.stdout and "generate" in help_.stdout


# -- the README's quick start, command by command -------------------------------------------


def _quick_start_blocks() -> list[list[str]]:
    """The ```sh blocks of the README's "Quick start" section, each a list of its commands
    (every line up to its `#` comment)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    section = section.split("\n### ", 1)[0]  # up to the cheat sheet
    blocks = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)
    return [[re.sub(r"\s+#\s.*$", "", line).strip() for line in block.splitlines() if line.strip()] for block in blocks]


def test_the_quick_start_test_line_is_what_ci_runs():
    """The first block's second line installs the test extra and runs the suite as .ci/run does
    (not run here: that would run this suite inside itself)."""
    first, _ = _quick_start_blocks()
    assert len(first) == 2
    install, _, test = first[1].partition(" && ")
    assert install == ".venv/bin/pip install -e '.[test]'"
    assert test == ".venv/bin/python -m pytest"  # no -q: addopts has it (-qq hides the summary)
    # The `test` extra of [project.optional-dependencies] (read as text: tomllib is 3.11+).
    extras = (ROOT / "pyproject.toml").read_text().split("\n[project.optional-dependencies]\n", 1)[1].split("\n[", 1)[0]
    test_extra = re.search(r"^test = \[\n(.*?)^\]", extras, flags=re.S | re.M)
    assert test_extra and '"pytest>=' in test_extra.group(1) and '"pytest-httpserver' in test_extra.group(1)
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "python -m pip install --quiet -e '.[test,lint]'" in ci  # the same extra (and the linters)
    assert ci[-1] == "python -m pytest -p no:cacheprovider"  # the same command, no -q


KEY = "AIza" + "QuickStart-0123456789abcdefghijk"  # built: no key-shaped literal in the tree
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
FLASH = "gemini-3-flash-preview"
MODELS_PAGE = {"models": [
    {"name": f"models/{FLASH}", "displayName": "Gemini 3 Flash", "inputTokenLimit": 1048576,
     "outputTokenLimit": 65536, "thinking": True, "supportedGenerationMethods": ["generateContent"]},
    {"name": "models/gemini-3.1-pro-preview", "displayName": "Gemini 3.1 Pro", "inputTokenLimit": 1048576,
     "outputTokenLimit": 65536, "thinking": True, "supportedGenerationMethods": ["generateContent"]},
]}
MODELS_TABLE = (
    "NAME                    DISPLAY NAME    INPUT      OUTPUT  THINKING  ALIASES\n"
    "gemini-3-flash-preview  Gemini 3 Flash  1 048 576  65 536  yes       flash\n"
    "gemini-3.1-pro-preview  Gemini 3.1 Pro  1 048 576  65 536  yes       pro\n"
)


def _prompt(line: str) -> str:
    """The prompt of a quick start line: the last word of its gemini-cli command."""
    command = next(part for part in line.split("|") if "gemini-cli" in part)
    return shlex.split(command)[-1]


def test_every_quick_start_command_from_the_fresh_virtualenv(fresh_venv, api, tmp_path, home):
    """The README's second block, line by line, through bash from the virtualenv's bin folder
    (as the README puts it on PATH) against a loopback API: the key kept by `config set-key`,
    never printed, sent with every request."""
    qs = fresh_venv
    if qs.installed != ["-e", "."]:
        qs.install(["-e", "."], qs.env(home))
    env = qs.env(home)
    env.update(PATH=f"{qs.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", GOOGLE_GEMINI_BASE_URL=api.base_url,
               GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    # A project folder with one changed file, so `git diff` has something to say.
    work = tmp_path / "project"
    work.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=work, env=env, check=True, capture_output=True)
    (work / "hello.py").write_text("print('hello')\n")
    subprocess.run(["git", "add", "hello.py"], cwd=work, env=env, check=True, capture_output=True)
    (work / "hello.py").write_text("print('hello, world')\n")
    diff = subprocess.run(["git", "diff"], cwd=work, env=env, check=True, capture_output=True, text=True).stdout
    assert "+print('hello, world')" in diff
    (work / "photo.jpg").write_bytes(JPEG)

    def step(line: str, stdin: str = "") -> subprocess.CompletedProcess:
        if shutil.which("jq", path=env["PATH"]) is None:
            # No jq on this machine: the same filter in Python (the output_text member, raw).
            line = line.replace("jq -r .output_text", """python3 -c 'import json,sys; print(json.load(sys.stdin)["output_text"])'""")
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=work, env=env, input=stdin,
                              capture_output=True, text=True, timeout=60)
        assert KEY not in proc.stdout and KEY not in proc.stderr, line
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def sent() -> dict:
        request = api.requests()[-1]
        assert request.headers["x-goog-api-key"] == KEY
        return json.loads(request.get_data() or b"null")

    commands = _quick_start_blocks()[1]
    seen: list[str] = []
    for line in commands:
        if line.startswith("gemini-cli config set-key"):
            proc = step(line, KEY + "\n")
            assert (proc.returncode, proc.stdout) == (0, "")
            assert proc.stderr == f"gemini-cli: saved the API key to {home / 'api_key'} (mode 0600)\n"
            assert (home / "api_key").read_text() == KEY + "\n"
            assert api.requests() == []
            seen.append("set-key")
        elif line.startswith("git diff |"):
            api.stream(text_events("Looks good.", interaction_id="v1_diff"))
            proc = step(line)
            assert (proc.returncode, proc.stdout) == (0, "Looks good.\n"), proc.stderr
            body = sent()
            assert diff in body["input"] and body["input"].endswith(_prompt(line))
            assert body["input"] == diff.rstrip("\n") + "\n\n" + _prompt(line)
            seen.append("pipe")
        elif " -c " in line:
            api.stream(text_events("Fine.", interaction_id="v1_shorter"))
            proc = step(line)
            assert (proc.returncode, proc.stdout) == (0, "Fine.\n"), proc.stderr
            assert sent() == {"model": FLASH, "input": _prompt(line), "previous_interaction_id": "v1_diff", "stream": True}
            seen.append("continue")
        elif line == "gemini-cli chat":
            api.stream(text_events("Hello there.", interaction_id="v1_chat"))
            proc = step(line, "Hello\n")  # a line, then EOF
            assert (proc.returncode, proc.stdout) == (0, "Hello there.\n"), proc.stderr
            assert sent() == {"model": FLASH, "input": "Hello", "stream": True}
            seen.append("chat")
        elif " -a photo.jpg " in line:
            api.stream(text_events("A test pattern.", interaction_id="v1_photo"))
            proc = step(line)
            assert (proc.returncode, proc.stdout) == (0, "A test pattern.\n"), proc.stderr
            body = sent()
            assert body["input"] == [{"type": "user_input", "content": [
                {"type": "image", "data": base64.b64encode(JPEG).decode(), "mime_type": "image/jpeg"},
                {"type": "text", "text": _prompt(line)}]}]
            seen.append("attach")
        elif " -o json " in line:
            api.stream(text_events("Hi!", interaction_id="v1_json"))
            proc = step(line)
            assert (proc.returncode, proc.stdout) == (0, "Hi!\n"), proc.stderr
            assert sent() == {"model": FLASH, "input": _prompt(line), "stream": True}
            seen.append("json")
        elif line == "gemini-cli models":
            api.json(MODELS_PAGE, path="/v1beta/models", method="GET", query_string="pageSize=1000")
            proc = step(line)
            assert (proc.returncode, proc.stdout) == (0, MODELS_TABLE), proc.stderr
            sent()
            seen.append("models")
        elif " -m pro " in line:
            api.stream(text_events("Hello from Pro.", interaction_id="v1_pro"))
            proc = step(line)
            assert (proc.returncode, proc.stdout) == (0, "Hello from Pro.\n"), proc.stderr
            assert sent() == {"model": "gemini-3.1-pro-preview", "input": _prompt(line), "stream": True}
            seen.append("alias")
        elif line.startswith("gemini-cli ") and "|" not in line and len(shlex.split(line)) == 2:
            api.stream(text_events("AI learns patterns from data.", interaction_id="v1_prompt"))
            proc = step(line)
            assert (proc.returncode, proc.stdout) == (0, "AI learns patterns from data.\n"), proc.stderr
            assert sent() == {"model": FLASH, "input": _prompt(line), "stream": True}
            seen.append("prompt")
        else:
            raise AssertionError(f"a quick start line this test does not know: {line!r}")
    assert seen == ["set-key", "prompt", "pipe", "continue", "chat", "attach", "json", "models", "alias"]
    assert len(api.requests()) == 8
    assert {request.headers["x-goog-api-key"] for request in api.requests()} == {KEY}  # the saved key, every time
    assert "GEMINI_API_KEY" not in env and "GOOGLE_API_KEY" not in env
