"""The Lambda safety net without streaming: on the managed runtime (awslambdaric behind the official
emulator), a step still running near the function timeout is answered for before Lambda kills it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import aws_harness as aws
from tests.support.core_driver import h

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.harness


def test_a_step_running_into_the_function_timeout_gets_a_retriable_step_error() -> None:
    if not aws.have(aws.RIE):
        pytest.fail("the Lambda emulator is missing: run scripts/install-hosts.d/20-aws.sh")
    body = {"event": {"name": "t/slow", "data": {}, "id": "e1", "ts": 1, "user": {}}, "events": [],
            "steps": {h("quick step"): {"data": "q"}}, "version": 2,
            "ctx": {"run_id": "01RUN", "fn_id": "uuid", "attempt": 0, "max_attempts": 3, "step_id": "step",
                    "stack": {"stack": [h("quick step")], "current": 1}, "disable_immediate_execution": False}}
    event = aws.build_event(aws.FUNCTION_URL, "POST",
                            "https://abc.lambda-url.us-east-1.on.aws/api/inngest?fnId=dl-slow&stepId=step",
                            {"content-type": "application/json"}, json.dumps(body).encode())
    with aws.rie("tests.support.deadline_lambda_app.handler", ROOT, {"AWS_LAMBDA_FUNCTION_TIMEOUT": "3"}) as url:
        reply = aws.invoke_url(url, event)
    assert "errorType" not in reply, f"Lambda killed the invocation: {reply}"
    status, headers, raw = aws.read_reply(reply)
    assert status == 206 and headers["x-inngest-no-retry"] == "false"
    ops = json.loads(raw)
    assert [(op["op"], op["id"]) for op in ops] == [("StepError", h("slow step"))]
    assert ops[0]["error"]["name"] == "DeadlineExceeded"
    assert "'slow step'" in ops[0]["error"]["message"] and "deadline" in ops[0]["error"]["message"]
