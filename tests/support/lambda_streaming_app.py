"""The app behind the Lambda emulator in the streaming tests (``_HANDLER=tests.support.lambda_streaming_app.handler``)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

from inngest_serverless import ContextSync, Handler, Inngest, Request, Response, TriggerEvent

STEP_SECONDS = float(os.environ.get("STREAMING_TEST_STEP_SECONDS", "1.0"))
INTERVAL = float(os.environ.get("STREAMING_TEST_INTERVAL", "0.2"))

client = Inngest(app_id="ls", is_production=False)


@client.create_function(fn_id="slow", trigger=TriggerEvent(event="t/slow"))
def slow(ctx: ContextSync) -> Any:
    return ctx.step.run("slow step", lambda: threading.Event().wait(STEP_SECONDS) or "done")


@client.create_function(fn_id="quick", trigger=TriggerEvent(event="t/quick"))
def quick(ctx: ContextSync) -> Any:
    return {"quick": True}


class BreaksMidStream(Handler):
    """Answers ``?break=1`` with a stream that fails after its first chunk (for the error trailers)."""

    def handle(self, request: Request) -> Response:
        if request.query.get("break") == "1":
            def chunks() -> Iterator[bytes]:
                yield b" "
                raise RuntimeError("the stream broke")

            return Response(201, {"content-type": "application/json"}, b"", chunks())
        return super().handle(request)


handler = BreaksMidStream(client, framework="aws_lambda_streaming", keepalive_interval=INTERVAL, deadline_margin=0.5)
