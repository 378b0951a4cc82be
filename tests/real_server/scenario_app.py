"""The app of the host scenario suite under the real ``inngest dev``, as every adapter serves it.

The functions are tests/support/dev_apps/suite.py's (the suite the embedded executor runs), plus one
whose step outlasts the keep-alive interval, so hosts that flush stream their reply. Dev mode:
the dev server's URL comes from INNGEST_DEV (harness.InngestServer.sdk_env), for the sync, the
events ``send_event`` posts and the state a ``use_api`` call fetches.
"""

from __future__ import annotations

import threading

import inngest_serverless
from inngest_serverless import ContextSync, Inngest, TriggerEvent
from inngest_serverless.adapters.asgi import asgi_adapter
from inngest_serverless.adapters.aws_lambda import lambda_adapter
from inngest_serverless.adapters.gcp import gcf_adapter
from inngest_serverless.adapters.vercel import vercel_adapter
from inngest_serverless.adapters.wsgi import wsgi_adapter
from inngest_serverless.core.streaming import DEFAULT_INTERVAL
from tests.support.dev_apps import suite

APP_ID = "dev-suite"  # suite.py's lifecycle watchers name this app in their expressions
KEEPALIVE_STEP_SECONDS = DEFAULT_INTERVAL + 1.5  # longer than one keep-alive interval

client = Inngest(app_id=APP_ID, is_production=False)
suite.build(inngest_serverless, client)


@client.create_function(fn_id="keepalive", trigger=TriggerEvent(event="tests/keepalive.test"))
def keepalive(ctx: ContextSync) -> str:
    return ctx.step.run("slow step", lambda: (threading.Event().wait(KEEPALIVE_STEP_SECONDS), "done")[1])


asgi = asgi_adapter(client)  # uvicorn tests.real_server.scenario_app:asgi
wsgi = wsgi_adapter(client)  # gunicorn tests.real_server.scenario_app:wsgi
gcf = gcf_adapter(client)  # functions-framework --target=gcf --source=tests/real_server/scenario_app.py
handler = vercel_adapter(client)  # vercel-runtime's vc_init, variable "handler"
lambda_handler = lambda_adapter(client)  # awslambdaric tests.real_server.scenario_app.lambda_handler
