"""The call body's model: what the handler parses, what an executor builds, and the errors module."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

import inngest_serverless
from inngest_serverless import ContextSync, Inngest, TriggerEvent
from inngest_serverless.core import errors
from inngest_serverless.core.call_body import CallBody, CallContext
from inngest_serverless.core.errors import BadRequest, InngestError
from inngest_serverless.core.http import Request
from inngest_serverless.core.replay import Engine


def _body(**ctx: Any) -> CallBody:
    return CallBody(
        event={"name": "shop/order", "data": {"n": 1}, "id": "e1", "ts": 5},
        events=[{"name": "shop/order", "data": {"n": 1}, "id": "e1", "ts": 5}],
        steps={Engine.hashed_id("first"): {"data": 41}},
        ctx=CallContext(run_id="run-1", **ctx),
        version=2,
    )


def test_a_body_built_by_the_model_parses_back_to_the_same_model() -> None:
    built = _body(attempt=2, max_attempts=5, fn_id="uuid-1", env="br", step_id="step", stack=["a", "b"],
                  stack_current=2, qi_id="q", request_id="r", job_id="j", generation_id=3,
                  disable_immediate_execution=True)
    raw = json.dumps(built.to_wire()).encode()
    parsed = CallBody.parse(raw)
    assert parsed == built
    assert CallBody.parse(built.to_wire()) == built  # the decoded object parses the same way


def test_the_wire_form_writes_every_key_an_executor_sends() -> None:
    wire = _body(fn_id="uuid-1").to_wire()
    assert list(wire) == ["event", "events", "steps", "ctx", "version", "use_api"]
    assert set(wire["ctx"]) == {"fn_id", "run_id", "env", "step_id", "attempt", "max_attempts", "stack", "qi_id",
                                "request_id", "job_id", "disable_immediate_execution", "use_api"}
    assert wire["ctx"]["stack"] == {"stack": [], "current": 0}


def test_a_body_built_by_the_model_runs_through_the_handler() -> None:
    client = Inngest(app_id="shop", is_production=False)

    @client.create_function(fn_id="order", trigger=TriggerEvent(event="shop/order"))
    def order(ctx: ContextSync) -> int:
        first = ctx.step.run("first", lambda: 0)
        return int(first) + ctx.event.data["n"] + ctx.attempt

    body = json.dumps(_body(attempt=1).to_wire()).encode()
    response = inngest_serverless.Handler(client).handle(
        Request.build("POST", "http://app/api/inngest?fnId=shop-order&stepId=step", {}, body))
    assert response.status == 200 and response.json() == 43  # 41 memoized + 1 from the event + attempt 1


def test_loose_fields_are_read_as_unknown_not_refused() -> None:
    body = CallBody.parse({
        "event": {"name": "x"},
        "events": [{"name": "x"}, "not an event", 3],
        "ctx": {"run_id": "r", "max_attempts": "many", "fn_id": 7, "stack": {"stack": "no"}, "generation_id": True},
    })
    assert body.events == [{"name": "x"}]
    assert body.ctx.attempt == 0 and body.ctx.max_attempts is None and body.ctx.fn_id is None
    assert body.ctx.stack == [] and body.ctx.generation_id is None
    assert not body.fetch_state
    assert CallBody.parse({"event": {}, "ctx": {"run_id": "r"}, "use_api": True}).fetch_state
    assert CallBody.parse({"event": {}, "ctx": {"run_id": "r", "use_api": True}}).fetch_state


@pytest.mark.parametrize(("raw", "message"), [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"event": {}}', "'event' and 'ctx' objects"),
    (b'{"event": [], "ctx": {"run_id": "r"}}', "'event' and 'ctx' objects"),
    (b'{"event": {}, "ctx": {"run_id": "r"}, "steps": [1]}', "'steps' must be an object"),
    (b'{"event": {}, "ctx": {"run_id": "r"}, "events": {"a": 1}}', "'events' an array"),
    (b'{"event": {}, "ctx": {"run_id": 5}}', "'ctx.run_id' must be a string"),
    (b'{"event": {}, "ctx": {"run_id": "r", "attempt": true}}', "'ctx.attempt' an integer"),
    (b'{"event": {}, "ctx": {"run_id": "\\ud800"}}', "not valid Unicode text"),
    (b"\xff\xfe", "not valid JSON"),
])
def test_a_body_that_can_never_run_is_a_400(raw: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message) as caught:
        CallBody.parse(raw)
    assert caught.value.status == 400 and caught.value.code == "malformed_body"


def test_the_handler_answers_a_malformed_body_with_one_line_of_json() -> None:
    client = Inngest(app_id="shop", is_production=False)

    @client.create_function(fn_id="f", trigger=TriggerEvent(event="x"))
    def f(ctx: ContextSync) -> None:
        return None

    response = inngest_serverless.Handler(client).handle(
        Request.build("POST", "http://app/api/inngest?fnId=shop-f", {}, b'{"event": {}, "ctx": {"run_id": 1}}'))
    assert response.status == 400 and response.headers["x-inngest-no-retry"] == "true"
    assert response.json() == {"code": "malformed_body",
                               "message": "'ctx.run_id' must be a string and 'ctx.attempt' an integer"}
    assert b"\n" not in response.body


# -- the errors module ---------------------------------------------------------------------------


def test_every_error_of_the_package_derives_from_inngest_error() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, BaseException) and c.__module__ == errors.__name__]
    assert len(classes) >= 10
    assert all(issubclass(c, InngestError) for c in classes), classes
    doc = errors.__doc__ or ""
    assert all(c.__name__ in doc for c in classes), "the hierarchy in the docstring names every error"


def test_the_user_facing_errors_are_exported_from_the_package() -> None:
    for name in ("InngestError", "NonRetriableError", "RetryAfterError", "StepError", "ConfigError", "ApiError",
                 "SendEventsError"):
        assert getattr(inngest_serverless, name) is getattr(errors, name)
    assert issubclass(inngest_serverless.SendEventsError, inngest_serverless.ApiError)
    assert issubclass(inngest_serverless.ConfigError, ValueError)  # raised where a ValueError was expected before
    from inngest_serverless.signing import SignatureError

    assert SignatureError is errors.SignatureError
