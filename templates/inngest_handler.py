"""The Lambda handler templates/serverless.yml deploys: put your functions here."""

from __future__ import annotations

from typing import Any

from inngest_serverless import ContextSync, Inngest, TriggerEvent
from inngest_serverless.adapters.aws_lambda import aws_keys, lambda_adapter

# Keys come from the secret named by INNGEST_SIGNING_KEY_SECRET_ARN (set by serverless.yml).
client = Inngest(app_id="inngest-app", **aws_keys())


@client.create_function(fn_id="hello", trigger=TriggerEvent(event="app/hello"))
def hello(ctx: ContextSync) -> dict[str, Any]:
    greeting = ctx.step.run("greet", lambda: f"Hello, {ctx.event.data.get('name', 'world')}!")
    loud = ctx.step.run("shout", lambda: greeting.upper())
    return {"greeting": greeting, "loud": loud}


handler = lambda_adapter(client)
