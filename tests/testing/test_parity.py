"""One scenario, two drivers: the test engine on its virtual clock, and the embedded executor on
the real clock (``inngest-serverless dev`` in its own process, the app served over HTTP by the
WSGI adapter). Each scenario runs on both and the outcomes must be the same: which runs, their
status, output and error, and each run's steps with their attempts.

The functions are tests/testing/parity_app.py; their durations are seconds, which is all the
real-clock side waits. What only timing decides (when a retry ran) is not compared. Cron is left
to tests/testing/test_flow_control.py: its finest schedule is a minute, longer than a scenario here
should wait on the real clock.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pytest

from inngest_serverless import Inngest
from inngest_serverless.testing import TestEngine
from inngest_serverless.testing._results import STEP_KINDS
from tests.real_server.harness import request
from tests.support.dev_apps.executors import ENDED, EmbeddedExecutor, embedded_dev
from tests.support.dev_apps.harness import app_process
from tests.testing import parity_app

FUNCTIONS = 21  # parity_app.build's functions and the one failure handler


class Side(Protocol):
    def send(self, name: str, **data: Any) -> str: ...

    def send_many(self, name: str, datas: list[dict[str, Any]]) -> list[str]:
        """Events in one request: they arrive together however slow the machine is."""

    def sleep(self, seconds: float) -> None: ...

    def reached(self, fn_id: str, step: str) -> None:
        """Until the (only) run of ``fn_id`` has reached ``step``."""

    def ended_runs(self, fn_id: str, count: int = 1) -> list[dict[str, Any]]:
        """The outcomes of ``fn_id``'s runs, once ``count`` of them have ended, oldest first."""


def _slug(fn_id: str) -> str:
    return f"{parity_app.APP_ID}-{fn_id}"


def _outcome(status: str, output: Any, error: Any, steps: list[tuple[str, str, int]]) -> dict[str, Any]:
    failed = status == "Failed"
    return {
        "status": status,
        "output": None if failed else output,
        "error": {"name": error.get("name"), "message": error.get("message")} if isinstance(error, dict) else None,
        "steps": sorted(steps),  # branches of a parallel group end in either order
    }


class EngineSide:
    def __init__(self, engine: TestEngine) -> None:
        self.engine = engine

    def send(self, name: str, **data: Any) -> str:
        return self.engine.send({"name": name, "data": data})[0]

    def send_many(self, name: str, datas: list[dict[str, Any]]) -> list[str]:
        return self.engine.send([{"name": name, "data": data} for data in datas])

    def sleep(self, seconds: float) -> None:
        self.engine.advance(seconds)

    def reached(self, fn_id: str, step: str) -> None:
        (run,) = self.engine.runs(_slug(fn_id))
        assert any(r.name == step for r in run.steps), run.timeline

    def ended_runs(self, fn_id: str, count: int = 1) -> list[dict[str, Any]]:
        self.engine.advance(dt.timedelta(minutes=10))  # longer than any scenario's durations
        runs = [self.engine.finish(r) if r.running else r for r in self.engine.runs(_slug(fn_id))]
        assert len(runs) == count, runs
        return [_outcome(r.status, r.output, r.error, [(s.kind, s.name or "", s.attempt or 0) for s in r.steps]) for r in runs]


class DevSide:
    """One executor for every scenario: a scenario sees only the runs made since it began."""

    def __init__(self, executor: EmbeddedExecutor) -> None:
        self.executor = executor
        self.earlier: set[str] = set()

    def begin(self) -> None:
        self.earlier = {str(r["run_id"]) for r in self._all_runs()}

    def _all_runs(self) -> list[dict[str, Any]]:
        status, body = request("GET", f"{self.executor.url}/dev/runs?limit=1000")
        assert status == 200, body
        return list(body)

    def send(self, name: str, **data: Any) -> str:
        return self.executor.send_one(name, data)

    def send_many(self, name: str, datas: list[dict[str, Any]]) -> list[str]:
        return self.executor.send([{"name": name, "data": data} for data in datas])

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def _runs(self, fn_id: str) -> list[dict[str, Any]]:
        runs = (r for r in self._all_runs() if r["function_slug"] == _slug(fn_id) and r["run_id"] not in self.earlier)
        return sorted(runs, key=lambda r: str(r["run_id"]))

    def _timeline(self, run_id: str) -> list[dict[str, Any]]:
        status, body = request("GET", f"{self.executor.url}/dev/runs/{run_id}")
        assert status == 200, body
        return [e for e in body["timeline"] if e["kind"] in STEP_KINDS]

    def reached(self, fn_id: str, step: str) -> None:
        deadline = time.monotonic() + 30
        while True:
            runs = self._runs(fn_id)
            if runs and any(e["name"] == step for e in self._timeline(runs[0]["run_id"])):
                return
            assert time.monotonic() < deadline, f"{fn_id} did not reach {step}: {runs}"
            time.sleep(0.05)

    def ended_runs(self, fn_id: str, count: int = 1) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 60
        while True:
            runs = self._runs(fn_id)
            if len(runs) >= count and all(r["status"] in ENDED for r in runs):
                break
            assert time.monotonic() < deadline, f"{fn_id}: {runs}, not {count} ended runs"
            time.sleep(0.1)
        return [
            _outcome(
                r["status"],
                r["output"],
                r["error"],
                [(e["kind"], e["name"] or "", e["attempt"] or 0) for e in self._timeline(r["run_id"])],
            )
            for r in runs
        ]


@pytest.fixture(scope="module")
def dev_side() -> Iterator[DevSide]:
    with embedded_dev() as executor, app_process("tests.testing.parity_app", executor.url) as app_url:
        executor.sync(app_url, parity_app.APP_ID, FUNCTIONS)
        yield DevSide(executor)


@pytest.fixture
def engine_side() -> Iterator[EngineSide]:
    client = Inngest(app_id=parity_app.APP_ID, is_production=False)
    parity_app.build(client)
    with TestEngine(client) as engine:
        yield EngineSide(engine)


Scenario = Callable[[Side], Any]


def steps(side: Side) -> Any:
    side.send("p/steps", n=1)
    side.send("p/steps-async", n=5)
    return side.ended_runs("steps"), side.ended_runs("steps-async")


def wait_matched(side: Side) -> Any:
    side.send("p/wait", id=1)
    side.reached("wait", "reply")
    side.send("p/reply", id=2)  # another id: no match
    side.send("p/reply", id=1, ok=True)
    return side.ended_runs("wait")


def wait_timed_out(side: Side) -> Any:
    side.send("p/wait", id=1)
    return side.ended_runs("wait")


def retries(side: Side) -> Any:
    for name in ("p/flaky", "p/fatal", "p/exhausted", "p/later"):
        side.send(name)
    return [side.ended_runs(fn) for fn in ("flaky", "fatal", "exhausted", "later")]


def on_failure(side: Side) -> Any:
    side.send("p/failure")
    return side.ended_runs("with-failure"), side.ended_runs("with-failure-failure")


def cancellation(side: Side) -> Any:
    side.send("p/cancellable", id=1)
    side.reached("cancellable", "long")
    side.send("p/stop", id=1)
    return side.ended_runs("cancellable")


def finish_timeout(side: Side) -> Any:
    side.send("p/slow")
    return side.ended_runs("slow")


def debounce(side: Side) -> Any:
    side.send_many("p/debounce", [{"n": n} for n in range(3)])
    return side.ended_runs("debounced")


def batch(side: Side) -> Any:
    side.send_many("p/batch", [{"n": n} for n in range(2)])
    return side.ended_runs("batched")


def throttle(side: Side) -> Any:
    side.send_many("p/throttle", [{"n": n} for n in range(2)])
    return side.ended_runs("throttled", 2)


def rate_limit(side: Side) -> Any:
    side.send_many("p/limited", [{"key": "k", "n": n} for n in range(3)])
    side.sleep(1)  # time for a run the limit should have kept from starting
    return side.ended_runs("limited")


def singleton(side: Side) -> Any:
    side.send("p/single", n=1)
    side.reached("single", "hold")
    side.send("p/single", n=2)
    return side.ended_runs("single", 2)


def invoke_and_send(side: Side) -> Any:
    side.send("p/parent")
    side.send("p/sender", x=3)
    return side.ended_runs("parent"), side.ended_runs("child"), side.ended_runs("sender"), side.ended_runs("echo")


def parallel(side: Side) -> Any:
    side.send("p/fan")
    return side.ended_runs("fan")


def _run(status: str, output: Any = None, error: Any = None, *steps: tuple[str, str, int]) -> Any:
    return {"status": status, "output": output, "error": error, "steps": sorted(steps)}


EXPECTED: dict[Scenario, Any] = {
    steps: (
        [_run("Completed", {"a": 2, "b": 4}, None, ("StepRun", "a", 0), ("Sleep", "nap", 0), ("StepRun", "b", 0))],
        [_run("Completed", {"a": 6}, None, ("StepRun", "a", 0), ("Sleep", "nap", 0))],
    ),
    wait_matched: [_run("Completed", {"id": 1, "ok": True}, None, ("WaitForEvent", "reply", 0))],
    wait_timed_out: [_run("Completed", None, None, ("WaitForEvent", "reply", 0))],
    retries: [
        [_run("Completed", "second attempt", None, ("StepError", "once", 0), ("StepRun", "once", 1))],
        [_run("Failed", None, {"name": "NonRetriableError", "message": "stop here"}, ("StepFailed", "never", 0))],
        [_run("Failed", None, {"name": "RuntimeError", "message": "always broken"})],
        [_run("Completed", "came back")],
    ],
    on_failure: (
        [_run("Failed", None, {"name": "RuntimeError", "message": "needs cleanup"})],
        [_run("Completed", {"cleaned": "needs cleanup"})],
    ),
    cancellation: [_run("Cancelled", None, None, ("Sleep", "long", 0))],
    finish_timeout: [_run("Cancelled", None, None, ("Sleep", "long", 0))],
    debounce: [_run("Completed", 2)],
    batch: [_run("Completed", [0, 1])],
    throttle: [_run("Completed", 0), _run("Completed", 1)],
    rate_limit: [_run("Completed", 0)],
    singleton: [_run("Completed", 1, None, ("Sleep", "hold", 0)), _run("Skipped")],
    invoke_and_send: (
        [_run("Completed", {"twice": 8}, None, ("InvokeFunction", "ask", 0))],
        [_run("Completed", {"twice": 8})],
        [_run("Completed", "sent", None, ("StepRun", "emit", 0))],
        [_run("Completed", {"x": 3})],
    ),
    parallel: [_run("Completed", ["L", "R"], None, ("StepRun", "left", 0), ("StepRun", "right", 0))],
}


@pytest.mark.parametrize("scenario", list(EXPECTED), ids=lambda s: s.__name__)
def test_the_engine_and_the_embedded_executor_agree(scenario: Scenario, engine_side: EngineSide, dev_side: DevSide) -> None:
    on_engine = scenario(engine_side)
    dev_side.begin()
    on_dev = scenario(dev_side)
    assert _plain(on_engine) == _plain(on_dev)
    assert _plain(on_engine) == _plain(EXPECTED[scenario])


def _plain(value: Any) -> Any:
    """Tuples and lists alike (a JSON array comes back as a list on both sides)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
