"""Plays the executor for checkpointing tests: a fake API that stores posted steps, and a call loop.

The fake API answers ``POST /v1/checkpoint/{runID}/async`` the way the
server does: it saves each posted ``StepRun``
as ``{"data": ...}`` in the run's state, which the next call carries; the
calls in between are played by the oracle (tests/support/oracle.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from inngest_serverless import Handler, Request
from inngest_serverless.core import signing
from tests.support.core_driver import URL, call_body
from tests.support.fake_api import FakeApi, Recorded, fake_api
from tests.support.oracle import Answer, Memos
from tests.support.oracle import play as play_run

RUN_ID = "01CHECKPOINTRUN"
FN_UUID = "3f6b1f0e-6a43-4a36-9c57-2d1f5e0b7a11"


@dataclass
class Run(Memos):
    """A run's server-side state: the oracle's memos, what each invocation answered, what was posted."""

    replies: list[tuple[int, Any]] = field(default_factory=list)
    posts: list[list[dict[str, Any]]] = field(default_factory=list)
    fail_posts: bool = False
    fail_pattern: list[bool] = field(default_factory=list)  # per post, in order: True fails it

    def checkpoint_route(self, rec: Recorded) -> tuple[int, Any]:
        if self.fail_posts or (self.fail_pattern and self.fail_pattern.pop(0)):
            return 500, {"error": "checkpoint store unavailable"}
        body = rec.json()
        ops = body["steps"]
        self.posts.append(ops)
        for op in ops:
            assert op["op"] == "StepRun", op
            self.save(op["id"], {"data": op.get("data")})
        return 200, {}

    @property
    def invocations(self) -> int:
        return len(self.replies)


def attach(api: FakeApi, run: Run, run_id: str = RUN_ID) -> None:
    api.on("POST", f"/v1/checkpoint/{run_id}/async", run.checkpoint_route)


@pytest.fixture(scope="module")
def api() -> Iterator[FakeApi]:
    with fake_api() as server:
        yield server


@pytest.fixture
def run(api: FakeApi) -> Run:
    api.requests.clear()
    state = Run()
    attach(api, state)
    return state


def body_for(run: Run, *, attempt: int = 0, fn_uuid: str | None = FN_UUID) -> dict[str, Any]:
    body = call_body(dict(run.steps), run_id=RUN_ID, attempt=attempt, max_attempts=run.max_attempts,
                     disable=run.disable)
    if fn_uuid is None:
        body["ctx"].pop("fn_id", None)
    else:
        body["ctx"]["fn_id"] = fn_uuid
    body["ctx"]["qi_id"] = "cWktMQ=="
    return body


def call(handler: Handler, fn: str, run: Run, *, step: str = "step", attempt: int = 0,
         remaining: float | None = None, key: str | None = None, fn_uuid: str | None = FN_UUID) -> tuple[int, Any]:
    raw = json.dumps(body_for(run, attempt=attempt, fn_uuid=fn_uuid)).encode()
    headers = {"X-Inngest-Signature": signing.sign(signing.canonical(raw), key)} if key else {}
    url = f"{URL}?fnId={handler.client.app_id}-{fn}&stepId={step}"
    response = handler.handle(Request.build("POST", url, headers, raw, remaining_seconds=remaining))
    reply = (response.status, response.json())
    run.replies.append(reply)
    return reply


def apply(run: Run, ops: list[dict[str, Any]]) -> int:
    """Store a 206's ops as the server would (tests/support/oracle.py); returns the next call's attempt."""
    run.apply(ops)
    return run.attempt


def play(handler: Handler, fn: str, run: Run, *, remaining: float | None = None, limit: int = 40,
         key: str | None = None) -> Any:
    """Call until the run completes, with the oracle applying 206 ops as the server would; returns the result."""

    def send(memos: Memos) -> Answer:
        status, body = call(handler, fn, run, step=memos.target, attempt=memos.attempt, remaining=remaining, key=key)
        return Answer(status, body)

    outcome = play_run(send, run, limit=limit)
    assert outcome.status == "completed", (outcome.status, outcome.output)
    return outcome.output
