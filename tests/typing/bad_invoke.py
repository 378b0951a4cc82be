"""step.invoke's result has the invoked function's type: misuse of it is an error."""

# ruff: noqa: B018, F841  # expressions and names that exist only for mypy to refuse

from __future__ import annotations

import dataclasses

import inngest_serverless
from inngest_serverless import Context, ContextSync

client = inngest_serverless.Inngest(app_id="typing")
trigger = inngest_serverless.TriggerEvent(event="typing/invoke")


@dataclasses.dataclass
class Quote:
    price: float


@client.create_function(fn_id="quote", trigger=trigger)
def quote(ctx: ContextSync) -> Quote:
    return Quote(price=1.5)


@client.create_function(fn_id="caller", trigger=trigger)
def caller(ctx: ContextSync) -> None:
    result: str = ctx.step.invoke("quote", function=quote)  # E: assignment: expression has type "Quote", variable has type "str"
    ctx.step.invoke("quote-2", function=quote).cost  # E: attr-defined: "Quote" has no attribute "cost"
    ctx.step.invoke_by_id("by-id", function_id="quote", output_type=Quote).cost  # E: attr-defined


@client.create_function(fn_id="caller-async", trigger=trigger)
async def caller_async(ctx: Context) -> None:
    price: str = (await ctx.step.invoke("quote", function=quote)).price  # E: assignment: expression has type "float"

