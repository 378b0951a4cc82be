"""Inngest on Azure Functions, Python v2 programming model.

Serves GET/PUT/POST /api/inngest (anonymous: Inngest signs every request).
Deploy (see docs/deploy-azure.md: a Flex Consumption app):

    python -m pip wheel --no-deps --wheel-dir wheels ../..   # until inngest-serverless is on PyPI
    func azure functionapp publish <APP_NAME>
    az functionapp config appsettings set -n <APP_NAME> -g <GROUP> \
        --settings INNGEST_SIGNING_KEY=... INNGEST_EVENT_KEY=...

Then sync https://<APP_NAME>.azurewebsites.net/api/inngest in the Inngest dashboard.
"""

from typing import Any

import azure.functions as func

from inngest_serverless import ContextSync, Inngest, TriggerEvent
from inngest_serverless.adapters.azure import azure_adapter

# Keys come from the app settings: INNGEST_SIGNING_KEY, INNGEST_EVENT_KEY (INNGEST_DEV=1 locally).
client = Inngest(app_id="my-azure-app")


@client.create_function(fn_id="hello", trigger=TriggerEvent(event="app/hello"))
def hello(ctx: ContextSync) -> dict[str, Any]:
    greeting = ctx.step.run("greet", lambda: f"Hello, {ctx.event.data.get('name', 'world')}!")
    loud = ctx.step.run("shout", lambda: greeting.upper())
    return {"greeting": greeting, "loud": loud}


app = func.FunctionApp()
# The deadline comes from host.json's functionTimeout (capped at Azure's 230 s for HTTP).
azure_adapter(app, client, route="inngest")
