"""event_type= gives ctx.event.data its type; wait_for_event(event_type=...) too."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pydantic
from typing_extensions import assert_type

import inngest_serverless
from inngest_serverless import Context, ContextSync, Event

client = inngest_serverless.Inngest(app_id="typing")


@dataclasses.dataclass
class Item:
    sku: str
    qty: int


@dataclasses.dataclass
class OrderPlaced:
    order_id: str
    items: list[Item]


class Payment(pydantic.BaseModel):
    order_id: str
    amount: float


@client.create_function(fn_id="typed-sync", trigger=inngest_serverless.TriggerEvent(event="shop/order.placed"),
                        event_type=OrderPlaced)
def typed_sync(ctx: ContextSync[OrderPlaced]) -> int:
    assert_type(ctx.event, Event[OrderPlaced])
    assert_type(ctx.event.data, OrderPlaced)
    assert_type(ctx.events, list[Event[OrderPlaced]])
    paid = ctx.step.wait_for_event("paid", event="shop/payment", timeout=datetime.timedelta(hours=1),
                                   if_exp="async.data.order_id == event.data.order_id", event_type=Payment)
    assert_type(paid, Event[Payment] | None)
    if paid is not None:
        assert_type(paid.data.amount, float)
    return sum(item.qty for item in ctx.event.data.items)


@client.create_function(fn_id="typed-async", trigger=inngest_serverless.TriggerEvent(event="shop/payment"),
                        event_type=Payment)
async def typed_async(ctx: Context[Payment]) -> float:
    assert_type(ctx.event.data, Payment)
    untyped = await ctx.step.wait_for_event("any", event="shop/any", timeout=1000)
    assert_type(untyped, Event[dict[str, Any]] | None)
    return ctx.event.data.amount


@client.create_function(fn_id="untyped", trigger=inngest_serverless.TriggerEvent(event="shop/any"))
def untyped(ctx: ContextSync) -> str:
    # Without event_type the data is a dict, as before
    assert_type(ctx.event.data, dict[str, Any])
    return str(ctx.event.data["anything"])
