"""Helpers to build protocol calls to a core Handler (no host in between)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from inngest_serverless import Handler, Request, Response
from inngest_serverless.core import signing

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
    """Play the executor for a run of step.run/sleep steps: returns (result, op lists seen)."""
    steps: dict[str, Any] = {}
    seen: list[list[dict[str, Any]]] = []
    pending: list[str] = []
    for _ in range(limit):
        target = pending.pop(0) if pending else "step"
        resp = post(handler, fn, call_body(steps, event=event, disable=bool(pending)), step=target)
        if resp.status == 200:
            return resp.json(), seen
        assert resp.status == 206, (resp.status, resp.read())
        ops = resp.json()
        seen.append(ops)
        for op in ops:
            if op["op"] == "StepRun":
                steps[op["id"]] = {"data": op.get("data")}
            elif op["op"] == "Sleep":
                steps[op["id"]] = None
            elif op["op"] == "StepPlanned":
                pending.append(op["id"])
            elif op["op"] == "StepFailed":
                steps[op["id"]] = {"error": op["error"]}
            else:
                raise AssertionError(f"driver cannot play {op['op']}")
    raise AssertionError("run did not complete")
