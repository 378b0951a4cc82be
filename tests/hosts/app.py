"""The app every host serves in the scenario suite: one client, the same functions.

The functions are the ones tests/sim_executor.py's standard scenario expects.
Configured by the environment the harness gives the host process:
INNGEST_SIGNING_KEY (cloud mode, signed calls) and INNGEST_API_BASE_URL (the
loopback fake API that records register POSTs).
"""

from __future__ import annotations

import os
from typing import Any

from inngest_serverless import Context, Inngest, TriggerEvent
from inngest_serverless.adapters.asgi import asgi_app
from inngest_serverless.adapters.gcp import gcf_adapter
from inngest_serverless.adapters.vercel import vercel_handler
from inngest_serverless.adapters.wsgi import wsgi_app
from tests.hosts import APP_ID
from tests.sim_executor import FAILING, FAILING_RETRIES, MULTI_STEP

client = Inngest(app_id=APP_ID, is_production=True, signing_key=os.environ.get("INNGEST_SIGNING_KEY"))


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


# One entry point per host, all over the same client and functions.
asgi = asgi_app(client)  # uvicorn tests.hosts.app:asgi
wsgi = wsgi_app(client)  # gunicorn tests.hosts.app:wsgi
gcf = gcf_adapter(client)  # functions-framework --target=gcf --source=tests/hosts/app.py
handler = vercel_handler(client)  # vercel-runtime's vc_init, variable "handler"
