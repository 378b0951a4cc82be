"""A step slower than a proxy's idle timeout: it fails without streaming and succeeds with it.

The proxy here behaves like a gateway or load balancer: it relays bytes both
ways and gives up on a request whose upstream sends nothing for its idle
timeout (a 504 when no byte of the reply came yet, else a cut connection).
The app runs under real servers: uvicorn through the ASGI adapter, and
wsgiref through the WSGI adapter.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
IDLE_TIMEOUT = 0.8
STEP_SECONDS = 2.0  # well over the idle timeout
INTERVAL = 0.2  # keep-alive interval, well under it

pytestmark = pytest.mark.harness


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class IdleTimeoutProxy:
    """Relays 127.0.0.1:port -> upstream; drops a reply that stays silent for ``idle`` seconds."""

    def __init__(self, upstream: int, idle: float) -> None:
        self.upstream, self.idle = upstream, idle
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.timeouts = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self.upstream)) as upstream:
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            upstream.settimeout(self.idle)
            try:
                self._replies(client, upstream)
            finally:
                # shutdown (not only close) wakes the pump blocked in recv and sends the FIN
                # that ends a close-delimited reply (wsgiref answers HTTP/1.0).
                for sock in (client, upstream):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

    def _replies(self, client: socket.socket, upstream: socket.socket) -> None:
        replied = False
        while True:
            try:
                data = upstream.recv(65536)
            except TimeoutError:
                self.timeouts += 1
                if not replied:
                    body = b"upstream idle timeout"
                    client.sendall(b"HTTP/1.1 504 Gateway Timeout\r\nContent-Length: %d\r\n"
                                   b"Connection: close\r\n\r\n%s" % (len(body), body))
                return
            if not data:
                return
            replied = True
            client.sendall(data)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self.closed = True
        self.server.close()


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


SERVERS = {
    "uvicorn-asgi": lambda port: [sys.executable, "-m", "uvicorn", "tests.support.streaming_proxy_app:asgi",
                                  "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
    "wsgiref-wsgi": lambda port: [sys.executable, "-m", "tests.support.streaming_proxy_app", str(port)],
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def proxy(request: pytest.FixtureRequest) -> Iterator[IdleTimeoutProxy]:
    if request.param == "uvicorn-asgi":
        pytest.importorskip("uvicorn")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STREAMING_TEST_STEP_SECONDS": str(STEP_SECONDS),
           "STREAMING_TEST_INTERVAL": str(INTERVAL)}
    server = subprocess.Popen(SERVERS[request.param](port), cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    front = None
    try:
        wait_for(port)
        front = IdleTimeoutProxy(port, IDLE_TIMEOUT)
        yield front
    finally:
        if front is not None:
            front.close()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


def call(proxy: IdleTimeoutProxy, streaming: str) -> tuple[int, dict[str, str], bytes]:
    """The executor's call for a discovery request, sent through the proxy."""
    import http.client

    body = {"event": {"name": "t/slow", "data": {}, "id": "e1", "ts": 1, "user": {}}, "events": [], "steps": {},
            "version": 2, "ctx": {"run_id": "01RUN", "fn_id": "uuid", "attempt": 0, "step_id": "step",
                                  "stack": {"stack": [], "current": 0}, "disable_immediate_execution": False}}
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
    try:
        conn.request("POST", f"/api/inngest?fnId=px-slow&stepId=step&streaming={streaming}",
                     body=json.dumps(body), headers={"content-type": "application/json"})
        reply = conn.getresponse()
        try:
            data = reply.read()
        except http.client.IncompleteRead as cut:
            data = cut.partial
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, data
    finally:
        conn.close()


def test_without_streaming_the_proxy_gives_up_on_the_slow_step(proxy: IdleTimeoutProxy) -> None:
    before = proxy.timeouts
    status, headers, body = call(proxy, "off")
    assert status == 504 and body == b"upstream idle timeout"
    assert "x-inngest-sdk" not in headers, "the reply came from the proxy, not the SDK"
    assert proxy.timeouts == before + 1


def test_with_streaming_the_slow_step_succeeds_through_the_proxy(proxy: IdleTimeoutProxy) -> None:
    before = proxy.timeouts
    status, headers, body = call(proxy, "auto")
    assert status == 201 and headers["x-inngest-sdk"].startswith("inngest-serverless:v")
    text = body.decode()
    assert text.startswith(" "), "keep-alive bytes came first"
    wrapper: dict[str, Any] = json.loads(text)
    assert wrapper["status"] == 206
    ops = json.loads(wrapper["body"])
    assert [(op["op"], op["name"], op["data"]) for op in ops] == [("StepRun", "slow step", "done")]
    assert proxy.timeouts == before
