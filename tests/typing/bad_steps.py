"""step.run and step.ai.wrap refuse arguments the handler does not take (keyword arguments too,
as in the official SDK: only positional ones are passed on)."""

# ruff: noqa: F841  # expressions and names that exist only for mypy to refuse

from __future__ import annotations

import inngest_serverless
from inngest_serverless import Context, ContextSync

client = inngest_serverless.Inngest(app_id="typing")
trigger = inngest_serverless.TriggerEvent(event="typing/steps")


def charge(order: str, cents: int, *, currency: str = "EUR") -> int:
    return cents


async def charge_async(order: str, cents: int) -> int:
    return cents


@client.create_function(fn_id="bad-steps-sync", trigger=trigger)
def bad_sync(ctx: ContextSync) -> None:
    ctx.step.run("wrong-type", charge, "o-1", "1250")  # E: call-arg # E: arg-type: expected "Callable[[str, str], int]"
    ctx.step.run("missing", charge, "o-1")  # E: arg-type: expected "Callable[[str], int]"
    ctx.step.run("too-many", charge, "o-1", 1, 2)  # E: call-arg # E: arg-type
    ctx.step.run("keyword", charge, "o-1", 1, currency="USD")  # E: call-overload # E: call-overload
    ctx.step.ai.wrap("model", charge, 1, 2)  # E: arg-type: Argument 2 to "wrap" of "AISync" has incompatible type
    total: str = ctx.step.run("result", charge, "o-1", 1)  # E: assignment: expression has type "int", variable has type "str"


@client.create_function(fn_id="bad-steps-async", trigger=trigger)
async def bad_async(ctx: Context) -> None:
    await ctx.step.run("wrong-type", charge_async, "o-1", "1250")  # E: call-arg # E: arg-type
    await ctx.step.run("missing", charge_async, "o-1")  # E: arg-type: expected "Callable[[str], Awaitable[int]]"
    await ctx.step.ai.wrap("model", charge_async, 1, 2)  # E: call-arg # E: arg-type
    total: str = await ctx.step.run("result", charge_async, "o-1", 1)  # E: call-arg # E: arg-type
