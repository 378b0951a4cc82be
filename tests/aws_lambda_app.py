"""The app the AWS tests serve: the simulated executor's two standard functions behind lambda_adapter.

Loaded by the Runtime Interface Emulator (``python -m awslambdaric
tests.aws_lambda_app.handler``), by serverless-offline (through a shim) and
in-process. Configured by the environment: INNGEST_SIGNING_KEY (cloud mode,
signed calls) or, without it, dev mode.
"""

from __future__ import annotations

import os
from typing import Any

from inngest_serverless import Context, Inngest, TriggerEvent
from inngest_serverless.adapters.aws_lambda import lambda_adapter
from tests.sim_executor import FAILING, FAILING_RETRIES, MULTI_STEP

APP_ID = "aws-app"
SIGNING_KEY = "signkey-test-8ee2262a15e8d3c42d6a840db7af3de2aab08ef632b32a37a687f24b34dba3ff"

client = Inngest(app_id=APP_ID, is_production=bool(os.environ.get("INNGEST_SIGNING_KEY")))


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


handler = lambda_adapter(client)
