"""middleware= takes middleware classes only, and step.invoke a function made by create_function."""

from __future__ import annotations

import inngest_serverless
from inngest_serverless import ContextSync


class NotMiddleware:
    def __init__(self, client: inngest_serverless.Inngest, raw_request: object) -> None:
        self.client = client


client = inngest_serverless.Inngest(app_id="typing", middleware=[NotMiddleware])  # E: list-item
client.add_middleware(NotMiddleware)  # E: arg-type


def plain(ctx: ContextSync) -> int:
    return 1


@client.create_function(fn_id="caller", trigger=inngest_serverless.TriggerEvent(event="t/m"))
def caller(ctx: ContextSync) -> None:
    ctx.step.invoke("plain", function=plain)  # E: arg-type
