"""Middleware classes are what middleware= takes, and a middleware's client is the whole Inngest client."""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import inngest_serverless
from inngest_serverless import ContextSync, Function, Inngest, Middleware, MiddlewareSync, StepMemos


class Audit(MiddlewareSync):
    def transform_input(self, ctx: ContextSync | inngest_serverless.Context, function: Function[Any],
                        steps: StepMemos) -> None:
        assert_type(self.client, Inngest)
        self.client.send_sync({"name": "audit/input", "data": {"fn": function.id}})


class Timing(Middleware):
    async def before_response(self) -> None:
        assert_type(self.client, Inngest)
        await self.client.send({"name": "audit/reply", "data": {"app": self.client.app_id}})


client = inngest_serverless.Inngest(app_id="typing", middleware=[Audit, Timing])
client.add_middleware(Audit)


@client.create_function(fn_id="with-middleware", trigger=inngest_serverless.TriggerEvent(event="t/m"),
                        middleware=[Timing])
def with_middleware(ctx: ContextSync) -> int:
    return 1
