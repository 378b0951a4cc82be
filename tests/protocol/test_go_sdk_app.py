"""The Go SDK (github.com/inngest/inngestgo) on the embedded executor, as under ``inngest dev``.

tests/go_app is a small app built with the Go SDK (scripts/install-hosts.d/45-go-app.sh builds it
into .cache/go-app/). One process of it per executor; it syncs to ``inngest dev`` and to
``inngest-serverless dev`` alike, and each scenario runs on both at once: step.Run, Sleep,
WaitForEvent (matched and timed out), Invoke, a parallel group, a retried step and a concurrency
limit. The runs must end alike, with the same outputs and the same sequence of calls.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws_harness import stop
from tests.support.dev_apps.executors import Executor, embedded_dev, real_dev
from tests.support.dev_apps.harness import free_port
from tests.support.dev_apps.parity import Side, run_outcome, same, synced, wait_for_call

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "tests" / "go_app"
APP_ID = "go-suite"
FUNCTIONS = 7


def go_app_binary() -> Path:
    """The build of the current sources (the install script names it by their hash)."""
    digest = hashlib.sha256(b"".join((SOURCES / name).read_bytes() for name in ("go.mod", "go.sum", "main.go")))
    path = REPO / ".cache" / "go-app" / digest.hexdigest()[:16] / "go-app"
    if not os.access(path, os.X_OK):
        raise AssertionError(f"the Go SDK app is not built ({path}): run scripts/install-hosts.d/45-go-app.sh")
    return path


@contextlib.contextmanager
def go_app(executor: Executor) -> Iterator[Side]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNGEST_")}
    proc = subprocess.Popen([str(go_app_binary()), str(port), executor.url], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready", "the Go app did not start"
        with synced(executor, f"http://127.0.0.1:{port}/api/inngest", APP_ID, FUNCTIONS) as side:
            yield side
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def pair() -> Iterator[dict[str, Side]]:
    with contextlib.ExitStack() as stack:
        executors = [stack.enter_context(real_dev()), stack.enter_context(embedded_dev())]
        yield {e.name: stack.enter_context(go_app(e)) for e in executors}


def _summary(side: Side, run_id: str) -> list[tuple[Any, ...]]:
    """(discovery call?, attempt, stack depth, status, ops) per call. A planned step's call carries
    whichever sibling results happened to be stored before it was made: its depth is left out."""
    return [(c["stepId"] == "step", c["attempt"], len(c["stack"]["stack"]) if c["stepId"] == "step" else None,
             c["status"], [op["op"] for op in c["ops"] or []]) for c in side.calls(run_id)]


def test_steps_and_a_sleep(pair: dict[str, Side]) -> None:
    def scenario(side: Side) -> Any:
        run = side.trigger("go/steps.test")
        return run_outcome(run), side.calls(run["id"])

    outcome, calls = same(pair, scenario)
    assert outcome["output"] == {"name": "go/steps.test", "second": {"first": "first step", "second": True}}
    assert [c["status"] for c in calls] == [206, 206, 206, 200]


def test_wait_for_event_matches_and_times_out(pair: dict[str, Side]) -> None:
    def scenario(side: Side) -> Any:
        ex = side.executor
        waiting = ex.send_one("go/wait.test", {"id": "a", "timeout_ms": 20000})
        timing_out = ex.send_one("go/wait.test", {"id": "b", "timeout_ms": 1000})
        run = ex.wait_runs(waiting, ended=False)[0]
        wait_for_call(side, run["id"])
        ex.send_one("go/resume", {"id": "other"})
        ex.send_one("go/resume", {"id": "a", "paid": True})
        matched, timed_out = ex.wait_run(waiting), ex.wait_run(timing_out)
        return run_outcome(matched), side.calls(matched["id"]), run_outcome(timed_out), side.calls(timed_out["id"])

    matched, _, timed_out, _ = same(pair, scenario)
    assert matched["output"] == {"result": {"id": "a", "paid": True}}
    assert timed_out["output"] == {"timed_out": True}


def test_invoke_returns_the_child_result(pair: dict[str, Side]) -> None:
    def scenario(side: Side) -> Any:
        run = side.trigger("go/invoke.test", {"x": 21})
        return run_outcome(run), side.calls(run["id"])

    outcome, calls = same(pair, scenario)
    assert outcome["output"] == {"child": {"doubled": 42}} and [c["status"] for c in calls] == [206, 200]


def test_parallel_group(pair: dict[str, Side]) -> None:
    def scenario(side: Side) -> Any:
        run = side.trigger("go/parallel.test")
        # The planned steps run at once: compare how many calls of each kind, not their order.
        return run_outcome(run), sorted(map(str, _summary(side, run["id"])))

    outcome, _ = same(pair, scenario)
    assert outcome["output"] == {"sum": 30}


def test_a_failing_step_is_retried(pair: dict[str, Side]) -> None:
    def scenario(side: Side) -> Any:
        run = side.trigger("go/retry.test")
        return run_outcome(run), _summary(side, run["id"])

    outcome, calls = same(pair, scenario)
    assert outcome["output"] == {"step": "yes: 2", "attempt": 0}
    assert [(c[1], c[3], c[4]) for c in calls] == [(0, 206, ["StepError"]), (1, 206, ["StepRun"]), (0, 200, [])]


def test_a_concurrency_limit_runs_one_at_a_time(pair: dict[str, Side]) -> None:
    def scenario(side: Side) -> Any:
        ids = side.executor.send([{"name": "go/limited.test", "data": {"n": n}} for n in range(3)])
        runs = [side.executor.wait_run(i) for i in ids]
        spans = sorted((r["output"]["start"], r["output"]["end"]) for r in runs)
        overlapping = any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))
        return [r["status"] for r in runs], overlapping

    assert same(pair, scenario) == (["Completed"] * 3, False)
