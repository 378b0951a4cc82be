"""step.run and step.ai.wrap check the handler's arguments and give its return type (sync and async)."""

from __future__ import annotations

import dataclasses

from typing_extensions import assert_type

import inngest_serverless
from inngest_serverless import Context, ContextSync

client = inngest_serverless.Inngest(app_id="typing")
trigger = inngest_serverless.TriggerEvent(event="typing/steps")


@dataclasses.dataclass
class Receipt:
    order: str
    total: float


def charge(order: str, cents: int, *, currency: str = "EUR") -> Receipt:
    return Receipt(order=order, total=cents / 100)


async def charge_async(order: str, cents: int) -> Receipt:
    return Receipt(order=order, total=cents / 100)


def no_args() -> list[int]:
    return [1]


@client.create_function(fn_id="steps-sync", trigger=trigger)
def steps_sync(ctx: ContextSync) -> float:
    receipt = ctx.step.run("charge", charge, "o-1", 1250)
    assert_type(receipt, Receipt)
    assert_type(ctx.step.run("numbers", no_args), list[int])
    assert_type(ctx.step.run("lambda", lambda: "text"), str)
    # output_type: the memoized result comes back as that type
    assert_type(ctx.step.run("typed", lambda: {"order": "o", "total": 1.0}, output_type=Receipt), Receipt)
    assert_type(ctx.step.ai.wrap("model", charge, "o-2", 99), Receipt)
    return receipt.total


@client.create_function(fn_id="steps-async", trigger=trigger)
async def steps_async(ctx: Context) -> float:
    receipt = await ctx.step.run("charge", charge_async, "o-1", 1250)
    assert_type(receipt, Receipt)
    # a def handler in an async function runs as it is; its result is not awaited
    assert_type(await ctx.step.run("charge-sync", charge, "o-1", 1250), Receipt)
    assert_type(await ctx.step.run("numbers", no_args), list[int])
    assert_type(await ctx.step.run("typed", no_args, output_type=Receipt), Receipt)
    assert_type(await ctx.step.run("typed-args", charge_async, "o-1", 5, output_type=Receipt), Receipt)
    assert_type(await ctx.step.ai.wrap("model", charge_async, "o-2", 99), Receipt)
    return receipt.total
