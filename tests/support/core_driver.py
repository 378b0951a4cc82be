"""Helpers to build protocol calls to a core Handler (no host in between)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from inngest_serverless import Handler, Request, Response
from inngest_serverless.core import signing
from tests.support.oracle import Answer, Memos, play

URL = "http://app.test/api/inngest"


def h(step_id: str) -> str:
    """Hashed step ID: the SHA-1 of its ID, ``:n`` appended for the n-th repeat."""
    return hashlib.sha1(step_id.encode()).hexdigest()


def call_body(steps: dict[str, Any] | None = None, *, event: dict[str, Any] | None = None, attempt: int = 0,
              max_attempts: int | None = 5, disable: bool = False, run_id: str = "01RUN",
              events: list[dict[str, Any]] | None = None, use_api: bool = False) -> dict[str, Any]:
    ev = event or {"name": "test/event", "data": {"n": 1}, "id": "e1", "ts": 1, "user": {}}
    ctx: dict[str, Any] = {"fn_id": "uuid", "run_id": run_id, "env": "", "step_id": "step", "attempt": attempt,
                           "stack": {"stack": list(steps or {}), "current": len(steps or {})},
                           "disable_immediate_execution": disable, "use_api": use_api}
    if max_attempts is not None:
        ctx["max_attempts"] = max_attempts
    return {"event": ev, "events": events if events is not None else [ev], "steps": steps or {}, "ctx": ctx,
            "version": 2, "use_api": use_api}


def post(handler: Handler, fn: str, body: dict[str, Any] | bytes, *, step: str = "step",
         key: str | None = None, headers: dict[str, str] | None = None) -> Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    hdrs = dict(headers or {})
    if key:
        hdrs["X-Inngest-Signature"] = signing.sign(signing.canonical(raw), key)
    url = f"{URL}?fnId={handler.client.app_id}-{fn}&stepId={step}"
    return handler.handle(Request.build("POST", url, hdrs, raw))


def run_to_completion(handler: Handler, fn: str, *, event: dict[str, Any] | None = None,
                      limit: int = 50) -> tuple[Any, list[list[dict[str, Any]]]]:
    """Play a run to its end with the oracle (tests/support/oracle.py): returns (result, op lists seen)."""

    def send(memos: Memos) -> Answer:
        body = call_body(dict(memos.steps), event=event, attempt=memos.attempt, max_attempts=memos.max_attempts,
                         disable=memos.disable)
        resp = post(handler, fn, body, step=memos.target)
        return Answer(resp.status, resp.json(), resp.headers.get("x-inngest-no-retry") == "true")

    run = play(send, limit=limit)
    assert run.status == "completed", (run.status, run.output)
    return run.output, run.ops
