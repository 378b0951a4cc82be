"""The functions the real-server tests run, added to any client (``add_functions``), and their names.

``order-flow`` is the multi-step run: a step, a sleep, a wait for an event, an invoke of
``double``, and a step that fails on its first attempt. ``ten-steps`` is ten consecutive steps.
Each has a ``-checkpointed`` twin (checkpointing on) started by the event name + CHECKPOINTED.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from inngest_serverless import Checkpoint, ContextSync, Inngest, TriggerEvent

APP_ID = "self-hosted-lambda"
ORDER = "shop/order.placed"
APPROVED = "shop/order.approved"
TEN = "shop/ten.steps"
CHECKPOINTED = ".checkpointed"
FUNCTIONS = 5  # how many functions add_functions adds
ORDER_OUTPUT = {"total": 20, "approved_by": "ops", "doubled": 40, "flaky": {"succeeded_on_attempt": 1}}
TEN_OUTPUT = {"total": sum(range(10))}


def _flaky(attempt: int) -> dict[str, int]:
    if attempt == 0:
        raise RuntimeError("the first attempt fails")
    return {"succeeded_on_attempt": attempt}


def _ten_steps(ctx: ContextSync) -> dict[str, int]:
    total = 0
    for i in range(10):
        total = ctx.step.run(f"add-{i}", lambda i=i, total=total: total + i)
    return {"total": total}


def add_functions(client: Inngest) -> None:
    @client.create_function(fn_id="double", trigger=TriggerEvent(event="shop/double"))
    def double(ctx: ContextSync) -> dict[str, int]:
        return {"doubled": int(ctx.event.data["n"]) * 2}

    def order_flow(ctx: ContextSync) -> dict[str, Any]:
        """ORDER_OUTPUT plus the order's ID, for an order of 4 approved ``by`` ops."""
        total = ctx.step.run("price", lambda: {"total": int(ctx.event.data["qty"]) * 5})
        ctx.step.sleep("cool-off", timedelta(seconds=1))
        approval = ctx.step.wait_for_event("approval", event=APPROVED, timeout=timedelta(minutes=2),
                                           if_exp="event.data.order_id == async.data.order_id")
        doubled = ctx.step.invoke("double-it", function=double, data={"n": total["total"]})
        flaky = ctx.step.run("flaky", _flaky, ctx.attempt)
        return {"order_id": ctx.event.data["order_id"], "total": total["total"],
                "approved_by": approval.data["by"] if approval else None, "doubled": doubled["doubled"],
                "flaky": flaky}

    for fn_id, event, handler in (("order-flow", ORDER, order_flow), ("ten-steps", TEN, _ten_steps)):
        client.create_function(fn_id=fn_id, trigger=TriggerEvent(event=event))(handler)
        client.create_function(fn_id=fn_id + "-checkpointed", trigger=TriggerEvent(event=event + CHECKPOINTED),
                               checkpoint=Checkpoint())(handler)
