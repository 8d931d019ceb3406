"""A loopback fake of the Gemini Batch API (interactions-api.md §13) on pytest-httpserver:
create (inline or from an uploaded JSONL file), get (the state moves one step per GET along
`plan`), list (pages), cancel, delete, the resumable upload (§8.1) of the input file, and the
responses file download.

Each request is answered by `answer(key, request)`: a GenerateContentResponse, or
{"error": Status}. By default the answer echoes the request's first text part.
"""

from __future__ import annotations

import json
import re
import socket
import time
from typing import Any, Callable

from werkzeug import Request, Response

STATE = "BATCH_STATE_"


def echo(key: str, request: dict[str, Any]) -> dict[str, Any]:
    text = next(p["text"] for p in request["contents"][0]["parts"] if "text" in p)
    return {"response": {
        "candidates": [{"content": {"role": "model", "parts": [{"text": f"echo: {text}"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5},
        "modelVersion": "gemini-3-flash-preview",
    }}


class FakeBatches:
    def __init__(self, server):
        self.server = server
        self.jobs: dict[str, dict[str, Any]] = {}
        self.made = 0
        self.plan = ["PENDING", "RUNNING", "SUCCEEDED"]  # the state after each GET
        self.answer: Callable[[str, dict[str, Any]], dict[str, Any]] = echo
        self.responses_as_file = False  # results inline (False) or as a responses file
        self.file_order: Callable[[list], list] = lambda lines: lines  # the responses file's line order
        self.uploads: dict[str, bytearray] = {}
        self.files: dict[str, bytes] = {}  # responses files
        self.download_failures = 0  # 503s before a download succeeds
        self.page_size = 2
        self.drop_creates = 0  # creates that make the job, then break the connection without an answer
        self.fail_lists = False  # every list answers 500
        self.create_time: Callable[[], str] = lambda: time.strftime("%Y-%m-%dT%H:%M:%S.123456Z", time.gmtime())
        self.log: list[tuple[str, str]] = []
        s = server
        s.expect_request(re.compile(r"/v1beta/models/[^/]+:batchGenerateContent"), method="POST").respond_with_handler(self._create)
        s.expect_request(re.compile(r"/v1beta/batches/[^/:]+"), method="GET").respond_with_handler(self._get)
        s.expect_request("/v1beta/batches", method="GET").respond_with_handler(self._list)
        s.expect_request(re.compile(r"/v1beta/batches/[^/:]+:cancel"), method="POST").respond_with_handler(self._cancel)
        s.expect_request(re.compile(r"/v1beta/batches/[^/:]+"), method="DELETE").respond_with_handler(self._delete)
        s.expect_request("/upload/v1beta/files", method="POST").respond_with_handler(self._upload_start)
        s.expect_request(re.compile(r"/upload-session/[^/]+"), method="POST").respond_with_handler(self._upload_chunk)
        s.expect_request(re.compile(r"/v1beta/files/[^/:]+:download"), method="GET").respond_with_handler(self._download)

    # -- helpers for the tests ------------------------------------------------------------

    def created(self) -> list[dict[str, Any]]:
        """The create bodies, in order."""
        return [job["body"] for job in self.jobs.values()]

    def requests_of(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        """(key, GenerateContentRequest) of a job, from its inline body or its uploaded file."""
        return self.jobs[name]["requests"]

    def calls(self) -> list[tuple[str, str]]:
        return list(self.log)

    # -- handlers -------------------------------------------------------------------------

    def _resource(self, name: str) -> dict[str, Any]:
        job = self.jobs[name]
        total = len(job["requests"])
        state = job["state"]
        done = total if state == "SUCCEEDED" else job.get("done", 0)
        failed = sum(1 for key, _ in job["requests"][:done] if "error" in job["results"].get(key, {}))
        meta: dict[str, Any] = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
            "name": name, "model": job["model"], "displayName": job["body"]["batch"]["displayName"],
            "state": STATE + state, "createTime": job["created"], "updateTime": "2026-06-01T10:05:00Z",
            "batchStats": {"requestCount": str(total), "successfulRequestCount": str(done - failed),
                           "failedRequestCount": str(failed), "pendingRequestCount": str(total - done)},
        }
        if state == "FAILED":
            meta["error"] = {"code": 3, "message": "the input file\nis not valid"}
        if state in ("SUCCEEDED", "CANCELLED") and done:
            answered = job["requests"][:done]
            if job["file"] or self.responses_as_file:
                file = f"batch-{name.split('/')[1]}"
                lines = [json.dumps({"key": key, **job["results"][key]}) for key, _ in answered]
                self.files[file] = ("\n".join(self.file_order(lines)) + "\n").encode()
                meta["output"] = {"responsesFile": f"files/{file}"}
            else:
                meta["output"] = {"inlinedResponses": {"inlinedResponses": [
                    {**job["results"][key], "metadata": {"key": key}} for key, _ in answered]}}
        return {"name": name, "metadata": meta, "done": state in ("SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED")}

    def _create(self, request: Request) -> Response:
        model = re.search(r"models/([^/]+):batchGenerateContent", request.path).group(1)
        body = json.loads(request.get_data())
        self.made += 1
        name = f"batches/job{self.made}"
        config = body["batch"]["inputConfig"]
        if "fileName" in config:
            data = bytes(self.uploads[config["fileName"]])
            requests = [(item["key"], item["request"]) for item in map(json.loads, data.splitlines())]
        else:
            requests = [(item["metadata"]["key"], item["request"]) for item in config["requests"]["requests"]]
        self.jobs[name] = {"model": f"models/{model}", "body": body, "requests": requests, "file": "fileName" in config,
                           "state": "PENDING", "step": 0, "plan": list(self.plan), "created": self.create_time(),
                           "results": {key: self.answer(key, req) for key, req in requests}}
        self.log.append(("create", name))
        if self.drop_creates:  # the job is made, but the answer never arrives
            self.drop_creates -= 1
            request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            return Response(b"")
        return _json(self._resource(name))

    def _get(self, request: Request) -> Response:
        name = request.path.split("/v1beta/")[1]
        if name not in self.jobs:
            return _json({"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}, 404)
        job = self.jobs[name]
        if job["state"] not in ("CANCELLED", "SUCCEEDED", "FAILED", "EXPIRED") and job["step"] < len(job["plan"]):
            job["state"] = job["plan"][job["step"]]
            job["step"] += 1
            if job["state"] == "RUNNING":
                job["done"] = len(job["requests"]) // 2
        self.log.append(("get", name))
        return _json(self._resource(name))

    def _list(self, request: Request) -> Response:
        if self.fail_lists:
            self.log.append(("list", "failed"))
            return _json({"error": {"code": 500, "message": "internal", "status": "INTERNAL"}}, 500)
        names = list(self.jobs)
        start = int(request.args.get("pageToken") or 0)
        page = {"operations": [self._resource(n) for n in names[start:start + self.page_size]]}
        if start + self.page_size < len(names):
            page["nextPageToken"] = str(start + self.page_size)
        self.log.append(("list", request.args.get("pageToken") or ""))
        return _json(page)

    def _cancel(self, request: Request) -> Response:
        name = request.path.split("/v1beta/")[1].split(":")[0]
        self.jobs[name]["state"] = "CANCELLED"
        self.log.append(("cancel", name))
        return _json({})

    def _delete(self, request: Request) -> Response:
        name = request.path.split("/v1beta/")[1]
        if self.jobs.pop(name, None) is None:
            return _json({"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}, 404)
        self.log.append(("delete", name))
        return _json({})

    def _upload_start(self, request: Request) -> Response:
        ident = f"input{len(self.uploads) + 1}"
        self.uploads[f"files/{ident}"] = bytearray()
        self.upload_start = request
        self.log.append(("upload", request.headers["X-Goog-Upload-Header-Content-Type"]))
        url = self.server.url_for(f"/upload-session/{ident}")
        return Response("", headers={"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"})

    def _upload_chunk(self, request: Request) -> Response:
        ident = request.path.rsplit("/", 1)[1]
        self.uploads[f"files/{ident}"] += request.get_data()
        if "finalize" in request.headers.get("X-Goog-Upload-Command", ""):
            file = {"name": f"files/{ident}", "mimeType": "application/jsonl", "state": "ACTIVE",
                    "uri": self.server.url_for(f"/v1beta/files/{ident}")}
            return _json({"file": file}, headers={"X-Goog-Upload-Status": "final"})
        return Response("", headers={"X-Goog-Upload-Status": "active"})

    def _download(self, request: Request) -> Response:
        ident = request.path.split("/v1beta/files/")[1].split(":")[0]
        self.log.append(("download", ident))
        if self.download_failures:
            self.download_failures -= 1
            return _json({"error": {"code": 503, "message": "try again", "status": "UNAVAILABLE"}}, 503)
        return Response(self.files[ident], content_type="application/octet-stream")


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(value), status=status, content_type="application/json", headers=headers)
