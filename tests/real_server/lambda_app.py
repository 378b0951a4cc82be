"""The app the self-hosted tests deploy: cloud mode behind ``lambda_adapter``, run by the Runtime
Interface Emulator with awslambdaric, configured only through its environment (INNGEST_SIGNING_KEY,
INNGEST_SIGNING_KEY_FALLBACK, INNGEST_EVENT_KEY, INNGEST_API_BASE_URL, INNGEST_EVENT_API_BASE_URL,
INNGEST_SERVE_ORIGIN), as a deployed function is.

``order-flow`` is the multi-step run the tests drive: a step, a sleep, a wait for an event, an
invoke of ``double``, and a step that fails on its first attempt. ``order-flow-checkpointed`` is
the same with checkpointing on; ``ten-steps`` is ten consecutive steps, with and without it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from inngest_serverless import Checkpoint, Context, Inngest, TriggerEvent
from inngest_serverless.adapters.aws_lambda import lambda_adapter
from tests.real_server.app_names import APP_ID, APPROVED, CHECKPOINTED, ORDER, TEN

client = Inngest(app_id=APP_ID, is_production=True)


@client.create_function(fn_id="double", trigger=TriggerEvent(event="shop/double"))
def double(ctx: Context) -> dict[str, int]:
    return {"doubled": int(ctx.event.data["n"]) * 2}


def _flaky(attempt: int) -> dict[str, int]:
    if attempt == 0:
        raise RuntimeError("the first attempt fails")
    return {"succeeded_on_attempt": attempt}


def _order_flow(ctx: Context) -> dict[str, Any]:
    order_id = ctx.event.data["order_id"]
    total = ctx.step.run("price", lambda: {"total": int(ctx.event.data["qty"]) * 5})
    ctx.step.sleep("cool-off", timedelta(seconds=1))
    approval = ctx.step.wait_for_event("approval", event=APPROVED, timeout=timedelta(minutes=2),
                                       if_exp="event.data.order_id == async.data.order_id")
    doubled = ctx.step.invoke("double-it", function=double, data={"n": total["total"]})
    flaky = ctx.step.run("flaky", _flaky, ctx.attempt)
    return {"order_id": order_id, "total": total["total"], "approved_by": approval.data["by"] if approval else None,
            "doubled": doubled["doubled"], "flaky": flaky}


@client.create_function(fn_id="order-flow", trigger=TriggerEvent(event=ORDER))
def order_flow(ctx: Context) -> dict[str, Any]:
    return _order_flow(ctx)


@client.create_function(fn_id="order-flow-checkpointed", trigger=TriggerEvent(event=ORDER + CHECKPOINTED),
                        checkpoint=Checkpoint())
def order_flow_checkpointed(ctx: Context) -> dict[str, Any]:
    return _order_flow(ctx)


def _ten_steps(ctx: Context) -> dict[str, int]:
    total = 0
    for i in range(10):
        total = ctx.step.run(f"add-{i}", lambda i=i, total=total: total + i)
    return {"total": total}


@client.create_function(fn_id="ten-steps", trigger=TriggerEvent(event=TEN))
def ten_steps(ctx: Context) -> dict[str, int]:
    return _ten_steps(ctx)


@client.create_function(fn_id="ten-steps-checkpointed", trigger=TriggerEvent(event=TEN + CHECKPOINTED),
                        checkpoint=Checkpoint())
def ten_steps_checkpointed(ctx: Context) -> dict[str, int]:
    return _ten_steps(ctx)

handler = lambda_adapter(client)
