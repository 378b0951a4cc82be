"""Two middlewares of docs/middleware.md: OpenTelemetry spans per step, and end-to-end encryption.

Neither is part of the package: they show what the hooks are for, and the tests run them
through the real protocol (tests/core/test_middleware.py) and the embedded executor.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from opentelemetry import trace

import inngest_serverless
from inngest_serverless import MiddlewareSync, SendEventsResult, TransformOutputResult

# -- tracing -------------------------------------------------------------------------------


class TracingMiddleware(MiddlewareSync):
    """A span per call (``inngest.call``) and one per step that ends the call (``inngest.step``),
    with the run's identity as attributes. Replayed steps get no span: they did no work."""

    tracer_provider: Any = None  # None: the global provider

    def __init__(self, client: inngest_serverless.Inngest, raw_request: object) -> None:
        super().__init__(client, raw_request)
        self.tracer = trace.get_tracer("inngest-serverless", tracer_provider=self.tracer_provider)
        self.call_span: Any = None
        self.function_id = ""
        self.run_id = ""

    def transform_input(self, ctx: Any, function: Any, steps: inngest_serverless.StepMemos) -> None:
        self.function_id = function.local_id
        self.run_id = ctx.run_id
        self.call_span = self.tracer.start_span("inngest.call", attributes={
            "inngest.function_id": self.function_id, "inngest.run_id": self.run_id,
            "inngest.memoized_steps": steps.size, "inngest.attempt": ctx.attempt,
        })

    def transform_output(self, result: TransformOutputResult) -> None:
        parent = trace.set_span_in_context(self.call_span) if self.call_span is not None else None
        if result.step is not None:
            span = self.tracer.start_span("inngest.step", context=parent, attributes={
                "inngest.step_id": result.step.id, "inngest.op": result.step.op, "inngest.run_id": self.run_id,
            })
            span.end()
        elif self.call_span is not None:
            self.call_span.set_attribute("inngest.finished", True)
            if result.error is not None:
                self.call_span.record_exception(result.error)

    def before_response(self) -> None:
        if self.call_span is not None:
            self.call_span.end()

    def before_send_events(self, events: list[inngest_serverless.Event]) -> None:
        span = self.tracer.start_span("inngest.send", attributes={"inngest.events": [e.name for e in events]})
        span.end()


# -- encryption ----------------------------------------------------------------------------

MARKER = "__ENCRYPTED__"
STRATEGY = "__STRATEGY__"
ENCRYPTED_FIELD = "encrypted"  # the field of event.data that travels encrypted


def encryption_middleware(key: bytes) -> type[MiddlewareSync]:
    """A middleware class that encrypts, with Fernet and ``key``: every step output and the
    function's result, and ``data["encrypted"]`` of events sent. Only ciphertext reaches the server;
    the app decrypts memoized outputs and incoming events before the function sees them."""
    fernet = Fernet(key)

    def seal(value: Any) -> dict[str, Any]:
        token = fernet.encrypt(json.dumps(value).encode()).decode()
        return {MARKER: True, STRATEGY: "fernet", "data": token}

    def open_(value: Any) -> Any:
        if isinstance(value, dict) and value.get(MARKER) is True and isinstance(value.get("data"), str):
            try:
                return json.loads(fernet.decrypt(value["data"].encode()))
            except InvalidToken:
                raise inngest_serverless.NonRetriableError("a value could not be decrypted with this key") from None
        return value

    class EncryptionMiddleware(MiddlewareSync):
        def transform_input(self, ctx: Any, function: Any, steps: inngest_serverless.StepMemos) -> None:
            for memo in steps.values():
                memo.data = open_(memo.data)
            for event in [ctx.event, *ctx.events]:
                if ENCRYPTED_FIELD in event.data:
                    event.data[ENCRYPTED_FIELD] = open_(event.data[ENCRYPTED_FIELD])

        def transform_output(self, result: TransformOutputResult) -> None:
            if result.has_output() and result.error is None and (result.step is None or result.step.op == "StepRun"):
                result.output = seal(result.output)

        def before_send_events(self, events: list[inngest_serverless.Event]) -> None:
            for event in events:
                if ENCRYPTED_FIELD in event.data:
                    event.data[ENCRYPTED_FIELD] = seal(event.data[ENCRYPTED_FIELD])

        def after_send_events(self, result: SendEventsResult) -> None:
            pass

    return EncryptionMiddleware


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and value.get(MARKER) is True
