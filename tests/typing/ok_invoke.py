"""create_function gives a Function of what the handler returns (or of output_type), and step.invoke that type."""

from __future__ import annotations

import dataclasses
from typing import Any

import pydantic
from typing_extensions import assert_type

import inngest_serverless
from inngest_serverless import Context, ContextSync, Function

client = inngest_serverless.Inngest(app_id="typing")
trigger = inngest_serverless.TriggerEvent(event="typing/invoke")


@dataclasses.dataclass
class Quote:
    price: float


class Stock(pydantic.BaseModel):
    sku: str
    count: int


@client.create_function(fn_id="quote", trigger=trigger)
def quote(ctx: ContextSync) -> Quote:
    return Quote(price=1.5)


@client.create_function(fn_id="stock", trigger=trigger)
async def stock(ctx: Context) -> Stock:
    return Stock(sku="a", count=1)


@client.create_function(fn_id="raw", trigger=trigger, output_type=Stock)
def raw(ctx: ContextSync) -> dict[str, Any]:
    return {"sku": "b", "count": 2}


assert_type(quote, Function[Quote])
assert_type(stock, Function[Stock])
assert_type(raw, Function[Stock])


@client.create_function(fn_id="caller-sync", trigger=trigger)
def caller_sync(ctx: ContextSync) -> float:
    assert_type(ctx.step.invoke("quote", function=quote), Quote)
    assert_type(ctx.step.invoke("stock", function=stock), Stock)
    assert_type(ctx.step.invoke("raw", function=raw), Stock)
    assert_type(ctx.step.invoke_by_id("by-id", function_id="quote"), Any)
    assert_type(ctx.step.invoke_by_id("by-id-typed", function_id="quote", output_type=Quote), Quote)
    return ctx.step.invoke("again", function=quote).price


@client.create_function(fn_id="caller-async", trigger=trigger)
async def caller_async(ctx: Context) -> int:
    assert_type(await ctx.step.invoke("quote", function=quote), Quote)
    assert_type(await ctx.step.invoke_by_id("by-id-typed", function_id="stock", output_type=Stock), Stock)
    return (await ctx.step.invoke("stock", function=stock)).count
