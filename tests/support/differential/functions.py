"""The same durable functions, written once against the API both SDKs share.

``define(sdk, client)`` takes the SDK's module (``inngest`` or ``inngest_serverless``)
and a client of that SDK, and defines every function on it. The bodies are
identical for both SDKs: only ``sdk`` and ``client`` differ, which is the point
of mirroring the official names.
"""

from __future__ import annotations

import datetime
from typing import Any

import pydantic

EVENT = "diff/run"


class Receipt(pydantic.BaseModel):
    """A typed step output: both SDKs must hand it back as a model on replay."""

    order: str
    total: float


def _registrar(sdk: Any, client: Any, fns: dict[str, Any]) -> Any:
    """``@fn("id", **options)``: create_function on ``client``, triggered by EVENT, kept in ``fns``."""
    def fn(fn_id: str, **options: Any) -> Any:
        def wrap(handler: Any) -> Any:
            fns[fn_id] = client.create_function(fn_id=fn_id, trigger=sdk.TriggerEvent(event=EVENT), **options)(handler)
            return fns[fn_id]
        return wrap
    return fn


def define(sdk: Any, client: Any) -> dict[str, Any]:
    """Every function of the differential suite, keyed by its local fn_id."""
    fns: dict[str, Any] = {}
    fn = _registrar(sdk, client, fns)

    @fn("serial")
    def serial(ctx: Any) -> Any:
        a = ctx.step.run("first step", lambda: {"n": ctx.event.data["n"]})
        b = ctx.step.run("second step", lambda: a["n"] + 1)
        c = ctx.step.run("second step", lambda: [b, "again"])  # a repeated ID hashes as "second step:1"
        return {"a": a, "b": b, "c": c}

    @fn("sleeper")
    def sleeper(ctx: Any) -> Any:
        ctx.step.sleep("nap", datetime.timedelta(seconds=90))
        return ctx.step.run("after", lambda: "woke")

    @fn("waiter")
    def waiter(ctx: Any) -> Any:
        got = ctx.step.wait_for_event("wait", event="diff/paid", if_exp="event.data.n == async.data.n",
                                      timeout=datetime.timedelta(hours=1))
        if got is None:
            return {"timed_out": True}
        return {"timed_out": False, "name": got.name, "data": got.data}

    @fn("child")
    def child(ctx: Any) -> Any:
        return {"doubled": ctx.event.data["x"] * 2}

    @fn("invoker")
    def invoker(ctx: Any) -> Any:
        out = ctx.step.invoke("call-child", function=child, data={"x": 21}, timeout=datetime.timedelta(minutes=5))
        return {"child": out}

    @fn("sender")
    def sender(ctx: Any) -> Any:
        ids = ctx.step.send_event("send", [sdk.Event(name="diff/sent", data={"k": 1}),
                                           sdk.Event(name="diff/sent", data={"k": 2})])
        return {"ids": ids}

    @fn("fanout")
    def fanout(ctx: Any) -> Any:
        left, right = ctx.group.parallel((
            lambda: ctx.step.run("left", lambda: "L"),
            lambda: ctx.step.run("right", lambda: "R"),
        ))
        return ctx.step.run("join", lambda: f"{left}+{right}")

    @fn("mixed")
    def mixed(ctx: Any) -> Any:
        # One group with a step.run, a sleep and a wait: planned run, the others reported as they are.
        ran, _, got = ctx.group.parallel((
            lambda: ctx.step.run("add", lambda a, b: a + b, 2, 3),
            lambda: ctx.step.sleep_until("until", datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)),
            lambda: ctx.step.wait_for_event("any-paid", event="diff/paid", timeout=datetime.timedelta(minutes=10)),
        ))
        return {"ran": ran, "got": None if got is None else got.name}

    @fn("by-id")
    def by_id(ctx: Any) -> Any:
        out = ctx.step.invoke_by_id("remote", app_id="other-app", function_id="worker", data={"job": 1})
        one = ctx.step.send_event("one", sdk.Event(name="diff/single", data={"x": 1}))
        return {"out": out, "sent": len(one)}

    @fn("flaky", retries=3)
    def flaky(ctx: Any) -> Any:
        def body() -> str:
            if ctx.attempt < 1:
                raise ValueError(f"transient failure on attempt {ctx.attempt}")
            return f"ok on attempt {ctx.attempt}"
        return ctx.step.run("flaky", body)

    @fn("doomed", retries=1)
    def doomed(ctx: Any) -> Any:
        def body() -> None:
            raise RuntimeError("the step always breaks")
        return ctx.step.run("doomed", body)

    @fn("rescued", retries=1)
    def rescued(ctx: Any) -> Any:
        def body() -> None:
            raise RuntimeError("the step always breaks")
        try:
            ctx.step.run("doomed", body)
        except sdk.StepError as err:
            return {"caught": str(err)}
        return {"caught": None}

    @fn("refuser")
    def refuser(ctx: Any) -> Any:
        ctx.step.run("prep", lambda: 1)
        raise sdk.NonRetriableError("the input can never work")

    @fn("later")
    def later(ctx: Any) -> Any:
        raise sdk.RetryAfterError("rate limited upstream", datetime.timedelta(seconds=120))

    @fn("later-ms")
    def later_ms(ctx: Any) -> Any:
        raise sdk.RetryAfterError("rate limited upstream", 30_000)  # an int is milliseconds

    @fn("step-later")
    def step_later(ctx: Any) -> Any:
        def body() -> None:
            raise sdk.RetryAfterError("slow down", datetime.timedelta(seconds=60))
        return ctx.step.run("throttled", body)

    @fn("crasher")
    def crasher(ctx: Any) -> Any:
        ctx.step.run("prep", lambda: 1)
        raise KeyError("missing-config")

    @fn("step-refuser")
    def step_refuser(ctx: Any) -> Any:
        def body() -> None:
            raise sdk.NonRetriableError("this step can never work")
        return ctx.step.run("refuse", body)

    @fn("typed")
    def typed(ctx: Any) -> Any:
        receipt = ctx.step.run("receipt", lambda: Receipt(order="o-1", total=12.5), output_type=Receipt)
        return {"type": type(receipt).__name__, "order": receipt.order, "total": receipt.total}

    return fns


def define_async(sdk: Any, client: Any) -> dict[str, Any]:
    """The same kind of functions as ``async def``, with async step bodies, for both SDKs."""
    fns: dict[str, Any] = {}
    fn = _registrar(sdk, client, fns)

    @fn("a-serial")
    async def a_serial(ctx: Any) -> Any:
        async def first() -> dict[str, int]:
            return {"n": ctx.event.data["n"]}

        a = await ctx.step.run("first step", first)
        b = await ctx.step.run("second step", lambda: a["n"] + 1)  # a plain body in an async function
        await ctx.step.sleep("nap", datetime.timedelta(minutes=2))
        got = await ctx.step.wait_for_event("wait", event="diff/paid", timeout=datetime.timedelta(minutes=30))
        return {"a": a, "b": b, "got": None if got is None else got.data}

    @fn("a-fanout")
    async def a_fanout(ctx: Any) -> Any:
        async def side(name: str) -> str:
            return name.upper()

        left, right = await ctx.group.parallel((
            lambda: ctx.step.run("left", side, "l"),
            lambda: ctx.step.run("right", side, "r"),
        ))
        return await ctx.step.run("join", side, f"{left}+{right}")

    @fn("a-flaky", retries=2)
    async def a_flaky(ctx: Any) -> Any:
        async def body() -> int:
            if ctx.attempt == 0:
                raise ConnectionError("upstream hiccup")
            return ctx.attempt

        return {"attempt": await ctx.step.run("flaky", body)}

    return fns
