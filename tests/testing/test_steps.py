"""Every step kind, run by the test engine on its virtual clock, sync and async."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from inngest_serverless import Context, ContextSync, Inngest, ParallelMode, TriggerEvent
from inngest_serverless.ai import OpenAI
from inngest_serverless.testing import TestEngine

Engine = Callable[..., TestEngine]
T0 = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)

client = Inngest(app_id="steps", is_production=False)


@client.create_function(fn_id="serial", trigger=TriggerEvent(event="t/serial"))
def serial(ctx: ContextSync) -> dict[str, Any]:
    a = ctx.step.run("a", lambda: ctx.event.data["n"] + 1)
    b = ctx.step.run("b", lambda x: x * 10, a)
    return {"a": a, "b": b}


@client.create_function(fn_id="serial-async", trigger=TriggerEvent(event="t/serial-async"))
async def serial_async(ctx: Context) -> dict[str, Any]:
    async def add(x: int) -> int:
        return x + 1

    a = await ctx.step.run("a", add, ctx.event.data["n"])
    b = await ctx.step.run("b", lambda: a * 10)
    return {"a": a, "b": b}


@client.create_function(fn_id="sleepy", trigger=TriggerEvent(event="t/sleep"))
def sleepy(ctx: ContextSync) -> str:
    ctx.step.sleep("month", dt.timedelta(days=30))
    ctx.step.sleep_until("new-year", dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc))
    return "awake"


@client.create_function(fn_id="waiter", trigger=TriggerEvent(event="t/wait"))
def waiter(ctx: ContextSync) -> Any:
    got = ctx.step.wait_for_event(
        "approval", event="t/approved", timeout=dt.timedelta(days=3), if_exp="async.data.id == event.data.id"
    )
    return None if got is None else got.data


@client.create_function(fn_id="signalled", trigger=TriggerEvent(event="t/signal"))
async def signalled(ctx: Context) -> Any:
    return await ctx.step.wait_for_signal("go", signal=f"go-{ctx.event.data['id']}", timeout=dt.timedelta(hours=1))


@client.create_function(fn_id="child", trigger=TriggerEvent(event="t/child"))
def child(ctx: ContextSync) -> dict[str, Any]:
    ctx.step.sleep("think", dt.timedelta(minutes=5))
    return {"doubled": ctx.event.data["x"] * 2}


@client.create_function(fn_id="parent", trigger=TriggerEvent(event="t/parent"))
def parent(ctx: ContextSync) -> Any:
    return ctx.step.invoke("call-child", function=child, data={"x": 21})


@client.create_function(fn_id="remote", trigger=TriggerEvent(event="t/remote"))
def remote(ctx: ContextSync) -> Any:
    return ctx.step.invoke_by_id("bill", app_id="billing", function_id="charge", data={"cents": 500})


@client.create_function(fn_id="sender", trigger=TriggerEvent(event="t/send"))
def sender(ctx: ContextSync) -> list[str]:
    return ctx.step.send_event("fan-out", [{"name": "t/child", "data": {"x": 1}}, {"name": "t/other", "data": {}}])


@client.create_function(fn_id="fan", trigger=TriggerEvent(event="t/parallel"))
def fan(ctx: ContextSync) -> tuple[Any, ...]:
    mode = ParallelMode.RACE if ctx.event.data.get("race") else ParallelMode.WAIT
    return ctx.group.parallel(
        (lambda: ctx.step.run("left", lambda: "L"), lambda: ctx.step.run("right", lambda: "R")), parallel_mode=mode
    )


@client.create_function(fn_id="fetcher", trigger=TriggerEvent(event="t/fetch"))
def fetcher(ctx: ContextSync) -> Any:
    return ctx.step.fetch("get", ctx.event.data["url"])


@client.create_function(fn_id="thinker", trigger=TriggerEvent(event="t/ai"))
def thinker(ctx: ContextSync) -> dict[str, Any]:
    drafted = ctx.step.ai.wrap("draft", lambda prompt: {"text": prompt.upper()}, "hi")
    model = OpenAI(auth_key="sk-test", model="tiny", base_url=ctx.event.data["base"])
    answer = ctx.step.ai.infer("ask", adapter=model, body={"messages": [{"role": "user", "content": "hi"}]})
    return {"drafted": drafted, "answer": answer}


def test_serial_steps_run_once_each_and_return_the_output(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(serial, {"name": "t/serial", "data": {"n": 1}})
    assert result.completed and result.output == {"a": 2, "b": 20}
    assert [(s.kind, s.name, s.attempt) for s in result.steps] == [("StepRun", "a", 0), ("StepRun", "b", 0)]
    assert result.step("b").output == 20


def test_an_async_function_runs_the_same(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(serial_async, {"name": "t/serial-async", "data": {"n": 1}})
    assert result.completed and result.output == {"a": 2, "b": 20}


def test_sleeps_and_sleep_until_pass_on_the_virtual_clock(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(sleepy, {"name": "t/sleep"})
    assert result.output == "awake"
    month, new_year = result.step("month"), result.step("new-year")
    assert month.ended == T0 + dt.timedelta(days=30)
    assert new_year.ended == dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc)
    assert result.ended_at == engine.now == dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc)


def test_a_sleep_is_not_over_before_its_time(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    started = engine.start(sleepy, {"name": "t/sleep"})
    engine.advance(dt.timedelta(days=29, hours=23))
    assert engine.result(started).running
    engine.advance(dt.timedelta(hours=1))
    assert engine.result(started).step("month").ended == T0 + dt.timedelta(days=30)


def test_a_wait_ends_with_the_matching_event(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    run = engine.start(waiter, {"name": "t/wait", "data": {"id": 7}})
    engine.advance(dt.timedelta(days=1))
    engine.send({"name": "t/approved", "data": {"id": 8}})  # another order's: no match
    assert engine.result(run).running
    engine.send({"name": "t/approved", "data": {"id": 7, "by": "ann"}})
    result = engine.result(run)
    assert result.completed and result.output == {"id": 7, "by": "ann"}
    assert result.step("approval").ended == T0 + dt.timedelta(days=1)


def test_a_wait_times_out_after_its_timeout(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(waiter, {"name": "t/wait", "data": {"id": 7}})
    assert result.completed and result.output is None
    assert result.step("approval").timed_out
    assert result.ended_at == T0 + dt.timedelta(days=3)


def test_a_signal_resumes_its_waiting_run(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    run = engine.start(signalled, {"name": "t/signal", "data": {"id": 1}})
    assert engine.signal("go-1", {"ok": True}) == run.run_id
    result = engine.result(run)
    assert result.completed and result.output == {"signal": "go-1", "data": {"ok": True}}


def test_an_unsent_signal_times_out(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(signalled, {"name": "t/signal", "data": {"id": 2}})
    assert result.completed and result.output is None
    assert result.ended_at == T0 + dt.timedelta(hours=1)


def test_invoke_runs_the_other_function_and_returns_its_output(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(parent, {"name": "t/parent"})
    assert result.completed and result.output == {"doubled": 42}
    assert result.step("call-child").output == {"doubled": 42}
    (child_run,) = engine.runs(child)
    assert child_run.completed and child_run.ended_at == T0 + dt.timedelta(minutes=5)


def test_invoke_of_a_function_outside_the_app_gets_the_mocked_result(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    charge = engine.mock_invoke("charge", app_id="billing", fn=lambda data: {"charged": data["cents"]})
    result = engine.run(remote, {"name": "t/remote"})
    assert result.completed and result.output == {"charged": 500}
    assert charge.total_calls == 1


def test_a_mocked_invoke_error_fails_the_invoking_step(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    engine.mock_invoke("billing-charge", error=ValueError("card declined"))
    result = engine.run(remote, {"name": "t/remote"})
    assert result.failed
    assert "card declined" in json.dumps(result.error)


def test_invoke_of_an_unknown_function_fails(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(remote, {"name": "t/remote"})
    assert result.failed and "could not find function" in json.dumps(result.error)


def test_send_event_is_recorded_and_starts_the_runs_it_triggers(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(sender, {"name": "t/send"})
    assert result.completed and len(result.output) == 2
    assert [(e["name"], e["data"], e["id"]) for e in engine.sent_events] == [
        ("t/child", {"x": 1}, result.output[0]),
        ("t/other", {}, result.output[1]),
    ]
    assert engine.sent_events[0]["ts"] == int(T0.timestamp() * 1000)  # stamped on the virtual clock
    (child_run,) = engine.runs(child)
    assert engine.finish(child_run).output == {"doubled": 2}


@pytest.mark.parametrize("race", [False, True])
def test_parallel_steps_each_run_once(inngest_engine: Engine, race: bool) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(fan, {"name": "t/parallel", "data": {"race": race}})
    assert result.completed
    assert sorted(s.name for s in result.steps if s.kind == "StepRun") == ["left", "right"]
    if race:
        assert result.output in (["L", None], [None, "R"], ["L", "R"])
    else:
        assert result.output == ["L", "R"]


@pytest.fixture
def local_site() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # a model endpoint: it answers with what it was asked
            asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps({"model": asked.get("model"), "auth": self.headers["Authorization"], "path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            body = b'{"hello":"world"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hello"
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_is_made_by_the_executor_and_memoized(inngest_engine: Engine, local_site: str) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(fetcher, {"name": "t/fetch", "data": {"url": local_site}})
    assert result.completed
    assert result.output["status_code"] == 200 and json.loads(result.output["body"]) == {"hello": "world"}
    assert result.step("get").kind == "Gateway"


def test_ai_wrap_runs_as_a_step_and_ai_infer_is_made_by_the_executor(inngest_engine: Engine, local_site: str) -> None:
    engine = inngest_engine(client, start=T0)
    base = local_site.rsplit("/", 1)[0]
    result = engine.run(thinker, {"name": "t/ai", "data": {"base": base}})
    assert result.completed
    assert result.output["drafted"] == {"text": "HI"}
    assert result.output["answer"] == {"model": "tiny", "auth": "Bearer sk-test", "path": "/chat/completions"}
    assert result.step("ask").kind == "AIGateway"
