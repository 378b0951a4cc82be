"""group.parallel keeps each branch's type for tuples of up to six callables; else a homogeneous tuple."""

from __future__ import annotations

from typing_extensions import assert_type

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


async def name_async() -> str:
    return "a"


@client.create_function(fn_id="parallel-sync", trigger=trigger)
def parallel_sync(ctx: ContextSync) -> None:
    assert_type(ctx.group.parallel((lambda: ctx.step.run("a", count), lambda: ctx.step.run("b", name))), tuple[int, str])
    assert_type(ctx.step.parallel((count,)), tuple[int])
    assert_type(ctx.group.parallel((count, name, count, name, count, name)), tuple[int, str, int, str, int, str])
    # More than six, or a list: one type for all
    assert_type(ctx.group.parallel([count, count]), tuple[int, ...])
    assert_type(ctx.group.parallel((count,) * 8), tuple[int, ...])
    # RACE: branches that did not finish give None
    assert_type(ctx.group.parallel((count, name), parallel_mode=ParallelMode.RACE), tuple[int | None, str | None])
    assert_type(ctx.group.parallel((count, name), ParallelMode.WAIT), tuple[int, str])
    assert_type(ctx.group.parallel([count], ParallelMode.RACE), tuple[int | None, ...])
    counted, named = ctx.group.parallel((count, name))
    assert_type(counted + 1, int)
    assert_type(named.upper(), str)


@client.create_function(fn_id="parallel-async", trigger=trigger)
async def parallel_async(ctx: Context) -> None:
    assert_type(await ctx.group.parallel((count_async, name_async)), tuple[int, str])
    assert_type(await ctx.step.parallel((lambda: ctx.step.run("a", count_async), name_async)), tuple[int, str])
    assert_type(await ctx.group.parallel([count_async, count_async]), tuple[int, ...])
    assert_type(await ctx.group.parallel((count_async, name_async), ParallelMode.RACE), tuple[int | None, str | None])
