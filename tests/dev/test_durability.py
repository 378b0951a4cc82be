"""Durability: SIGKILL the executor at random moments, restart it on the same database, and nothing is lost.

The app under test (``tests/support/dev_apps/durable_app.py``) logs every execution of every step body
to a file, fsync'd. The log is compared with the executor's stored step results: a body may run
again *before* its result was stored (the call in flight at the kill is redone: at-least-once),
never after. Duplicate event ids, sent before and after a kill, start one run.

``INNGEST_SOAK_TRIALS=N`` runs N trials instead of the default (each: a fresh database and
``ROUNDS`` kills); the figures are printed (``pytest -s``).

Also a load test: 1,000 runs through the executor, every one completed with its own result.
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

from inngest_serverless.core.wire import Header
from inngest_serverless.dev import DevServer
from tests.support.dev_apps.executor_process import ExecutorProcess
from tests.support.dev_apps.harness import Client, app_process, free_port, http_json

TRIALS = int(os.environ.get("INNGEST_SOAK_TRIALS") or 4)
ROUNDS = 4  # kills per trial


def _send(url: str, events: list[dict[str, Any]], headers: dict[str, str] | None = None) -> list[str]:
    status, body = http_json("POST", f"{url}/e/key", events, headers)
    assert status == 200, body
    return list(body["ids"])


def _send_batch(url: str, name: str, datas: list[dict[str, object]]) -> list[str]:
    return _send(url, [{"name": name, "data": d} for d in datas])


def _wait_all(client: Client, expected: dict[str, tuple[str, object]], timeout: float) -> list[dict[str, Any]]:
    """Wait until each event's run has completed with its output; return the runs (with timelines)."""
    deadline = time.time() + timeout
    pending = dict(expected)
    finished: list[dict[str, Any]] = []
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
                finished.append(run)
                del pending[event_id]
        if pending:
            if time.time() > deadline:
                stuck = [client.runs_for_event(e) for e in pending]
                details = [client.run(r[0]["run_id"]) if r else None for r in stuck]
                raise AssertionError(f"{len(pending)} runs never finished: {details}")
            time.sleep(0.1)
    return finished


def _left_at_kill(db: str) -> dict[str, int]:
    """What a killed executor left on disk: calls under way (leased items), sleeps and waits pending."""
    return {
        "calls in flight": _count(db, "SELECT COUNT(*) FROM queue WHERE leased=1"),
        "sleeps pending": _count(db, "SELECT COUNT(*) FROM queue WHERE kind='sleep' AND leased=0"),
        "waits pending": _count(db, "SELECT COUNT(*) FROM pauses"),
    }


def _count(db: str, sql: str) -> int:
    """One number from the database of a stopped executor (read-only)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _bodies_against_storage(
    body_log: Path, runs: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], Counter[tuple[str, str]], list[dict[str, Any]]]:
    """Every logged execution of a step body, its count per (run, step), and those that began after
    the executor had stored that step's result (timeline ``StepRun`` entries: ``ended`` is when the
    reply arrived, just before the transaction that stored it, so the check errs on the strict side)."""
    bodies = [json.loads(line) for line in body_log.read_text().splitlines()]
    stored: dict[tuple[str, str], float] = {}
    for run in runs:
        for entry in run["timeline"]:
            if entry["kind"] == "StepRun":
                stored[(run["run_id"], entry["name"])] = entry["ended"]
    executions = Counter((b["run"], b["step"]) for b in bodies)
    assert set(executions) == set(stored)  # each stored result came from a logged body, and nothing else ran
    late = [b for b in bodies if b["t"] > stored[(b["run"], b["step"])]]
    return bodies, executions, late


def _seed(rng: random.Random) -> str:
    return f"{int(time.time() * 1000)},{base64.b64encode(rng.randbytes(10)).decode()}"


def test_sigkill_at_random_moments_loses_nothing_and_reruns_no_stored_step(tmp_path: Path) -> None:
    rng = random.Random(7)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    body_log = tmp_path / "bodies.jsonl"
    figures: Counter[str] = Counter()
    finished: list[dict[str, Any]] = []
    with app_process("tests.support.dev_apps.durable_app", url, extra_env={"DURABLE_LOG": str(body_log)}) as app_url:
        for trial in range(TRIALS):
            db = str(tmp_path / f"trial{trial}.db")
            executor = ExecutorProcess(port, db, [app_url])
            try:
                executor.start()
                client = Client(url)
                client.wait_functions(5)
                expected: dict[str, tuple[str, object]] = {}
                duplicate = {"name": "tests/durable.chain", "id": f"order-{trial}", "data": {"n": 9000}}
                seed, seeded = _seed(rng), [{"name": "tests/durable.chain", "data": {"n": 8000 + i}} for i in range(2)]
                first_ids: list[str] = []
                for round_ in range(ROUNDS):
                    ns = [100 * round_ + i for i in range(3)]
                    for name, suffix, scale, offset in (
                        ("chain", "-chain", 1, 2),  # output {"n": scale * n + offset}
                        ("fanout", "-fanout", 30, 3),
                        ("wait", "-waiter", 1, 1),
                        ("checkpoint", "-checkpointed", 1, 2),
                        ("uneven", "-checkpointed-uneven", 1, 2),
                    ):
                        for event_id, n in zip(
                            _send_batch(url, f"tests/durable.{name}", [{"n": n} for n in ns]), ns, strict=True
                        ):
                            expected[event_id] = (suffix, {"n": scale * n + offset})
                    if round_ > 0:  # resume the previous round's waiters (some are waiting, some already timed out)
                        _send_batch(url, "tests/durable.resume", [{"n": n - 100} for n in ns])
                    # The same event id, and the same seeded batch, before and after the first kill.
                    if round_ == 0:
                        (first,) = _send(url, [duplicate])
                        expected[first] = ("-chain", {"n": 9002})
                        first_ids = _send(url, seeded, {Header.EVENT_ID_SEED: seed})
                        expected.update((e, ("-chain", {"n": 8002 + i})) for i, e in enumerate(first_ids))
                    elif round_ == 1:
                        (again,) = _send(url, [{**duplicate, "data": {"n": 9500}}])
                        assert _send(url, seeded, {Header.EVENT_ID_SEED: seed}) == first_ids
                    time.sleep(rng.uniform(0.0, 0.8))
                    executor.kill()
                    figures["kills"] += 1
                    for what, count in _left_at_kill(db).items():
                        figures[f"kills with {what}"] += count > 0
                    executor.start()
                finished += _wait_all(client, expected, timeout=60)
                assert len(client.runs()) == len(expected)  # exactly one run per event, none extra
                assert client.runs_for_event(again) == []  # the duplicate id started nothing
                figures["duplicate events sent"] += 1 + len(seeded)
            finally:
                executor.stop()

    bodies, executions, late = _bodies_against_storage(body_log, finished)
    assert late == [], f"step bodies ran after their results were stored: {late}"
    figures.update(
        runs=len(finished),
        steps=len(executions),
        bodies=len(bodies),
        **{"bodies re-run before storage": len(bodies) - len(executions), "bodies run after storage": len(late)},
    )
    reruns = Counter(step for (_, step), count in executions.items() for _ in range(count - 1))
    print(f"\ndurability figures ({TRIALS} trials): {dict(figures)}; re-runs by step: {dict(reruns)}")


def _crash_at(
    point: str, app_module: str, event: dict[str, Any], slug_suffix: str, db: str, app_env: dict[str, str] | None = None
) -> tuple[dict[str, Any], int]:
    """Send ``event`` to an executor that SIGKILLs itself at ``point``, restart a plain executor on
    the same database; return the finished run and how many step results the killed one had stored."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with app_process(app_module, url, extra_env=app_env) as app_url:
        crashing = ExecutorProcess(port, db, [app_url], crash_at=point)
        executor = ExecutorProcess(port, db, [app_url])
        try:
            crashing.start()
            client = Client(url)
            client.wait_functions(3)
            event_id = client.send(event["name"], event["data"])
            assert crashing.proc is not None and crashing.proc.wait(timeout=20) == -signal.SIGKILL
            stored = _count(db, "SELECT COUNT(*) FROM steps")
            executor.start()
            return client.wait_run(event_id, slug_suffix, timeout=20, until=("Completed", "Failed")), stored
        finally:
            crashing.stop()
            executor.stop()


def test_sigkill_as_an_invoke_is_stored_loses_no_invocation(tmp_path: Path) -> None:
    """A kill as the event that starts an invoked child is being stored: that event is stored in the
    transaction that handles the parent's reply, so the whole reply is redone and the child runs."""
    event = {"name": "tests/invoke.test", "data": {"x": 21}}
    run, _ = _crash_at("invoke-send", "tests.support.dev_apps.ours_app", event, "-invoke-parent", str(tmp_path / "invoke.db"))
    assert run["output"] == {"child": {"doubled": 42}}


def test_sigkill_just_after_a_step_result_is_stored_never_reruns_it(tmp_path: Path) -> None:
    db, body_log = str(tmp_path / "stored.db"), tmp_path / "bodies.jsonl"
    event = {"name": "tests/durable.chain", "data": {"n": 5}}
    run, stored = _crash_at("step-stored", "tests.support.dev_apps.durable_app", event, "-chain", db,
                            {"DURABLE_LOG": str(body_log)})
    assert stored == 1  # the kill came after s1 was on disk
    assert run["output"] == {"n": 7}
    _, executions, late = _bodies_against_storage(body_log, [run])
    assert late == []
    assert sorted(executions.values()) == [1, 1, 1]  # so no body ran twice


def test_an_orphaned_checkpointing_call_stops_before_its_next_body(tmp_path: Path) -> None:
    """A call the executor gave up on (here: its call timeout; after a kill: every call in flight)
    keeps running in the app. Its checkpoint is refused (409), so the SDK ends it before its next
    body, which the replacing call has already run and stored."""
    body_log = tmp_path / "bodies.jsonl"
    server = DevServer(port=0, db=str(tmp_path / "orphan.db"), poll_interval=3600, retry_interval=0.1, call_timeout=2.0)
    server.start()
    try:
        with app_process("tests.support.dev_apps.durable_app", server.url, extra_env={"DURABLE_LOG": str(body_log)}) as app_url:
            server.sdk_urls.append(app_url)
            server.ping_apps()
            client = Client(server.url)
            client.wait_functions(6)
            run = client.wait_run(client.send("tests/durable.orphan", {"n": 1}), "-checkpointed-orphan", timeout=30)
            time.sleep(1.0)  # the orphan's u1 ends at 2.6 s: give it time to post, and to run u2 if it were let
    finally:
        server.stop()
    assert run["status"] == "Completed" and run["output"] == {"n": 3}
    bodies, _, late = _bodies_against_storage(body_log, [run])
    assert late == [], f"the orphan ran a body after its result was stored: {late}"
    assert [(b["step"], b["attempt"]) for b in bodies] == [("o1", 0), ("o1", 1), ("o2", 1), ("o3", 1)]


def test_a_thousand_runs_all_complete(tmp_path: Path) -> None:
    server = DevServer(port=0, db=str(tmp_path / "load.db"), poll_interval=3600).start()
    try:
        with app_process("tests.support.dev_apps.ours_app", server.url) as app_url:
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
