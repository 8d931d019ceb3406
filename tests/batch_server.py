"""A threaded loopback Interactions API for `batch` tests and the batch benchmark.

http.server.ThreadingHTTPServer with HTTP/1.1 keep-alive: it holds as many requests at
once as clients send (a thread each), sleeps `latency` per answer, and above `limit`
requests in flight answers 429 (with a RetryInfo, or a Retry-After header). It records
the peak concurrency, the 429s sent and (unless keep=False) every request body.
`answer(body)` may script an answer: (status, JSON payload[, headers]) or None for the default.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


def interaction_for(body: dict[str, Any], number: int) -> dict[str, Any]:
    """The default answer: the input echoed back."""
    text = body.get("input")
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False)
    return {
        "id": f"v1_{number}", "object": "interaction", "status": "completed", "model": body.get("model"),
        "steps": [{"type": "model_output", "content": [{"type": "text", "text": f"echo: {text}"}]}],
        "usage": {"total_tokens": 3},
    }


def rate_limit_error(retry_delay: str | None = None, quota_id: str = "GenerateRequestsPerMinutePerProjectPerModel") -> dict[str, Any]:
    details: list[dict[str, Any]] = [{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                                      "violations": [{"quotaMetric": "generate_requests", "quotaId": quota_id}]}]
    if retry_delay is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
    return {"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED", "details": details}}


class BatchServer:
    def __init__(self, *, latency: float = 0.0, limit: int | None = None, retry_delay: str | None = None,
                 answer: Callable[[dict[str, Any]], Any] | None = None, keep: bool = True):
        self.latency, self.limit, self.retry_delay, self.answer, self.keep = latency, limit, retry_delay, answer, keep
        self.lock = threading.Lock()
        self.bodies: list[dict[str, Any]] = []
        self.count = self.in_flight = self.peak = self.throttled = 0
        self.peak_after_throttle = 0  # the peak in flight once a 429 was sent
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
                status, payload, headers = server.handle(body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def handle(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str] | None]:
        with self.lock:
            self.count += 1
            number = self.count
            if self.keep:
                self.bodies.append(body)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            if self.throttled:
                self.peak_after_throttle = max(self.peak_after_throttle, self.in_flight)
            over = self.limit is not None and self.in_flight > self.limit
            if over:
                self.throttled += 1
        try:
            if over:
                return 429, rate_limit_error(self.retry_delay), None
            if self.latency:
                time.sleep(self.latency)
            scripted = self.answer(body) if self.answer else None
            if scripted is not None:
                return scripted if len(scripted) == 3 else (*scripted, None)
            return 200, interaction_for(body, number), None
        finally:
            with self.lock:
                self.in_flight -= 1

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
