"""Streamed replies and checkpoints against the embedded executor: whole runs, over real HTTP.

The app is served by a threaded wsgiref server through the WSGI adapter; the
executor (inngest_serverless/dev) runs in this process and drives the runs.
"""

from __future__ import annotations

import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from inngest_serverless import ContextSync, Handler, Inngest, TriggerEvent
from inngest_serverless.adapters.wsgi import LocalServer, WSGIAdapter
from inngest_serverless.dev.server import DevServer
from tests.support.dev_apps.harness import json_body

pytestmark = pytest.mark.harness


class Rig:
    def __init__(self, dev: DevServer, client: Inngest, calls: Counter[str]) -> None:
        self.dev, self.client, self.calls = dev, client, calls

    def run(self, event: str, timeout: float = 30.0) -> dict[str, Any]:
        event_id = json_body("POST", f"{self.dev.url}/e/key", {"name": event, "data": {}})["ids"][0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = json_body("GET", f"{self.dev.url}/v1/events/{event_id}/runs")["data"]
            if runs and runs[0]["status"] in ("Completed", "Failed", "Cancelled"):
                return dict(runs[0])
            time.sleep(0.01)
        raise AssertionError(f"the run of {event} did not finish")


@pytest.fixture
def rig() -> Iterator[Callable[..., Rig]]:
    stops: list[Callable[[], None]] = []

    def start(define: Callable[[Inngest], None], **handler_options: Any) -> Rig:
        dev = DevServer(port=0, db=":memory:", poll_interval=3600.0).start()
        stops.append(dev.stop)
        client = Inngest(app_id="sx", is_production=False, api_base_url=dev.url, event_api_base_url=dev.url)
        define(client)
        adapter = WSGIAdapter(Handler(client, framework="wsgi", **handler_options))
        calls: Counter[str] = Counter()

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ["REQUEST_METHOD"] == "POST":
                calls[environ.get("QUERY_STRING", "")] += 1
            return adapter(environ, start_response)

        server = LocalServer(app).start()
        stops.append(server.close)
        url = f"{server.url}/api/inngest"
        with urllib.request.urlopen(urllib.request.Request(url, method="PUT"), timeout=30) as reply:
            assert reply.status == 200
        return Rig(dev, client, calls)

    try:
        yield start
    finally:
        for stop in reversed(stops):
            stop()


def test_a_run_completes_with_every_reply_streamed(rig: Callable[..., Rig]) -> None:
    def define(client: Inngest) -> None:
        @client.create_function(fn_id="streamed", trigger=TriggerEvent(event="t/streamed"), retries=0)
        def fn(ctx: ContextSync) -> Any:
            a = ctx.step.run("a", lambda: 1)
            b = ctx.step.run("b", lambda: '{"not": "an object"}')
            return {"a": a, "b": b}

    run = rig(define, streaming="force", keepalive_interval=0.05).run("t/streamed")
    assert run["status"] == "Completed"
    assert run["output"] == {"a": 1, "b": '{"not": "an object"}'}


def test_a_streamed_function_error_is_retried_and_then_fails_the_run(rig: Callable[..., Rig]) -> None:
    attempts: list[int] = []

    def define(client: Inngest) -> None:
        @client.create_function(fn_id="failing", trigger=TriggerEvent(event="t/failing"), retries=1)
        def fn(ctx: ContextSync) -> Any:
            attempts.append(ctx.attempt)
            raise RuntimeError("nope")

    started = rig(define, streaming="force", keepalive_interval=0.05)
    started.dev.executor.options.retry_interval = 0.05
    run = started.run("t/failing")
    assert run["status"] == "Failed" and attempts == [0, 1]


def test_a_checkpointed_run_completes_with_each_step_run_once(rig: Callable[..., Rig]) -> None:
    ran: Counter[str] = Counter()

    def define(client: Inngest) -> None:
        @client.create_function(fn_id="ck", trigger=TriggerEvent(event="t/ck"), retries=0, checkpoint=True)
        def fn(ctx: ContextSync) -> Any:
            return sum(ctx.step.run(f"s{i}", lambda i=i: ran.update([f"s{i}"]) or i) for i in range(5))

    started = rig(define)
    run = started.run("t/ck")
    assert run["status"] == "Completed" and run["output"] == 10
    assert ran == Counter({f"s{i}": 1 for i in range(5)})
    assert sum(started.calls.values()) == 1, "the executor's checkpoint API took every step: one invocation"


def test_a_checkpointed_run_with_a_sleep_takes_two_invocations(rig: Callable[..., Rig]) -> None:
    ran: Counter[str] = Counter()

    def define(client: Inngest) -> None:
        @client.create_function(fn_id="nap", trigger=TriggerEvent(event="t/nap"), retries=0, checkpoint=True)
        def fn(ctx: ContextSync) -> Any:
            a = ctx.step.run("a", lambda: ran.update(["a"]) or 1)
            ctx.step.sleep("nap", 10)
            b = ctx.step.run("b", lambda: ran.update(["b"]) or 2)
            c = ctx.step.run("c", lambda: ran.update(["c"]) or 3)
            return a + b + c

    started = rig(define)
    run = started.run("t/nap")
    assert run["status"] == "Completed" and run["output"] == 6
    assert ran == Counter({"a": 1, "b": 1, "c": 1})
    assert sum(started.calls.values()) == 2
