"""ASGI adapter: scope -> Request, Response -> messages; mounted in Starlette and served by uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inngest_serverless import Context, Inngest, Response, TriggerEvent
from inngest_serverless.adapters.asgi import ASGIAdapter, asgi_adapter
from tests.support.aws_harness import free_port, wait_port
from tests.support.hosts.servers import http
from tests.support.hosts.stub_core import GatedStream, Recorder, read_gated
from tests.support.hosts.templates import run_blocks
from tests.support.sim_executor import SimExecutor
from tests.support.standard_functions import add_standard_functions

KEY = "signkey-test-0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def _scope(path: str = "/api/inngest", query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None,
           method: str = "POST", root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": root_path,
            "query_string": query, "headers": headers or [(b"host", b"app.local:8000")],
            "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000)}


def _run(app: Any, scope: dict[str, Any], chunks: list[bytes]) -> list[dict[str, Any]]:
    inbox = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_request_carries_full_url_headers_and_a_body_sent_in_pieces() -> None:
    core = Recorder()
    headers = [(b"host", b"app.local:8000"), (b"x-inngest-signature", b"t=1&s=ab")]
    _run(ASGIAdapter(core), _scope(query=b"fnId=a-b&stepId=step", headers=headers), [b'{"a"', b":1}"])
    (request,) = core.requests
    assert request.method == "POST"
    assert request.url == "http://app.local:8000/api/inngest?fnId=a-b&stepId=step"
    assert request.headers["X-Inngest-Signature"] == "t=1&s=ab"
    assert request.body == b'{"a":1}'
    assert request.deadline is None


def test_forwarded_proto_and_host_make_the_public_url() -> None:
    core = Recorder()
    headers = [(b"host", b"10.0.0.5:8000"), (b"x-forwarded-proto", b"https"),
               (b"x-forwarded-host", b"app.example.com, proxy.internal")]
    _run(ASGIAdapter(core), _scope(headers=headers, method="GET"), [b""])
    assert core.requests[0].url == "https://app.example.com/api/inngest"


@pytest.mark.parametrize(("path", "root_path"), [("/api/inngest", "/api"), ("/inngest", "/api")])
def test_mount_prefix_is_kept_whichever_way_the_server_splits_it(path: str, root_path: str) -> None:
    core = Recorder()
    _run(ASGIAdapter(core), _scope(path=path, root_path=root_path, method="GET"), [b""])
    assert core.requests[0].url == "http://app.local:8000/api/inngest"


def test_timeout_becomes_a_deadline() -> None:
    core = Recorder()
    _run(ASGIAdapter(core, timeout=90), _scope(), [b"{}"])
    deadline = core.requests[0].deadline
    assert deadline is not None
    assert 0 < deadline - time.monotonic() <= 90


def test_body_over_the_limit_is_refused_before_core_sees_it() -> None:
    core = Recorder()
    sent = _run(ASGIAdapter(core, max_body=8), _scope(), [b"12345", b"67890"])
    assert core.requests == []
    assert sent[0]["status"] == 413
    assert (b"x-inngest-no-retry", b"true") in sent[0]["headers"]


def test_reply_has_status_headers_and_content_length() -> None:
    core = Recorder(Response(206, {"content-type": "application/json", "x-inngest-sdk": "s:v1"}, b"[1]"))
    start, body = _run(ASGIAdapter(core), _scope(), [b"{}"])
    assert start["status"] == 206
    assert (b"content-length", b"3") in start["headers"]
    assert (b"x-inngest-sdk", b"s:v1") in start["headers"]
    assert body == {"type": "http.response.body", "body": b"[1]", "more_body": False}


def test_streamed_reply_goes_out_chunk_by_chunk() -> None:
    core = Recorder(Response(201, {"content-type": "application/json"}, stream=iter([b" ", b" ", b"{}"])))
    start, *bodies = _run(ASGIAdapter(core), _scope(), [b"{}"])
    assert all(k != b"content-length" for k, _ in start["headers"])
    assert [(m["body"], m["more_body"]) for m in bodies] == [(b" ", True), (b" ", True), (b"{}", True), (b"", False)]


def test_lifespan_startup_and_shutdown_complete() -> None:
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(ASGIAdapter(Recorder())({"type": "lifespan"}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_importing_the_adapter_loads_no_asyncio_or_host_library() -> None:
    code = ("import sys, inngest_serverless.adapters.asgi; "
            "print(sorted(m for m in ('asyncio', 'starlette', 'uvicorn', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- over HTTP, under uvicorn ------------------------------------------------------------


@contextlib.contextmanager
def _uvicorn(app: Any) -> Iterator[str]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_port(port, _Alive(thread))  # type: ignore[arg-type]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class _Alive:
    """wait_port's view of a thread: poll() is None while it runs."""

    def __init__(self, thread: threading.Thread) -> None:
        self.thread, self.returncode = thread, None

    def poll(self) -> int | None:
        return None if self.thread.is_alive() else 1


@pytest.mark.harness
def test_uvicorn_flushes_each_streamed_chunk(tmp_path: Path) -> None:
    with _uvicorn(ASGIAdapter(GatedStream(), timeout=60)) as origin:
        status, first, report = read_gated(f"{origin}/api/inngest", tmp_path / "gate")
    assert (status, first) == (201, b" ")
    assert report["gate_opened"] is True
    assert report["body_length"] == 10
    remaining = report["remaining"]
    assert isinstance(remaining, float) and 0 < remaining <= 60


@pytest.mark.harness
def test_routed_in_starlette_under_uvicorn_syncs_and_runs_sync_and_async_functions() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route

    client = Inngest(app_id="starlette-app", is_production=True, signing_key=KEY)
    add_standard_functions(client)

    @client.create_function(fn_id="async-steps", trigger=TriggerEvent(event="a/async"))
    async def async_steps(ctx: Context) -> list[int]:
        async def double(n: int) -> int:
            return n * 2

        first = await ctx.step.run("double", double, ctx.event.data["n"])
        return [first, await ctx.step.run("again", double, first)]

    # A Route with an ASGI app as endpoint serves the exact path (a Mount would redirect to ".../").
    app = Starlette(routes=[Route("/api/inngest", asgi_adapter(client))])
    with _uvicorn(app) as origin:
        sim = SimExecutor(http, f"{origin}/api/inngest", "starlette-app", KEY)
        payload = sim.sync()
        run = sim.run("multi-step", "sim/multi", {"start": 2})
        async_run = sim.run("async-steps", "a/async", {"n": 5})
    assert payload["url"] == f"{origin}/api/inngest"
    assert (run.status, run.output) == ("completed", {"first": 3, "second": 30})
    assert (async_run.status, async_run.output) == ("completed", [10, 20])


def test_the_guide_examples_serve_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fastapi")
    from starlette.testclient import TestClient

    monkeypatch.setenv("INNGEST_DEV", "1")
    namespace = run_blocks("deploy-asgi-wsgi.md", skip=("django", "flask"))
    with TestClient(namespace["app"]) as fastapi_client:  # type: ignore[arg-type]
        assert fastapi_client.get("/api/inngest").json()["function_count"] == 1
        assert fastapi_client.delete("/api/inngest").status_code == 405


@pytest.mark.harness
def test_a_call_that_outlasts_the_grace_is_streamed_by_default() -> None:
    from tests.support.standard_functions import add_slow_function, slow_call

    client = Inngest(app_id="slow-asgi", is_production=True, signing_key=KEY)
    add_slow_function(client)
    query, headers, body = slow_call("slow-asgi", KEY)
    with _uvicorn(asgi_adapter(client)) as origin:
        status, _, reply = http("POST", f"{origin}/api/inngest?{query}", headers, body)
    assert status == 201 and reply.startswith(b" ")
    wrapper = json.loads(reply)
    assert wrapper["status"] == 206
    assert json.loads(wrapper["body"])[0]["data"] == "done"
