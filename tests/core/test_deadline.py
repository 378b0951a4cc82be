"""The request's deadline: checkpointing stops starting steps in time; a step still running is answered for."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from inngest_serverless import ContextSync, Handler, Inngest, TriggerEvent
from inngest_serverless.core.checkpoint import Checkpoint
from inngest_serverless.core.context import Context
from tests.support import checkpoint_driver
from tests.support.checkpoint_driver import Run, apply, call, play
from tests.support.core_driver import h
from tests.support.fake_api import FakeApi


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of a test, so that abandoned step bodies finish and their threads end."""
    event = threading.Event()
    yield event
    event.set()

# The fake API and the run it stores (pytest finds fixtures by their own names).
api = checkpoint_driver.api
run = checkpoint_driver.run


def timed_steps(client: Inngest, n: int, seconds: float, ran: Counter[str], **options: Any) -> None:
    @client.create_function(fn_id="timed", trigger=TriggerEvent(event="t/timed"), **options)
    def fn(ctx: ContextSync) -> Any:
        out = []
        for i in range(n):
            def body(i: int = i) -> int:
                time.sleep(seconds)
                ran.update([f"s{i}"])
                return i

            out.append(ctx.step.run(f"s{i}", body))
        return out


def reported_ids(run: Run, ops: list[dict[str, Any]]) -> list[str]:
    posted = [op["id"] for batch in run.posts for op in batch]
    return posted + [op["id"] for op in ops if op["op"] == "StepRun"]


def test_a_deadline_for_k_of_n_steps_reports_exactly_the_finished_ones(api: FakeApi, run: Run) -> None:
    n = 20
    client = Inngest(app_id="dl", is_production=False, api_base_url=api.url, checkpoint=True)
    ran: Counter[str] = Counter()
    timed_steps(client, n, 0.2, ran)
    handler = Handler(client, deadline_margin=0.5)

    status, ops = call(handler, "timed", run, remaining=3.0)
    assert status == 206
    first = set(ran)
    k = len(first)
    assert 1 <= k < n, f"the deadline allows only some of the {n} steps"
    assert sorted(reported_ids(run, ops)) == sorted(h(s) for s in first), "exactly the finished steps are reported"
    assert [op["op"] for op in ops] == ["StepRun"], "the last finished step ends the invocation"

    apply(run, ops)
    assert play(handler, "timed", run, remaining=3.0) == list(range(n))
    assert ran == Counter({f"s{i}": 1 for i in range(n)}), "nothing ran twice"
    assert run.invocations >= 2


def test_max_runtime_stops_starting_steps_without_a_host_deadline(api: FakeApi, run: Run) -> None:
    client = Inngest(app_id="dl", is_production=False, api_base_url=api.url)
    ran: Counter[str] = Counter()
    timed_steps(client, 6, 0.1, ran, checkpoint=Checkpoint(max_runtime=250))
    handler = Handler(client)
    status, ops = call(handler, "timed", run)
    assert status == 206
    assert 1 <= len(ran) < 6
    assert sorted(reported_ids(run, ops)) == sorted(h(s) for s in ran)
    apply(run, ops)
    assert play(handler, "timed", run) == list(range(6))
    assert ran == Counter({f"s{i}": 1 for i in range(6)})


def slow_fn(client: Inngest, release: threading.Event, **options: Any) -> None:
    @client.create_function(fn_id="slow", trigger=TriggerEvent(event="t/slow"), **options)
    def fn(ctx: ContextSync) -> Any:
        ctx.step.run("quick", lambda: "q")
        return ctx.step.run("slow step", lambda: release.wait(30) and "late")


def test_a_step_still_running_near_the_deadline_gets_a_retriable_error(run: Run, release: threading.Event) -> None:
    client = Inngest(app_id="dl", is_production=False)
    slow_fn(client, release)
    handler = Handler(client, deadline_margin=0.2)
    run.steps[h("quick")] = {"data": "q"}
    status, ops = call(handler, "slow", run, remaining=0.6)
    assert status == 206
    assert [(op["op"], op["id"]) for op in ops] == [("StepError", h("slow step"))]
    error = ops[0]["error"]
    assert error["name"] == "DeadlineExceeded"
    assert "'slow step'" in error["message"] and "deadline" in error["message"]


def test_on_the_last_attempt_the_overrun_fails_the_step(run: Run, release: threading.Event) -> None:
    client = Inngest(app_id="dl", is_production=False)
    slow_fn(client, release)
    run.steps[h("quick")] = {"data": "q"}
    status, ops = call(Handler(client, deadline_margin=0.2), "slow", run, remaining=0.6, attempt=4)
    assert status == 206 and ops[0]["op"] == "StepFailed" and ops[0]["error"]["name"] == "DeadlineExceeded"


def test_an_overrun_with_held_steps_reports_the_finished_ones_only(api: FakeApi, run: Run,
                                                                   release: threading.Event) -> None:
    client = Inngest(app_id="dl", is_production=False, api_base_url=api.url)
    slow_fn(client, release, checkpoint=Checkpoint(batch_steps=5))
    status, ops = call(Handler(client, deadline_margin=0.2), "slow", run, remaining=0.6)
    assert status == 206
    assert [(op["op"], op["id"]) for op in ops] == [("StepRun", h("quick"))]
    assert run.posts == []


def test_an_async_step_body_is_cancelled_on_overrun(run: Run) -> None:
    client = Inngest(app_id="dl", is_production=False)
    cancelled = threading.Event()

    @client.create_function(fn_id="async-slow", trigger=TriggerEvent(event="t/as"))
    async def fn(ctx: Context) -> Any:
        async def body() -> str:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return "late"

        return await ctx.step.run("async slow", body)

    status, ops = call(Handler(client, deadline_margin=0.2), "async-slow", run, remaining=0.5)
    assert status == 206 and ops[0]["op"] == "StepError" and "'async slow'" in ops[0]["error"]["message"]
    assert cancelled.is_set()


def test_a_step_that_ends_in_time_is_reported_normally(run: Run) -> None:
    client = Inngest(app_id="dl", is_production=False)

    @client.create_function(fn_id="fine", trigger=TriggerEvent(event="t/fine"))
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.run("fine", lambda: "ok")

    status, ops = call(Handler(client), "fine", run, remaining=30.0)
    assert status == 206 and ops[0]["op"] == "StepRun" and ops[0]["data"] == "ok"


def test_a_step_error_inside_the_guard_is_still_the_step_error(run: Run) -> None:
    client = Inngest(app_id="dl", is_production=False)

    @client.create_function(fn_id="boom", trigger=TriggerEvent(event="t/boom"))
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.run("boom", lambda: 1 / 0)

    status, ops = call(Handler(client), "boom", run, remaining=30.0)
    assert status == 206 and ops[0]["op"] == "StepError" and ops[0]["error"]["name"] == "ZeroDivisionError"


def test_a_step_is_not_started_once_the_deadline_margin_is_reached(run: Run) -> None:
    client = Inngest(app_id="dl", is_production=False)
    started: list[str] = []

    @client.create_function(fn_id="late", trigger=TriggerEvent(event="t/late"))
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.run("late", lambda: started.append("late") or "ran")

    status, ops = call(Handler(client, deadline_margin=5.0), "late", run, remaining=1.0)
    assert status == 206 and ops[0]["op"] == "StepError" and ops[0]["error"]["name"] == "DeadlineExceeded"
    assert started == []
