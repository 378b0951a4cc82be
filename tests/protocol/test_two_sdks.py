"""One source, two SDKs: the app modules of tests/support/two_sdks/apps/ are written for the official SDK
(``inngest`` 0.5.19). Each is served twice through its own framework's ``serve()`` on 127.0.0.1 — as
written, and with only its import lines pointed at ``inngest_serverless`` — each copy synced to its
own executor, and the same events drive both: run statuses, outputs, errors, the steps each run
went through, and what ``ctx.logger`` and the middleware wrote must be the same. ``mypy --strict``
must pass on the sources as written and on the rewritten copies.
"""

from __future__ import annotations

import contextlib
import copy
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.real_server.harness import request
from tests.support.dev_apps.executors import Executor, embedded_dev, real_dev
from tests.support.dev_apps.harness import ROOT, app_process
from tests.support.dev_apps.parity import Side, run_outcome, synced
from tests.support.fake_provider import FakeProvider
from tests.support.two_sdks import expected
from tests.support.two_sdks.sdks import APPS, SDKS, source

T = TypeVar("T")
EXECUTORS = ("embedded", "inngest-dev")  # each SDK's copy gets its own executor of the kind
MODULES = sorted(p.stem for p in APPS.glob("*.py") if p.stem != "__init__")


class App:
    """One copy of an app module, served under one SDK and synced to its own executor."""

    def __init__(self, sdk: str, side: Side, log: Path) -> None:
        self.sdk, self.side, self.log = sdk, side, log

    @property
    def executor(self) -> Executor:
        return self.side.executor

    def log_lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def steps(self, run_id: str) -> list[tuple[str, str]]:
        """The ops the app answered over the run's calls, in order: (opcode, step name). Planned
        parallel steps run at the same time, so the order in which they finish is the executor's
        (timing): each stretch of them is sorted."""
        ops: list[tuple[str, str]] = []
        for call in self.side.raw_calls(run_id):
            if call["status"] == 206:
                ops += [(op["op"], op.get("displayName") or op.get("name") or "") for op in call["response"]]
        planned = {name for op, name in ops if op == "StepPlanned"}
        ordered: list[tuple[str, str]] = []
        stretch: list[tuple[str, str]] = []
        for op in [*ops, ("", "")]:
            if op[1] in planned and op[0] != "StepPlanned":
                stretch.append(op)
                continue
            ordered += sorted(stretch)
            stretch = []
            ordered.append(op)
        return ordered[:-1]


@contextlib.contextmanager
def served(module: str, app_id: str, functions: int, *, real: bool = False,
           env: dict[str, str] | None = None) -> Iterator[dict[str, App]]:
    """The module under both SDKs, each on its own executor (embedded, or ``inngest dev``)."""
    with contextlib.ExitStack() as stack:
        apps: dict[str, App] = {}
        for sdk in SDKS:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"two-sdks-{sdk}-")))
            executor = stack.enter_context(real_dev() if real else embedded_dev())
            url = stack.enter_context(app_process("tests.support.two_sdks.serve", executor.url, extra_env={
                "TWO_SDKS_SDK": sdk, "TWO_SDKS_MODULE": module, "TWO_SDKS_LOG": str(workdir / "log.txt"), **(env or {})}))
            apps[sdk] = App(sdk, stack.enter_context(synced(executor, url, app_id, functions)), workdir / "log.txt")
        yield apps


def same(apps: dict[str, App], scenario: Callable[[App], T]) -> T:
    """Run ``scenario`` under both SDKs at once; the results must be equal."""
    with ThreadPoolExecutor(len(apps)) as pool:
        futures = {sdk: pool.submit(scenario, app) for sdk, app in apps.items()}
        results = {sdk: f.result() for sdk, f in futures.items()}
    assert results["ours"] == results["official"], (
        f"the two SDKs differ:\n  official: {results['official']}\n  ours:     {results['ours']}")
    return results["official"]


def _until_ended(app: App, event_id: str, *, nudge: Callable[[], object] = lambda: None,
                 timeout: float = 120.0) -> dict[str, Any]:
    """The event's one run once it has ended; ``nudge`` runs every half second until then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = app.executor.runs_of_event(event_id)
        if runs and all(r["status"] in ("Completed", "Failed", "Cancelled") for r in runs):
            (run,) = [r for r in runs if not r["slug"].endswith("-child")] or runs
            return run
        nudge()
        time.sleep(0.5)
    raise AssertionError(f"{app.sdk}: the run of {event_id} did not end: {app.executor.runs_of_event(event_id)}")


def _registered(app: App, app_id: str) -> dict[str, Any]:
    """The app's function configs as the embedded executor stored them from its sync, by slug,
    without the step URLs (each copy is on its own port). A function without ``retries`` has
    the server's default, 3: the official SDK leaves it out, this package writes it."""
    status, body = request("GET", f"{app.executor.url}/v1/apps/{app_id}/functions")
    assert status == 200, body
    configs: dict[str, Any] = {}
    for fn in body["data"]["functions"]:
        config = copy.deepcopy(fn["config"])
        for step in (config.get("steps") or {}).values():
            step.get("runtime", {}).pop("url", None)
            step.setdefault("retries", {"attempts": 4})
        configs[fn["slug"]] = config
    return configs


def _approved_run(app: App, name: str, approval: str, data: dict[str, Any]) -> dict[str, Any]:
    """The run an event starts, which waits for an approval: sent every half second until it ends."""
    return _until_ended(app, app.executor.send_one(name, {}), nudge=lambda: app.executor.send_one(approval, data))


# ------------------------------------------------------------------------------ the step kinds


@pytest.mark.parametrize("executor", EXECUTORS)
def test_every_step_kind_in_sync_functions_under_flask(executor: str) -> None:
    with served("flask_sync", "two-sdks-flask", 7, real=executor == "inngest-dev") as apps:
        if executor == "embedded":  # what each SDK registered: triggers, retries, every flow control option
            configs = {sdk: _registered(app, "two-sdks-flask") for sdk, app in apps.items()}
            assert configs["ours"] == configs["official"]
            assert configs["ours"]["two-sdks-flask-limited"]["throttle"] == {
                "limit": 5, "period": "1m", "key": "event.data.user", "burst": 2}

        def steps(app: App) -> Any:
            run = _approved_run(app, "two-sdks/steps", *expected.FLASK_APPROVAL)
            return run_outcome(run), app.steps(run["id"])

        outcome, steps_seen = same(apps, steps)
        assert outcome["status"] == "Completed", outcome
        assert outcome["output"] == expected.FLASK_STEPS
        assert [name for _, name in steps_seen][:3] == expected.FLASK_FIRST_STEPS

        def fails(app: App) -> Any:
            run = _until_ended(app, app.executor.send_one("two-sdks/fails", {}))
            return run_outcome(run), app.steps(run["id"])

        outcome, _ = same(apps, fails)
        assert outcome["status"] == "Failed" and outcome["error"] == expected.FLASK_FAILS

        def retried(app: App) -> Any:
            run = _until_ended(app, app.executor.send_one("two-sdks/retry-later", {}))
            return run_outcome(run), [c["status"] for c in app.side.raw_calls(run["id"])]

        outcome, statuses = same(apps, retried)
        assert (outcome["output"], statuses) == (expected.FLASK_RETRIED, [500, 200])
        # ctx.logger in a sync function: one line over the run's many calls, under both.
        assert apps["ours"].log_lines() == apps["official"].log_lines() == expected.FLASK_LOG


def _with_sent(app: App, run: dict[str, Any]) -> dict[str, Any]:
    """The run's outcome with the IDs of the events it sent replaced by the outcomes of the runs
    those events started (IDs differ by nature; what the events carried must not)."""
    outcome = run_outcome(run)
    output = dict(outcome["output"] or {})
    for key in ("sent", "direct"):  # by step.send_event, by client.send / send_sync in a step
        if isinstance(output.get(key), list):
            output[key] = [run_outcome(_until_ended(app, event_id)) for event_id in output[key]]
    return {**outcome, "output": output}


@pytest.mark.parametrize("executor", EXECUTORS)
def test_async_functions_a_race_the_logger_and_an_async_middleware_under_fastapi(executor: str) -> None:
    with served("fast_api_async", "two-sdks-fastapi", 4, real=executor == "inngest-dev") as apps:
        def steps(app: App) -> Any:
            run = _approved_run(app, "two-sdks/async-steps", *expected.FASTAPI_APPROVAL)
            return _with_sent(app, run), app.steps(run["id"])

        outcome, steps_seen = same(apps, steps)
        assert outcome["status"] == "Completed", outcome
        assert outcome["output"] == expected.FASTAPI_STEPS
        assert [name for _, name in steps_seen][:4] == expected.FASTAPI_FIRST_STEPS

        def race(app: App) -> Any:
            run = _until_ended(app, app.executor.send_one("two-sdks/race", {}))
            return run_outcome(run), run["id"]

        with ThreadPoolExecutor(2) as pool:
            raced = dict(zip(apps, pool.map(race, apps.values()), strict=True))
        assert raced["ours"][0] == raced["official"][0] == expected.completed(expected.FASTAPI_RACE)
        # What README.md names as different: the race ends with its first branch here; the
        # official SDK waits for the slow branch, whose step runs after its sleep.
        assert apps["ours"].steps(raced["ours"][1]) == [("StepPlanned", "fast"), ("Sleep", "slow-nap"), ("StepRun", "fast")]
        assert apps["official"].steps(raced["official"][1])[-1] == ("StepRun", "slow")
        # The replay-aware logger: each line once, though the runs took many calls.
        logs = {sdk: app.log_lines() for sdk, app in apps.items()}
        assert logs["ours"] == logs["official"] == expected.FASTAPI_LOG


@pytest.mark.parametrize("executor", EXECUTORS)
def test_step_ai_infer_under_tornado_through_the_executors_provider_call(executor: str) -> None:
    provider = FakeProvider()
    try:
        with served("tornado_ai", "two-sdks-tornado", 1, real=executor == "inngest-dev",
                    env={"TWO_SDKS_PROVIDER": provider.url}) as apps:
            def ask(app: App) -> Any:
                run = _until_ended(app, app.executor.send_one("two-sdks/ask", expected.AI_QUESTION))
                return run_outcome(run), app.steps(run["id"])

            outcome, steps_seen = same(apps, ask)
    finally:
        provider.close()
    assert outcome["output"] == expected.AI_ANSWER
    assert steps_seen[0] == ("AIGateway", "ask")
    assert len(provider.requests) == 2  # one model request per SDK, made by its executor
    for headers, body in provider.requests:
        assert headers["authorization"] == expected.AI_AUTHORIZATION
        assert body == expected.AI_REQUEST


@pytest.mark.parametrize("executor", EXECUTORS)
def test_client_and_function_middleware_under_django(executor: str) -> None:
    with served("django_middleware", "two-sdks-django", 2, real=executor == "inngest-dev") as apps:
        def enveloped(app: App) -> Any:
            run = _until_ended(app, app.executor.send_one("two-sdks/enveloped", {}))
            return _with_sent(app, run), app.steps(run["id"])

        outcome, _ = same(apps, enveloped)
        logs = {sdk: app.log_lines() for sdk, app in apps.items()}
    assert outcome["status"] == "Completed", outcome
    assert outcome["output"] == expected.DJANGO_ENVELOPED
    assert logs["ours"] == logs["official"]
    assert logs["ours"][:8] == expected.DJANGO_LOG_START  # before_execution, under both


# ------------------------------------------------------------------------------ types


@pytest.mark.parametrize("sdk", SDKS)
def test_mypy_strict_passes_on_the_same_sources_under_both_sdks(sdk: str, tmp_path: Path) -> None:
    """The modules as written (type-checked against ``inngest``) and the rewritten copies (against
    this package), with the project's mypy configuration (strict)."""
    for module in MODULES:
        (tmp_path / f"{module}.py").write_text(source(module, sdk))
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"mypy --strict under {sdk}:\n{done.stdout}{done.stderr}"
    if sdk == "ours":
        assert "import inngest_serverless as inngest" in (tmp_path / "flask_sync.py").read_text()
