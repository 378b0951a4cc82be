"""The host scenario suite with the real ``inngest dev`` as the orchestrator, once per adapter.

Each adapter (adapters.py: Lambda in the Runtime Interface Emulator behind a Function URL,
Lambda response streaming, functions-framework, the Azure worker path with azure-functions 1.x
and 2.x, vercel-runtime, uvicorn, gunicorn) serves scenario_app.py in its host's real runtime;
one dev server per adapter (``--tick 50 --retry-interval 1``) syncs it out of band from
``-u URL`` and runs every scenario at once: steps, sleep, wait_for_event with ``if`` (and its
timeout), invoke (and a failing child), send_event, parallel, retries (and their end),
NonRetriableError, RetryAfterError, on_failure, cancel, a state too big for the request
(``use_api``), checkpointing, a step that outlasts the keep-alive interval, wait_for_signal and
step.fetch. Every run must end with the expected status and output. In-band sync with the real
server is the conformance suite's first step (test_conformance.py), through the same adapters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from tests.real_server import harness
from tests.real_server.adapters import ADAPTERS, Served, serve
from tests.real_server.scenario_app import APP_ID
from tests.support.aws_harness import free_port

pytestmark = pytest.mark.harness

APP = "tests.real_server.scenario_app"
Server = harness.InngestServer
Run = dict[str, Any]


def slug(fn_id: str) -> str:
    return f"{APP_ID}-{fn_id}"


def runs_of_function(server: Server, fn_slug: str, *, count: int = 1, timeout: float = 60.0) -> list[Run]:
    """The finished runs of function ``fn_slug`` (for runs no event of ours started), newest first."""
    (fn_id,) = [f["id"] for app in server.gql("{ apps { functions { id slug } } }")["apps"]
                for f in app["functions"] if f["slug"] == fn_slug]
    query = ("query($f:[UUID!]){ runs(first: 20, orderBy: [{field: QUEUED_AT, direction: DESC}], "
             "filter: {from: \"2020-01-01T00:00:00Z\", functionIDs: $f}) { edges { node { id status } } } }")
    deadline = time.monotonic() + timeout
    while True:
        nodes = [e["node"] for e in server.gql(query, {"f": [fn_id]})["runs"]["edges"]]
        if len(nodes) >= count and all(n["status"] in harness.FINISHED for n in nodes):
            return [server.wait_run(n["id"]) for n in nodes]  # with their outputs
        if time.monotonic() > deadline:
            raise AssertionError(f"{fn_slug}: {nodes}")
        time.sleep(0.2)


def wait_with_if(server: Server) -> Run:
    """The run waits for test/resume whose ``if`` needs its own id: an event for another id must not resume it."""
    run_id = server.wait_for_runs(server.send_one("tests/wait.test", {"id": "w-1"}))[0]["id"]
    deadline = time.monotonic() + 60
    while (run := server.run(run_id)) is None or run["status"] not in harness.FINISHED:
        assert time.monotonic() < deadline, run
        # Until the wait is registered, either event may come too early: send both again.
        server.send_one("test/resume", {"id": "w-other", "resume": True})
        server.send_one("test/resume", {"id": "w-1", "resume": True})
        time.sleep(0.5)
    return run


def cancel(server: Server) -> Run:
    run_id = server.wait_for_runs(server.send_one("tests/cancel.test", {"request_id": "c-1"}))[0]["id"]
    server.wait_run(run_id, statuses=frozenset({harness.RUNNING}))
    server.send_one("cancel/please", {"request_id": "c-other"})  # its ``if`` does not match
    server.send_one("cancel/please", {"request_id": "c-1"})
    return server.wait_run(run_id, timeout=30)


def on_failure(server: Server) -> Run:
    failed = server.trigger("tests/fail.test", {})
    assert failed["status"] == harness.FAILED and failed["output"]["message"] == "nope", failed
    (handled,) = runs_of_function(server, slug("fail-fn-failure"))
    return handled


def send_event(server: Server) -> Run:
    sent = server.trigger("tests/send.test", {})
    assert (sent["status"], sent["output"]) == (harness.COMPLETED, {"sent": 1}), sent
    (received,) = runs_of_function(server, slug("sent-receiver"))
    return received


def wait_for_signal(server: Server) -> Run:
    run_id = server.wait_for_runs(server.send_one("tests/signal.test", {"signal": "sig-1"}))[0]["id"]
    deadline = time.monotonic() + 60
    # POST /v1/signals answers 404 until the run's wait is registered.
    while harness.request("POST", f"{server.url}/v1/signals", {"signal": "sig-1", "data": {"n": 1}})[0] != 200:
        assert time.monotonic() < deadline, server.run(run_id)
        time.sleep(0.3)
    return server.wait_run(run_id)


def fetch(server: Server) -> Run:
    """step.fetch: the server makes the request (a Gateway op), here to its own health endpoint."""
    return server.trigger("tests/fetch.test", {"url": f"{server.url}/health"})


def trigger(name: str, data: dict[str, Any] | None = None) -> Callable[[Server], Run]:
    return lambda server: server.trigger(name, data or {}, timeout=90)


@dataclass(frozen=True)
class Scenario:
    start: Callable[[Server], Run]
    status: str
    output: Any = None
    message: str | None = None  # for a failed run: its error message instead of ``output``


STEP_OUTPUT = {"name": "tests/step.test", "body": "ok", "second": {"first": "first step", "second": True}}
SCENARIOS = {
    "sync-function": Scenario(trigger("tests/function.test"), harness.COMPLETED,
                              {"name": "tests/function.test", "body": "ok"}),
    "steps-and-sleep": Scenario(trigger("tests/step.test"), harness.COMPLETED, STEP_OUTPUT),
    "wait-for-event-if": Scenario(wait_with_if, harness.COMPLETED, {"result": {"id": "w-1", "resume": True}}),
    "wait-for-event-timeout": Scenario(trigger("tests/wait.test", {"id": "w-none", "timeout_ms": 1000}),
                                       harness.COMPLETED, {}),
    "invoke": Scenario(trigger("tests/invoke.test", {"x": 21}), harness.COMPLETED, {"child": {"doubled": 42}}),
    "invoke-failing-child": Scenario(trigger("tests/invoke.test", {"x": 1, "fail": True}), harness.COMPLETED,
                                     {"child_error": "child failed"}),
    "send-event": Scenario(send_event, harness.COMPLETED, {"from": "send-event"}),
    "parallel": Scenario(trigger("tests/parallel.test"), harness.COMPLETED, {"parts": [0, 10, 20], "sum": 30}),
    "retries": Scenario(trigger("tests/retry.test"), harness.COMPLETED,
                        {"name": "tests/retry.test", "body": "ok", "step": "yes: 2"}),
    "retries-exhausted": Scenario(trigger("tests/always-fails.test"), harness.FAILED, message="still broken"),
    "non-retriable-error": Scenario(trigger("tests/no-retry.test"), harness.FAILED, message="do not retry"),
    "retry-after-error": Scenario(trigger("tests/retry-after.test"), harness.COMPLETED, "retried"),
    "on-failure": Scenario(on_failure, harness.COMPLETED, "handled"),
    "cancel": Scenario(cancel, harness.CANCELLED),
    "use-api-large-state": Scenario(trigger("tests/big.test"), harness.COMPLETED, {"lengths": [2_500_000, 2_500_000]}),
    "checkpointing": Scenario(trigger("tests/checkpoint.test"), harness.COMPLETED, {"values": [0, 2, 4, 6]}),
    "keep-alive-step": Scenario(trigger("tests/keepalive.test"), harness.COMPLETED, "done"),
    "wait-for-signal": Scenario(wait_for_signal, harness.COMPLETED, {"got": {"signal": "sig-1", "data": {"n": 1}}}),
    "step-fetch": Scenario(fetch, harness.COMPLETED, {"status": 200, "body": '{"status":200,"message":"OK"}\n'}),
}


@dataclass
class Deployment:
    adapter: str
    server: Server
    served: Served
    runs: dict[str, Run | BaseException]


@pytest.fixture(scope="module", params=ADAPTERS)
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """The adapter serving scenario_app.py, synced by ``inngest dev -u URL``; every scenario run at once."""
    port = free_port()  # the app must know the dev server's URL before the server knows the app's
    with serve(request.param, APP, {"INNGEST_DEV": f"http://127.0.0.1:{port}"}) as served, \
            harness.inngest_dev(port=port, sdk_urls=[served.url]) as server:
        server.wait_for_app(APP_ID, timeout=60)

        def attempt(scenario: Scenario) -> Run | BaseException:
            try:
                return scenario.start(server)
            except Exception as exc:  # reported by the scenario's own test
                return exc

        with ThreadPoolExecutor(len(SCENARIOS)) as pool:
            futures = {name: pool.submit(attempt, s) for name, s in SCENARIOS.items()}
            runs = {name: future.result() for name, future in futures.items()}
        yield Deployment(request.param, server, served, runs)


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(deployment: Deployment, name: str) -> None:
    run, scenario = deployment.runs[name], SCENARIOS[name]
    if isinstance(run, BaseException):
        raise run
    assert run["status"] == scenario.status, run
    if scenario.message is not None:
        assert run["output"]["message"] == scenario.message, run
    elif name == "invoke-failing-child":
        assert scenario.output["child_error"] in run["output"]["child_error"], run
    elif scenario.status != harness.CANCELLED:
        assert run["output"] == scenario.output, run
    calls = deployment.served.calls
    if name == "keep-alive-step" and calls is not None:
        # Seen at the Lambda front door: the streaming loop answered the long step with 201 and
        # the wrapped reply, which the server unwrapped (the run completed); buffered Lambda cannot.
        statuses = {c.status for c in calls if (c.fn_id or "").endswith("-keepalive")}
        assert statuses == ({201, 200} if deployment.adapter == "lambda-streaming" else {206, 200}), statuses


def test_the_dev_server_synced_every_function_from_the_u_flag(deployment: Deployment) -> None:
    (app,) = [a for a in deployment.server.apps() if a["name"] == APP_ID]
    assert app["error"] is None
    assert {slug("keepalive"), slug("fail-fn-failure"), slug("checkpointed")} <= {f["slug"] for f in app["functions"]}


def test_a_put_to_the_app_syncs_it_again_out_of_band(deployment: Deployment) -> None:
    """The deploy-hook sync: the app registers itself with the server it is configured for."""
    status, body = deployment.server.sync_by_put(deployment.served.url)
    assert status == 200, body
    assert body["message"] == "Successfully synced." and body["modified"] is False, body
    run = deployment.server.trigger("tests/function.test", {"after": "put"})
    assert (run["status"], run["output"]) == (harness.COMPLETED, {"name": "tests/function.test", "body": "ok"})
