"""A Lambda handler on the managed runtime (awslambdaric), with one slow step.

For tests/adapters/aws_lambda/test_deadline_managed_runtime.py.
"""

from __future__ import annotations

import threading
from typing import Any

from inngest_serverless import ContextSync, Inngest, TriggerEvent
from inngest_serverless.adapters.aws_lambda import lambda_adapter

client = Inngest(app_id="dl", is_production=False)


@client.create_function(fn_id="slow", trigger=TriggerEvent(event="t/slow"))
def slow(ctx: ContextSync) -> Any:
    ctx.step.run("quick step", lambda: "q")
    return ctx.step.run("slow step", lambda: threading.Event().wait(60) or "late")


handler = lambda_adapter(client)
