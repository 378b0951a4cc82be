"""A Lambda handler whose core answers with the request's deadline, to check the real runtime's context.

Run by the Runtime Interface Emulator (``tests.support.aws_deadline_app.handler``): awslambdaric
builds the real LambdaContext, lambda_adapter turns its remaining time into the deadline.
"""

from __future__ import annotations

import json
import time

from inngest_serverless.adapters import aws_lambda
from inngest_serverless.core.http import Request, Response


class DeadlineEcho:
    def handle(self, request: Request) -> Response:
        left = None if request.deadline is None else request.deadline - time.monotonic()
        return Response(200, {"content-type": "application/json"}, json.dumps({"seconds_left": left}).encode())


handler = aws_lambda.LambdaAdapter(DeadlineEcho())  # type: ignore[arg-type]
