"""The two functions tests/support/sim_executor.py's standard scenario expects, for any app to define.

    client = Inngest(app_id=...)
    add_standard_functions(client)
"""

from __future__ import annotations

from typing import Any

from inngest_serverless import ContextSync, Inngest, TriggerEvent
from tests.support.sim_executor import FAILING, FAILING_RETRIES, MULTI_STEP


def add_standard_functions(client: Inngest) -> None:
    """``multi-step`` (two step.runs, returns both) and ``failing-step`` (a step that always raises)."""

    @client.create_function(fn_id=MULTI_STEP[0], trigger=TriggerEvent(event=MULTI_STEP[1]))
    def multi_step(ctx: ContextSync) -> dict[str, Any]:
        first = ctx.step.run("first", lambda: ctx.event.data["start"] + 1)
        second = ctx.step.run("second", lambda: first * 10)
        return {"first": first, "second": second}

    @client.create_function(fn_id=FAILING[0], trigger=TriggerEvent(event=FAILING[1]), retries=FAILING_RETRIES)
    def failing_step(ctx: ContextSync) -> None:
        def explode() -> None:
            raise ValueError(FAILING[3])

        ctx.step.run("explode", explode)


SLOW = ("slow-step", "sim/slow")
SLOW_SECONDS = 3.5  # longer than core's 3 s keep-alive grace, so "auto" streaming switches on


def add_slow_function(client: Inngest) -> None:
    """``slow-step``: one step that outlasts the keep-alive grace, then returns ``"done"``."""
    import time

    @client.create_function(fn_id=SLOW[0], trigger=TriggerEvent(event=SLOW[1]))
    def slow_step(ctx: ContextSync) -> str:
        return ctx.step.run("wait", lambda: time.sleep(SLOW_SECONDS) or "done")


def slow_call(app_id: str, signing_key: str) -> tuple[str, dict[str, str], bytes]:
    """The query, headers and body of the first (discovery) call of a slow-step run."""
    import rfc8785

    from tests.support.sim_executor import signature

    event = {"name": SLOW[1], "data": {}, "id": "01SLOWEVENT", "ts": 1, "user": {}}
    body = rfc8785.dumps({
        "event": event, "events": [event], "steps": {}, "version": 2, "use_api": False,
        "ctx": {"run_id": "01SLOWRUN", "attempt": 0, "max_attempts": 3, "step_id": "step", "env": "", "fn_id": "f",
                "stack": {"stack": [], "current": 0}, "disable_immediate_execution": False},
    })
    headers = {"content-type": "application/json", "x-inngest-signature": signature(body, signing_key)}
    return f"fnId={app_id}-{SLOW[0]}&stepId=step", headers, body
