"""Every flow control, cancellation, timeouts and cron, on the engine's virtual clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from inngest_serverless import (
    Batch,
    Cancel,
    Concurrency,
    ContextSync,
    Debounce,
    Inngest,
    Priority,
    RateLimit,
    Singleton,
    Throttle,
    Timeouts,
    TriggerCron,
    TriggerEvent,
)
from inngest_serverless.testing import TestEngine

Engine = Callable[..., TestEngine]
T0 = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)  # a Tuesday
MIN = dt.timedelta(minutes=1)

client = Inngest(app_id="flow", is_production=False)
order: list[str] = []


@client.create_function(
    fn_id="debounced",
    trigger=TriggerEvent(event="t/debounce"),
    debounce=Debounce(period=dt.timedelta(minutes=5), key="event.data.user", timeout=dt.timedelta(minutes=12)),
)
def debounced(ctx: ContextSync) -> Any:
    return ctx.event.data["n"]


@client.create_function(
    fn_id="batched", trigger=TriggerEvent(event="t/batch"), batch_events=Batch(max_size=3, timeout=dt.timedelta(seconds=30))
)
def batched(ctx: ContextSync) -> list[Any]:
    return [e.data["n"] for e in ctx.events]


@client.create_function(
    fn_id="throttled", trigger=TriggerEvent(event="t/throttle"), throttle=Throttle(limit=1, period=dt.timedelta(minutes=1))
)
def throttled(ctx: ContextSync) -> Any:
    return ctx.event.data["n"]


@client.create_function(
    fn_id="rate-limited", trigger=TriggerEvent(event="t/rate"), rate_limit=RateLimit(limit=1, period=dt.timedelta(hours=1))
)
def rate_limited(ctx: ContextSync) -> Any:
    return ctx.event.data["n"]


@client.create_function(fn_id="idempotent", trigger=TriggerEvent(event="t/idem"), idempotency="event.data.order")
def idempotent(ctx: ContextSync) -> Any:
    return ctx.event.data["n"]


@client.create_function(
    fn_id="one-at-a-time", trigger=TriggerEvent(event="t/concurrency"), concurrency=Concurrency(limit=1, key="event.data.user")
)
def one_at_a_time(ctx: ContextSync) -> Any:
    ctx.step.sleep("wait", dt.timedelta(minutes=10))
    return ctx.step.run("work", lambda: ctx.event.data["n"])


@client.create_function(
    fn_id="prioritized", trigger=TriggerEvent(event="t/priority"), priority=Priority(run="event.data.vip ? 600 : 0")
)
def prioritized(ctx: ContextSync) -> None:
    order.append(ctx.event.data["who"])


@client.create_function(
    fn_id="single", trigger=TriggerEvent(event="t/single"), singleton=Singleton(mode="skip", key="event.data.user")
)
def single(ctx: ContextSync) -> Any:
    ctx.step.sleep("long", dt.timedelta(hours=1))
    return ctx.event.data["n"]


@client.create_function(fn_id="single-cancel", trigger=TriggerEvent(event="t/single-cancel"), singleton=Singleton(mode="cancel"))
def single_cancel(ctx: ContextSync) -> Any:
    ctx.step.sleep("long", dt.timedelta(hours=1))
    return ctx.event.data["n"]


@client.create_function(
    fn_id="cancellable",
    trigger=TriggerEvent(event="t/signup"),
    cancel=Cancel(event="t/deleted", if_exp="async.data.user == event.data.user"),
)
def cancellable(ctx: ContextSync) -> str:
    ctx.step.sleep("trial", dt.timedelta(days=14))
    return ctx.step.run("bill", lambda: "billed")


@client.create_function(fn_id="slow", trigger=TriggerEvent(event="t/slow"), timeouts=Timeouts(finish=dt.timedelta(hours=1)))
def slow(ctx: ContextSync) -> str:
    ctx.step.sleep("nap", dt.timedelta(hours=2))
    return "finished"


@client.create_function(
    fn_id="late-start",
    trigger=TriggerEvent(event="t/late"),
    throttle=Throttle(limit=1, period=dt.timedelta(hours=1)),
    timeouts=Timeouts(start=dt.timedelta(minutes=10)),
)
def late_start(ctx: ContextSync) -> Any:
    return ctx.event.data["n"]


@client.create_function(fn_id="slow-child", trigger=TriggerEvent(event="t/slow-child"))
def slow_child(ctx: ContextSync) -> str:
    ctx.step.sleep("nap", dt.timedelta(hours=2))
    return "late"


@client.create_function(fn_id="impatient", trigger=TriggerEvent(event="t/impatient"))
def impatient(ctx: ContextSync) -> Any:
    try:
        return ctx.step.invoke("ask", function=slow_child, timeout=dt.timedelta(hours=1))
    except Exception as exc:
        return f"gave up: {exc}"


@client.create_function(fn_id="hourly", trigger=TriggerCron(cron="0 * * * *"))
def hourly(ctx: ContextSync) -> Any:
    return ctx.event.data["cron"]


@client.create_function(fn_id="morning", trigger=TriggerCron(cron="TZ=Asia/Tokyo 0 9 * * *"))
def morning(ctx: ContextSync) -> None:
    return None


def _send(engine: TestEngine, name: str, **data: Any) -> str:
    return engine.send({"name": name, "data": data})[0]


def test_debounce_runs_once_after_the_quiet_period_with_the_last_event(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    for n in range(3):
        _send(engine, "t/debounce", user="a", n=n)
        engine.advance(2 * MIN)
    _send(engine, "t/debounce", user="b", n=9)  # another key: its own window
    assert engine.runs(debounced) == []
    engine.advance(6 * MIN)
    runs = engine.runs(debounced)
    assert [(r.output, r.created_at) for r in runs] == [
        (2, T0 + 9 * MIN + dt.timedelta(seconds=0.05)),  # 5 min after the last "a" event, at 4 min
        (9, T0 + 11 * MIN + dt.timedelta(seconds=0.05)),  # 5 min after the "b" event, at 6 min
    ]


def test_debounce_timeout_bounds_the_wait_under_steady_events(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    for n in range(10):  # an event every 4 minutes never leaves 5 quiet ones
        _send(engine, "t/debounce", user="a", n=n)
        engine.advance(4 * MIN)
    first = engine.runs(debounced)[0]
    # 12 minutes after the first event, with the last one before then (at 8 min).
    assert first.created_at == T0 + 12 * MIN and first.output == 2


def test_a_batch_runs_when_full(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    engine.send([{"name": "t/batch", "data": {"n": n}} for n in range(4)])
    (full,) = engine.runs(batched)
    assert full.output == [0, 1, 2] and full.created_at == T0


def test_a_partial_batch_runs_at_its_timeout(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    run = engine.run(batched, {"name": "t/batch", "data": {"n": 1}})
    assert run.output == [1] and run.created_at == T0 + dt.timedelta(seconds=30)


def test_throttle_spreads_starts_over_its_period(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    engine.send([{"name": "t/throttle", "data": {"n": n}} for n in range(3)])
    engine.advance(3 * MIN)
    starts = sorted((r.started_at, r.output) for r in engine.runs(throttled) if r.started_at)
    assert starts == [(T0, 0), (T0 + MIN, 1), (T0 + 2 * MIN, 2)]


def test_rate_limit_drops_events_over_the_limit_in_its_period(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    engine.send([{"name": "t/rate", "data": {"n": n}} for n in range(3)])
    assert [r.output for r in engine.runs(rate_limited)] == [0]
    engine.advance(dt.timedelta(hours=1))
    assert engine.run(rate_limited, {"name": "t/rate", "data": {"n": 3}}).output == 3


def test_idempotency_starts_one_run_per_key_per_day(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    _send(engine, "t/idem", order=1, n=1)
    _send(engine, "t/idem", order=1, n=2)
    _send(engine, "t/idem", order=2, n=3)
    assert sorted(r.output for r in engine.runs(idempotent)) == [1, 3]
    engine.advance(dt.timedelta(hours=24))
    _send(engine, "t/idem", order=1, n=4)
    assert sorted(r.output for r in engine.runs(idempotent)) == [1, 3, 4]


def test_concurrency_limited_runs_all_finish(inngest_engine: Engine) -> None:
    # The engine works one item at a time, so a limit never has two calls to hold apart.
    engine = inngest_engine(client, start=T0)
    engine.send([{"name": "t/concurrency", "data": {"user": "a", "n": n}} for n in range(3)])
    engine.advance(dt.timedelta(minutes=10))
    assert sorted(r.output for r in engine.runs(one_at_a_time, status="Completed")) == [0, 1, 2]


def test_priority_starts_the_higher_priority_run_first(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    order.clear()
    engine.send(
        [
            {"name": "t/priority", "data": {"who": "regular", "vip": False}},
            {"name": "t/priority", "data": {"who": "vip", "vip": True}},
        ]
    )
    assert order == ["vip", "regular"]


def test_singleton_skips_a_second_run_while_the_first_is_running(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    first = engine.start(single, {"name": "t/single", "data": {"user": "a", "n": 1}})
    second = engine.start(single, {"name": "t/single", "data": {"user": "a", "n": 2}})
    other = engine.start(single, {"name": "t/single", "data": {"user": "b", "n": 3}})
    assert second.status == "Skipped" and other.running
    assert engine.finish(first).output == 1
    assert engine.run(single, {"name": "t/single", "data": {"user": "a", "n": 4}}).output == 4


def test_singleton_cancel_mode_replaces_the_running_run(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    first = engine.start(single_cancel, {"name": "t/single-cancel", "data": {"n": 1}})
    second = engine.run(single_cancel, {"name": "t/single-cancel", "data": {"n": 2}})
    assert engine.result(first).cancelled and second.output == 2


def test_a_cancel_event_ends_the_matching_run(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    kept = engine.start(cancellable, {"name": "t/signup", "data": {"user": "keep"}})
    gone = engine.start(cancellable, {"name": "t/signup", "data": {"user": "gone"}})
    engine.advance(dt.timedelta(days=3))
    _send(engine, "t/deleted", user="gone")
    assert engine.result(gone).cancelled and engine.result(gone).ended_at == T0 + dt.timedelta(days=3)
    assert engine.finish(kept).output == "billed"


def test_the_engine_cancels_a_run_as_the_api_does(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    run = engine.start(cancellable, {"name": "t/signup", "data": {"user": "x"}})
    assert engine.cancel(run) and engine.result(run).cancelled
    assert not engine.cancel(run)


def test_a_finish_timeout_cancels_a_run_that_takes_too_long(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(slow, {"name": "t/slow"})
    assert result.cancelled and result.ended_at == T0 + dt.timedelta(hours=1)


def test_a_start_timeout_cancels_a_run_that_could_not_start_in_time(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    engine.send([{"name": "t/late", "data": {"n": n}} for n in range(2)])
    engine.advance(dt.timedelta(hours=2))
    first, second = engine.runs(late_start)
    assert first.output == 0
    assert second.cancelled and second.ended_at == T0 + dt.timedelta(minutes=10)


def test_an_invoke_timeout_fails_the_invoking_step(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(impatient, {"name": "t/impatient"})
    assert result.output.startswith("gave up") and "Timed out" in result.output
    assert result.ended_at == T0 + dt.timedelta(hours=1)


def test_cron_runs_at_each_tick(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0 + dt.timedelta(minutes=30))
    first = engine.run(hourly)
    assert first.created_at == T0 + dt.timedelta(hours=1) and first.output == "0 * * * *"
    engine.advance(dt.timedelta(hours=5))
    ticks = [r.created_at for r in engine.runs(hourly)]
    assert ticks == [T0 + dt.timedelta(hours=h) for h in range(1, 7)]


def test_cron_with_a_time_zone_ticks_in_that_zone(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    run = engine.run(morning)
    assert run.created_at == dt.datetime(2030, 1, 2, 0, tzinfo=dt.timezone.utc)  # 09:00 in Tokyo
