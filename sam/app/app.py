"""The Lambda function sam/template.yaml deploys: define your Inngest functions here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from inngest_serverless import ContextSync, Inngest, TriggerEvent
from inngest_serverless.adapters.aws_lambda import aws_keys, lambda_adapter

# Keys come from the secret named by INNGEST_SIGNING_KEY_SECRET_ARN (set by the template).
client = Inngest(app_id="sam-app", **aws_keys())


@client.create_function(fn_id="welcome", trigger=TriggerEvent(event="user/signed.up"))
def welcome(ctx: ContextSync) -> dict[str, Any]:
    user = ctx.step.run("load-user", lambda: {"email": ctx.event.data.get("email")})
    ctx.step.sleep("wait-a-day", timedelta(days=1))
    ctx.step.run("send-email", lambda: print("welcome,", user["email"]))
    return {"welcomed": user["email"]}


handler = lambda_adapter(client)
