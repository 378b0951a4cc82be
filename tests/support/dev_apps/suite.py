"""The scenario functions, written once against the SDK API both SDKs share.

``build(sdk, client)`` returns the functions; ``sdk`` is the imported SDK module (``inngest``
or ``inngest_serverless``). Functions note what they did in ``RECORD`` (served at ``/stats``)
so tests can check behaviour that leaves no trace in run outputs (concurrency, ordering).
"""

from __future__ import annotations

import datetime
import os
import threading
import time
from typing import Any

RECORD: list[dict[str, Any]] = []
_LOCK = threading.Lock()
_COUNTERS: dict[str, int] = {}


def note(**fields: Any) -> None:
    with _LOCK:
        RECORD.append({"t": time.time(), **fields})


def bump(name: str) -> int:
    with _LOCK:
        _COUNTERS[name] = _COUNTERS.get(name, 0) + 1
        return _COUNTERS[name]


def build(sdk: Any, client: Any) -> list[Any]:
    ev = sdk.TriggerEvent
    fns: list[Any] = []

    def fn(fn_id: str, event: str, **kwargs: Any) -> Any:
        def wrap(handler: Any) -> Any:
            created = client.create_function(fn_id=fn_id, trigger=ev(event=event), **kwargs)(handler)
            fns.append(created)
            return created

        return wrap

    @fn("simple-fn", "tests/function.test")
    def simple(ctx: Any) -> Any:
        return {"name": ctx.event.name, "body": "ok"}

    @client.create_function(fn_id="expr-fn", trigger=ev(event="tests/expr.test", expression="event.data.plan == 'pro'"))
    def expr(ctx: Any) -> Any:
        return {"plan": ctx.event.data["plan"]}

    fns.append(expr)

    @fn("step-test", "tests/step.test")
    def steps(ctx: Any) -> Any:
        first = ctx.step.run("first step", lambda: "first step")
        ctx.step.sleep("sleep", datetime.timedelta(seconds=1))
        second = ctx.step.run("second step", lambda: {"first": first, "second": True})
        return {"name": ctx.event.name, "body": "ok", "second": second}

    @fn("retry-test", "tests/retry.test")
    def retry(ctx: Any) -> Any:
        def first_step() -> str:
            if bump("retry-step") == 1:
                raise Exception("broken")
            return "yes: 2"

        value = ctx.step.run("first step", first_step)
        if bump("retry-fn") == 1:
            raise Exception("broken func")
        return {"name": ctx.event.name, "body": "ok", "step": value}

    @fn(
        "cancel-test",
        "tests/cancel.test",
        cancel=[sdk.Cancel(event="cancel/please", if_exp="async.data.request_id == event.data.request_id")],
    )
    def cancel(ctx: Any) -> Any:
        ctx.step.sleep("sleep", datetime.timedelta(seconds=10))
        ctx.step.run("After the sleep", lambda: note(fn="cancel-test", what="after-sleep"))
        return "done"

    @fn("wait-for-event", "tests/wait.test")
    def wait(ctx: Any) -> Any:
        timeout = int(ctx.event.data.get("timeout_ms", 10000))
        found = ctx.step.wait_for_event(
            "wait",
            event="test/resume",
            if_exp="async.data.resume == true && async.data.id == event.data.id",
            timeout=datetime.timedelta(milliseconds=timeout),
        )
        if found is None:
            return {}
        return {"result": found.data}

    @fn("parallel", "tests/parallel.test")
    def parallel(ctx: Any) -> Any:
        results = ctx.group.parallel(tuple((lambda n=n: ctx.step.run(f"part {n}", lambda: n * 10)) for n in range(3)))
        after = ctx.step.run("after", lambda: sum(results))
        return {"parts": list(results), "sum": after}

    @fn("invoke-child", "tests/child.never")
    def child(ctx: Any) -> Any:
        if ctx.event.data.get("fail"):
            raise sdk.NonRetriableError("child failed")
        return {"doubled": ctx.event.data["x"] * 2}

    @fn("invoke-parent", "tests/invoke.test")
    def parent(ctx: Any) -> Any:
        try:
            result = ctx.step.invoke(
                "call child", function=child, data={"x": ctx.event.data["x"], "fail": ctx.event.data.get("fail", False)}
            )
        except sdk.StepError as exc:
            return {"child_error": str(exc)}
        return {"child": result}

    def on_failure(ctx: Any) -> Any:
        note(fn="fail-fn", what="on_failure", error=ctx.event.data["error"]["message"])
        return "handled"

    @fn("fail-fn", "tests/fail.test", retries=0, on_failure=on_failure)
    def fail(ctx: Any) -> Any:
        raise sdk.NonRetriableError("nope")

    @fn("send-event", "tests/send.test")
    def send(ctx: Any) -> Any:
        ids = ctx.step.send_event("send", sdk.Event(name="tests/sent", data={"from": "send-event"}))
        return {"sent": len(ids)}

    @fn("sent-receiver", "tests/sent")
    def receiver(ctx: Any) -> Any:
        return ctx.event.data

    def slow_step(name: str) -> Any:
        def work(ctx: Any) -> Any:
            def body() -> str:
                note(fn=name, what="start", key=ctx.event.data.get("key"), n=ctx.event.data.get("n"))
                time.sleep(float(ctx.event.data.get("hold", 0.2)))
                note(fn=name, what="end", key=ctx.event.data.get("key"), n=ctx.event.data.get("n"))
                return "done"

            return ctx.step.run("work", body)

        return work

    fn("concurrency", "tests/concurrency.test", concurrency=[sdk.Concurrency(limit=1)])(slow_step("concurrency"))
    fn(
        "keyed-concurrency",
        "tests/keyed.test",
        concurrency=[sdk.Concurrency(limit=1, key="event.data.key")],
    )(slow_step("keyed-concurrency"))
    fn(
        "priority",
        "tests/priority.test",
        concurrency=[sdk.Concurrency(limit=1)],
        priority=sdk.Priority(run="event.data.p"),
    )(slow_step("priority"))
    fn(
        "start-timeout",
        "tests/start-timeout.test",
        concurrency=[sdk.Concurrency(limit=1)],
        timeouts=sdk.Timeouts(start=datetime.timedelta(seconds=1)),
    )(slow_step("start-timeout"))
    fn(
        "throttled",
        "tests/throttle.test",
        throttle=sdk.Throttle(limit=1, period=datetime.timedelta(seconds=1), burst=1),
    )(slow_step("throttled"))

    @fn("rate-limited", "tests/ratelimit.test", rate_limit=sdk.RateLimit(limit=1, period=datetime.timedelta(hours=1)))
    def rate_limited(ctx: Any) -> Any:
        return ctx.event.data

    @fn("idempotent", "tests/idem.test", idempotency="event.data.k")
    def idempotent(ctx: Any) -> Any:
        return ctx.event.data

    @fn("debounced", "tests/debounce.test", debounce=sdk.Debounce(period=datetime.timedelta(seconds=1)))
    def debounced(ctx: Any) -> Any:
        return ctx.event.data

    @fn("batched", "tests/batch.test", batch_events=sdk.Batch(max_size=3, timeout=datetime.timedelta(seconds=2)))
    def batched(ctx: Any) -> Any:
        return [e.data["n"] for e in ctx.events]

    @fn("singleton", "tests/singleton.test", singleton=sdk.Singleton(mode="skip"))
    def singleton(ctx: Any) -> Any:
        ctx.step.sleep("hold", datetime.timedelta(seconds=2))
        return "held"

    @fn("finish-timeout", "tests/timeout.test", timeouts=sdk.Timeouts(finish=datetime.timedelta(seconds=1)))
    def finish_timeout(ctx: Any) -> Any:
        ctx.step.sleep("long", datetime.timedelta(seconds=3))
        ctx.step.run("late", lambda: note(fn="finish-timeout", what="late"))
        return "late"

    # The schedules may be moved to the next minutes by a test that waits for them to fire.
    @client.create_function(
        fn_id="cron", trigger=sdk.TriggerCron(cron=os.environ.get("SUITE_CRON_TZ", "TZ=Asia/Kathmandu 30 9 * * *"))
    )
    def cron(ctx: Any) -> Any:
        note(fn="cron", cron=ctx.event.data["cron"], ts=ctx.event.ts)
        return {"name": ctx.event.name, "cron": ctx.event.data["cron"], "ts": ctx.event.ts}

    @client.create_function(fn_id="cron-utc", trigger=sdk.TriggerCron(cron=os.environ.get("SUITE_CRON_UTC", "30 9 * * *")))
    def cron_utc(ctx: Any) -> Any:
        note(fn="cron", cron=ctx.event.data["cron"], ts=ctx.event.ts)
        return {"name": ctx.event.name, "cron": ctx.event.data["cron"], "ts": ctx.event.ts}

    fns += [cron, cron_utc]

    @fn("always-fails", "tests/always-fails.test", retries=2)
    def always_fails(ctx: Any) -> Any:
        raise Exception("still broken")

    @fn("no-retry", "tests/no-retry.test", retries=3)
    def no_retry(ctx: Any) -> Any:
        raise sdk.NonRetriableError("do not retry")

    @fn("slow-child", "tests/slow-child.never")
    def slow_child(ctx: Any) -> Any:
        ctx.step.sleep("nap", datetime.timedelta(seconds=5))
        return "late"

    @fn("invoke-timeout", "tests/invoke-timeout.test")
    def invoke_timeout(ctx: Any) -> Any:
        try:
            result = ctx.step.invoke("call slow child", function=slow_child, data={}, timeout=datetime.timedelta(seconds=1))
        except sdk.StepError as exc:
            return {"error": str(exc)}
        return {"child": result}

    @fn(
        "lifecycle",
        "tests/lifecycle.test",
        retries=0,
        cancel=[sdk.Cancel(event="tests/lifecycle.cancel", if_exp="async.data.k == event.data.k")],
    )
    def lifecycle(ctx: Any) -> Any:
        if ctx.event.data["mode"] == "fail":
            raise sdk.NonRetriableError("lifecycle failed")
        if ctx.event.data["mode"] == "sleep":
            ctx.step.sleep("hold", datetime.timedelta(seconds=30))
        return {"k": ctx.event.data["k"]}

    def watcher(kind: str) -> Any:
        def watch(ctx: Any) -> Any:
            data = ctx.event.data
            error = data.get("error")
            seen = {
                "kind": kind,
                "keys": sorted(k for k in data if k != "_inngest"),
                "k": (data.get("event") or {}).get("data", {}).get("k"),
                "result": data.get("result"),
                "error": error.get("message") if isinstance(error, dict) else error,
            }
            note(fn="watch", **seen)
            return seen

        return watch

    # The server emits these for every run that ends; each watcher only takes the lifecycle function's.
    for kind in ("finished", "failed", "cancelled"):
        trigger = ev(event=f"inngest/function.{kind}", expression="event.data.function_id == 'dev-suite-lifecycle'")
        fns.append(client.create_function(fn_id=f"watch-{kind}", trigger=trigger)(watcher(kind)))

    @fn("singleton-cancel", "tests/singleton-cancel.test", singleton=sdk.Singleton(mode="cancel"))
    def singleton_cancel(ctx: Any) -> Any:
        ctx.step.sleep("hold", datetime.timedelta(seconds=2))
        return ctx.event.data

    @fn("sleep-until", "tests/sleep-until.test")
    def sleep_until(ctx: Any) -> Any:
        wake = datetime.datetime.fromtimestamp(ctx.event.data["wake"], datetime.timezone.utc)
        ctx.step.sleep_until("until", wake)
        return ctx.step.run("after", lambda: "awake")

    @fn("retry-after", "tests/retry-after.test")
    def retry_after(ctx: Any) -> Any:
        if bump("retry-after") == 1:
            raise sdk.RetryAfterError("not yet", datetime.timedelta(seconds=3))
        return "retried"

    @fn("big-state", "tests/big.test")
    def big_state(ctx: Any) -> Any:
        first = ctx.step.run("first half", lambda: "a" * 2_500_000)
        second = ctx.step.run("second half", lambda: "b" * 2_500_000)
        return {"lengths": [len(first), len(second)]}

    @fn("one-step", "tests/load1.test")
    def one_step(ctx: Any) -> Any:
        return {"n": ctx.step.run("inc", lambda: ctx.event.data["n"] + 1)}

    @fn("order-flow", "tests/load.test")
    def order_flow(ctx: Any) -> Any:
        a = ctx.step.run("a", lambda: ctx.event.data["n"])
        b = ctx.step.run("b", lambda: a + 1)
        return {"n": b}

    if not hasattr(sdk.StepSync, "fetch"):
        return fns  # the official SDK 0.5.19 has no step.fetch / wait_for_signal

    @fn("fetch", "tests/fetch.test")
    def fetch(ctx: Any) -> Any:
        reply = ctx.step.fetch("get health", ctx.event.data["url"], method="GET")
        return {"status": reply["status_code"], "body": reply["body"]}

    @fn("signal", "tests/signal.test")
    def signal(ctx: Any) -> Any:
        got = ctx.step.wait_for_signal("wait signal", signal=ctx.event.data["signal"], timeout=datetime.timedelta(seconds=30))
        return {"got": got}

    @fn("checkpointed", "tests/checkpoint.test", checkpoint=True)
    def checkpointed(ctx: Any) -> Any:
        values = [ctx.step.run(f"part {i}", lambda i=i: i * 2) for i in range(4)]
        return {"values": values}

    return fns
