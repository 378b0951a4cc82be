"""The handler's context must match event_type, and typed data is checked."""

# ruff: noqa: B018  # expressions and names that exist only for mypy to refuse

from __future__ import annotations

import dataclasses

import inngest_serverless
from inngest_serverless import Context, ContextSync

client = inngest_serverless.Inngest(app_id="typing")
trigger = inngest_serverless.TriggerEvent(event="shop/order.placed")


@dataclasses.dataclass
class OrderPlaced:
    order_id: str


@dataclasses.dataclass
class Refund:
    amount: int


@client.create_function(fn_id="typed", trigger=trigger, event_type=OrderPlaced)
def typed(ctx: ContextSync[OrderPlaced]) -> None:
    ctx.event.data.total  # E: attr-defined: "OrderPlaced" has no attribute "total"
    ctx.event.data["order_id"]  # E: index: Value of type "OrderPlaced" is not indexable
    refund = ctx.step.wait_for_event("refund", event="shop/refund", timeout=1000, event_type=Refund)
    assert refund is not None
    refund.data.amount.upper()  # E: attr-defined: "int" has no attribute "upper"


@client.create_function(fn_id="mismatch", trigger=trigger, event_type=OrderPlaced)  # E: arg-type
def mismatch(ctx: ContextSync[Refund]) -> None:
    pass


@client.create_function(fn_id="untyped-handler", trigger=trigger, event_type=OrderPlaced)  # E: arg-type
async def untyped_handler(ctx: Context) -> None:
    pass


@client.create_function(fn_id="no-event-type", trigger=trigger)  # E: arg-type
def no_event_type(ctx: ContextSync[OrderPlaced]) -> None:
    pass
