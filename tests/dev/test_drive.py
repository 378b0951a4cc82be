"""The embedded executor driven in the caller's thread: a virtual clock, an in-process transport.

Every call goes through the real protocol: the executor builds and sends each call body, and an
app's core ``Handler`` answers it, only with no HTTP in between. Time moves when the test moves
the clock, so a 30-day sleep and a 3-day wait take none of it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inngest_serverless import ContextSync, Handler, Inngest, Request, TriggerCron, TriggerEvent
from inngest_serverless.dev.calls import Reply
from inngest_serverless.dev.clock import SystemClock, VirtualClock
from inngest_serverless.dev.executor import Executor, Options
from inngest_serverless.dev.ids import ulid_ms
from inngest_serverless.dev.runs import Run, Status
from inngest_serverless.dev.store import Store

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
DAY = 86400.0
APP_URL = "http://app.test/api/inngest"


class InProcess:
    """A transport that hands each request to a core ``Handler``, recording what it was sent."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.calls: list[tuple[str, str, dict[str, str]]] = []

    def __call__(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: float, max_body: int | None
    ) -> Reply:
        self.calls.append((method, url, headers))
        response = self.handler.handle(Request.build(method, url, headers, body))
        data = response.read()
        if max_body is not None and len(data) > max_body:
            return Reply(response.status, {}, b"", error="output_too_large")
        return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, data)


def function_config(app_id: str, fn_id: str, trigger: dict[str, Any], retries: int = 3) -> dict[str, Any]:
    slug = f"{app_id}-{fn_id}"
    return {
        "id": slug,
        "name": fn_id,
        "triggers": [trigger],
        "steps": {
            "step": {
                "id": "step",
                "name": "step",
                "retries": {"attempts": retries},
                "runtime": {"type": "http", "url": f"{APP_URL}?fnId={slug}&stepId=step"},
            }
        },
    }


client = Inngest(app_id="drive", is_production=False)
attempts: list[int] = []


@client.create_function(fn_id="long", trigger=TriggerEvent(event="drive/start"))
def long_running(ctx: ContextSync) -> dict[str, Any]:
    order = ctx.step.run("reserve", lambda: {"order": ctx.event.data["order"]})
    ctx.step.sleep("cool-off", datetime.timedelta(days=30))
    approved = ctx.step.wait_for_event(
        "approval", event="drive/approved", if_exp="async.data.order == event.data.order", timeout=datetime.timedelta(days=3)
    )
    return {"order": order["order"], "approved": approved is not None}


def flaky() -> str:
    attempts.append(len(attempts))
    if len(attempts) < 3:
        raise RuntimeError(f"attempt {len(attempts)} fails")
    return "third time"


@client.create_function(fn_id="flaky", trigger=TriggerEvent(event="drive/flaky"), retries=3)
def flaky_function(ctx: ContextSync) -> str:
    return ctx.step.run("try", flaky)


@client.create_function(fn_id="hourly", trigger=TriggerCron(cron="0 * * * *"))
def hourly(ctx: ContextSync) -> str:
    return str(ctx.event.data["scheduledAt"])


@client.create_function(fn_id="child", trigger=TriggerEvent(event="drive/child"))
def child(ctx: ContextSync) -> int:
    return int(ctx.event.data["n"]) * 2


@client.create_function(fn_id="parent", trigger=TriggerEvent(event="drive/parent"))
def parent(ctx: ContextSync) -> dict[str, Any]:
    doubled = ctx.step.invoke("double", function=child, data={"n": 21})
    signal = ctx.step.wait_for_signal("go", signal="drive-go", timeout=datetime.timedelta(hours=6))
    return {"doubled": doubled, "signal": signal}


CONFIGS = [
    function_config("drive", "long", {"event": "drive/start"}),
    function_config("drive", "flaky", {"event": "drive/flaky"}),
    function_config("drive", "child", {"event": "drive/child"}),
    function_config("drive", "parent", {"event": "drive/parent"}),
]
HOURLY = function_config("drive", "hourly", {"cron": "0 * * * *"})


@pytest.fixture
def driven() -> Iterator[tuple[Executor, VirtualClock, InProcess]]:
    store = Store(":memory:")
    clock = VirtualClock(START)
    transport = InProcess(Handler(client))
    executor = Executor(store, Options(), clock=clock, transport=transport)
    executor.prepare()
    executor.register({"appName": "drive", "url": APP_URL, "functions": CONFIGS})
    attempts.clear()
    try:
        yield executor, clock, transport
    finally:
        store.close()


def only_run(executor: Executor) -> Run:
    runs = executor.runs.list()
    assert len(runs) == 1, runs
    return runs[0]


def test_the_virtual_clock_moves_only_forward_and_only_when_told() -> None:
    clock = VirtualClock(START)
    assert clock.now() == clock.now() == START
    assert clock.advance(30 * DAY) == START + 30 * DAY
    assert clock.set(START + 31 * DAY) == clock.now() == START + 31 * DAY
    with pytest.raises(ValueError):
        clock.set(START)
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert clock.now() == START + 31 * DAY
    assert VirtualClock().now() <= SystemClock().now()  # no start: the machine's time


def test_a_30_day_sleep_and_a_3_day_wait_complete_on_the_virtual_clock(
    driven: tuple[Executor, VirtualClock, InProcess],
) -> None:
    executor, clock, transport = driven
    assert executor.next_due() is None  # nothing queued before the first event
    executor.send([{"name": "drive/start", "data": {"order": "A-1"}}])
    assert executor.run_due() >= 2  # the start, and the call that follows the step at once
    run = only_run(executor)
    assert run.status == Status.RUNNING and ulid_ms(run.id) == int(START * 1000)
    assert executor.next_due() == START + 30 * DAY  # the sleep, and nothing else
    assert executor.run_due() == 0  # not due yet: the clock has not moved

    clock.set(START + 30 * DAY)
    assert executor.run_due() >= 1
    assert executor.next_due() == START + 33 * DAY  # the wait's timeout
    executor.send([{"name": "drive/approved", "data": {"order": "B-2"}}])  # another order's: no match
    executor.send([{"name": "drive/approved", "data": {"order": "A-1"}}])
    clock.advance(60)
    assert executor.run_due() >= 1

    run = only_run(executor)
    assert run.status == Status.COMPLETED, run
    assert run.output == {"order": "A-1", "approved": True}
    assert run.ended_at == START + 30 * DAY + 60
    assert executor.next_due() is None  # the timeout went with the matched wait
    assert {method for method, _, _ in transport.calls} == {"POST"}
    assert all(headers["X-Inngest-Run-Id"] == run.id for _, _, headers in transport.calls if "X-Inngest-Run-Id" in headers)
    sleep = next(entry for entry in executor.runs.timeline(run.id) if entry["kind"] == "Sleep")
    assert (sleep["started"], sleep["ended"]) == (START, START + 30 * DAY)


def test_run_due_takes_a_time_to_work_up_to_without_moving_the_clock(
    driven: tuple[Executor, VirtualClock, InProcess],
) -> None:
    executor, clock, _ = driven
    executor.send([{"name": "drive/start", "data": {"order": "A-1"}}])
    executor.run_due()
    assert executor.run_due(now=START + 30 * DAY - 1) == 0  # a second early: the sleep stays
    assert executor.run_due(now=START + 30 * DAY) >= 1
    assert clock.now() == START
    sleep = next(entry for entry in executor.runs.timeline(only_run(executor).id) if entry["kind"] == "Sleep")
    assert sleep["ended"] == START  # what the work records is timed by the clock, which stayed


def test_a_wait_times_out_when_the_clock_passes_it(driven: tuple[Executor, VirtualClock, InProcess]) -> None:
    executor, clock, _ = driven
    executor.send([{"name": "drive/start", "data": {"order": "A-1"}}])
    executor.run_due()
    while (due := executor.next_due()) is not None:  # jump from one due item to the next
        clock.set(max(due, clock.now()))
        executor.run_due()
    run = only_run(executor)
    assert run.status == Status.COMPLETED
    assert run.output == {"order": "A-1", "approved": False}
    assert run.ended_at == START + 33 * DAY


def test_retries_wait_out_their_backoff_on_the_virtual_clock(driven: tuple[Executor, VirtualClock, InProcess]) -> None:
    executor, clock, _ = driven
    executor.send([{"name": "drive/flaky"}])
    assert executor.run_due() >= 1
    for failed in (1, 2):
        assert len(attempts) == failed and only_run(executor).status == Status.RUNNING
        due = executor.next_due()
        assert due is not None and 15 <= due - clock.now() <= 30 * 2**failed + 15  # the backoff table, with jitter
        clock.set(due)
        executor.run_due()
    run = only_run(executor)
    assert run.status == Status.COMPLETED and run.output == "third time" and len(attempts) == 3


def test_an_invoke_and_a_signal_that_times_out_on_the_virtual_clock(
    driven: tuple[Executor, VirtualClock, InProcess],
) -> None:
    executor, clock, _ = driven
    executor.send([{"name": "drive/parent"}])
    executor.run_due()  # the parent invokes the child, which completes, and the parent waits
    assert executor.pauses.signal("another-signal", {}) is None  # nobody waits for that one
    assert executor.next_due() == START + 6 * 3600
    clock.set(START + 6 * 3600)
    executor.run_due()
    by_function = {run.fn_slug: run for run in executor.runs.list()}
    assert by_function["drive-child"].status == Status.COMPLETED and by_function["drive-child"].output == 42
    parent_run = by_function["drive-parent"]
    assert parent_run.status == Status.COMPLETED
    assert parent_run.output == {"doubled": 42, "signal": None}
    assert parent_run.ended_at == START + 6 * 3600


def test_cel_now_reads_the_virtual_clock(driven: tuple[Executor, VirtualClock, InProcess]) -> None:
    executor, clock, _ = driven
    due = function_config("drive", "due", {"event": "drive/due", "expression": "event.data.due_ms <= now()"})
    executor.register({"appName": "drive", "url": APP_URL, "functions": [*CONFIGS, due]})
    an_hour_on = int((START + 3600) * 1000)  # long past on the machine's clock, an hour ahead on this one
    executor.send([{"name": "drive/due", "data": {"due_ms": an_hour_on}}])
    assert executor.runs.ids(fn_slug="drive-due") == []
    clock.advance(3600)
    executor.send([{"name": "drive/due", "data": {"due_ms": an_hour_on}}])
    assert len(executor.runs.ids(fn_slug="drive-due")) == 1


def test_a_cron_ticks_on_the_virtual_clock(driven: tuple[Executor, VirtualClock, InProcess]) -> None:
    executor, clock, _ = driven
    clock.advance(90)  # 00:01:30
    executor.register({"appName": "drive", "url": APP_URL, "functions": [*CONFIGS, HOURLY]})
    assert executor.next_due() == START + 3600
    clock.set(START + 3600)
    executor.run_due()
    run = only_run(executor)
    assert run.status == Status.COMPLETED and run.output == "2026-01-01T01:00:00Z"
    assert executor.next_due() == START + 7200


def test_prepare_recovers_the_work_a_stopped_executor_had_leased(tmp_path: Path) -> None:
    db = str(tmp_path / "dev.db")
    store = Store(db)
    first = Executor(store, Options(), clock=VirtualClock(START), transport=InProcess(Handler(client)))
    first.prepare()
    first.register({"appName": "drive", "url": APP_URL, "functions": CONFIGS})
    first.send([{"name": "drive/flaky"}])
    assert first.queue.claim() is not None  # leased, then the process stops before working it
    store.close()

    store = Store(db)
    try:
        later = VirtualClock(START + 1)
        second = Executor(store, Options(), clock=later, transport=InProcess(Handler(client)))
        assert second.run_due() == 0  # still leased
        second.prepare()
        attempts.extend([0, 1])  # let the first try succeed
        assert second.run_due() >= 1
        run = only_run(second)
        assert run.status == Status.COMPLETED and run.output == "third time"
        assert second.ids.new() > run.id  # and new ids sort after the stored ones
    finally:
        store.close()
