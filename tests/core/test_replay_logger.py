"""ctx.logger: each logical line once across a run's calls, with the run's identity bound, through
the Lambda adapter driven by the simulated executor (sync and async functions, stdlib and Powertools)."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from aws_lambda_powertools import Logger as PowertoolsLogger

from inngest_serverless import Context, ContextSync, Inngest, TriggerEvent
from inngest_serverless.adapters.aws_lambda import lambda_adapter
from tests.support import aws_harness as aws
from tests.support.sim_executor import SimExecutor

KEY = "signkey-test-8ee2262a15e8d3c42d6a840db7af3de2aab08ef632b32a37a687f24b34dba3ff"
N = 4


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def define(client: Inngest, kind: str) -> None:
    """A function of N steps logging before, inside and after each, and at the end."""
    trigger = TriggerEvent(event="log/run")
    if kind == "sync":
        @client.create_function(fn_id="logs", trigger=trigger, retries=0)
        def logs(ctx: ContextSync) -> int:
            ctx.logger.info("start")
            total = 0
            for i in range(N):
                ctx.logger.info("before %d", i)
                total += ctx.step.run(f"s{i}", lambda i=i: ctx.logger.info("inside %d", i) or i)
            ctx.logger.warning("done %d", total)
            return total
    else:
        @client.create_function(fn_id="logs", trigger=trigger, retries=0)
        async def logs_async(ctx: Context) -> int:
            ctx.logger.info("start")
            total = 0
            for i in range(N):
                ctx.logger.info("before %d", i)

                async def body(i: int = i) -> int:
                    ctx.logger.info("inside %d", i)
                    return i

                total += await ctx.step.run(f"s{i}", body)
            ctx.logger.warning("done %d", total)
            return total


def run(client: Inngest) -> Any:
    url, _ = aws.SAMPLE_URLS[aws.HTTP_API]
    call = aws.event_call(lambda event: lambda_adapter(client)(event, aws.FakeContext()), aws.HTTP_API)
    result = SimExecutor(call, url, client.app_id, KEY).run("logs", "log/run", {})
    assert result.status == "completed" and result.output == sum(range(N))
    assert result.calls == N + 1  # each call replays every earlier step: the lines would repeat
    return result


EXPECTED = ["start", *[line for i in range(N) for line in (f"before {i}", f"inside {i}")], f"done {sum(range(N))}"]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_each_line_is_logged_once_across_the_run_with_its_ids(kind: str) -> None:
    logger = logging.getLogger(f"tests.replay_logger.{kind}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = Records()
    logger.addHandler(handler)
    try:
        client = Inngest(app_id="logapp", is_production=True, signing_key=KEY, logger=logger)
        define(client, kind)
        run(client)
    finally:
        logger.removeHandler(handler)
    lines = [r.getMessage() for r in handler.records]
    assert lines == EXPECTED
    run_ids = {getattr(r, "run_id", None) for r in handler.records}
    assert len(run_ids) == 1 and None not in run_ids
    assert {getattr(r, "function_id", None) for r in handler.records} == {"logapp-logs"}
    steps = {r.getMessage(): getattr(r, "step_id", None) for r in handler.records}
    assert steps["inside 2"] == "s2" and steps["before 2"] is None
    # The record points at the function's code, not at the wrapper.
    assert {r.filename for r in handler.records} == {"test_replay_logger.py"}


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_powertools_logger_gets_the_ids_as_json_keys(kind: str) -> None:
    out = io.StringIO()
    logger = PowertoolsLogger(service=f"replay-{kind}", logger_handler=logging.StreamHandler(out), level="DEBUG")
    client = Inngest(app_id="logapp", is_production=True, signing_key=KEY, logger=logger)
    define(client, kind)
    run(client)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["message"] for line in lines] == EXPECTED
    assert all(line["function_id"] == "logapp-logs" and line["run_id"] for line in lines)
    assert [line.get("step_id") for line in lines if line["message"].startswith("inside")] == [f"s{i}" for i in range(N)]
    assert lines[0]["location"].startswith("logs")  # the function's frame, past the wrapper's


def test_extra_and_other_logger_methods_pass_through() -> None:
    logger = logging.getLogger("tests.replay_logger.extra")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = Records()
    logger.addHandler(handler)
    client = Inngest(app_id="logapp", is_production=True, signing_key=KEY, logger=logger)

    @client.create_function(fn_id="logs", trigger=TriggerEvent(event="log/run"))
    def logs(ctx: ContextSync) -> int:
        ctx.logger.log(logging.ERROR, "with %s", "extra", extra={"order": 7})
        assert ctx.logger.isEnabledFor(logging.DEBUG)
        return sum(ctx.step.run(f"s{i}", lambda i=i: i) for i in range(N))

    try:
        run(client)
    finally:
        logger.removeHandler(handler)
    (record,) = handler.records
    assert (record.getMessage(), record.levelno, getattr(record, "order", None)) == ("with extra", logging.ERROR, 7)
