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


app = flask.Flask(__name__)
inngest.flask.serve(app, client, [child, steps, fails, retry_later])
