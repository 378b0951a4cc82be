"""Test helpers: an in-process executor, app processes on free loopback ports, a recording proxy."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


def json_body(method: str, url: str, body: Any = None) -> Any:
    """The JSON reply to a request that must succeed (an HTTP error raises)."""
    status, reply = http_json(method, url, body)
    if status >= 400:
        raise AssertionError(f"{method} {url} answered {status}: {reply}")
    return reply


@contextlib.contextmanager
def app_process(
    module: str, executor_url: str, extra_env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[str]:
    """Run ``python -m module PORT EXECUTOR_URL``; yield the app's serve URL; stop it by PID."""
    port = port or free_port()
    env = {**os.environ, "PYTHONPATH": ROOT, **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", module, str(port), executor_url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", f"{module} did not start"
        yield f"http://127.0.0.1:{port}/api/inngest"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Recorder:
    """A proxy between executor and app that records each call (the conformance runner's tap)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.calls: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self, method: str) -> None:
                started = time.time()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                host = recorder.target.split("//", 1)[1].split("/", 1)[0]
                conn = http.client.HTTPConnection(host, timeout=60)
                path = "/api/inngest" + (self.path[self.path.index("?") :] if "?" in self.path else "")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                headers["Host"] = f"127.0.0.1:{self.server.server_address[1]}"
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if method == "POST":
                    recorder.calls.append(
                        {
                            "t": time.time(),  # the reply came back
                            "started": started,  # the call came in
                            "path": self.path,
                            "request": json.loads(body) if body else None,
                            "status": response.status,
                            "response": json.loads(data) if data else None,
                        }
                    )
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            def do_POST(self) -> None:
                self._forward("POST")

            def do_PUT(self) -> None:
                self._forward("PUT")

            def do_GET(self) -> None:
                self._forward("GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/inngest"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls_for(self, fn_slug: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if f"fnId={fn_slug}" in c["path"]]


class Client:
    """What a test needs from the executor's HTTP API."""

    def __init__(self, base: str) -> None:
        self.base = base

    def send(self, name: str, data: dict[str, Any] | None = None, **fields: Any) -> str:
        status, body = http_json("POST", f"{self.base}/e/test-key", {"name": name, "data": data or {}, **fields})
        assert status == 200, body
        return str(body["ids"][0])

    def runs_for_event(self, event_id: str) -> list[dict[str, Any]]:
        status, body = http_json("GET", f"{self.base}/v1/events/{event_id}/runs")
        assert status == 200, body
        return list(body["data"])

    def run(self, run_id: str) -> dict[str, Any]:
        status, body = http_json("GET", f"{self.base}/dev/runs/{run_id}")
        assert status == 200, body
        return dict(body)

    def runs(self, limit: int = 1000) -> list[dict[str, Any]]:
        return list(http_json("GET", f"{self.base}/dev/runs?limit={limit}")[1])

    def wait_run(
        self,
        event_id: str,
        slug_suffix: str,
        timeout: float = 20.0,
        until: tuple[str, ...] = ("Completed", "Failed", "Cancelled", "Skipped"),
    ) -> dict[str, Any]:
        deadline = time.time() + timeout
        while True:
            runs = [r for r in self.runs_for_event(event_id) if r["function_slug"].endswith(slug_suffix)]
            if runs and runs[0]["status"] in until:
                return self.run(runs[0]["run_id"])
            if time.time() > deadline:
                raise AssertionError(f"no finished run of {slug_suffix} for {event_id}: {runs}")
            time.sleep(0.05)

    def wait_functions(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.time() + timeout
        while len(http_json("GET", f"{self.base}/dev")[1]["functions"]) < count:
            if time.time() > deadline:
                raise AssertionError("the app never registered")
            time.sleep(0.05)
