"""Async functions served by FastAPI, written for the official SDK (``inngest`` 0.5.19): every step
kind awaited, a race, the replay-aware ``ctx.logger`` and async middleware (one logs when
``before_execution`` fires)."""

from __future__ import annotations

import datetime
import logging

import fastapi
import inngest
import inngest.fast_api

log = logging.getLogger("two_sdks")


class Stamp(inngest.Middleware):
    """Marks the function's result and every event the app sends."""

    async def transform_output(self, result: inngest.TransformOutputResult) -> None:
        if result.step is None and isinstance(result.output, dict):
            result.output = {**result.output, "stamped": True}

    async def before_send_events(self, events: list[inngest.Event]) -> None:
        for event in events:
            event.data = {**event.data, "stamped": True}


class Started(inngest.Middleware):
    """Logs before_execution, which fires right after the last memoized step is met."""

    async def before_execution(self) -> None:
        log.info("child: before_execution")


client = inngest.Inngest(app_id="two-sdks-fastapi", is_production=False, logger=log, middleware=[Stamp])


async def add(a: int, b: int) -> int:
    return a + b


async def named(name: str) -> str:
    return name


async def send_directly(name: str) -> list[str]:
    return await client.send(inngest.Event(name=name, data={"direct": True}))


@client.create_function(fn_id="child", trigger=inngest.TriggerEvent(event="two-sdks/async-child"), middleware=[Started])
async def child(ctx: inngest.Context) -> dict[str, object]:
    n = ctx.event.data["n"]
    assert isinstance(n, int)
    doubled = await ctx.step.run("double", add, n, n)
    log.info("child: doubled is %s", doubled)  # a plain logger: after before_execution, in the call that replays "double"
    return {"doubled": doubled, "stamped_event": ctx.event.data.get("stamped")}


@client.create_function(fn_id="steps", trigger=inngest.TriggerEvent(event="two-sdks/async-steps"), retries=0)
async def steps(ctx: inngest.Context) -> dict[str, object]:
    ctx.logger.info("steps: start")
    total = await ctx.step.run("add", add, 2, 3)
    ctx.logger.info("steps: total is %s", total)
    await ctx.step.sleep("nap", 1000)
    await ctx.step.sleep_until("until", datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1))
    ids = await ctx.step.send_event("announce", [inngest.Event(name="two-sdks/async-announced", data={"total": total})])
    direct = await ctx.step.run("direct", send_directly, "two-sdks/async-announced")
    invoked = await ctx.step.invoke("invoke", function=child, data={"n": total})
    missed = await ctx.step.wait_for_event("missed", event="two-sdks/never", timeout=1000)
    approval = await ctx.step.wait_for_event("approval", event="two-sdks/async-approved",
                                             timeout=datetime.timedelta(minutes=2), if_exp=f"async.data.total == {total}")
    parallel = await ctx.group.parallel((lambda: ctx.step.run("left", add, 1, 1), lambda: ctx.step.run("right", add, 2, 2)))
    ctx.logger.info("steps: done")
    return {"total": total, "sent": ids, "direct": direct, "invoked": invoked, "missed": missed,
            "approved": None if approval is None else dict(approval.data), "parallel": list(parallel)}


async def _slow_branch(ctx: inngest.Context) -> str:
    await ctx.step.sleep("slow-nap", datetime.timedelta(seconds=5))
    return await ctx.step.run("slow", named, "slow")


@client.create_function(fn_id="race", trigger=inngest.TriggerEvent(event="two-sdks/race"), retries=0)
async def race(ctx: inngest.Context) -> dict[str, object]:
    async def fast() -> str:
        return await ctx.step.run("fast", named, "fast")

    results = await ctx.group.parallel((fast, lambda: _slow_branch(ctx)), parallel_mode=inngest.ParallelMode.RACE)
    ctx.logger.info("race: won by %s", results[0])
    return {"winner": results[0]}


@client.create_function(fn_id="announced", trigger=inngest.TriggerEvent(event="two-sdks/async-announced"))
async def announced(ctx: inngest.Context) -> dict[str, inngest.JSON]:
    return dict(ctx.event.data)


app = fastapi.FastAPI()
inngest.fast_api.serve(app, client, [child, steps, race, announced], streaming=inngest.Streaming.DISABLE)
