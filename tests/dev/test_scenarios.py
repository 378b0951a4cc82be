"""The executor runs the scenario suite over real HTTP; the same outcomes for each SDK served.

Conformance cases (introspection, basic invoke, serial steps, retry, cancel, wait-for-event),
each step type and each flow control, against apps in their own processes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from inngest_serverless.dev import DevServer
from tests.support.dev_apps.harness import Client, Recorder, app_process, http_json

H_FIRST = "98bf98df193bcce7c33e6bc50927cf2ac21206cb"
H_SLEEP = "c3ca5f787365eae0dea86250e27d476406956478"
H_SECOND = "764e20ec975d4ef820d0f42e6a5833384bd7ee36"
H_WAIT = "daaad336276d15594d0e765f96c17cd746bf4971"

SDK_APPS = {"official": "tests.support.dev_apps.official_app", "ours": "tests.support.dev_apps.ours_app"}


class Env:
    def __init__(self, server: DevServer, recorder: Recorder, client: Client, app_url: str) -> None:
        self.server, self.recorder, self.client, self.app_url = server, recorder, client, app_url

    def stats(self) -> list[dict[str, Any]]:
        return list(http_json("GET", self.app_url.replace("/api/inngest", "/stats"))[1])


@pytest.fixture(scope="module", params=sorted(SDK_APPS))
def env(request: pytest.FixtureRequest) -> Iterator[Env]:
    server = DevServer(port=0, db=":memory:", retry_interval=0.3, poll_interval=3600).start()
    try:
        with app_process(SDK_APPS[request.param], server.url) as app_url:
            recorder = Recorder(app_url)
            try:
                server.sdk_urls.append(recorder.url)
                server.ping_apps()
                client = Client(server.url)
                client.wait_functions(10)
                yield Env(server, recorder, client, app_url)
            finally:
                recorder.close()
    finally:
        server.stop()


def _slug(env: Env, suffix: str) -> str:
    return next(f["slug"] for f in http_json("GET", f"{env.server.url}/dev")[1]["functions"] if f["slug"].endswith("-" + suffix))


def test_introspection_registers_the_app_with_its_functions(env: Env) -> None:
    info = http_json("GET", f"{env.server.url}/dev")[1]
    assert [a["name"] for a in info["apps"]] == ["dev-suite"]
    slugs = {f["slug"] for f in info["functions"]}
    assert {"dev-suite-simple-fn", "dev-suite-step-test", "dev-suite-fail-fn-failure"} <= slugs


def test_basic_invoke_returns_the_function_result(env: Env) -> None:
    event_id = env.client.send("tests/function.test", {"test": True})
    run = env.client.wait_run(event_id, "-simple-fn")
    assert run["status"] == "Completed"
    assert run["output"] == {"name": "tests/function.test", "body": "ok"}
    calls = [c for c in env.recorder.calls_for(run["function_slug"]) if c["request"]["ctx"]["run_id"] == run["run_id"]]
    assert len(calls) == 1
    request = calls[0]["request"]
    assert "stepId=step" in calls[0]["path"]
    assert request["steps"] == {} and request["ctx"]["stack"] == {"stack": [], "current": 0}
    assert request["ctx"]["attempt"] == 0 and request["ctx"]["disable_immediate_execution"] is False
    assert request["event"]["data"] == {"test": True} and request["event"]["user"] == {}


def test_serial_steps_memoize_in_stack_order(env: Env) -> None:
    event_id = env.client.send("tests/step.test", {"steps": {"ok": "yes"}}, user={"email": "test@example.com"})
    run = env.client.wait_run(event_id, "-step-test")
    assert run["status"] == "Completed"
    assert run["output"]["second"] == {"first": "first step", "second": True}
    calls = [c for c in env.recorder.calls_for(run["function_slug"]) if c["request"]["ctx"]["run_id"] == run["run_id"]]
    stacks = [c["request"]["ctx"]["stack"] for c in calls]
    assert stacks == [
        {"stack": [], "current": 0},
        {"stack": [H_FIRST], "current": 1},
        {"stack": [H_FIRST, H_SLEEP], "current": 2},
        {"stack": [H_FIRST, H_SLEEP, H_SECOND], "current": 3},
    ]
    assert calls[2]["request"]["steps"] == {H_FIRST: {"data": "first step"}, H_SLEEP: None}
    assert [c["status"] for c in calls] == [206, 206, 206, 200]
    assert all(c["request"]["ctx"]["attempt"] == 0 for c in calls)
    kinds = [entry["kind"] for entry in run["timeline"]]
    assert kinds.count("StepRun") == 2 and "Sleep" in kinds


def test_retry_reruns_the_same_item_with_the_next_attempt(env: Env) -> None:
    event_id = env.client.send("tests/retry.test", {"steps": {"ok": "yes"}})
    run = env.client.wait_run(event_id, "-retry-test")
    assert run["status"] == "Completed"
    assert run["output"]["step"] == "yes: 2"
    calls = [c for c in env.recorder.calls_for(run["function_slug"]) if c["request"]["ctx"]["run_id"] == run["run_id"]]
    summary = [(c["request"]["ctx"]["attempt"], c["request"]["ctx"]["stack"]["stack"], c["status"]) for c in calls]
    assert summary == [(0, [], 206), (1, [], 206), (0, [H_FIRST], 500), (1, [H_FIRST], 200)]
    assert calls[0]["response"][0]["op"] == "StepError"
    assert calls[1]["response"][0]["op"] == "StepRun"


def test_cancel_on_event_stops_a_sleeping_run(env: Env) -> None:
    event_id = env.client.send("tests/cancel.test", {"request_id": "123", "whatever": "x"})
    deadline = time.time() + 10
    while not any(e["kind"] == "Sleep" for e in _timeline(env, event_id, "-cancel-test")):
        assert time.time() < deadline
        time.sleep(0.05)
    env.client.send("cancel/please", {"request_id": "other"})
    env.client.send("cancel/please", {"request_id": "123"})
    run = env.client.wait_run(event_id, "-cancel-test")
    assert run["status"] == "Cancelled"
    assert not [r for r in env.stats() if r.get("fn") == "cancel-test"]
    # Nothing left that could call the app again: the sleep's wake-up went with the run.
    assert env.server.store.one("SELECT COUNT(*) FROM queue WHERE run_id=?", run["run_id"])[0] == 0


def _timeline(env: Env, event_id: str, suffix: str) -> list[dict[str, Any]]:
    runs = [r for r in env.client.runs_for_event(event_id) if r["function_slug"].endswith(suffix)]
    return env.client.run(runs[0]["run_id"])["timeline"] if runs else []


def _wait_for_pause(env: Env, event_id: str, suffix: str, kind: str) -> None:
    deadline = time.time() + 10
    while not any(e["kind"] == kind for e in _timeline(env, event_id, suffix)):
        assert time.time() < deadline, f"no {kind} in the timeline"
        time.sleep(0.05)


def test_wait_for_event_resumes_on_the_matching_event_only(env: Env) -> None:
    event_id = env.client.send("tests/wait.test", {"id": "123"})
    _wait_for_pause(env, event_id, "-wait-for-event", "WaitForEvent")
    env.client.send("test/resume", {"id": "ignored", "resume": True})
    env.client.send("test/resume", {"id": "123", "resume": True}, id="resume")
    run = env.client.wait_run(event_id, "-wait-for-event")
    assert run["status"] == "Completed"
    assert run["output"] == {"result": {"id": "123", "resume": True}}
    calls = [c for c in env.recorder.calls_for(run["function_slug"]) if c["request"]["ctx"]["run_id"] == run["run_id"]]
    resumed = calls[-1]["request"]["steps"][H_WAIT]
    assert resumed["name"] == "test/resume" and resumed["id"] == "resume" and resumed["data"]["id"] == "123"


def test_wait_for_event_times_out_to_null(env: Env) -> None:
    event_id = env.client.send("tests/wait.test", {"id": "456", "timeout_ms": 1000})
    run = env.client.wait_run(event_id, "-wait-for-event")
    assert run["status"] == "Completed" and run["output"] == {}


def test_state_over_the_body_limit_goes_through_the_api(env: Env) -> None:
    event_id = env.client.send("tests/big.test")
    run = env.client.wait_run(event_id, "-big-state")
    assert run["status"] == "Completed", run
    assert run["output"] == {"lengths": [2_500_000, 2_500_000]}
    calls = [c for c in env.recorder.calls_for(run["function_slug"]) if c["request"]["ctx"]["run_id"] == run["run_id"]]
    last = calls[-1]["request"]
    assert last["use_api"] is True and last["ctx"]["use_api"] is True
    assert last["steps"] == {} and last["events"] == []


def test_cron_tick_in_its_time_zone_starts_a_run(env: Env) -> None:
    import datetime
    from zoneinfo import ZoneInfo

    store = env.server.store
    row = store.one("SELECT id, at FROM queue WHERE kind='cron' AND payload LIKE '%Kathmandu%'")
    assert row is not None
    tick = datetime.datetime.fromtimestamp(row["at"], ZoneInfo("Asia/Kathmandu"))
    assert (tick.hour, tick.minute, tick.second) == (9, 30, 0)
    store.run_sql("UPDATE queue SET at=? WHERE id=?", time.time(), row["id"])  # the clock reaches the tick
    env.server.executor.queue.notify()
    deadline = time.time() + 10
    while not (runs := [r for r in env.client.runs() if r["function_slug"].endswith("-cron")]):
        assert time.time() < deadline
        time.sleep(0.05)
    run = env.client.wait_run(runs[0]["event_id"], "-cron")
    assert run["output"]["name"] == "inngest/scheduled.timer" and run["output"]["cron"] == "TZ=Asia/Kathmandu 30 9 * * *"
    following = store.one("SELECT at FROM queue WHERE kind='cron' AND payload LIKE '%Kathmandu%'")
    assert following is not None and following["at"] - row["at"] == 86400


def test_sleep_until_wakes_at_the_given_time(env: Env) -> None:
    wake = time.time() + 1.5
    event_id = env.client.send("tests/sleep-until.test", {"wake": wake})
    run = env.client.wait_run(event_id, "-sleep-until")
    assert run["output"] == "awake"
    after = next(e for e in run["timeline"] if e["kind"] == "StepRun")
    assert after["started"] >= int(wake)  # not before the (second-rounded) wake time


def test_retry_after_error_delays_the_retry(env: Env) -> None:
    event_id = env.client.send("tests/retry-after.test")
    run = env.client.wait_run(event_id, "-retry-after")
    assert run["output"] == "retried"
    error = next(e for e in run["timeline"] if e["kind"] == "FunctionError")
    assert error["detail"]["retry_at"] - error["ended"] >= 1.9  # the error's 3 s from its second, not the 0.3 s interval


def test_expression_filters_triggers(env: Env) -> None:
    free = env.client.send("tests/expr.test", {"plan": "free"})
    pro = env.client.send("tests/expr.test", {"plan": "pro"})
    assert env.client.wait_run(pro, "-expr-fn")["output"] == {"plan": "pro"}
    assert env.client.runs_for_event(free) == []


def test_parallel_steps_are_planned_then_joined(env: Env) -> None:
    event_id = env.client.send("tests/parallel.test")
    run = env.client.wait_run(event_id, "-parallel")
    assert run["status"] == "Completed"
    assert run["output"] == {"parts": [0, 10, 20], "sum": 30}
    calls = [c for c in env.recorder.calls_for(run["function_slug"]) if c["request"]["ctx"]["run_id"] == run["run_id"]]
    planned = [op for op in calls[0]["response"] if op["op"] == "StepPlanned"]
    assert len(planned) == 3
    targeted = [c for c in calls if "stepId=step" not in c["path"]]
    assert len(targeted) == 3
    assert all(c["request"]["ctx"]["disable_immediate_execution"] for c in targeted)
    # The three results coalesce into one discovery, which may execute steps inline again.
    joined = [c for c in calls[1:] if "stepId=step" in c["path"]]
    assert len(joined[0]["request"]["ctx"]["stack"]["stack"]) == 3
    assert joined[0]["request"]["ctx"]["disable_immediate_execution"] is False


def test_invoke_returns_the_child_result(env: Env) -> None:
    event_id = env.client.send("tests/invoke.test", {"x": 21})
    run = env.client.wait_run(event_id, "-invoke-parent")
    assert run["status"] == "Completed"
    assert run["output"] == {"child": {"doubled": 42}}


def test_invoke_surfaces_the_child_failure(env: Env) -> None:
    event_id = env.client.send("tests/invoke.test", {"x": 1, "fail": True})
    run = env.client.wait_run(event_id, "-invoke-parent")
    assert run["status"] == "Completed"
    assert "child failed" in run["output"]["child_error"]


def test_failure_runs_the_on_failure_handler(env: Env) -> None:
    event_id = env.client.send("tests/fail.test")
    run = env.client.wait_run(event_id, "-fail-fn")
    assert run["status"] == "Failed"
    assert run["error"]["message"] == "nope"
    deadline = time.time() + 10
    while not [r for r in env.stats() if r.get("what") == "on_failure"]:
        assert time.time() < deadline, "the failure handler never ran"
        time.sleep(0.05)
    assert next(r for r in env.stats() if r.get("what") == "on_failure")["error"] == "nope"


def test_send_event_step_triggers_other_functions(env: Env) -> None:
    event_id = env.client.send("tests/send.test")
    run = env.client.wait_run(event_id, "-send-event")
    assert run["output"] == {"sent": 1}
    deadline = time.time() + 10
    while not [r for r in env.client.runs() if r["function_slug"].endswith("-sent-receiver") and r["status"] == "Completed"]:
        assert time.time() < deadline
        time.sleep(0.05)


def test_cancel_by_api(env: Env) -> None:
    event_id = env.client.send("tests/cancel.test", {"request_id": "api"})
    _wait_for_pause(env, event_id, "-cancel-test", "Sleep")
    run_id = env.client.runs_for_event(event_id)[0]["run_id"]
    status, _ = http_json("DELETE", f"{env.server.url}/v1/runs/{run_id}")
    assert status == 200
    assert env.client.run(run_id)["status"] == "Cancelled"


def test_finish_timeout_cancels_the_run(env: Env) -> None:
    event_id = env.client.send("tests/timeout.test")
    run = env.client.wait_run(event_id, "-finish-timeout")
    assert run["status"] == "Cancelled"
    assert not [r for r in env.stats() if r.get("fn") == "finish-timeout"]


# ---------------------------------------------------------------------------- flow control


def _overlaps(records: list[dict[str, Any]], fn: str) -> int:
    """The largest number of step bodies of ``fn`` that ran at once."""
    depth = peak = 0
    for record in sorted((r for r in records if r.get("fn") == fn), key=lambda r: (r["t"], r["what"] == "start")):
        depth += 1 if record["what"] == "start" else -1
        peak = max(peak, depth)
    return peak


def _send_many(env: Env, name: str, datas: list[dict[str, Any]]) -> list[str]:
    status, body = http_json("POST", f"{env.server.url}/e/key", [{"name": name, "data": d} for d in datas])
    assert status == 200
    return list(body["ids"])


def test_concurrency_limit_runs_one_step_at_a_time(env: Env) -> None:
    ids = _send_many(env, "tests/concurrency.test", [{"n": n} for n in range(4)])
    for event_id in ids:
        assert env.client.wait_run(event_id, "-concurrency")["status"] == "Completed"
    assert _overlaps(env.stats(), "concurrency") == 1


def test_keyed_concurrency_limits_per_key(env: Env) -> None:
    ids = _send_many(env, "tests/keyed.test", [{"key": k, "n": n} for n, k in enumerate("aabb")])
    for event_id in ids:
        assert env.client.wait_run(event_id, "-keyed-concurrency")["status"] == "Completed"
    records = env.stats()
    for key in "ab":
        assert _overlaps([r for r in records if r.get("key") == key], "keyed-concurrency") == 1
    assert _overlaps(records, "keyed-concurrency") == 2


def test_priority_runs_higher_factor_first(env: Env) -> None:
    blocker = env.client.send("tests/priority.test", {"p": 0, "n": "blocker"})
    _wait_for_record(env, "priority", "blocker")
    ids = _send_many(env, "tests/priority.test", [{"p": 0, "n": "low"}, {"p": 600, "n": "high"}])
    for event_id in [blocker, *ids]:
        env.client.wait_run(event_id, "-priority")
    order = [r["n"] for r in env.stats() if r.get("fn") == "priority" and r["what"] == "start"]
    assert order == ["blocker", "high", "low"]


def _wait_for_record(env: Env, fn: str, n: Any) -> None:
    deadline = time.time() + 10
    while not [r for r in env.stats() if r.get("fn") == fn and r.get("n") == n]:
        assert time.time() < deadline
        time.sleep(0.02)


def test_throttle_delays_starts_without_dropping(env: Env) -> None:
    ids = _send_many(env, "tests/throttle.test", [{"n": n} for n in range(3)])
    runs = [env.client.wait_run(i, "-throttled") for i in ids]
    assert [r["status"] for r in runs] == ["Completed"] * 3
    starts = sorted(r["started_at"] for r in runs)
    assert starts[2] - starts[0] >= 0.9  # capacity limit+burst = 2, then one per second


def test_rate_limit_drops_extra_runs(env: Env) -> None:
    ids = _send_many(env, "tests/ratelimit.test", [{"n": n} for n in range(3)])
    assert env.client.wait_run(ids[0], "-rate-limited")["status"] == "Completed"
    assert env.client.runs_for_event(ids[1]) == [] and env.client.runs_for_event(ids[2]) == []


def test_idempotency_key_starts_one_run_per_key(env: Env) -> None:
    ids = _send_many(env, "tests/idem.test", [{"k": "x"}, {"k": "x"}, {"k": "y"}])
    env.client.wait_run(ids[0], "-idempotent")
    env.client.wait_run(ids[2], "-idempotent")
    assert env.client.runs_for_event(ids[1]) == []


def test_event_id_dedupes_runs(env: Env) -> None:
    first = env.client.send("tests/function.test", {"n": 1}, id="same-id")
    second = env.client.send("tests/function.test", {"n": 2}, id="same-id")
    env.client.wait_run(first, "-simple-fn")
    assert env.client.runs_for_event(second) == []


def test_debounce_runs_once_with_the_last_event(env: Env) -> None:
    ids = [env.client.send("tests/debounce.test", {"n": n}) for n in range(3)]
    run = env.client.wait_run(ids[-1], "-debounced")
    assert run["output"] == {"n": 2}
    assert env.client.runs_for_event(ids[0]) == [] and env.client.runs_for_event(ids[1]) == []


def test_batch_collects_events_into_one_run(env: Env) -> None:
    ids = _send_many(env, "tests/batch.test", [{"n": n} for n in range(3)])
    run = env.client.wait_run(ids[0], "-batched")
    assert run["output"] == [0, 1, 2]
    assert run["batch_id"]


# step.fetch, wait_for_signal and checkpointing exist in this SDK only: these run on its app alone.
ours_only = pytest.mark.parametrize("env", ["ours"], indirect=True)


@ours_only
def test_fetch_step_is_performed_by_the_executor(env: Env) -> None:
    event_id = env.client.send("tests/fetch.test", {"url": f"{env.server.url}/health"})
    run = env.client.wait_run(event_id, "-fetch")
    assert run["status"] == "Completed"
    assert run["output"]["status"] == 200 and '"OK"' in run["output"]["body"]
    assert not [c for c in env.recorder.calls_for(run["function_slug"]) if "/health" in c["path"]]


@ours_only
def test_wait_for_signal_resumes_through_the_signals_api(env: Env) -> None:
    event_id = env.client.send("tests/signal.test", {"signal": "sig-1"})
    _wait_for_pause(env, event_id, "-signal", "WaitForSignal")
    assert http_json("POST", f"{env.server.url}/v1/signals", {"signal": "nobody", "data": {}})[0] == 404
    status, body = http_json("POST", f"{env.server.url}/v1/signals", {"signal": "sig-1", "data": {"ok": 1}})
    assert status == 200
    run = env.client.wait_run(event_id, "-signal")
    assert body["data"]["run_id"] == run["run_id"]
    assert run["output"] == {"got": {"signal": "sig-1", "data": {"ok": 1}}}


@ours_only
def test_checkpointed_steps_are_stored_without_extra_calls(env: Env) -> None:
    event_id = env.client.send("tests/checkpoint.test")
    run = env.client.wait_run(event_id, "-checkpointed")
    assert run["status"] == "Completed" and run["output"] == {"values": [0, 2, 4, 6]}
    calls = [c for c in env.recorder.calls_for(run["function_slug"]) if c["request"]["ctx"]["run_id"] == run["run_id"]]
    assert len(calls) < 5  # without checkpoints: one call per step plus the last
    saved = [e for e in run["timeline"] if e["kind"] == "StepRun"]
    assert [e["name"] for e in saved] == [f"part {i}" for i in range(4)]
    assert any(e["detail"].get("checkpointed") for e in saved)


def test_singleton_skips_while_a_run_is_live(env: Env) -> None:
    first = env.client.send("tests/singleton.test")
    _wait_for_pause(env, first, "-singleton", "Sleep")
    second = env.client.send("tests/singleton.test")
    assert env.client.wait_run(second, "-singleton")["status"] == "Skipped"
    assert env.client.wait_run(first, "-singleton")["status"] == "Completed"
