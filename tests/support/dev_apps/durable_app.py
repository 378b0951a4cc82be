"""Functions for the executor's crash tests; every step body notes each time it runs.

Usage: python -m tests.support.dev_apps.durable_app PORT EXECUTOR_URL  (DURABLE_LOG=path of the body log)

Each execution of a step body appends one JSON line ``{"run", "step", "attempt", "request", "t"}``
(``t``: wall time when the body began) to ``DURABLE_LOG``, flushed and fsync'd before the body's
work, so the log survives anything and lists every execution, finished or not.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import make_server

import inngest_serverless
from inngest_serverless.adapters.wsgi import wsgi_adapter
from tests.support.dev_apps.ours_app import _QuietHandler, _Server

_LOCK = threading.Lock()


class BodyLog:
    def __init__(self, path: str) -> None:
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the process's life

    def body(self, ctx: Any, step: str, value: Any, seconds: tuple[float, float] = (0.005, 0.04)) -> Any:
        """A step body: note this execution durably, work a little (so kills land mid-call), return ``value``."""
        line = {"run": ctx.run_id, "step": step, "attempt": ctx.attempt, "request": ctx.request_id, "t": time.time()}
        with _LOCK:
            self.file.write(json.dumps(line) + "\n")
            self.file.flush()
            os.fsync(self.file.fileno())
        time.sleep(random.uniform(*seconds))
        return value


def build(client: inngest_serverless.Inngest, log: BodyLog) -> list[Any]:
    ev = inngest_serverless.TriggerEvent

    @client.create_function(fn_id="chain", trigger=ev(event="tests/durable.chain"))
    def chain(ctx: inngest_serverless.ContextSync) -> Any:
        n = ctx.event.data["n"]
        a = ctx.step.run("s1", lambda: log.body(ctx, "s1", n))
        b = ctx.step.run("s2", lambda: log.body(ctx, "s2", a + 1))
        ctx.step.sleep("nap", datetime.timedelta(milliseconds=300))
        c = ctx.step.run("s3", lambda: log.body(ctx, "s3", b + 1))
        return {"n": c}

    @client.create_function(fn_id="fanout", trigger=ev(event="tests/durable.fanout"))
    def fanout(ctx: inngest_serverless.ContextSync) -> Any:
        n = ctx.event.data["n"]

        def part(i: int) -> Callable[[], Any]:
            return lambda: ctx.step.run(f"p{i}", lambda: log.body(ctx, f"p{i}", n * 10 + i))

        parts = ctx.group.parallel(tuple(part(i) for i in range(3)))
        total = ctx.step.run("total", lambda: log.body(ctx, "total", sum(parts)))
        return {"n": total}

    @client.create_function(fn_id="waiter", trigger=ev(event="tests/durable.wait"))
    def waiter(ctx: inngest_serverless.ContextSync) -> Any:
        n = ctx.event.data["n"]
        before = ctx.step.run("before", lambda: log.body(ctx, "before", n))
        ctx.step.wait_for_event(
            "resume",
            event="tests/durable.resume",
            if_exp="async.data.n == event.data.n",
            timeout=datetime.timedelta(seconds=3),
        )
        after = ctx.step.run("after", lambda: log.body(ctx, "after", before + 1))
        return {"n": after}

    @client.create_function(fn_id="checkpointed", trigger=ev(event="tests/durable.checkpoint"), checkpoint=True)
    def checkpointed(ctx: inngest_serverless.ContextSync) -> Any:
        n = ctx.event.data["n"]
        a = ctx.step.run("c1", lambda: log.body(ctx, "c1", n))
        b = ctx.step.run("c2", lambda: log.body(ctx, "c2", a + 1))
        c = ctx.step.run("c3", lambda: log.body(ctx, "c3", b + 1))
        return {"n": c}

    # Uneven step lengths: a call orphaned by a kill is still inside a long body when the restarted
    # executor's new call has already stored the steps after it (docs/reliability.md).
    uneven = (0.1, 1.1)

    @client.create_function(fn_id="checkpointed-uneven", trigger=ev(event="tests/durable.uneven"), checkpoint=True)
    def checkpointed_uneven(ctx: inngest_serverless.ContextSync) -> Any:
        n = ctx.event.data["n"]
        a = ctx.step.run("u1", lambda: log.body(ctx, "u1", n, uneven))
        b = ctx.step.run("u2", lambda: log.body(ctx, "u2", a + 1, uneven))
        c = ctx.step.run("u3", lambda: log.body(ctx, "u3", b + 1, uneven))
        return {"n": c}

    # An orphan on purpose: attempt 0's first body outlives the executor's call timeout (2 s, set
    # by the test), so attempt 1 stores u1 and u2 while attempt 0 is still in u1, then works on in
    # u3 for a while; when attempt 0 finishes u1 it checkpoints it while the run is still running.
    def lengths(attempt: int, step: str) -> tuple[float, float]:
        seconds = {(0, "o1"): 2.6, (1, "o3"): 1.2}.get((attempt, step), 0.05)
        return seconds, seconds

    @client.create_function(fn_id="checkpointed-orphan", trigger=ev(event="tests/durable.orphan"), checkpoint=True)
    def checkpointed_orphan(ctx: inngest_serverless.ContextSync) -> Any:
        n = ctx.event.data["n"]
        a = ctx.step.run("o1", lambda: log.body(ctx, "o1", n, lengths(ctx.attempt, "o1")))
        b = ctx.step.run("o2", lambda: log.body(ctx, "o2", a + 1, lengths(ctx.attempt, "o2")))
        c = ctx.step.run("o3", lambda: log.body(ctx, "o3", b + 1, lengths(ctx.attempt, "o3")))
        return {"n": c}

    return [chain, fanout, waiter, checkpointed, checkpointed_uneven, checkpointed_orphan]


def main() -> None:
    port, executor = int(sys.argv[1]), sys.argv[2]
    os.environ["INNGEST_DEV"] = executor
    client = inngest_serverless.Inngest(app_id="durable", is_production=False, api_base_url=executor, event_api_base_url=executor)
    app = wsgi_adapter(client, functions=build(client, BodyLog(os.environ["DURABLE_LOG"])))
    server = make_server("127.0.0.1", port, app, server_class=_Server, handler_class=_QuietHandler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
