"""The functions tests/testing/test_parity.py runs on the test engine and on the embedded executor.

Every duration is short (seconds), so that the real-clock side stays quick, yet long enough that
a loaded machine still sends the next event of a scenario within it (a wait's reply, a singleton's
second event). In process the test
builds them on a client of its own; as a process it serves them through the WSGI adapter:

    python -m tests.testing.parity_app PORT EXECUTOR_URL
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from inngest_serverless import (
    Batch,
    Cancel,
    Context,
    ContextSync,
    Debounce,
    Function,
    Inngest,
    NonRetriableError,
    ParallelMode,
    RateLimit,
    RetryAfterError,
    Singleton,
    Throttle,
    Timeouts,
    TriggerEvent,
)

APP_ID = "parity"
SECOND = dt.timedelta(seconds=1)


def build(client: Inngest) -> list[Function[Any]]:
    """Define the scenario functions on ``client``; returns them."""
    fn = client.create_function

    @fn(fn_id="steps", trigger=TriggerEvent(event="p/steps"))
    def steps(ctx: ContextSync) -> Any:
        a = ctx.step.run("a", lambda: ctx.event.data["n"] + 1)
        ctx.step.sleep("nap", SECOND)
        return {"a": a, "b": ctx.step.run("b", lambda: a * 2)}

    @fn(fn_id="steps-async", trigger=TriggerEvent(event="p/steps-async"))
    async def steps_async(ctx: Context) -> Any:
        a = await ctx.step.run("a", lambda: ctx.event.data["n"] + 1)
        await ctx.step.sleep("nap", SECOND)
        return {"a": a}

    @fn(fn_id="wait", trigger=TriggerEvent(event="p/wait"))
    def wait(ctx: ContextSync) -> Any:
        got = ctx.step.wait_for_event("reply", event="p/reply", timeout=4 * SECOND, if_exp="async.data.id == event.data.id")
        return None if got is None else got.data

    @fn(fn_id="flaky", trigger=TriggerEvent(event="p/flaky"), retries=2)
    def flaky(ctx: ContextSync) -> Any:
        def once() -> str:
            if ctx.attempt == 0:
                raise ValueError("first attempt fails")
            return "second attempt"

        return ctx.step.run("once", once)

    @fn(fn_id="fatal", trigger=TriggerEvent(event="p/fatal"), retries=3)
    def fatal(ctx: ContextSync) -> Any:
        return ctx.step.run("never", lambda: (_ for _ in ()).throw(NonRetriableError("stop here")))

    @fn(fn_id="exhausted", trigger=TriggerEvent(event="p/exhausted"), retries=1)
    def exhausted(ctx: ContextSync) -> Any:
        raise RuntimeError("always broken")

    @fn(fn_id="later", trigger=TriggerEvent(event="p/later"), retries=1)
    def later(ctx: ContextSync) -> Any:
        if ctx.attempt == 0:
            raise RetryAfterError("come back", retry_after=SECOND)
        return "came back"

    def cleanup(ctx: ContextSync) -> Any:
        return {"cleaned": ctx.event.data["error"]["message"]}

    @fn(fn_id="with-failure", trigger=TriggerEvent(event="p/failure"), retries=0, on_failure=cleanup)
    def with_failure(ctx: ContextSync) -> Any:
        raise RuntimeError("needs cleanup")

    @fn(
        fn_id="cancellable",
        trigger=TriggerEvent(event="p/cancellable"),
        cancel=Cancel(event="p/stop", if_exp="async.data.id == event.data.id"),
    )
    def cancellable(ctx: ContextSync) -> Any:
        ctx.step.sleep("long", 30 * SECOND)
        return "not cancelled"

    @fn(fn_id="slow", trigger=TriggerEvent(event="p/slow"), timeouts=Timeouts(finish=2 * SECOND))
    def slow(ctx: ContextSync) -> Any:
        ctx.step.sleep("long", 4 * SECOND)
        return "finished"

    @fn(fn_id="debounced", trigger=TriggerEvent(event="p/debounce"), debounce=Debounce(period=SECOND))
    def debounced(ctx: ContextSync) -> Any:
        return ctx.event.data["n"]

    @fn(fn_id="batched", trigger=TriggerEvent(event="p/batch"), batch_events=Batch(max_size=5, timeout=SECOND))
    def batched(ctx: ContextSync) -> Any:
        return sorted(e.data["n"] for e in ctx.events)

    @fn(fn_id="throttled", trigger=TriggerEvent(event="p/throttle"), throttle=Throttle(limit=1, period=SECOND))
    def throttled(ctx: ContextSync) -> Any:
        return ctx.event.data["n"]

    @fn(
        fn_id="limited",
        trigger=TriggerEvent(event="p/limited"),
        rate_limit=RateLimit(limit=1, period=dt.timedelta(minutes=1), key="event.data.key"),
    )
    def limited(ctx: ContextSync) -> Any:
        return ctx.event.data["n"]

    @fn(fn_id="single", trigger=TriggerEvent(event="p/single"), singleton=Singleton(mode="skip"))
    def single(ctx: ContextSync) -> Any:
        ctx.step.sleep("hold", 3 * SECOND)
        return ctx.event.data["n"]

    @fn(fn_id="child", trigger=TriggerEvent(event="p/child"))
    def child(ctx: ContextSync) -> Any:
        return {"twice": ctx.event.data["x"] * 2}

    @fn(fn_id="parent", trigger=TriggerEvent(event="p/parent"))
    def parent(ctx: ContextSync) -> Any:
        return ctx.step.invoke("ask", function=child, data={"x": 4})

    @fn(fn_id="sender", trigger=TriggerEvent(event="p/sender"))
    def sender(ctx: ContextSync) -> Any:
        ctx.step.send_event("emit", {"name": "p/echo", "data": {"x": ctx.event.data["x"]}})
        return "sent"

    @fn(fn_id="echo", trigger=TriggerEvent(event="p/echo"))
    def echo(ctx: ContextSync) -> Any:
        return ctx.event.data

    @fn(fn_id="fan", trigger=TriggerEvent(event="p/fan"))
    def fan(ctx: ContextSync) -> Any:
        return ctx.group.parallel(
            (lambda: ctx.step.run("left", lambda: "L"), lambda: ctx.step.run("right", lambda: "R")),
            parallel_mode=ParallelMode.WAIT,
        )

    return [
        steps,
        steps_async,
        wait,
        flaky,
        fatal,
        exhausted,
        later,
        with_failure,
        cancellable,
        slow,
        debounced,
        batched,
        throttled,
        limited,
        single,
        child,
        parent,
        sender,
        echo,
        fan,
    ]


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIServer

    from inngest_serverless.adapters.wsgi import wsgi_adapter

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    port, executor = int(sys.argv[1]), sys.argv[2]
    client = Inngest(app_id=APP_ID, is_production=False, api_base_url=executor, event_api_base_url=executor)
    app = wsgi_adapter(client, functions=build(client))
    server = make_server("127.0.0.1", port, app, server_class=Server, handler_class=_Quiet)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
