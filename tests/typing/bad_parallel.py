"""group.parallel's results have their branches' types."""

# ruff: noqa: RUF059  # expressions and names that exist only for mypy to refuse

from __future__ import annotations

import inngest_serverless
from inngest_serverless import Context, ContextSync, ParallelMode

client = inngest_serverless.Inngest(app_id="typing")
trigger = inngest_serverless.TriggerEvent(event="typing/parallel")


def count() -> int:
    return 1


def name() -> str:
    return "a"


async def count_async() -> int:
    return 1


@client.create_function(fn_id="bad-parallel", trigger=trigger)
def bad_parallel(ctx: ContextSync) -> None:
    counted, named = ctx.group.parallel((count, name))
    named + 1  # E: operator: Unsupported operand types for + ("str" and "int")
    first, second = ctx.group.parallel((count, name), ParallelMode.RACE)
    first + 1  # E: operator: Unsupported operand types for + ("None" and "int")
    ctx.group.parallel((count, 1))  # E: arg-type
    a, b, c = ctx.group.parallel((count, name))  # E: misc: Need more than 2 values to unpack


@client.create_function(fn_id="bad-parallel-async", trigger=trigger)
async def bad_parallel_async(ctx: Context) -> None:
    await ctx.group.parallel((count, count))  # E: arg-type
    counted, = await ctx.group.parallel((count_async,))
    counted.upper()  # E: attr-defined: "int" has no attribute "upper"
