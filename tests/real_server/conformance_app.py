"""The app Inngest's SDK conformance suite drives: exactly the functions it expects, as every host serves them.

Each function mirrors the Go reference app (tests/conformance/golang/main.go in
the server's module at the pinned version): the same IDs, triggers, step names,
durations and outputs, because the runner compares the calls and replies byte
for byte. Dev mode with the suite's signing key, so the runner's signed in-band
sync is verified. The attempt counters live in the process: every test run
starts a fresh host.
"""

from __future__ import annotations

import datetime
import itertools
import os
from typing import Any

from inngest_serverless import Cancel, ContextSync, Inngest, TriggerEvent
from inngest_serverless.adapters.asgi import asgi_adapter
from inngest_serverless.adapters.aws_lambda import lambda_adapter
from inngest_serverless.adapters.gcp import gcf_adapter
from inngest_serverless.adapters.vercel import vercel_adapter
from inngest_serverless.adapters.wsgi import wsgi_adapter

APP_ID = "conformance-py"
# The suite's default key ("this is a test key" in hex); the runner signs its in-band sync with it.
SIGNING_KEY = "7468697320697320612074657374206b6579"

client = Inngest(app_id=APP_ID, is_production=False,
                 signing_key=os.environ.get("INNGEST_SIGNING_KEY", SIGNING_KEY))

_step_attempts = itertools.count(1)
_function_attempts = itertools.count(1)


@client.create_function(fn_id="test-suite-simple-fn", trigger=TriggerEvent(event="tests/function.test"))
def simple(ctx: ContextSync) -> dict[str, Any]:
    return {"name": ctx.event.name, "body": "ok"}


@client.create_function(fn_id="test-suite-step-test", trigger=TriggerEvent(event="tests/step.test"))
def steps(ctx: ContextSync) -> dict[str, Any]:
    first = ctx.step.run("first step", lambda: "first step")
    ctx.step.sleep("sleep", datetime.timedelta(seconds=2))
    ctx.step.run("second step", lambda: {"first": first, "second": True})
    return {"name": ctx.event.name, "body": "ok"}


def _first_step() -> str:
    if next(_step_attempts) == 1:
        raise Exception("broken")
    return "yes: 2"


@client.create_function(fn_id="test-suite-retry-test", trigger=TriggerEvent(event="tests/retry.test"))
def retry(ctx: ContextSync) -> dict[str, Any]:
    ctx.step.run("first step", _first_step)
    if next(_function_attempts) == 1:
        raise Exception("broken func")
    return {"name": ctx.event.name, "body": "ok"}


@client.create_function(
    fn_id="test-suite-cancel-test",
    trigger=TriggerEvent(event="tests/cancel.test"),
    cancel=[Cancel(event="cancel/please", if_exp="async.data.request_id == event.data.request_id")],
)
def cancel(ctx: ContextSync) -> dict[str, Any]:
    ctx.step.sleep("sleep", datetime.timedelta(seconds=10))
    ctx.step.run("After the sleep", lambda: "This should be cancelled if a matching cancel event is received")
    return {"name": ctx.event.name, "body": "ok"}


@client.create_function(fn_id="test-suite-wait-for-event", trigger=TriggerEvent(event="tests/wait.test"))
def wait(ctx: ContextSync) -> dict[str, Any]:
    found = ctx.step.wait_for_event(
        "wait",
        event="test/resume",
        if_exp="async.data.resume == true && async.data.id == event.data.id",
        timeout=datetime.timedelta(seconds=10),
    )
    if found is None:
        return {}
    return {"result": found.data}


asgi = asgi_adapter(client)  # uvicorn tests.real_server.conformance_app:asgi
wsgi = wsgi_adapter(client)  # gunicorn tests.real_server.conformance_app:wsgi
gcf = gcf_adapter(client)  # functions-framework --target=gcf --source=tests/real_server/conformance_app.py
handler = vercel_adapter(client)  # vercel-runtime's vc_init, variable "handler"
lambda_handler = lambda_adapter(client)  # awslambdaric tests.real_server.conformance_app.lambda_handler
