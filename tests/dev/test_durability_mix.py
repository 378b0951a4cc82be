"""Durability under the whole scenario mix: SIGKILL ``inngest-serverless dev`` while the parity
suite's functions run (steps, sleeps, waits, invokes, sends, parallel groups, retries, failures and
their handlers, cancellation, checkpoints, concurrency, throttle, idempotency, batching, debounce),
restart it on the same database, and nothing is lost.

The app (tests/support/dev_apps/ours_app.py) sits behind a recording proxy, so every call it answered is
known, with when it came in. Checked after each trial:
* every event started exactly the runs it should, each ending as it should (no event lost, none doubled);
* no step body ran after its result was stored: no call that came in after a step's result was
  stored answered that step as newly run (a call in flight at a kill is made again: at-least-once,
  but only before the result is on disk).

``INNGEST_SOAK_TRIALS=N`` runs N trials (default 2; each: a fresh database and ``ROUNDS`` kills).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.dev_apps.executor_process import ExecutorProcess
from tests.support.dev_apps.harness import Client, Recorder, app_process, free_port, http_json

TRIALS = int(os.environ.get("INNGEST_SOAK_TRIALS") or 2)
ROUNDS = 3  # kills per trial
ENDED = ("Completed", "Failed", "Cancelled", "Skipped")

Check = Callable[[list[dict[str, Any]]], bool]  # the runs an event started -> as expected


def one(status: str, output: Any = None) -> Check:
    return lambda runs: len(runs) == 1 and runs[0]["status"] == status and (output is None or runs[0]["output"] == output)


def none() -> Check:
    return lambda runs: runs == []


def _send(url: str, events: list[dict[str, Any]]) -> list[str]:
    status, body = http_json("POST", f"{url}/e/key", events)
    assert status == 200, body
    return list(body["ids"])


def _round(url: str, trial: int, round_: int) -> tuple[dict[str, Check], list[str], list[str]]:
    """Send one round of the mix; the check for each event, the batch events and the debounce events."""
    tag = f"{trial}-{round_}"
    mix: list[tuple[dict[str, Any], Check]] = [
        ({"name": "tests/step.test", "data": {}}, one("Completed")),
        ({"name": "tests/parallel.test", "data": {}}, one("Completed", {"parts": [0, 10, 20], "sum": 30})),
        ({"name": "tests/invoke.test", "data": {"x": round_}}, one("Completed", {"child": {"doubled": 2 * round_}})),
        ({"name": "tests/invoke.test", "data": {"x": 1, "fail": True}}, one("Completed")),
        ({"name": "tests/send.test", "data": {}}, one("Completed", {"sent": 1})),
        ({"name": "tests/sleep-until.test", "data": {"wake": time.time() + 1}}, one("Completed", "awake")),
        ({"name": "tests/retry.test", "data": {}}, one("Completed")),
        ({"name": "tests/always-fails.test", "data": {}}, one("Failed")),
        ({"name": "tests/fail.test", "data": {}}, one("Failed")),
        ({"name": "tests/checkpoint.test", "data": {}}, one("Completed", {"values": [0, 2, 4, 6]})),
        ({"name": "tests/wait.test", "data": {"id": tag, "timeout_ms": 4000}}, one("Completed")),
        ({"name": "tests/cancel.test", "data": {"request_id": tag}}, one("Cancelled")),
        ({"name": "tests/timeout.test", "data": {}}, one("Cancelled")),
        ({"name": "tests/idem.test", "data": {"k": tag}}, one("Completed", {"k": tag})),
        ({"name": "tests/idem.test", "data": {"k": tag}}, none()),
        ({"name": "tests/function.test", "id": f"same-{tag}", "data": {}}, one("Completed")),
        ({"name": "tests/function.test", "id": f"same-{tag}", "data": {}}, none()),
    ]
    mix += [({"name": "tests/concurrency.test", "data": {"n": n, "hold": 0.05}}, one("Completed")) for n in range(3)]
    mix += [({"name": "tests/keyed.test", "data": {"key": k, "hold": 0.05}}, one("Completed")) for k in "ab"]
    mix += [({"name": "tests/throttle.test", "data": {"n": n, "hold": 0.01}}, one("Completed")) for n in range(2)]
    checks: dict[str, Check] = {}
    for (_, check), event_id in zip(mix, _send(url, [event for event, _ in mix]), strict=True):
        checks[event_id] = check
    batch = _send(url, [{"name": "tests/batch.test", "data": {"n": f"{tag}-{n}"}} for n in range(2)])
    debounce = _send(url, [{"name": "tests/debounce.test", "data": {"n": tag}}])
    return checks, batch, debounce


def _resume_and_cancel(url: str, trial: int, round_: int) -> None:
    tag = f"{trial}-{round_}"
    _send(url, [{"name": "test/resume", "data": {"id": tag, "resume": True}},
                {"name": "cancel/please", "data": {"request_id": tag}}])


def _wait_all(client: Client, event_ids: list[str], timeout: float) -> dict[str, list[dict[str, Any]]]:
    """Each event's runs once all have ended (events that start no run have none)."""
    deadline = time.time() + timeout
    while True:
        runs = {e: client.runs_for_event(e) for e in event_ids}
        if all(r["status"] in ENDED for rs in runs.values() for r in rs):
            return runs
        if time.time() > deadline:
            live = {e: [r for r in rs if r["status"] not in ENDED] for e, rs in runs.items()}
            raise AssertionError(f"runs never ended: { {e: rs for e, rs in live.items() if rs} }")
        time.sleep(0.2)


def _late_bodies(recorder: Recorder, client: Client, run_ids: set[str]) -> tuple[list[tuple[str, str]], int]:
    """(run, step) pairs a call answered as newly run although it came in after that result was stored;
    and how many newly run steps were checked."""
    stored: dict[tuple[str, str], float] = {}
    for run_id in run_ids:
        for entry in client.run(run_id)["timeline"]:
            if entry["kind"] == "StepRun":
                stored.setdefault((run_id, entry["name"]), entry["ended"])
    late, checked = [], 0
    for call in list(recorder.calls):
        run_id = ((call["request"] or {}).get("ctx") or {}).get("run_id")
        if run_id not in run_ids or call["status"] != 206 or not isinstance(call["response"], list):
            continue
        for op in call["response"]:
            name = op.get("displayName") or op.get("name")
            if op.get("op") == "StepRun" and (run_id, name) in stored:
                checked += 1
                if call["started"] > stored[(run_id, name)]:
                    late.append((run_id, str(name)))
    return late, checked


def test_sigkill_under_the_whole_scenario_mix_loses_no_event_and_reruns_no_stored_step(tmp_path: Path) -> None:
    rng = random.Random(11)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    kills = checked = 0
    with app_process("tests.support.dev_apps.ours_app", url) as app_url:
        recorder = Recorder(app_url)
        try:
            for trial in range(TRIALS):
                executor = ExecutorProcess(port, str(tmp_path / f"mix{trial}.db"), [recorder.url])
                try:
                    executor.start()
                    client = Client(url)
                    client.wait_functions(42)
                    checks: dict[str, Check] = {}
                    batch: list[str] = []
                    debounce: list[str] = []
                    for round_ in range(ROUNDS):
                        sent, batched, debounced = _round(url, trial, round_)
                        checks.update(sent)
                        batch += batched
                        debounce += debounced
                        time.sleep(rng.uniform(0.1, 0.6))
                        _resume_and_cancel(url, trial, round_)
                        time.sleep(rng.uniform(0.0, 0.5))
                        executor.kill()
                        kills += 1
                        executor.start()
                    expected_batch = sorted(f"{trial}-{r}-{n}" for r in range(ROUNDS) for n in range(2))
                    deadline = time.time() + 90
                    while True:  # batches and debounces start their runs later: until all is as it should be
                        runs = _wait_all(client, [*checks, *batch, *debounce], timeout=90)
                        wrong = {e: runs[e] for e, check in checks.items() if not check(runs[e])}
                        # Every batched event is in exactly one batch run (listed under its first event).
                        batched = sorted(n for e in batch for r in runs[e] for n in (r["output"] or []))
                        # Debounce: the last event of the trial runs, and every debounced run completes.
                        debounced = [r for e in debounce for r in runs[e]]
                        debounce_ok = bool(runs[debounce[-1]]) and all(r["status"] == "Completed" for r in debounced)
                        if not wrong and batched == expected_batch and debounce_ok:
                            break
                        assert time.time() < deadline, f"not as expected: {wrong}, batches {batched}, debounced {debounced}"
                        time.sleep(0.5)
                    run_ids = {r["run_id"] for rs in runs.values() for r in rs}
                    late, count = _late_bodies(recorder, client, run_ids)
                    assert late == [], f"step bodies ran after their results were stored: {late}"
                    assert count > 0
                    checked += count
                finally:
                    executor.stop()
        finally:
            recorder.close()
    print(f"\nscenario-mix durability: {TRIALS} trials, {kills} kills, {len(recorder.calls)} calls, {checked} steps run")
