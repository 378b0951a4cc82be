"""A Lambda handler whose core answers with the request's deadline, to check the real runtime's context.

Run by the Runtime Interface Emulator (``tests.aws_deadline_app.handler``): awslambdaric
builds the real LambdaContext, lambda_adapter turns its remaining time into the deadline.
"""

from __future__ import annotations

import json
import time
from typing import Any

from inngest_serverless import Inngest
from inngest_serverless.adapters import aws_lambda
from inngest_serverless.core.http import Request, Response


class DeadlineEcho:
    def handle(self, request: Request) -> Response:
        left = None if request.deadline is None else request.deadline - time.monotonic()
        return Response(200, {"content-type": "application/json"}, json.dumps({"seconds_left": left}).encode())


def _echo_core(*args: Any, **kwargs: Any) -> DeadlineEcho:
    return DeadlineEcho()


aws_lambda.core_handler = _echo_core  # type: ignore[assignment]
handler = aws_lambda.lambda_adapter(Inngest(app_id="deadline", is_production=False))
