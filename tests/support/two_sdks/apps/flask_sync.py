"""Sync functions served by Flask, written for the official SDK (``inngest`` 0.5.19): every step kind."""

from __future__ import annotations

import datetime
import logging

import flask
import inngest
import inngest.flask

client = inngest.Inngest(app_id="two-sdks-flask", is_production=False, logger=logging.getLogger("two_sdks"))


def add(a: int, b: int) -> int:
    return a + b


@client.create_function(fn_id="child", trigger=inngest.TriggerEvent(event="two-sdks/child"))
def child(ctx: inngest.ContextSync) -> dict[str, int]:
    n = ctx.event.data["n"]
    assert isinstance(n, int)
    return {"doubled": ctx.step.run("double", add, n, n)}


@client.create_function(fn_id="steps", trigger=inngest.TriggerEvent(event="two-sdks/steps"), retries=0)
def steps(ctx: inngest.ContextSync) -> dict[str, object]:
    ctx.logger.info("steps: start")
    total = ctx.step.run("add", add, 2, 3)
    ctx.logger.info("steps: total is %s", total)
    ctx.step.sleep("nap", datetime.timedelta(seconds=1))
    wake = ctx.step.run("wake-at", lambda: (datetime.datetime.now(datetime.timezone.utc)
                                            + datetime.timedelta(seconds=1)).isoformat())
    ctx.step.sleep_until("until", datetime.datetime.fromisoformat(wake))
    ids = ctx.step.send_event("announce", inngest.Event(name="two-sdks/announced", data={"total": total}))
    invoked = ctx.step.invoke("invoke", function=child, data={"n": total}, v="2024-06-01.1")
    missed = ctx.step.wait_for_event("missed", event="two-sdks/never", timeout=datetime.timedelta(seconds=1))
    approval = ctx.step.wait_for_event("approval", event="two-sdks/approved", timeout=datetime.timedelta(minutes=2),
                                       if_exp=f"async.data.total == {total}")
    left, right = ctx.group.parallel((lambda: ctx.step.run("left", lambda: "L"),
                                      lambda: ctx.step.run("right", lambda: "R")))
    ctx.logger.info("steps: done")
    return {"total": total, "sent": len(ids), "invoked": invoked, "missed": missed,
            "approved": None if approval is None else dict(approval.data), "parallel": [left, right]}


@client.create_function(fn_id="fails", trigger=inngest.TriggerEvent(event="two-sdks/fails"), retries=0)
def fails(ctx: inngest.ContextSync) -> None:
    ctx.step.run("fine", lambda: None)
    raise inngest.NonRetriableError("the order is gone", quiet=True)


@client.create_function(fn_id="retry-later", trigger=inngest.TriggerEvent(event="two-sdks/retry-later"), retries=1)
def retry_later(ctx: inngest.ContextSync) -> dict[str, int]:
    if ctx.attempt == 0:
        raise inngest.RetryAfterError("not yet", 1000, quiet=True)
    return {"attempt": ctx.attempt}


@client.create_function(
    fn_id="limited",
    name="Limited",
    trigger=inngest.TriggerEvent(event="two-sdks/limited", expression="event.data.n > 0"),
    retries=2,
    concurrency=[inngest.Concurrency(limit=2, key="event.data.user", scope="fn")],
    throttle=inngest.Throttle(limit=5, period=datetime.timedelta(minutes=1), key="event.data.user", burst=2),
    rate_limit=inngest.RateLimit(limit=10, period=datetime.timedelta(hours=1), key="event.data.user"),
    priority=inngest.Priority(run="event.data.rank"),
    cancel=[inngest.Cancel(event="two-sdks/cancelled", if_exp="event.data.n == async.data.n",
                           timeout=datetime.timedelta(days=1))],
    timeouts=inngest.Timeouts(start=datetime.timedelta(minutes=5), finish=datetime.timedelta(hours=1)),
    singleton=inngest.Singleton(key="event.data.user", mode="skip"),
    idempotency="event.data.id",
)
def limited(ctx: inngest.ContextSync) -> int:
    return ctx.attempt


@client.create_function(
    fn_id="gathered",
    trigger=[inngest.TriggerEvent(event="two-sdks/gathered"), inngest.TriggerCron(cron="TZ=Europe/Paris 0 6 * * 1")],
    batch_events=inngest.Batch(max_size=10, timeout=datetime.timedelta(seconds=5), key="event.data.user"),
    debounce=None,
)
def gathered(ctx: inngest.ContextSync) -> int:
    return len(ctx.events)


@client.create_function(fn_id="debounced", trigger=inngest.TriggerEvent(event="two-sdks/debounced"),
                        debounce=inngest.Debounce(period=datetime.timedelta(seconds=2), key="event.data.user",
                                                  timeout=datetime.timedelta(minutes=1)))
def debounced(ctx: inngest.ContextSync) -> None:
    return None


app = flask.Flask(__name__)
inngest.flask.serve(app, client, [child, steps, fails, retry_later, limited, gathered, debounced])
