"""Middleware (core/middleware.py): the hook chain through real protocol calls, a tracing
middleware (OpenTelemetry) and an encryption middleware, the latter also through the embedded
executor, so that only ciphertext is stored by the server and the function still sees plaintext."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from inngest_serverless import (
    Context,
    ContextSync,
    Handler,
    Inngest,
    Middleware,
    MiddlewareSync,
    NonRetriableError,
    SendEventsResult,
    StepMemos,
    TransformOutputResult,
    TriggerEvent,
)
from inngest_serverless.core.errors import ConfigError
from inngest_serverless.dev import DevServer
from tests.support import middleware_examples
from tests.support.core_driver import call_body, h, post, run_to_completion
from tests.support.dev_apps.harness import Client, app_process, http_json
from tests.support.fake_api import fake_api

TRIGGER = TriggerEvent(event="test/event")


def recorder(name: str, log: list[str]) -> type[MiddlewareSync]:
    class Recording(MiddlewareSync):
        def transform_input(self, ctx: Any, function: Any, steps: StepMemos) -> None:
            log.append(f"{name}.transform_input({steps.size})")

        def before_execution(self) -> None:
            log.append(f"{name}.before_execution")

        def after_execution(self) -> None:
            log.append(f"{name}.after_execution")

        def transform_output(self, result: TransformOutputResult) -> None:
            what = result.step.id if result.step else "fn"
            log.append(f"{name}.transform_output({what})")

        def before_response(self) -> None:
            log.append(f"{name}.before_response")

    return Recording


def async_recorder(name: str, log: list[str]) -> type[Middleware]:
    class Recording(Middleware):
        async def transform_input(self, ctx: Any, function: Any, steps: StepMemos) -> None:
            await asyncio.sleep(0)
            log.append(f"{name}.transform_input({steps.size})")

        async def before_execution(self) -> None:
            log.append(f"{name}.before_execution")

        async def after_execution(self) -> None:
            log.append(f"{name}.after_execution")

        async def transform_output(self, result: TransformOutputResult) -> None:
            what = result.step.id if result.step else "fn"
            log.append(f"{name}.transform_output({what})")

        async def before_response(self) -> None:
            log.append(f"{name}.before_response")

    return Recording


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_client_then_function_middleware_in_one_ordered_chain(kind: str) -> None:
    log: list[str] = []
    body_ran: list[str] = []
    client_mw = recorder("client", log) if kind == "sync" else async_recorder("client", log)
    client = Inngest(app_id="app", is_production=False, middleware=[client_mw])
    opts: dict[str, Any] = {"fn_id": "fn", "trigger": TRIGGER, "middleware": [recorder("fn", log)]}

    if kind == "sync":
        @client.create_function(**opts)
        def fn(ctx: ContextSync) -> Any:
            a = ctx.step.run("a", lambda: body_ran.append("a") or 1)
            return a + ctx.step.run("b", lambda: body_ran.append("b") or 2)
    else:
        @client.create_function(**opts)
        async def fn(ctx: Context) -> Any:
            a = await ctx.step.run("a", lambda: body_ran.append("a") or 1)
            return a + await ctx.step.run("b", lambda: body_ran.append("b") or 2)

    handler = Handler(client)
    first = post(handler, "fn", call_body())
    assert first.status == 206 and first.json()[0]["data"] == 1
    assert log == ["client.transform_input(0)", "fn.transform_input(0)",
                   "client.before_execution", "fn.before_execution",
                   "fn.after_execution", "client.after_execution",
                   "fn.transform_output(a)", "client.transform_output(a)",
                   "client.before_response", "fn.before_response"]
    log.clear()
    second = post(handler, "fn", call_body({h("a"): {"data": 1}}))
    assert second.status == 206 and second.json()[0]["name"] == "b"
    assert log[:3] == ["client.transform_input(1)", "fn.transform_input(1)", "client.before_execution"]
    log.clear()
    last = post(handler, "fn", call_body({h("a"): {"data": 1}, h("b"): {"data": 2}}))
    assert last.status == 200 and last.json() == 3
    assert "fn.transform_output(fn)" in log and log.index("client.before_execution") < log.index("fn.after_execution")
    assert body_ran == ["a", "b"]


def test_transform_output_replaces_step_and_function_outputs_and_input_replaces_memos() -> None:
    class Doubling(MiddlewareSync):
        def transform_input(self, ctx: Any, function: Any, steps: StepMemos) -> None:
            for memo in steps.values():
                memo.data = memo.data // 10

        def transform_output(self, result: TransformOutputResult) -> None:
            if result.has_output():
                result.output = result.output * 10

    client = Inngest(app_id="app", is_production=False, middleware=[Doubling])
    seen: list[int] = []

    @client.create_function(fn_id="fn", trigger=TRIGGER)
    def fn(ctx: ContextSync) -> int:
        n = ctx.step.run("n", lambda: 4)
        seen.append(n)
        return n + 1

    result, ops = run_to_completion(Handler(client), "fn")
    assert ops[0][0]["data"] == 40  # on the wire: transformed
    assert seen == [4]  # the function: the transform undone
    assert result == 50


def test_a_failing_hook_fails_the_call_and_an_error_reaches_transform_output() -> None:
    errors: list[Any] = []

    class Broken(MiddlewareSync):
        def before_response(self) -> None:
            raise NonRetriableError("middleware refused")

    class Watch(MiddlewareSync):
        def transform_output(self, result: TransformOutputResult) -> None:
            errors.append((result.error, result.has_output()))

    client = Inngest(app_id="app", is_production=False, middleware=[Broken])

    @client.create_function(fn_id="fn", trigger=TRIGGER)
    def fn(ctx: ContextSync) -> None:
        return None

    @client.create_function(fn_id="raises", trigger=TRIGGER, middleware=[Watch])
    def raises(ctx: ContextSync) -> None:
        raise ValueError("boom")

    resp = post(Handler(client), "fn", call_body())
    assert resp.status == 400 and resp.json()["message"] == "middleware refused"
    assert resp.headers["x-inngest-no-retry"] == "true"
    resp = post(Handler(client), "raises", call_body())
    assert resp.status == 400  # Broken is in this chain too
    assert [(type(e).__name__, has) for e, has in errors] == [("ValueError", False)]


def test_middleware_is_checked_when_configured() -> None:
    with pytest.raises(ConfigError, match="list of middleware classes"):
        Inngest(app_id="app", is_production=False, middleware=MiddlewareSync)  # type: ignore[arg-type]
    client = Inngest(app_id="app", is_production=False)
    with pytest.raises(ConfigError, match="middleware entries"):
        client.create_function(fn_id="fn", trigger=TRIGGER, middleware=["nope"])  # type: ignore[list-item]


def test_send_hooks_see_and_change_events() -> None:
    seen: list[Any] = []

    class Stamp(MiddlewareSync):
        def before_send_events(self, events: list[Any]) -> None:
            for event in events:
                event.data["stamped"] = True

        def after_send_events(self, result: SendEventsResult) -> None:
            seen.append((result.ids, result.error))

    class AsyncStamp(Middleware):
        async def before_send_events(self, events: list[Any]) -> None:
            events[0].data["async"] = True

    with fake_api() as api:
        api.on("POST", "/e/ek", (200, {"ids": ["id1"], "status": 200}))
        client = Inngest(app_id="a", is_production=False, event_key="ek", event_api_base_url=api.url,
                         middleware=[Stamp, AsyncStamp])
        assert client.send_sync({"name": "x", "data": {"n": 1}}) == ["id1"]
        assert asyncio.run(client.send([{"name": "y"}])) == ["id1"]
        assert client.send_sync({"name": "z"}, skip_middleware=True) == ["id1"]
        assert asyncio.run(client.send({"name": "z"}, skip_middleware=True)) == ["id1"]
        sent = [r.json()[0] for r in api.requests]
    assert [e["data"] for e in sent] == [{"n": 1, "stamped": True, "async": True}, {"stamped": True, "async": True},
                                         {}, {}]  # skip_middleware: no hook saw the last two sends
    assert seen == [(["id1"], None), (["id1"], None)]


def test_unused_middleware_loads_nothing() -> None:
    code = ("import sys, inngest_serverless.adapters.aws_lambda as a, inngest_serverless as i;"
            "c = i.Inngest(app_id='x', is_production=False); print('inngest_serverless.core.middleware' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- tracing --------------------------------------------------------------------------------


def test_tracing_middleware_makes_a_span_per_step_that_ran() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    class Tracing(middleware_examples.TracingMiddleware):
        tracer_provider = provider

    client = Inngest(app_id="app", is_production=False, middleware=[Tracing])

    @client.create_function(fn_id="fn", trigger=TRIGGER)
    def fn(ctx: ContextSync) -> str:
        ctx.step.run("fetch", lambda: "x")
        ctx.step.sleep("nap", 1000)
        return ctx.step.run("store", lambda: "y")

    result, _ = run_to_completion(Handler(client), "fn")
    assert result == "y"
    spans = exporter.get_finished_spans()
    steps = [(s.attributes["inngest.step_id"], s.attributes["inngest.op"]) for s in spans if s.name == "inngest.step"]
    assert steps == [("fetch", "StepRun"), ("nap", "Sleep"), ("store", "StepRun")]
    calls = [s for s in spans if s.name == "inngest.call"]
    assert len(calls) == 4 and [s.attributes["inngest.memoized_steps"] for s in calls] == [0, 1, 2, 3]
    assert calls[-1].attributes.get("inngest.finished") is True
    for step in (s for s in spans if s.name == "inngest.step"):
        assert step.parent is not None and step.parent.span_id in {c.context.span_id for c in calls}


# -- encryption -----------------------------------------------------------------------------


def test_encryption_puts_only_ciphertext_on_the_wire() -> None:
    key = Fernet.generate_key()
    client = Inngest(app_id="app", is_production=False, middleware=[middleware_examples.encryption_middleware(key)])
    seen: list[Any] = []

    @client.create_function(fn_id="fn", trigger=TRIGGER)
    def fn(ctx: ContextSync) -> dict[str, Any]:
        card = ctx.step.run("card", lambda: {"number": "4111"})
        seen.append(card)
        return {"last4": card["number"][-4:], "secret": ctx.event.data["encrypted"]}

    wire_event = {"name": "test/event", "data": {"encrypted": {"__ENCRYPTED__": True, "__STRATEGY__": "fernet",
                                                              "data": Fernet(key).encrypt(b'"pin"').decode()}}}
    handler = Handler(client)
    first = post(handler, "fn", call_body(event=wire_event))
    op = first.json()[0]
    assert middleware_examples.is_sealed(op["data"]) and "4111" not in first.read().decode()
    last = post(handler, "fn", call_body({op["id"]: {"data": op["data"]}}, event=wire_event))
    assert last.status == 200 and middleware_examples.is_sealed(last.json())
    assert seen == [{"number": "4111"}]
    assert Fernet(key).decrypt(last.json()["data"].encode()) == b'{"last4": "4111", "secret": "pin"}'
    # Another key cannot read the memo: the call fails for good instead of running on garbage.
    other = Inngest(app_id="app", is_production=False,
                    middleware=[middleware_examples.encryption_middleware(Fernet.generate_key())])
    other.create_function(fn_id="fn", trigger=TRIGGER)(fn.handler)
    resp = post(Handler(other), "fn", call_body({op["id"]: {"data": op["data"]}}))
    assert resp.status == 400 and "could not be decrypted" in resp.json()["message"]


@pytest.fixture
def executor() -> Iterator[DevServer]:
    server = DevServer(port=0, db=":memory:", retry_interval=0.3, poll_interval=3600).start()
    try:
        yield server
    finally:
        server.stop()


def test_encryption_round_trips_through_the_embedded_executor(executor: DevServer) -> None:
    key = Fernet.generate_key()
    with app_process("tests.support.dev_apps.encrypted_app", executor.url, {"APP_FERNET_KEY": key.decode()}) as app_url:
        executor.sdk_urls.append(app_url)
        executor.ping_apps()
        client = Client(executor.url)
        client.wait_functions(2)
        sender = Inngest(app_id="enc", is_production=False, event_api_base_url=executor.url, event_key="k",
                         middleware=[middleware_examples.encryption_middleware(key)])
        event_id = sender.send_sync({"name": "enc/start", "data": {"encrypted": {"card": "4111-1111-1111-4242"}, "n": 2}})[0]
        run = client.wait_run(event_id, "-checkout")
        assert run["status"] == "Completed", run
        receipt = next(r for r in _wait_runs(client, "-receipt") if r["status"] == "Completed")
        stored = [http_json("GET", f"{executor.url}/v1/events/{event_id}")[1],
                  http_json("GET", f"{executor.url}/v1/events/{receipt['event_id']}")[1]]
        stored += [client.run(run["run_id"]), client.run(receipt["run_id"])]
    # What the executor holds (events, step state, results) is ciphertext only ...
    assert "4111" not in repr(stored) and "4242" not in repr(stored)
    steps = [t for t in stored[2]["timeline"] if t["kind"] == "StepRun"]
    assert [t["name"] for t in steps] == ["read-card", "charge", "send-receipt"]
    assert all(middleware_examples.is_sealed(t["detail"]["data"]) for t in steps)
    # ... yet the functions computed on plaintext, across their calls and from one to the other.
    fernet = Fernet(key)
    assert fernet.decrypt(run["output"]["data"].encode()) == b'{"charged": "4242", "steps": 3}'
    assert fernet.decrypt(receipt["output"]["data"].encode()) == b'"4111-1111-1111-4242: 200"'


def _wait_runs(client: Client, suffix: str) -> list[dict[str, Any]]:
    deadline = time.time() + 20
    while time.time() < deadline:
        runs = [r for r in client.runs() if r["function_slug"].endswith(suffix)]
        if runs and all(r["status"] != "Running" for r in runs):
            return runs
        time.sleep(0.05)
    raise AssertionError(f"no finished {suffix} run")


def test_add_middleware_appends_to_the_clients_chain() -> None:
    log: list[str] = []
    client = Inngest(app_id="app", is_production=False, middleware=[recorder("first", log)])
    client.add_middleware(recorder("second", log))
    with pytest.raises(ConfigError):
        client.add_middleware("nope")  # type: ignore[arg-type]

    @client.create_function(fn_id="fn", trigger=TRIGGER)
    def fn(ctx: ContextSync) -> int:
        return 1

    assert post(Handler(client), "fn", call_body()).json() == 1
    assert log[:2] == ["first.transform_input(0)", "second.transform_input(0)"]


def test_checkpointed_step_outputs_are_transformed_before_they_are_posted() -> None:
    from tests.support.checkpoint_driver import Run, attach, play

    key = Fernet.generate_key()
    seen: list[int] = []
    run = Run()
    with fake_api() as api:
        attach(api, run)
        client = Inngest(app_id="ck", is_production=False, api_base_url=api.url, checkpoint=True,
                         middleware=[middleware_examples.encryption_middleware(key)])

        @client.create_function(fn_id="steps", trigger=TriggerEvent(event="t/steps"))
        def fn(ctx: ContextSync) -> int:
            total = 0
            for i in range(3):
                value = ctx.step.run(f"s{i}", lambda i=i: i * 10)
                seen.append(value)
                total += value
            return total

        result = play(Handler(client), "steps", run)
    posted = [op for ops in run.posts for op in ops]
    assert [op["name"] for op in posted] == ["s0", "s1", "s2"]
    assert all(middleware_examples.is_sealed(op["data"]) for op in posted)  # each transformed once
    assert Fernet(key).decrypt(posted[2]["data"]["data"].encode()) == b"20"
    assert seen == [0, 10, 20]  # the function went on with plaintext
    assert middleware_examples.is_sealed(result) and run.invocations == 1


# -- transform_input's StepMemos and when before_execution fires -----------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_before_execution_fires_right_after_the_last_memoized_step_is_met(kind: str) -> None:
    """As the official SDK: at the start when nothing is memoized; else as the last memoized step
    is met, before the code after it runs (not later, before the next new step)."""
    log: list[str] = []
    mw = recorder("mw", log) if kind == "sync" else async_recorder("mw", log)
    client = Inngest(app_id="app", is_production=False, middleware=[mw])

    if kind == "sync":
        @client.create_function(fn_id="fn", trigger=TRIGGER)
        def fn(ctx: ContextSync) -> str:
            log.append("start")
            ctx.step.run("a", lambda: log.append("body a") or "A")
            log.append("got a")
            ctx.step.sleep("nap", 1000)
            log.append("got nap")
            return ctx.step.run("b", lambda: log.append("body b") or "B")
    else:
        @client.create_function(fn_id="fn", trigger=TRIGGER)
        async def fn(ctx: Context) -> str:
            log.append("start")
            await ctx.step.run("a", lambda: log.append("body a") or "A")
            log.append("got a")
            await ctx.step.sleep("nap", 1000)
            log.append("got nap")
            return await ctx.step.run("b", lambda: log.append("body b") or "B")

    handler = Handler(client)
    post(handler, "fn", call_body())
    assert log[:4] == ["mw.transform_input(0)", "mw.before_execution", "start", "body a"]
    log.clear()
    post(handler, "fn", call_body({h("a"): {"data": "A"}, h("nap"): None}))
    assert log[:6] == ["mw.transform_input(2)", "start", "got a", "mw.before_execution", "got nap", "body b"]
    log.clear()
    post(handler, "fn", call_body({h("a"): {"data": "A"}}))  # the last memo met, then a new step (the sleep)
    assert log[:4] == ["mw.transform_input(1)", "start", "mw.before_execution", "got a"]
    assert log.count("mw.before_execution") == 1


def test_step_memos_is_the_official_class_and_changes_reach_the_function() -> None:
    seen: list[Any] = []

    class Inspect(MiddlewareSync):
        def transform_input(self, ctx: Any, function: Any, steps: StepMemos) -> None:
            outputs = list(steps.values())
            seen.append((steps.size, sorted((type(o.data).__name__, o.error is not None) for o in outputs)))
            failed = next(o for o in outputs if o.error is not None)
            seen.append((failed.error.name, failed.error.message) if failed.error else None)
            for out in outputs:
                if out.data == "old":
                    out.data = "new"
            if any(o.data == "first time" for o in outputs):  # drop it: the step runs again
                assert steps.pop(h("again")) is not None and steps.size == 3
            assert type(steps.pop("no-such-step")).__name__ == "_Empty"

    client = Inngest(app_id="app", is_production=False, middleware=[Inspect])

    @client.create_function(fn_id="fn", trigger=TRIGGER)
    def fn(ctx: ContextSync) -> Any:
        changed = ctx.step.run("changed", lambda: "never runs")
        ctx.step.sleep("nap", 1000)
        try:
            ctx.step.run("failed", lambda: "never runs")
        except Exception as exc:
            caught = str(exc)
        return [changed, caught, ctx.step.run("again", lambda: "ran again")]

    steps = {h("changed"): {"data": "old"}, h("nap"): None, h("again"): {"data": "first time"},
             h("failed"): {"error": {"name": "ValueError", "message": "no stock"}}}
    op = post(Handler(client), "fn", call_body(steps)).json()[0]
    assert (op["name"], op["data"]) == ("again", "ran again")  # its memo popped: the step ran again
    assert seen == [(4, [("NoneType", False), ("NoneType", True), ("str", False), ("str", False)]),
                    ("ValueError", "no stock")]
    steps[h("again")] = {"data": op["data"]}
    last = post(Handler(client), "fn", call_body(steps))
    assert last.status == 200 and last.json()[:2] == ["new", "no stock"]  # output.data set: the function saw it


def test_without_middleware_no_step_memos_are_built() -> None:
    code = ("import sys, inngest_serverless as i\n"
            "from tests.support.core_driver import call_body, h, post\n"
            "c = i.Inngest(app_id='x', is_production=False)\n"
            "@c.create_function(fn_id='f', trigger=i.TriggerEvent(event='e'))\n"
            "def f(ctx):\n"
            "    return ctx.step.run('s', lambda: 1)\n"
            "assert post(i.Handler(c), 'f', call_body({h('s'): {'data': 1}})).json() == 1\n"
            "print('inngest_serverless.core.middleware' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"
