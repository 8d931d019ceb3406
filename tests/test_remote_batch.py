"""`batch --remote` and `jobs` against tests/batch_api.py (a loopback fake of the Batch API):
the translated requests field by field, inline and file input, responses inline and as a
file, the records written, resume, refusals, exit codes, the state record, record/replay."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from batch_api import FakeBatches
from conftest import run_checked as run
from gemini_cli.runs import remote_fetch, remote_submit
from gemini_cli.state.models import BUILTIN_ALIASES

PRO = BUILTIN_ALIASES["pro"]


@pytest.fixture
def fake(httpserver, monkeypatch):
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setattr(remote_fetch, "POLL_FIRST", 0.001)
    monkeypatch.setattr(remote_fetch, "POLL_MAX", 0.002)
    return FakeBatches(httpserver)


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def lines_of(path: str) -> list[dict]:
    text = Path(path).read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def state_records(home: Path) -> dict[str, dict]:
    folder = home / "jobs"
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")} if folder.exists() else {}


USAGE = {"total_input_tokens": 3, "total_output_tokens": 2, "total_tokens": 5}


def done(id, line, text, job="batches/job1", **extra) -> dict:
    return {"id": id, "line": line, "status": "completed", "output_text": f"echo: {text}", "usage": USAGE,
            **extra, "job": job}


# -- submitting, inline ------------------------------------------------------------------


def test_submit_inline_prints_the_job_and_records_it_then_fetch_writes_the_records(fake, tmp_path, home):
    rows = write(tmp_path / "in.jsonl", '{"id": "a", "prompt": "one"}\n"two"\n{"id": 7, "prompt": "three", "temperature": 0.5}\n')
    out = str(tmp_path / "out.jsonl")
    result = run(["batch", rows, "-o", out, "--remote", "-s", "Be brief", "--max-tokens", "50", "--seed", "3"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "batches/job1\n"
    assert "submitted 3 rows to gemini-3-flash-preview as batches/job1 (inline)" in result.stderr
    body = fake.created()[0]
    assert fake.jobs["batches/job1"]["model"] == "models/gemini-3-flash-preview"
    config = {"systemInstruction": {"parts": [{"text": "Be brief"}]}}
    gen = {"maxOutputTokens": 50, "seed": 3}
    assert body == {"batch": {"displayName": "gemini-cli out.jsonl", "inputConfig": {"requests": {"requests": [
        {"request": {"contents": [{"role": "user", "parts": [{"text": "one"}]}], **config, "generationConfig": gen},
         "metadata": {"key": "a"}},
        {"request": {"contents": [{"role": "user", "parts": [{"text": "two"}]}], **config, "generationConfig": gen},
         "metadata": {"key": "2"}},
        {"request": {"contents": [{"role": "user", "parts": [{"text": "three"}]}], **config,
                     "generationConfig": {"temperature": 0.5, **gen}}, "metadata": {"key": "7"}},
    ]}}}}
    record = state_records(home)["job1"]
    assert record["name"] == "batches/job1" and record["model"] == "gemini-3-flash-preview"
    assert record["output"] == str(Path(out).resolve()) and record["input"] == str(Path(rows).resolve())
    assert record["input_file"] is None and record["rows"] == 3 and record["fetched"] is None
    assert (home / "jobs" / "job1.rows.jsonl").read_text() == '["a", 1]\n[2, 2]\n[7, 3]\n'
    assert not Path(out).exists() or Path(out).read_text() == ""

    # pending -> running -> succeeded, one state per GET
    result = run(["jobs", "fetch", out])
    assert result.exit_code == 15, result.stderr
    assert result.stderr.endswith("gemini-cli: batches/job1: pending, 0 of 3 done; not finished yet, try again later\n")
    result = run(["jobs", "fetch", out])
    assert result.exit_code == 15
    assert "batches/job1: running, 1 of 3 done; not finished yet" in result.stderr
    assert lines_of(out) == []
    result = run(["jobs", "fetch", out])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert lines_of(out) == [done("a", 1, "one"), done(2, 2, "two"), done(7, 3, "three")]
    assert state_records(home)["job1"]["fetched"] and state_records(home)["job1"]["state"] == "succeeded"

    # fetching twice writes nothing twice
    before = Path(out).read_bytes()
    assert run(["jobs", "fetch", "batches/job1"]).exit_code == 0
    assert Path(out).read_bytes() == before


def test_translation_of_every_generation_field_attachments_schema_and_tools(fake, tmp_path):
    png = tmp_path / "dot.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 8)
    rows = write(tmp_path / "in.jsonl", json.dumps({"id": "r", "prompt": "look", "attach": [str(png)]}) + "\n")
    out = str(tmp_path / "out.jsonl")
    schema = '{"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}'
    result = run(["batch", rows, "-o", out, "--remote", "--temperature", "0.2", "--top-p", "0.9", "--stop", "END",
                  "--stop", "STOP", "--thinking", "high", "--thoughts", "--schema", schema, "--tool", "google_search",
                  "--tool", "code_execution", "--tool", "url_context", "-m", "gemini-3-pro-preview"])
    assert result.exit_code == 0, result.stderr
    assert fake.jobs["batches/job1"]["model"] == "models/gemini-3-pro-preview"
    [(key, request)] = fake.requests_of("batches/job1")
    import base64

    assert key == "r"
    assert request == {
        "contents": [{"role": "user", "parts": [
            {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png.read_bytes()).decode()}},
            {"text": "look"}]}],
        "generationConfig": {"temperature": 0.2, "topP": 0.9, "stopSequences": ["END", "STOP"],
                             "thinkingConfig": {"thinkingLevel": "HIGH", "includeThoughts": True},
                             "responseMimeType": "application/json", "responseJsonSchema": json.loads(schema)},
        "tools": [{"googleSearch": {}}, {"codeExecution": {}}, {"urlContext": {}}],
    }


# -- refusals: exit 2, nothing sent ----------------------------------------------------------


@pytest.mark.parametrize("flags, message", [
    (["--thinking", "xhigh"], "--thinking xhigh: the Batch API has no thinking level 'xhigh'"),
    (["--no-store"], "--no-store: a batch job keeps its requests and results on Google's side"),
    (["--service-tier", "flex"], "--service-tier flex: a batch job has its own price"),
    (["--save"], "--save: the rows of a batch job are not saved as conversations"),
    (["--wait"], None),
])
def test_flags_without_a_batch_equivalent_are_refused_before_anything_is_sent(fake, tmp_path, flags, message):
    rows = write(tmp_path / "in.jsonl", '"hello"\n')
    out = str(tmp_path / "out.jsonl")
    args = ["batch", rows, "-o", out] + flags + ([] if flags == ["--wait"] else ["--remote"])
    result = run(args)
    assert result.exit_code == 2, result.stderr
    assert (message or "--wait goes with --remote") in result.stderr
    assert result.stdout == ""
    assert fake.server.log == []
    assert not Path(out).exists()


def test_config_settings_without_an_equivalent_are_refused_but_a_config_service_tier_is_left_out(fake, tmp_path, home):
    (home / "config.yaml").write_text("retry_delay: 0.01\nstore: false\n")
    rows = write(tmp_path / "in.jsonl", '"hello"\n')
    result = run(["batch", rows, "-o", str(tmp_path / "out.jsonl"), "--remote"])
    assert result.exit_code == 2
    assert "--no-store: a batch job keeps its requests and results" in result.stderr
    assert fake.server.log == []
    (home / "config.yaml").write_text("retry_delay: 0.01\nservice_tier: flex\n")
    result = run(["batch", rows, "-o", str(tmp_path / "out.jsonl"), "--remote"])
    assert result.exit_code == 0, result.stderr
    assert fake.requests_of("batches/job1") == [("1", {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]})]


@pytest.mark.parametrize("layer", ["functions:\n  today: date +%F\n", "mcpServers:\n  fs:\n    command: cat\n"])
def test_functions_and_mcp_servers_of_the_config_are_refused_and_a_profile_keeps_them_apart(fake, tmp_path, home, layer):
    (home / "config.yaml").write_text("retry_delay: 0.01\n" + layer)
    rows = write(tmp_path / "in.jsonl", '"hello"\n')
    out = tmp_path / "out.jsonl"
    result = run(["batch", rows, "-o", str(out), "--remote"])
    assert result.exit_code == 2
    key = layer.split(":")[0]
    assert result.stderr == (f"gemini-cli: error: {key}: of the config file {home / 'config.yaml'} cannot be used with "
                             "--remote: the Batch API runs the rows, and no function or MCP server of this machine can "
                             "answer their calls (keep them in a profile to use them with --profile only)\n")
    assert fake.server.log == [] and not out.exists()
    nested = "".join("  " + line + "\n" for line in layer.splitlines())
    (home / "config.yaml").write_text("retry_delay: 0.01\nprofiles:\n  tools:\n" + "".join("  " + line + "\n" for line in nested.splitlines()))
    assert run(["batch", rows, "-o", str(out), "--remote"]).exit_code == 0
    result = run(["batch", rows, "-o", str(tmp_path / "other.jsonl"), "--remote", "--profile", "tools"])
    assert result.exit_code == 2 and f"{key}: of the profile tools cannot be used with --remote" in result.stderr


def test_a_row_the_batch_api_cannot_take_stops_the_submission_naming_it(fake, tmp_path):
    rows = write(tmp_path / "in.jsonl", '"fine"\n{"id": "x", "prompt": "deep", "thinking": "xhigh"}\n')
    result = run(["batch", rows, "-o", str(tmp_path / "out.jsonl"), "--remote"])
    assert result.exit_code == 2
    assert "line 2 (id x): --thinking xhigh: the Batch API has no thinking level 'xhigh'" in result.stderr
    assert "nothing was submitted" in result.stderr
    assert fake.server.log == []


def test_without_output_remote_is_a_usage_error(fake, tmp_path):
    result = run(["batch", write(tmp_path / "in.jsonl", '"a"\n'), "--remote"])
    assert result.exit_code == 2
    assert "--remote needs -o OUTPUT" in result.stderr


# -- resume, nothing left, pending --------------------------------------------------------


def test_rows_completed_in_output_are_skipped_and_nothing_left_submits_no_job(fake, tmp_path):
    rows = write(tmp_path / "in.jsonl", '{"id": "a", "prompt": "one"}\n{"id": "b", "prompt": "two"}\n')
    out = write(tmp_path / "out.jsonl", json.dumps({"id": "a", "status": "completed", "output_text": "x"}) + "\n"
                + json.dumps({"id": "b", "status": "failed", "error": {"code": "server"}}) + "\n")
    fake.plan = ["SUCCEEDED"]
    result = run(["batch", rows, "-o", out, "--remote"])
    assert result.exit_code == 0, result.stderr
    assert [key for key, _ in fake.requests_of("batches/job1")] == ["b"]
    assert [r["id"] for r in lines_of(out)] == ["a"]  # b's failed record dropped: b runs again

    assert run(["jobs", "fetch", out]).exit_code == 0
    assert lines_of(out) == [{"id": "a", "status": "completed", "output_text": "x"}, done("b", 2, "two")]
    result = run(["batch", rows, "-o", out, "--remote"])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "nothing to submit: 2 already completed in" in result.stderr
    assert len(fake.jobs) == 1

    result = run(["batch", rows, "-o", out, "--remote", "--restart"])
    assert result.exit_code == 0
    assert result.stdout == "batches/job2\n"
    assert [key for key, _ in fake.requests_of("batches/job2")] == ["a", "b"]
    assert lines_of(out) == []  # --restart starts OUTPUT again


def test_a_second_submit_while_the_job_is_pending_is_refused_naming_it(fake, tmp_path):
    rows = write(tmp_path / "in.jsonl", '"one"\n')
    out = str(tmp_path / "out.jsonl")
    assert run(["batch", rows, "-o", out, "--remote"]).exit_code == 0
    result = run(["batch", rows, "-o", out, "--remote"])
    assert result.exit_code == 2
    assert f"{out} already has a batch job not fetched yet: batches/job1" in result.stderr
    assert len(fake.jobs) == 1


def test_a_create_whose_answer_is_lost_is_not_sent_again_the_job_it_made_is_found(fake, tmp_path, home):
    (home / "config.yaml").write_text("retry_delay: 0.01\n")
    fake.create_time = lambda: "2026-06-01T10:00:00Z"  # an older job of the same display name is not taken for it
    rows = write(tmp_path / "in.jsonl", '"one"\n"two"\n')
    out = str(tmp_path / "out.jsonl")
    assert run(["batch", rows, "-o", out, "--remote", "--wait"]).exit_code == 0  # batches/job1, long ago
    fake.create_time = lambda: time.strftime("%Y-%m-%dT%H:%M:%S.5Z", time.gmtime())
    fake.drop_creates = 1
    result = run(["batch", rows, "-o", out, "--remote", "--restart"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "batches/job2\n"
    assert [call for call in fake.calls() if call[0] == "create"] == [("create", "batches/job1"), ("create", "batches/job2")]
    assert ("gemini-cli: the connection broke or stalled after the request was sent, before an answer (Server disconnected "
            "without sending a response.); not sent again; it had created batches/job2: going on with that job\n") in result.stderr
    assert "retrying" not in result.stderr
    assert run(["jobs", "fetch", out]).exit_code == 15  # recorded: the OUTPUT knows its job
    assert run(["jobs", "fetch", out]).exit_code == 15
    assert run(["jobs", "fetch", out]).exit_code == 0
    assert [r["output_text"] for r in lines_of(out)] == ["echo: one", "echo: two"]


def test_a_create_whose_answer_is_lost_and_whose_job_is_not_listed_records_nothing(fake, tmp_path, home):
    (home / "config.yaml").write_text("retry_delay: 0.01\n")
    fake.create_time = lambda: "2020-01-01T00:00:00Z"  # listed, but made before this submission: not ours
    fake.drop_creates = 1
    rows = write(tmp_path / "in.jsonl", '"one"\n')
    out = str(tmp_path / "out.jsonl")
    result = run(["batch", rows, "-o", out, "--remote"])
    assert (result.exit_code, result.stdout) == (7, "")
    assert result.stderr.endswith("not sent again; no job named 'gemini-cli out.jsonl' made since is listed, so nothing was "
                                  "recorded: check `gemini-cli jobs list`, then run the same command again\n")
    assert [call[0] for call in fake.calls()] == ["create", "list"]
    assert list((home / "jobs").glob("*.json")) == [] if (home / "jobs").exists() else True
    result = run(["batch", rows, "-o", out, "--remote"])  # nothing pending: a new submit goes through
    assert (result.exit_code, result.stdout) == (0, "batches/job2\n")


def test_a_create_whose_answer_is_lost_and_whose_job_list_fails_records_nothing(fake, tmp_path, home):
    (home / "config.yaml").write_text("retry_delay: 0.01\nretries: 1\n")
    fake.drop_creates, fake.fail_lists = 1, True
    rows = write(tmp_path / "in.jsonl", '"one"\n')
    result = run(["batch", rows, "-o", str(tmp_path / "out.jsonl"), "--remote"])
    assert (result.exit_code, result.stdout) == (7, "")
    assert "the job list, to see whether it made the job, could not be read either (HTTP 500" in result.stderr
    assert result.stderr.endswith("so nothing was recorded: check `gemini-cli jobs list` before submitting again\n")
    assert [call[0] for call in fake.calls()] == ["create", "list", "list"]  # the list retried, the create not


def test_bad_rows_are_recorded_as_failed_at_submit(fake, tmp_path):
    rows = write(tmp_path / "in.jsonl", '{"id": "a", "prompt": "one"}\nnot json\n')
    out = str(tmp_path / "out.jsonl")
    result = run(["batch", rows, "-o", out, "--remote", "--wait"])
    assert result.exit_code == 11, result.stderr
    assert result.stdout == "batches/job1\n"
    records = lines_of(out)
    assert records[0]["id"] == 2 and records[0]["status"] == "failed" and "not valid JSON" in records[0]["error"]["message"]
    assert records[1:] == [done("a", 1, "one")]
    assert "1 bad row recorded as failed in" in result.stderr
    assert "1 of 2 rows failed" in result.stderr


def test_a_repeated_id_in_a_file_is_refused_before_any_job(fake, tmp_path):
    rows = write(tmp_path / "in.jsonl", '{"id": "a", "prompt": "one"}\n{"id": "a", "prompt": "again"}\n')
    out = str(tmp_path / "out.jsonl")
    result = run(["batch", rows, "-o", out, "--remote"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert 'line 2: the id "a" is also the id of line 1' in result.stderr
    assert not Path(out).exists() or Path(out).read_text() == ""


def test_rows_with_different_models_go_into_one_job_per_model(fake, tmp_path, home):
    fake.plan = ["SUCCEEDED"]
    rows = write(tmp_path / "in.jsonl", '{"id": 1, "prompt": "a"}\n{"id": 2, "prompt": "b", "model": "pro"}\n'
                 '{"id": 3, "prompt": "c"}\n')
    out = str(tmp_path / "out.jsonl")
    result = run(["batch", rows, "-o", out, "--remote"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "batches/job1\nbatches/job2\n"
    assert [k for k, _ in fake.requests_of("batches/job1")] == ["1", "3"]
    assert fake.jobs["batches/job2"]["model"] == f"models/{PRO}"
    assert fake.created()[1]["batch"]["displayName"] == f"gemini-cli out.jsonl {PRO}"
    result = run(["jobs", "fetch", out])
    assert result.exit_code == 0, result.stderr
    assert lines_of(out) == [done(1, 1, "a"), done(3, 3, "c"), done(2, 2, "b", job="batches/job2")]


# -- input file, responses file -------------------------------------------------------------


def test_a_large_job_uploads_a_jsonl_input_file_and_reads_a_responses_file(fake, tmp_path, monkeypatch, home):
    monkeypatch.setattr(remote_submit, "INLINE_LIMIT", 200)
    rows = write(tmp_path / "in.jsonl", "".join(f'{{"id": "r{i}", "prompt": "prompt number {i}"}}\n' for i in range(5)))
    out = str(tmp_path / "out.jsonl")
    fake.file_order = lambda lines: list(reversed(lines))  # not in input order
    fake.answer = lambda key, request: ({"error": {"code": 3, "message": "bad\nrequest", "status": "INVALID_ARGUMENT"}}
                                        if key == "r2" else __import__("batch_api").echo(key, request))
    fake.plan = ["SUCCEEDED"]
    fake.download_failures = 1  # a 503 first: retried
    result = run(["batch", rows, "-o", out, "--remote"])
    assert result.exit_code == 0, result.stderr
    assert ("upload", "application/jsonl") in fake.calls()
    assert fake.created()[0] == {"batch": {"displayName": "gemini-cli out.jsonl", "inputConfig": {"fileName": "files/input1"}}}
    uploaded = bytes(fake.uploads["files/input1"]).decode().splitlines()
    assert json.loads(uploaded[0]) == {"key": "r0", "request": {"contents": [{"role": "user", "parts": [{"text": "prompt number 0"}]}]}}
    assert len(uploaded) == 5
    assert state_records(home)["job1"]["input_file"] == "files/input1"

    result = run(["jobs", "fetch", out])
    assert result.exit_code == 11, result.stderr
    assert "1 of 5 rows failed" in result.stderr
    records = lines_of(out)
    assert [r["id"] for r in records] == ["r4", "r3", "r2", "r1", "r0"]
    assert records[2] == {"id": "r2", "line": 3, "status": "failed", "error": {
        "code": "rejected", "message": "INVALID_ARGUMENT: bad request", "exit_code": 4}, "job": "batches/job1"}
    assert records[0] == done("r4", 5, "prompt number 4")
    assert [c for c in fake.calls() if c[0] == "download"] == [("download", "batch-job1")] * 2


def test_more_rows_than_an_inline_job_holds_go_as_a_file_and_a_large_inline_result_is_read(fake, tmp_path, monkeypatch):
    monkeypatch.setattr(remote_submit, "INLINE_ROWS", 3)
    rows = write(tmp_path / "in.jsonl", '"a"\n"b"\n"c"\n"d"\n')
    result = run(["batch", rows, "-o", str(tmp_path / "out.jsonl"), "--remote", "--dry-run"])
    assert result.stdout.endswith("\n4 rows to submit to gemini-3-flash-preview: as an input file (application/jsonl, "
                                  "336 bytes, uploaded first; more than 3 rows)\n")
    assert run(["batch", rows, "-o", str(tmp_path / "out.jsonl"), "--remote"]).exit_code == 0
    assert fake.created()[0]["batch"]["inputConfig"] == {"fileName": "files/input1"}
    # three rows go inline; their results (70 MiB, past the 64 MiB of other answers) still come back
    big = "x" * (24 * 1024 * 1024)
    fake.answer = lambda key, request: {"response": {"candidates": [{"content": {"parts": [{"text": big}]}}]}}
    fake.plan = ["SUCCEEDED"]
    out = str(tmp_path / "three.jsonl")
    result = run(["batch", write(tmp_path / "three.jsonl.in", '"a"\n"b"\n"c"\n'), "-o", out, "--remote", "--wait"])
    assert result.exit_code == 0, result.stderr
    assert [len(r["output_text"]) for r in lines_of(out)] == [len(big)] * 3


def test_an_interrupted_fetch_runs_again_without_writing_a_row_twice(fake, tmp_path):
    rows = write(tmp_path / "in.jsonl", '"one"\n"two"\n"three"\n')
    out = str(tmp_path / "out.jsonl")
    fake.plan = ["SUCCEEDED"]
    assert run(["batch", rows, "-o", out, "--remote"]).exit_code == 0
    # a fetch cut off by a crash: one record written, a failed one, a torn line
    Path(out).write_text(json.dumps(done(1, 1, "one")) + "\n" + json.dumps({"id": 2, "status": "failed"}) + "\n"
                         + '{"id": 3, "sta')
    assert run(["jobs", "fetch", out]).exit_code == 0
    assert lines_of(out) == [done(1, 1, "one"), done(2, 2, "two"), done(3, 3, "three")]


# -- answers: thoughts, schema, cut and blocked -----------------------------------------------


def test_fetch_records_thoughts_checks_the_schema_and_reports_cut_or_blocked_answers(fake, tmp_path):
    answers = {
        "1": {"candidates": [{"content": {"parts": [{"text": "thinking...", "thought": True}, {"text": '{"label": "bug"}'}]},
                              "finishReason": "STOP"}],
              "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 5, "thoughtsTokenCount": 6,
                                "totalTokenCount": 15}},
        "2": {"candidates": [{"content": {"parts": [{"text": '{"nope": 1}'}]}, "finishReason": "STOP"}]},
        "3": {"candidates": [{"content": {"parts": [{"text": '{"lab'}]}, "finishReason": "MAX_TOKENS"}]},
        "4": {"promptFeedback": {"blockReason": "SAFETY"}},
    }
    fake.answer = lambda key, request: {"response": answers[key]}
    fake.plan = ["SUCCEEDED"]
    rows = write(tmp_path / "in.jsonl", '"a"\n"b"\n"c"\n"d"\n')
    out = str(tmp_path / "out.jsonl")
    schema = '{"type": "object", "required": ["label"]}'
    result = run(["batch", rows, "-o", out, "--remote", "--wait", "--thoughts", "--schema", schema])
    assert result.exit_code == 11, result.stderr
    first, second, third, fourth = lines_of(out)
    assert first == {"id": 1, "line": 1, "status": "completed", "output_text": '{"label": "bug"}', "usage": {
        "total_input_tokens": 4, "total_output_tokens": 5, "total_thought_tokens": 6, "total_tokens": 15},
        "thoughts": "thinking...", "job": "batches/job1"}
    assert second["status"] == "failed" and second["error"]["code"] == "schema"
    assert second["output_text"] == '{"nope": 1}'
    assert "'label' is a required property" in second["error"]["message"]
    assert third["error"] == {"code": "not_completed", "exit_code": 9,
                              "message": "the answer was cut at the token limit (finish reason MAX_TOKENS)"}
    assert fourth["error"]["message"] == "the prompt was blocked (block reason SAFETY)"


# -- cancellation, expiry, failure ------------------------------------------------------------


def test_a_cancelled_job_writes_the_results_it_has_and_exits_9(fake, tmp_path):
    fake.plan = ["RUNNING"]
    rows = write(tmp_path / "in.jsonl", '"one"\n"two"\n"three"\n"four"\n')
    out = str(tmp_path / "out.jsonl")
    assert run(["batch", rows, "-o", out, "--remote"]).exit_code == 0
    assert run(["jobs", "show", out]).exit_code == 0  # the GET that makes it run (2 of 4 done)
    result = run(["jobs", "cancel", out])
    assert result.exit_code == 0
    assert "cancelling batches/job1" in result.stderr
    result = run(["jobs", "fetch", out])
    assert result.exit_code == 9, result.stderr
    assert "batches/job1 cancelled: 2 rows completed, 2 failed" in result.stderr
    records = lines_of(out)
    assert records[:2] == [done(1, 1, "one"), done(2, 2, "two")]
    assert records[2] == {"id": 3, "line": 3, "status": "failed", "error": {
        "code": "not_completed", "exit_code": 9,
        "message": "the job batches/job1 ended cancelled before this row had a result"}, "job": "batches/job1"}
    # fetched: the OUTPUT may be submitted again, and the cancelled rows go again
    result = run(["batch", rows, "-o", out, "--remote"])
    assert result.exit_code == 0
    assert [k for k, _ in fake.requests_of("batches/job2")] == ["3", "4"]


def test_wait_exits_9_for_an_expired_job_and_0_for_a_succeeded_one(fake, tmp_path):
    rows = write(tmp_path / "in.jsonl", '"one"\n')
    out = str(tmp_path / "out.jsonl")
    fake.plan = ["PENDING", "EXPIRED"]
    assert run(["batch", rows, "-o", out, "--remote"]).exit_code == 0
    result = run(["jobs", "wait", "batches/job1"])
    assert result.exit_code == 9
    assert "batches/job1: expired, 0 of 1 done" in result.stderr
    assert [c for c in fake.calls() if c[0] == "get"] == [("get", "batches/job1")] * 2
    fake.plan = ["RUNNING", "SUCCEEDED"]
    assert run(["jobs", "delete", out]).exit_code == 0
    assert run(["batch", rows, "-o", out, "--remote"]).exit_code == 0
    result = run(["jobs", "wait", out])
    assert result.exit_code == 0, result.stderr
    assert "batches/job2: succeeded, 1 of 1 done" in result.stderr


def test_a_failed_job_says_why_and_records_every_row_as_failed(fake, tmp_path):
    fake.plan = ["FAILED"]
    rows = write(tmp_path / "in.jsonl", '"one"\n"two"\n')
    out = str(tmp_path / "out.jsonl")
    result = run(["batch", rows, "-o", out, "--remote", "--wait", "-q"])
    assert result.exit_code == 9
    assert result.stderr == ("gemini-cli: error: batches/job1 failed: 0 rows completed, 2 failed "
                             f"(written to {Path(out).resolve()})\n")
    assert [r["error"]["message"] for r in lines_of(out)] == ["the job batches/job1 ended failed before this row had a result"] * 2
    result = run(["jobs", "wait", out])
    assert result.exit_code == 9
    assert "batches/job1: failed, 0 of 2 done: the input file is not valid" in result.stderr


def test_wait_gives_up_at_max_time(fake, tmp_path, monkeypatch):
    monkeypatch.setattr(remote_fetch, "POLL_FIRST", 0.05)
    monkeypatch.setattr(remote_fetch, "POLL_MAX", 0.05)
    fake.plan = ["PENDING"] * 1000
    rows = write(tmp_path / "in.jsonl", '"one"\n')
    out = str(tmp_path / "out.jsonl")
    assert run(["batch", rows, "-o", out, "--remote"]).exit_code == 0
    result = run(["jobs", "wait", out, "--max-time", "0.2"])
    assert result.exit_code == 7
    assert "batches/job1: pending, 0 of 1 done; gave up waiting at the --max-time deadline of 0.2s" in result.stderr


# -- list, show, delete ----------------------------------------------------------------------


def test_jobs_list_reads_every_page_as_a_table_or_json(fake, tmp_path):
    fake.create_time = lambda: "2026-06-01T10:00:00Z"
    rows = write(tmp_path / "in.jsonl", '"one"\n"two"\n')
    for n in range(3):
        assert run(["batch", rows, "-o", str(tmp_path / f"out{n}.jsonl"), "--remote"]).exit_code == 0
    result = run(["jobs", "list"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "NAME          DISPLAY NAME           STATE    DONE  FAILED  TOTAL  CREATED",
        "batches/job1  gemini-cli out0.jsonl  pending  0     0       2      2026-06-01 10:00 UTC",
        "batches/job2  gemini-cli out1.jsonl  pending  0     0       2      2026-06-01 10:00 UTC",
        "batches/job3  gemini-cli out2.jsonl  pending  0     0       2      2026-06-01 10:00 UTC",
    ]
    assert [c for c in fake.calls() if c[0] == "list"] == [("list", ""), ("list", "2")]
    result = run(["jobs", "list", "-o", "json"])
    assert [job["name"] for job in json.loads(result.stdout)] == ["batches/job1", "batches/job2", "batches/job3"]


def test_show_prints_the_resource_and_delete_forgets_the_job(fake, tmp_path, home):
    rows = write(tmp_path / "in.jsonl", '"one"\n')
    out = str(tmp_path / "out.jsonl")
    assert run(["batch", rows, "-o", out, "--remote"]).exit_code == 0
    result = run(["jobs", "show", "batches/job1"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["metadata"]["state"] == "BATCH_STATE_PENDING"
    result = run(["jobs", "delete", out])
    assert result.exit_code == 0, result.stderr
    assert "deleted batches/job1" in result.stderr
    assert state_records(home) == {} and not (home / "jobs" / "job1.rows.jsonl").exists()
    assert ("delete", "batches/job1") in fake.calls()
    result = run(["jobs", "fetch", out])
    assert result.exit_code == 2
    assert "no batch --remote was submitted from here for an OUTPUT of that path" in result.stderr


def test_a_bad_job_name_is_a_usage_error(fake):
    result = run(["jobs", "show", "batches/../files/x"])
    assert result.exit_code == 2
    assert "is not a Batch API job name" in result.stderr
    assert fake.server.log == []


# -- dry run, record/replay --------------------------------------------------------------------


def test_dry_run_remote_shows_the_first_translated_request_and_sends_nothing(fake, tmp_path):
    rows = write(tmp_path / "in.jsonl", '"one"\n"two"\n')
    out = str(tmp_path / "out.jsonl")
    result = run(["batch", rows, "-o", out, "--remote", "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"POST {fake.server.url_for('/').rstrip('/')}/v1beta/models/"
                                    "gemini-3-flash-preview:batchGenerateContent\n")
    assert "x-goog-api-key: <redacted>\n" in result.stdout
    body = result.stdout.split("\n\n", 1)[1].rsplit("\n\n", 1)[0]
    assert json.loads(body) == {"batch": {"displayName": "gemini-cli out.jsonl", "inputConfig": {"requests": {"requests": [
        {"request": {"contents": [{"role": "user", "parts": [{"text": "one"}]}]}, "metadata": {"key": "1"}}]}}}}
    size = len(json.dumps({"batch": {"displayName": "gemini-cli out.jsonl", "inputConfig": {"requests": {"requests": [
        {"request": {"contents": [{"role": "user", "parts": [{"text": t}]}]}, "metadata": {"key": k}}
        for t, k in (("one", "1"), ("two", "2"))]}}}}).encode())
    assert result.stdout.endswith(f"\n\n2 rows to submit to gemini-3-flash-preview: inline, {size} bytes\n")
    assert fake.server.log == []
    assert not Path(out).exists()


def test_record_then_replay_covers_submit_wait_and_fetch(fake, tmp_path, httpserver):
    rows = write(tmp_path / "in.jsonl", '"one"\n"two"\n')
    out = str(tmp_path / "out.jsonl")
    cassette = str(tmp_path / "cassette.jsonl")
    fake.plan = ["RUNNING", "SUCCEEDED"]
    fake.responses_as_file = True
    result = run(["--record", cassette, "batch", rows, "-o", out, "--remote", "--wait"])
    assert result.exit_code == 0, result.stderr
    recorded = Path(out).read_text()
    assert len(lines_of(out)) == 2
    served = len(httpserver.log)
    # again, offline: state and OUTPUT as before the first run
    import shutil

    shutil.rmtree(Path(__import__("os").environ["GEMINI_CLI_HOME"]) / "jobs")
    Path(out).unlink()
    result = run(["--replay", cassette, "batch", rows, "-o", out, "--remote", "--wait"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "batches/job1\n"
    assert Path(out).read_text() == recorded
    assert len(httpserver.log) == served


# -- the translation, pure -------------------------------------------------------------------

from gemini_cli.errors import ExitCode, UsageError  # noqa: E402
from gemini_cli.request import generate_content as gc  # noqa: E402


def test_translate_blocks_steps_and_files():
    body = {"model": "m", "input": [{"type": "user_input", "content": [
        {"type": "document", "uri": "https://x/v1beta/files/abc", "mime_type": "application/pdf"},
        {"type": "audio", "data": "QUJD", "mime_type": "audio/wav"}, {"text": "what?"}]}],
        "system_instruction": "sys", "generation_config": {"thinking_level": "minimal", "thinking_summaries": "none"},
        "response_format": {"type": "text", "mime_type": "application/json"}, "store": True, "service_tier": "flex"}
    assert gc.translate(body) == {
        "contents": [{"role": "user", "parts": [
            {"fileData": {"mimeType": "application/pdf", "fileUri": "https://x/v1beta/files/abc"}},
            {"inlineData": {"mimeType": "audio/wav", "data": "QUJD"}}, {"text": "what?"}]}],
        "systemInstruction": {"parts": [{"text": "sys"}]},
        "generationConfig": {"thinkingConfig": {"thinkingLevel": "MINIMAL"}, "responseMimeType": "application/json"},
    }


@pytest.mark.parametrize("body, message", [
    ({"input": "x", "background": True}, "--background"),
    ({"input": "x", "previous_interaction_id": "v1_a"}, "conversations (--session, -c, --cid)"),
    ({"input": "x", "tools": [{"type": "function", "name": "f"}]}, "client functions (--function, --functions)"),
    ({"input": "x", "tools": [{"type": "mcp_server", "name": "m", "url": "https://m"}]}, "MCP servers (--mcp"),
    ({"input": "x", "tools": [{"type": "file_search"}]}, "the tool 'file_search'"),
    ({"input": "x", "response_format": [{"type": "text"}, {"type": "audio"}]}, "--audio: audio answers"),
    ({"input": "x", "generation_config": {"speech_config": [{"voice": "Kore"}]}}, "--voice"),
    ({"input": "x", "safety_settings": []}, "'safety_settings' has no Batch API equivalent"),
    ({"input": [{"type": "user_input", "content": "a"}, {"type": "user_input", "content": "b"}]}, "several turns"),
])
def test_translate_refuses_what_a_batch_job_cannot_do(body, message):
    with pytest.raises(UsageError) as caught:
        gc.translate({"model": "m", **body})
    assert message in caught.value.message


@pytest.mark.parametrize("status, code, message", [
    ({"code": 3, "message": "bad"}, ExitCode.REJECTED, "INVALID_ARGUMENT: bad"),
    ({"code": 8, "message": "slow down"}, ExitCode.RATE_LIMITED, "RESOURCE_EXHAUSTED: slow down"),
    ({"code": 13, "message": "oops"}, ExitCode.SERVER, "INTERNAL: oops"),
    ({"code": 1}, ExitCode.NOT_COMPLETED, "CANCELLED: no message"),
    ({"code": 429, "message": "x"}, ExitCode.RATE_LIMITED, "x"),
    ("junk", ExitCode.SERVER, "the job reported an error without details"),
])
def test_a_rows_error_status_maps_to_the_exit_codes_batch_uses(status, code, message):
    error = gc.error_of(status)
    assert (error.exit_code, error.message) == (code, message)


def test_jobs_subcommands_complete_and_jobs_help_imports_no_httpx():
    import subprocess
    import sys

    from test_completion import bash_complete, env_with_bin, imported_modules

    assert bash_complete("jobs", "") == ["list", "show", "wait", "fetch", "cancel", "delete"]
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "gemini_cli", "jobs", "--help"],
                          env=env_with_bin(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "fetch" in proc.stdout
    assert not {m for m in imported_modules(proc.stderr) if m.split(".")[0] in ("httpx", "httpx_sse", "jsonschema", "yaml")}
