"""Retries with backoff and Retry-After, errors that stop retrying, on_failure, and step mocks,
all on the engine's virtual clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from inngest_serverless import Context, ContextSync, Inngest, NonRetriableError, RetryAfterError, TriggerEvent
from inngest_serverless.testing import MockedStepError, TestEngine

Engine = Callable[..., TestEngine]
T0 = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
S = dt.timedelta(seconds=1)

client = Inngest(app_id="retries", is_production=False)
bodies: list[str] = []  # what the real step bodies did, across calls


def charge(cents: int) -> dict[str, int]:
    bodies.append("charge")
    return {"charged": cents}


@client.create_function(fn_id="flaky", trigger=TriggerEvent(event="t/flaky"), retries=3)
def flaky(ctx: ContextSync) -> int:
    if ctx.attempt < 2:
        raise ValueError(f"attempt {ctx.attempt} failed")
    return ctx.attempt


@client.create_function(fn_id="pay", trigger=TriggerEvent(event="t/pay"), retries=2)
def pay(ctx: ContextSync) -> Any:
    return ctx.step.run("charge", charge, ctx.event.data.get("cents", 100))


@client.create_function(fn_id="pay-async", trigger=TriggerEvent(event="t/pay-async"), retries=2)
async def pay_async(ctx: Context) -> Any:
    return await ctx.step.run("charge", charge, 250)


@client.create_function(fn_id="fatal", trigger=TriggerEvent(event="t/fatal"), retries=5)
def fatal(ctx: ContextSync) -> None:
    raise NonRetriableError("do not retry")


@client.create_function(fn_id="later", trigger=TriggerEvent(event="t/later"), retries=2)
def later(ctx: ContextSync) -> str:
    if ctx.attempt == 0:
        raise RetryAfterError("busy", retry_after=dt.timedelta(minutes=10))
    if ctx.attempt == 1:
        raise RetryAfterError("busy until noon", retry_after=dt.datetime(2030, 1, 1, 12, tzinfo=dt.timezone.utc))
    return "done"


failures: list[dict[str, Any]] = []


def on_broken_failure(ctx: ContextSync) -> str:
    failures.append(ctx.event.data)
    return "cleaned up"


@client.create_function(fn_id="broken", trigger=TriggerEvent(event="t/broken"), retries=1, on_failure=on_broken_failure)
def broken(ctx: ContextSync) -> None:
    ctx.step.run("explode", lambda: (_ for _ in ()).throw(RuntimeError("boom")))


async def on_broken_async_failure(ctx: Context) -> str:
    return await ctx.step.run("note", lambda: f"saw {ctx.event.data['error']['message']}")


@client.create_function(
    fn_id="broken-async", trigger=TriggerEvent(event="t/broken-async"), retries=0, on_failure=on_broken_async_failure
)
async def broken_async(ctx: Context) -> None:
    raise RuntimeError("async boom")


@pytest.fixture(autouse=True)
def _clean() -> None:
    bodies.clear()
    failures.clear()


def _kinds(result: Any) -> list[tuple[str, int | None]]:
    return [(r.kind, r.attempt) for r in result.timeline if r.kind not in ("Scheduled",)]


def test_a_failing_function_is_retried_with_backoff_until_it_succeeds(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(flaky, {"name": "t/flaky"})
    assert result.completed and result.output == 2
    errors = [r for r in result.timeline if r.kind == "FunctionError"]
    assert [r.attempt for r in errors] == [0, 1]
    returned = next(r for r in result.timeline if r.kind == "FunctionReturned")
    # The executor's table: 15 s then 30 s, each with up to 30 s of jitter.
    assert 15 * S <= errors[1].started - errors[0].started <= 45 * S
    assert 30 * S <= returned.started - errors[1].started <= 60 * S
    assert errors[0].detail["error"]["message"] == "attempt 0 failed"


def test_retry_after_sets_the_next_attempt_instead_of_the_backoff(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(later, {"name": "t/later"})
    assert result.completed and result.output == "done"
    errors = [r for r in result.timeline if r.kind == "FunctionError"]
    assert errors[1].started == T0 + dt.timedelta(minutes=10)  # a duration: from the failed attempt
    assert result.ended_at == dt.datetime(2030, 1, 1, 12, tzinfo=dt.timezone.utc)  # a date: that moment


def test_a_non_retriable_error_fails_the_run_at_once(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(fatal, {"name": "t/fatal"})
    assert result.failed and result.error["name"] == "NonRetriableError"
    assert [r.attempt for r in result.timeline if r.kind == "FunctionError"] == [0]
    assert result.ended_at == T0


def test_a_step_that_keeps_failing_fails_the_run_after_its_retries(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    engine.mock_step("charge", error=ConnectionError("bank down"))
    result = engine.run(pay, {"name": "t/pay"})
    assert result.failed and result.attempts("charge") == 3  # retries=2
    assert [(r.kind, r.attempt) for r in result.steps] == [("StepError", 0), ("StepError", 1), ("StepFailed", 2)]
    assert result.step("charge").error["name"] == "ConnectionError"
    assert "bank down" in result.error["message"]
    assert bodies == []  # the real body never ran


def test_fail_times_fails_the_first_attempts_then_runs_the_real_body(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    mock = engine.mock_step("charge", fail_times=2)
    result = engine.run(pay, {"name": "t/pay", "data": {"cents": 7}})
    assert result.completed and result.output == {"charged": 7}
    assert result.attempts("charge") == 3 and bodies == ["charge"]
    assert result.steps[0].error["name"] == MockedStepError.__name__
    assert mock.calls == {result.run_id: 3}


def test_a_mocked_value_replaces_the_body_and_is_memoized(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    engine.mock_step("charge", value={"charged": 0, "mocked": True})
    result = engine.run(pay, {"name": "t/pay"})
    assert result.output == {"charged": 0, "mocked": True} and bodies == []
    assert result.step("charge").output == {"charged": 0, "mocked": True}


def test_a_mocked_callable_gets_the_step_arguments(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    engine.mock_step("charge", fn=lambda cents: {"charged": cents * 2}, function=pay)
    assert engine.run(pay, {"name": "t/pay", "data": {"cents": 21}}).output == {"charged": 42}
    # Mocked in "pay" only: the async function's step runs its real body.
    assert engine.run(pay_async, {"name": "t/pay-async"}).output == {"charged": 250}
    assert bodies == ["charge"]


def test_an_async_function_retries_a_mocked_step_the_same(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    engine.mock_step("charge", fail_times=1, error=TimeoutError("slow bank"))
    result = engine.run(pay_async, {"name": "t/pay-async"})
    assert result.completed and result.attempts("charge") == 2
    assert result.steps[0].error["name"] == "TimeoutError"


def test_a_mocked_non_retriable_error_fails_the_step_at_once(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    engine.mock_step("charge", error=NonRetriableError("card stolen"))
    result = engine.run(pay, {"name": "t/pay"})
    assert result.failed and result.attempts("charge") == 1


def test_on_failure_runs_after_the_last_attempt_with_the_error(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(broken, {"name": "t/broken", "data": {"order": 5}})
    assert result.failed
    (handler_run,) = engine.runs(f"{broken.local_id}-failure")
    handler_run = engine.finish(handler_run)
    assert handler_run.completed and handler_run.output == "cleaned up"
    (failure,) = failures
    assert failure["event"]["data"] == {"order": 5} and "boom" in failure["error"]["message"]
    assert failure["run_id"] == result.run_id


def test_an_async_on_failure_handler_runs_its_steps(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    assert engine.run(broken_async, {"name": "t/broken-async"}).failed
    (handler_run,) = engine.runs(f"{broken_async.local_id}-failure")
    assert engine.finish(handler_run).output == "saw async boom"
