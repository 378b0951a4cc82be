"""The engine itself: the clock, what it does to the client, signatures, no threads, its errors,
and the pytest plugin's cost to runs that do not use it."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from inngest_serverless import Checkpoint, Context, ContextSync, Function, Inngest, TriggerEvent
from inngest_serverless import testing as engine_module
from inngest_serverless.testing import EngineError, TestEngine

Engine = Callable[..., TestEngine]
T0 = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
ROOT = Path(__file__).resolve().parents[2]
KEY = "signkey-test-" + "ab" * 32

client = Inngest(app_id="engine", is_production=False)


@client.create_function(fn_id="hello", trigger=TriggerEvent(event="t/hello"))
def hello(ctx: ContextSync) -> str:
    ctx.step.sleep("pause", dt.timedelta(hours=1))
    return ctx.step.run("greet", lambda: f"hello {ctx.event.data.get('who', 'world')}")


@client.create_function(fn_id="forever", trigger=TriggerEvent(event="t/forever"))
def forever(ctx: ContextSync) -> None:
    for n in range(1000):
        ctx.step.sleep(f"tick-{n}", dt.timedelta(seconds=1))


@client.create_function(fn_id="huge", trigger=TriggerEvent(event="t/huge"), retries=0)
def huge(ctx: ContextSync) -> str:
    return "x" * (9 * 1024 * 1024)  # over the 8 MiB the executor reads of a reply


CALLS = {"checkpointed": 0, "plain": 0, "checkpointed-async": 0}  # how many calls entered each function's body


def _three_steps_and_a_sleep(name: str, checkpoint: Checkpoint | None) -> Function[int]:
    @client.create_function(fn_id=name, trigger=TriggerEvent(event=f"t/{name}"), checkpoint=checkpoint)
    def fn(ctx: ContextSync) -> int:
        CALLS[name] += 1
        a = ctx.step.run("a", lambda: 1)
        b = ctx.step.run("b", lambda: 2)
        ctx.step.sleep("pause", dt.timedelta(days=1))
        return a + b + ctx.step.run("c", lambda: 3)

    return fn


checkpointed = _three_steps_and_a_sleep("checkpointed", Checkpoint())
plain = _three_steps_and_a_sleep("plain", None)


@client.create_function(fn_id="checkpointed-async", trigger=TriggerEvent(event="t/checkpointed-async"),
                        checkpoint=Checkpoint())
async def checkpointed_async(ctx: Context) -> int:
    CALLS["checkpointed-async"] += 1
    return await ctx.step.run("a", lambda: 1) + await ctx.step.run("b", lambda: 2)


def test_the_clock_starts_where_asked_and_moves_only_when_told(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=dt.datetime(2030, 1, 1))  # naive: UTC
    assert engine.now == T0
    engine.advance(dt.timedelta(days=2))
    engine.advance(30)
    assert engine.now == T0 + dt.timedelta(days=2, seconds=30)
    engine.advance_to(dt.datetime(2030, 2, 1, tzinfo=dt.timezone.utc))
    assert engine.now == dt.datetime(2030, 2, 1, tzinfo=dt.timezone.utc)
    with pytest.raises(ValueError):
        engine.advance(-1)


def test_run_start_finish_and_result_read_the_same_run(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    started = engine.start(hello, {"name": "t/hello", "data": {"who": "ann"}})
    assert started.running and started.event["data"] == {"who": "ann"}
    finished = engine.finish(started)
    assert finished.run_id == started.run_id and finished.output == "hello ann"
    assert finished.duration == dt.timedelta(hours=1)
    assert engine.result(started.run_id) == finished
    assert [r.run_id for r in engine.runs(hello, status="Completed")] == [started.run_id]
    assert engine.runs(hello, status="Failed") == []


def test_the_client_is_given_back_as_it_was() -> None:
    before = client.config
    with TestEngine(client, start=T0) as engine:
        assert client.config is not before and client.config.http_client is not None
        assert engine.run(hello, {"name": "t/hello"}).completed
    assert client.config is before


def test_one_client_serves_one_open_engine_at_a_time() -> None:
    with TestEngine(client, start=T0), pytest.raises(EngineError, match="in use by another open TestEngine"):
        TestEngine(client)
    with TestEngine(client, start=T0) as engine:  # free again once the first closed
        assert engine.run(hello, {"name": "t/hello"}).completed


def test_calls_are_signed_when_the_client_has_a_signing_key() -> None:
    signed = Inngest(app_id="signed", is_production=True, signing_key=KEY)

    @signed.create_function(fn_id="fn", trigger=TriggerEvent(event="t/signed"))
    def fn(ctx: ContextSync) -> str:
        return ctx.step.run("s", lambda: "verified")

    # In cloud mode the handler refuses an unsigned call: a completed run means every call verified.
    with TestEngine(signed, start=T0) as engine:
        assert engine.run(fn, {"name": "t/signed"}).output == "verified"
    assert signed.config.signing_key == KEY


def test_functions_without_their_client_get_one_of_their_own(inngest_engine: Engine) -> None:
    engine = inngest_engine([hello], start=T0)
    assert engine.run(hello, {"name": "t/hello"}).output == "hello world"


def test_the_plain_function_runs_one_function_on_a_fresh_engine() -> None:
    result = engine_module.run(client, hello, {"name": "t/hello", "data": {"who": "bo"}}, start=T0)
    assert result.output == "hello bo" and result.ended_at == T0 + dt.timedelta(hours=1)


def test_the_engine_starts_no_thread(inngest_engine: Engine) -> None:
    before = set(threading.enumerate())
    engine = inngest_engine(client, start=T0)
    engine.run(hello, {"name": "t/hello"})
    assert set(threading.enumerate()) - before == set()  # (a thread of another test may have ended)


def test_an_event_that_starts_no_run_of_the_function_is_an_engine_error(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    with pytest.raises(EngineError, match="no run of engine-hello started"):
        engine.run(hello, {"name": "t/other"})


def test_a_function_with_no_cron_has_no_tick_to_jump_to(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    with pytest.raises(EngineError, match="no cron tick"):
        engine.run(hello)


def test_a_run_that_never_ends_stops_at_the_jump_limit(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0, max_jumps=50)
    with pytest.raises(EngineError, match="after 50 due items"):
        engine.run(forever, {"name": "t/forever"})


def test_an_invalid_event_is_refused_with_the_event_apis_reason(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    with pytest.raises(ValueError, match="reserved"):
        engine.send({"name": "inngest/function.finished", "data": {}})


def test_invoke_runs_a_function_whatever_its_triggers(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.invoke(hello, {"who": "cy"})
    assert result.output == "hello cy"


def test_the_pytest_plugin_is_registered_and_imports_nothing_of_the_package() -> None:
    points = importlib.metadata.entry_points(group="pytest11")
    assert any(p.value == "inngest_serverless_pytest" for p in points)
    code = "import sys, inngest_serverless_pytest; print(sorted(m for m in sys.modules if m.startswith('inngest')))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.stdout.strip() == "['inngest_serverless_pytest']"


PLUGIN_USER = """
from inngest_serverless import Checkpoint, ContextSync, Inngest, TriggerEvent

client = Inngest(app_id="plugin", is_production=False)


@client.create_function(fn_id="fn", trigger=TriggerEvent(event="t/e"))
def fn(ctx: ContextSync) -> int:
    return 1


before = client.config


def test_uses_the_fixture(inngest_engine):
    assert inngest_engine(client).run(fn, {"name": "t/e"}).output == 1
    assert client.config is not before


def test_after_it(inngest_engine):
    assert client.config is before
"""


def test_the_plugin_gives_the_fixture_to_any_project_and_closes_its_engines(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(PLUGIN_USER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0 and "2 passed" in out.stdout, out.stdout + out.stderr


def test_a_reply_over_the_executors_limit_fails_the_call_as_over_http(inngest_engine: Engine) -> None:
    engine = inngest_engine(client, start=T0)
    result = engine.run(huge, {"name": "t/huge"})
    assert result.failed and result.error["message"].startswith("output_too_large")


def test_a_checkpointing_function_posts_its_steps_in_process_and_needs_fewer_calls(
        inngest_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    engine = inngest_engine(client, start=T0)
    CALLS.update(checkpointed=0, plain=0)
    with caplog.at_level(logging.WARNING, logger="inngest_serverless"):
        done = engine.run(checkpointed, {"name": "t/checkpointed"})
        baseline = engine.run(plain, {"name": "t/plain"})
    assert done.output == baseline.output == 6
    steps = [("StepRun", "a"), ("StepRun", "b"), ("Sleep", "pause"), ("StepRun", "c")]
    assert [(s.kind, s.name) for s in done.steps] == [(s.kind, s.name) for s in baseline.steps] == steps
    # Plain: a call per step, one for the sleep and one to return. Checkpointed: a and b posted as they
    # finish, the call ending on the sleep; then c posted and the function returning in the second call.
    assert (CALLS["checkpointed"], CALLS["plain"]) == (2, 5)
    assert not [r.getMessage() for r in caplog.records if "checkpoint" in r.getMessage()]


def test_an_async_checkpointing_function_posts_in_process_too(inngest_engine: Engine) -> None:
    CALLS["checkpointed-async"] = 0
    result = inngest_engine(client, start=T0).run(checkpointed_async, {"name": "t/checkpointed-async"})
    assert result.output == 3 and [s.name for s in result.steps] == ["a", "b"]
    assert CALLS["checkpointed-async"] == 1  # both steps posted as they finished; the function returned in that call


def test_checkpoints_of_a_signed_client_pass_the_executors_key_check(caplog: pytest.LogCaptureFixture) -> None:
    signed = Inngest(app_id="signed-checkpoints", is_production=True, signing_key=KEY)
    calls = []

    @signed.create_function(fn_id="fn", trigger=TriggerEvent(event="t/signed"), checkpoint=Checkpoint())
    def fn(ctx: ContextSync) -> list[str]:
        calls.append(ctx.run_id)
        return [ctx.step.run(name, lambda name=name: name) for name in ("x", "y", "z")]

    with caplog.at_level(logging.WARNING, logger="inngest_serverless"), TestEngine(signed, start=T0) as engine:
        result = engine.run(fn, {"name": "t/signed"})
    assert result.output == ["x", "y", "z"] and [s.name for s in result.steps] == ["x", "y", "z"]
    assert len(calls) == 1  # every post was stored: a refused one would end the call there
    assert not [r.getMessage() for r in caplog.records if "checkpoint" in r.getMessage()]
