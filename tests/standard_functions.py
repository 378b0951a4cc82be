"""The two functions tests/sim_executor.py's standard scenario expects, for any app to define.

    client = Inngest(app_id=...)
    add_standard_functions(client)
"""

from __future__ import annotations

from typing import Any

from inngest_serverless import Context, Inngest, TriggerEvent
from tests.sim_executor import FAILING, FAILING_RETRIES, MULTI_STEP


def add_standard_functions(client: Inngest) -> None:
    """``multi-step`` (two step.runs, returns both) and ``failing-step`` (a step that always raises)."""

    @client.create_function(fn_id=MULTI_STEP[0], trigger=TriggerEvent(event=MULTI_STEP[1]))
    def multi_step(ctx: Context) -> dict[str, Any]:
        first = ctx.step.run("first", lambda: ctx.event.data["start"] + 1)
        second = ctx.step.run("second", lambda: first * 10)
        return {"first": first, "second": second}

    @client.create_function(fn_id=FAILING[0], trigger=TriggerEvent(event=FAILING[1]), retries=FAILING_RETRIES)
    def failing_step(ctx: Context) -> None:
        def explode() -> None:
            raise ValueError(FAILING[3])

        ctx.step.run("explode", explode)
