"""Inngest on Google Cloud Functions (Cloud Run functions), Python.

Deploy (see docs/deploy-gcf.md, which also makes the keys' secrets and the service account):

    python -m pip wheel --no-deps --wheel-dir wheels ../..   # until inngest-serverless is on PyPI
    gcloud functions deploy inngest --gen2 --runtime=python312 --trigger-http \
        --allow-unauthenticated --entry-point=inngest --timeout=300s --service-account=... \
        --set-env-vars=CLOUD_RUN_TIMEOUT_SECONDS=300 \
        --set-secrets=INNGEST_SIGNING_KEY=inngest-signing-key:latest,INNGEST_EVENT_KEY=inngest-event-key:latest

Then sync the function's URL in the Inngest dashboard (or ``curl -X PUT <url>``).
"""

from typing import Any

from inngest_serverless import ContextSync, Inngest, TriggerEvent
from inngest_serverless.adapters.gcp import gcf_adapter

# Keys come from the environment: INNGEST_SIGNING_KEY, INNGEST_EVENT_KEY (INNGEST_DEV=1 locally).
client = Inngest(app_id="my-gcf-app")


@client.create_function(fn_id="hello", trigger=TriggerEvent(event="app/hello"))
def hello(ctx: ContextSync) -> dict[str, Any]:
    greeting = ctx.step.run("greet", lambda: f"Hello, {ctx.event.data.get('name', 'world')}!")
    loud = ctx.step.run("shout", lambda: greeting.upper())
    return {"greeting": greeting, "loud": loud}


# functions-framework serves the function named by --entry-point / --target.
inngest = gcf_adapter(client)
