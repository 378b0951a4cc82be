"""Apps written for the official SDK run in the test engine unchanged but for the import.

The app modules of tests/support/two_sdks/apps/ are written for ``inngest`` 0.5.19; each is loaded
in process with only its import lines pointed at this package (as tests/protocol/test_two_sdks.py
serves them), and the engine takes the client and the functions the module defines: no framework
server, no port. The outcomes are the ones the two-SDK test asserts on the executors, from one
table (tests/support/two_sdks/expected.py). Sleeps, waits and retries fall due on the virtual
clock, and flask_sync's flow control (trigger expression, idempotency, throttle, singleton,
cancel, batch, cron, debounce) is driven through it.
"""

from __future__ import annotations

import datetime as dt
import logging
import types
from typing import Any

import pytest

from inngest_serverless.testing import RunResult, TestEngine
from tests.support.fake_provider import FakeProvider
from tests.support.two_sdks import expected
from tests.support.two_sdks.serve import load

START = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)  # a Tuesday
LOGGER = "two_sdks"  # the apps' logger, which their clients' ctx.logger writes through


def _app(module: str) -> types.ModuleType:
    return load(module, "ours")


def _logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the apps' logger wrote (the two-SDK test reads the same lines from a file)."""
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def outcome(run: RunResult) -> dict[str, Any]:
    """Status, output and error (name and message), as the two-SDK test compares runs."""
    error = run.error if isinstance(run.error, dict) else None
    return {"status": run.status, "output": run.output,
            "error": None if error is None else {"name": error.get("name"), "message": error.get("message")}}


def _started_by(engine: TestEngine, event_id: str) -> dict[str, Any]:
    (run,) = [r for r in engine.runs() if any(e.get("id") == event_id for e in r.events)]
    return outcome(run)


def _with_sent(engine: TestEngine, run: RunResult) -> dict[str, Any]:
    """The run's outcome with the IDs of the events it sent replaced by the outcomes of the runs they started."""
    result = outcome(run)
    output = dict(result["output"])
    for key in ("sent", "direct"):
        if isinstance(output.get(key), list):
            output[key] = [_started_by(engine, event_id) for event_id in output[key]]
    return {**result, "output": output}


def _approved(engine: TestEngine, fn: Any, trigger: str, approval: tuple[str, dict[str, Any]]) -> RunResult:
    """Start ``fn``, move the clock a second at a time until the run waits on its "approval" step
    (through its sleeps and its missed wait), send the approval, and run it to its end."""
    run = engine.start(fn, {"name": trigger, "data": {}})
    for _ in range(600):
        if any(s.name == "approval" and s.ended is None for s in engine.result(run).steps):
            break
        engine.advance(dt.timedelta(seconds=1))
    else:
        raise AssertionError(f"the run never waited for its approval: {engine.result(run).steps}")
    name, data = approval
    engine.send({"name": name, "data": data})
    return engine.finish(run)


# ------------------------------------------------------------------------------ the two-SDK scenarios


def test_every_step_kind_in_sync_functions(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    app = _app("flask_sync")
    # The clock starts at the machine's time: "wake-at" computes the moment "until" sleeps to from it.
    with TestEngine(app.client) as engine:
        run = _approved(engine, app.steps, "two-sdks/steps", expected.FLASK_APPROVAL)
        assert outcome(run) == expected.completed(expected.FLASK_STEPS)
        assert [s.name for s in run.steps][:3] == expected.FLASK_FIRST_STEPS
        assert run.step("missed").timed_out and not run.step("approval").timed_out
        assert [e["name"] for e in engine.sent_events] == ["two-sdks/announced"]
        (child,) = engine.runs(app.child)  # the invoke ran the app's child for real
        assert outcome(child) == expected.completed(expected.FLASK_STEPS["invoked"])
    assert _logged(caplog) == expected.FLASK_LOG  # ctx.logger in a sync function: each line once, over many calls

    with TestEngine(app.client, start=START) as engine:  # a whole second: Retry-After counts from the current one
        fails = engine.run(app.fails, {"name": "two-sdks/fails"})
        assert (fails.status, outcome(fails)["error"]) == ("Failed", expected.FLASK_FAILS)
        assert fails.attempts("fine") == 1  # NonRetriableError: no retry

        retried = engine.run(app.retry_later, {"name": "two-sdks/retry-later"})
        assert outcome(retried) == expected.completed(expected.FLASK_RETRIED)
        (error,) = [r for r in retried.timeline if r.kind == "FunctionError"]
        assert (error.started, retried.ended_at) == (START, START + dt.timedelta(seconds=1))  # Retry-After: 1 s


def test_async_functions_a_race_the_logger_and_async_middleware(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    app = _app("fast_api_async")
    with TestEngine(app.client) as engine:
        run = _approved(engine, app.steps, "two-sdks/async-steps", expected.FASTAPI_APPROVAL)
        assert _with_sent(engine, run) == expected.completed(expected.FASTAPI_STEPS)
        assert [s.name for s in run.steps][:4] == expected.FASTAPI_FIRST_STEPS
        # Both sent events went through the client's middleware (stamped), on the engine's own API.
        assert [e["data"].get("stamped") for e in engine.sent_events] == [True, True]

        race = engine.run(app.race, {"name": "two-sdks/race"})
        assert outcome(race) == expected.completed(expected.FASTAPI_RACE)
        # As README.md says of this package: the race ends with its first branch; "slow" never runs.
        assert race.attempts("fast") == 1 and race.attempts("slow") == 0
    assert _logged(caplog) == expected.FASTAPI_LOG


def test_step_ai_infer_reaches_the_provider_once(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = FakeProvider()
    try:
        monkeypatch.setenv("TWO_SDKS_PROVIDER", provider.url)
        app = _app("tornado_ai")
        with TestEngine(app.client) as engine:
            run = engine.run(app.ask, {"name": "two-sdks/ask", "data": expected.AI_QUESTION})
    finally:
        provider.close()
    assert outcome(run) == expected.completed(expected.AI_ANSWER)
    assert [(s.kind, s.name) for s in run.steps] == [("AIGateway", "ask"), ("StepRun", "check")]
    # The engine's executor made the model request, not the function; once, though the run took two calls.
    ((headers, body),) = provider.requests
    assert headers["authorization"] == expected.AI_AUTHORIZATION
    assert body == expected.AI_REQUEST


def test_client_and_function_middleware_and_a_pydantic_serializer(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    app = _app("django_middleware")
    with TestEngine(app.client) as engine:
        run = engine.run(app.enveloped, {"name": "two-sdks/enveloped"})
        assert _with_sent(engine, run) == expected.completed(expected.DJANGO_ENVELOPED)
        # The step outputs left the function sealed by the middleware: that is what the executor memoized.
        assert run.step("first").output == {"sealed": 20}
        assert [e["data"] for e in engine.sent_events] == [{"from": "enveloped", "audited": True}, {"from": "direct"}]
    lines = _logged(caplog)
    assert lines[:8] == expected.DJANGO_LOG_START
    assert "audit: sent 1" in lines  # after_send_events, for step.send_event's event (not the skipped one)


# ------------------------------------------------------------------------------ flask_sync's flow control


def _limited(n: int, user: str, key: str) -> dict[str, Any]:
    return {"name": "two-sdks/limited", "data": {"n": n, "user": user, "id": key, "rank": 0}}


def _since_start(when: dt.datetime | None) -> float | None:
    return None if when is None else (when - START).total_seconds()


def test_trigger_expression_and_idempotency() -> None:
    app = _app("flask_sync")
    with TestEngine(app.client, start=START) as engine:
        engine.send(_limited(0, "a", "k0"))  # the trigger's expression: event.data.n > 0
        engine.send(_limited(1, "a", "k1"))
        engine.send(_limited(1, "a", "k1"))  # idempotency: event.data.id
        engine.advance(dt.timedelta(hours=1))
        (run,) = engine.runs(app.limited)
        assert (run.event["data"]["id"], run.status, run.output) == ("k1", "Completed", 0)
        engine.advance(dt.timedelta(hours=24))  # the idempotency key's 24 hours are over
        engine.send(_limited(1, "a", "k1"))
        assert [r.status for r in engine.runs(app.limited)] == ["Completed", "Completed"]


def test_idempotency_overrides_the_rate_limit() -> None:
    """``idempotency`` registers as a rate limit of one per key per 24 h, in place of ``rate_limit``
    (10 an hour per user): twelve distinct keys of one user, a minute apart, all run."""
    app = _app("flask_sync")
    with TestEngine(app.client, start=START) as engine:
        for i in range(12):
            engine.send(_limited(1, "c", f"c{i}"))
            engine.advance(dt.timedelta(minutes=1))
        runs = engine.runs(app.limited)
        assert [r.status for r in runs] == ["Completed"] * 12
        assert [_since_start(r.started_at) for r in runs] == [60.0 * i for i in range(12)]


def test_throttle_burst_then_singleton_skip_and_cancel() -> None:
    """Throttle: 5 a minute with a burst of 2, per user. Seven runs start at once; the eighth
    waits one period / limit (12 s), and while it waits the singleton (skip, per user) skips the
    rest of that user's events. Another user is not held back."""
    app = _app("flask_sync")
    with TestEngine(app.client, start=START) as engine:
        for i in range(10):
            engine.send(_limited(1, "a", f"a{i}"))
        engine.send(_limited(1, "b", "b0"))
        runs = {r.event["data"]["id"]: r for r in engine.runs(app.limited)}
        assert [runs[f"a{i}"].status for i in range(10)] == ["Completed"] * 7 + ["Running"] + ["Skipped"] * 2
        assert runs["b0"].status == "Completed"
        engine.advance(dt.timedelta(minutes=1))
        waited = engine.result(runs["a7"])
        assert (waited.status, _since_start(waited.started_at)) == ("Completed", 12.0)

        # cancel: a run still held by the throttle is cancelled by an event that matches it.
        for i in range(8):
            engine.send(_limited(100 + i, "d", f"d{i}"))
        held = [r for r in engine.runs(app.limited) if r.event["data"]["user"] == "d" and r.running]
        assert [r.event["data"]["n"] for r in held] == [107]
        engine.send({"name": "two-sdks/cancelled", "data": {"n": 107}})
        assert engine.result(held[0]).cancelled


def test_batch_by_size_by_timeout_and_the_cron_in_its_time_zone() -> None:
    app = _app("flask_sync")
    with TestEngine(app.client, start=START) as engine:
        engine.send([{"name": "two-sdks/gathered", "data": {"user": "a"}}] * 3)
        engine.send([{"name": "two-sdks/gathered", "data": {"user": "b"}}] * 10)
        assert [(r.event["data"]["user"], r.output) for r in engine.runs(app.gathered)] == [("b", 10)]  # full
        engine.advance(dt.timedelta(seconds=5))  # the batch's timeout
        runs = engine.runs(app.gathered)
        assert [(r.event["data"]["user"], r.output, _since_start(r.created_at)) for r in runs][1:] == [("a", 3, 5.0)]

        cron = engine.run(app.gathered)  # TZ=Europe/Paris 0 6 * * 1: Monday 06:00 in Paris, 05:00 UTC in winter
        assert cron.created_at == dt.datetime(2030, 1, 7, 5, tzinfo=dt.timezone.utc)
        assert (cron.output, cron.event["name"]) == (1, "inngest/scheduled.timer")


def test_debounce_runs_once_per_quiet_period_and_by_its_timeout() -> None:
    """Debounce: 2 s per user, at most 1 minute from the first event held."""
    app = _app("flask_sync")
    with TestEngine(app.client, start=START) as engine:
        for i in range(5):  # a second apart: each restarts the 2 s
            engine.send({"name": "two-sdks/debounced", "data": {"user": "a", "i": i}})
            engine.advance(dt.timedelta(seconds=1))
        assert engine.runs(app.debounced) == []
        engine.advance(dt.timedelta(seconds=2))
        (quiet,) = engine.runs(app.debounced)
        assert quiet.event["data"]["i"] == 4 and quiet.completed  # the last event of the burst

        first = engine.now
        for i in range(90):  # never quiet for 2 s: the 1-minute timeout starts the run
            engine.send({"name": "two-sdks/debounced", "data": {"user": "a", "i": i}})
            engine.advance(dt.timedelta(seconds=1))
        timed_out = engine.runs(app.debounced)[1]
        assert timed_out.created_at - first == dt.timedelta(minutes=1)
