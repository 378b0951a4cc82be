"""Durability: SIGKILL the executor mid-run, restart it on the same database, and nothing is lost.

Also a load test: 1,000 runs through the executor, every one completed with its own result.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from inngest_serverless.dev import DevServer
from tests.dev_apps.executor_process import ExecutorProcess
from tests.dev_apps.harness import Client, app_process, free_port, http_json

TRIALS = 3


def _send_batch(url: str, name: str, datas: list[dict[str, object]]) -> list[str]:
    status, body = http_json("POST", f"{url}/e/key", [{"name": name, "data": d} for d in datas])
    assert status == 200, body
    return list(body["ids"])


def _wait_all(client: Client, expected: dict[str, tuple[str, object]], timeout: float) -> None:
    deadline = time.time() + timeout
    pending = dict(expected)
    while pending:
        for event_id, (suffix, output) in list(pending.items()):
            runs = [r for r in client.runs_for_event(event_id) if r["function_slug"].endswith(suffix)]
            assert len(runs) <= 1, f"event {event_id} started {len(runs)} runs"
            if runs and runs[0]["status"] != "Running":
                run = client.run(runs[0]["run_id"])
                assert run["status"] == "Completed", run
                assert output is None or run["output"] == output, run
                saved = [e["name"] for e in run["timeline"] if e["kind"] == "StepRun"]
                assert len(saved) == len(set(saved)), saved  # each step's result stored once, never replaced
                del pending[event_id]
        if pending:
            if time.time() > deadline:
                stuck = [client.runs_for_event(e) for e in pending]
                details = [client.run(r[0]["run_id"]) if r else None for r in stuck]
                raise AssertionError(f"{len(pending)} runs never finished: {details}")
            time.sleep(0.1)


def test_sigkill_mid_run_then_restart_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(7)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with app_process("tests.dev_apps.ours_app", url) as app_url:
        for trial in range(TRIALS):
            executor = ExecutorProcess(port, str(tmp_path / f"trial{trial}.db"), [app_url])
            try:
                executor.start()
                client = Client(url)
                client.wait_functions(20)
                expected: dict[str, tuple[str, object]] = {}
                for round_ in range(3):
                    numbers = [100 * round_ + i for i in range(10)]
                    sent = _send_batch(url, "tests/load.test", [{"n": n} for n in numbers])
                    for event_id, n in zip(sent, numbers, strict=True):
                        expected[event_id] = ("-order-flow", {"n": n + 1})
                    for event_id in _send_batch(url, "tests/step.test", [{"r": round_}] * 3):
                        expected[event_id] = ("-step-test", None)
                    time.sleep(rng.uniform(0.05, 0.6))
                    executor.kill()
                    executor.start()
                _wait_all(client, expected, timeout=60)
                runs = http_json("GET", f"{url}/dev/runs?limit=1000")[1]
                assert len(runs) == len(expected)  # exactly one run per event, none extra
            finally:
                executor.stop()


def test_a_thousand_runs_all_complete(tmp_path: Path) -> None:
    server = DevServer(port=0, db=str(tmp_path / "load.db"), poll_interval=3600).start()
    try:
        with app_process("tests.dev_apps.ours_app", server.url) as app_url:
            server.sdk_urls.append(app_url)
            server.ping_apps()
            client = Client(server.url)
            client.wait_functions(20)
            ids: list[str] = []
            for chunk in range(10):
                ids += _send_batch(server.url, "tests/load1.test", [{"n": chunk * 100 + i} for i in range(100)])
            assert len(set(ids)) == 1000
            deadline = time.time() + 240
            while True:
                runs = server.executor.runs.list(2000)
                done = [r for r in runs if r.status != "Running"]
                if len(done) == 1000:
                    break
                assert time.time() < deadline, f"{len(done)} of 1000 runs finished"
                time.sleep(0.2)
            assert len(runs) == 1000
            assert all(r.status == "Completed" for r in runs)
            assert sorted(r.output["n"] for r in runs) == [n + 1 for n in range(1000)]
    finally:
        server.stop()
