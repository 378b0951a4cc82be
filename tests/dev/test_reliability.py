"""The embedded executor stays bounded under hostile or unlucky input (docs/reliability.md, "Executor reliability").

Each test is one finding of an adversarial pass: a failure while handling a reply ends in a
bounded outcome, step.fetch is bounded in size and time, ids cannot collide across apps, and
the HTTP API answers bad input with a 4xx. The scripted app (``tests/dev/test_executor.py``)
answers exactly what a test says.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from inngest_serverless.dev import DevServer, clock
from inngest_serverless.dev.executor import EventError
from inngest_serverless.dev.store import Store, StoreError
from tests.dev.test_executor import SDK, Reply, ScriptedApp, register, send, setup
from tests.support.dev_apps.executor_process import ExecutorProcess
from tests.support.dev_apps.harness import ROOT, Client, free_port, http_json

MB = 1024 * 1024
__all__ = ["setup"]  # the scripted app and executor fixture, shared with test_dev_executor


def _one_step(data: Any) -> Any:
    def script(fn: str, body: dict[str, Any], q: str) -> Reply:
        if "h1" in body["steps"]:
            return 200, SDK, {"step": body["steps"]["h1"]}
        return 206, SDK, [{"op": "StepRun", "id": "h1", "name": "one", "data": data}]

    return script


# ---------------------------------------------------------------- 1. failures handling a reply are bounded


def test_a_step_output_with_a_lone_surrogate_is_stored_as_the_server_stores_it(
    setup: tuple[DevServer, ScriptedApp, Client],
) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/surrogate", retries=3))
    app.script = _one_step("a\ud800b")  # json.dumps writes it as the escape "\ud800"
    run = client.wait_run(send(server, "t/surrogate"), "f", timeout=10)
    assert run["status"] == "Completed", run
    assert run["output"] == {"step": {"data": "a\ufffdb"}}  # U+FFFD, as Go's decoder does
    assert len(app.calls_for("f")) == 2  # the step's call and the final one: no loop


def test_a_failure_while_handling_a_reply_counts_as_an_attempt_then_fails_the_run(
    setup: tuple[DevServer, ScriptedApp, Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/broken-store", retries=1))
    app.script = _one_step({"v": 1})

    def refuse(*args: Any) -> bool:
        raise RuntimeError("the store refused this value")

    monkeypatch.setattr(server.executor.runs, "save_step", refuse)
    run = client.wait_run(send(server, "t/broken-store"), "f", timeout=10)
    assert run["status"] == "Failed"
    assert run["error"]["name"] == "InngestErrExecutor" and "the store refused this value" in run["error"]["message"]
    assert [b["ctx"]["attempt"] for b in app.calls_for("f")] == [0, 1]  # retries=1: two attempts, then the end
    time.sleep(0.5)
    assert len(app.calls_for("f")) == 2


def test_a_large_result_and_a_large_trigger_still_end_the_run_with_its_finished_event(
    setup: tuple[DevServer, ScriptedApp, Client],
) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/large"))
    app.script = lambda fn, body, q: (200, SDK, {"blob": "r" * int(3.5 * MB), "n": len(body["event"]["data"]["pad"])})
    event_id = send(server, "t/large", {"pad": "e" * int(1.6 * MB)})
    run = client.wait_run(event_id, "f", timeout=20)
    assert run["status"] == "Completed" and run["output"]["n"] == int(1.6 * MB)
    assert len(app.calls_for("f")) == 1
    status, body = http_json("GET", f"{server.url}/v1/events?name=inngest/function.finished")
    finished = [e for e in body["data"] if e["data"]["run_id"] == run["run_id"]]
    assert status == 200 and len(finished) == 1 and len(finished[0]["data"]["result"]["blob"]) == int(3.5 * MB)


def test_a_step_output_over_4_mib_in_a_reply_fails_the_call_as_the_server_does(
    setup: tuple[DevServer, ScriptedApp, Client],
) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/big-step", retries=1))
    app.script = _one_step("x" * (4 * MB + 1))  # the reply (under 8 MiB) is accepted; the op is not
    run = client.wait_run(send(server, "t/big-step"), "f", timeout=20)
    assert run["status"] == "Failed"
    assert run["error"]["message"] == "error validating generator opcode h1: step output size is greater than the limit"
    assert len(app.calls_for("f")) == 2  # retried once, as a failed call is
    assert server.executor.store.one("SELECT COUNT(*) FROM steps")[0] == 0


# ---------------------------------------------------------------- 2. step.fetch is bounded in size and time


class _Target:
    """A loopback HTTP server whose reply to any request is ``answer(handler)``."""

    def __init__(self, answer: Any) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/target"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _fetch_script(url: str) -> Any:
    def script(fn: str, body: dict[str, Any], q: str) -> Reply:
        if "h-fetch" in body["steps"]:
            return 200, SDK, body["steps"]["h-fetch"]
        op = {"op": "Gateway", "id": "h-fetch", "name": "fetch", "opts": {"url": url, "method": "POST", "headers": {}}}
        return 206, SDK, [op]

    return script


def _gzip_bomb() -> bytes:
    return gzip.compress(b"\0" * (64 * MB), compresslevel=9)  # ~64 KB on the wire


@pytest.mark.parametrize("kind", ["gzip-bomb", "plain-50mb"])
def test_fetched_bodies_over_the_step_limit_fail_the_step_without_being_held(
    setup: tuple[DevServer, ScriptedApp, Client], kind: str
) -> None:
    import resource

    server, app, client = setup
    payload = _gzip_bomb() if kind == "gzip-bomb" else b"x" * (50 * MB)

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        if kind == "gzip-bomb":
            handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        with contextlib.suppress(OSError):  # the executor stops reading at the limit
            handler.wfile.write(payload)

    target = _Target(answer)
    try:
        register(server, app, app.function("f", "t/fetch-big", retries=0))
        app.script = _fetch_script(target.url)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        run = client.wait_run(send(server, "t/fetch-big"), "f", timeout=20)
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    finally:
        target.close()
    error = run["output"]["error"]
    assert error["name"] == "GatewayError" and "output_too_large" in error["message"], error
    assert "4194304" in error["message"]
    assert grown_mb < 40  # peak memory: never the 64 MB decoded (or 50 MB) body, let alone twice


def test_a_fetch_that_drips_one_byte_at_a_time_ends_at_the_fetch_timeout(
    setup: tuple[DevServer, ScriptedApp, Client],
) -> None:
    server, app, client = setup
    server.executor.options.fetch_timeout = 3.0
    stop = threading.Event()

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000000")
        handler.end_headers()
        while not stop.is_set():
            try:
                handler.wfile.write(b"x")
                handler.wfile.flush()
            except OSError:
                return
            time.sleep(0.2)  # each byte well within any per-read timeout

    target = _Target(answer)
    try:
        register(server, app, app.function("f", "t/drip", retries=0))
        app.script = _fetch_script(target.url)
        started = time.monotonic()
        run = client.wait_run(send(server, "t/drip"), "f", timeout=30)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        target.close()
    error = run["output"]["error"]
    assert error["name"] == "GatewayError" and "no complete response within 3 s" in error["message"], error
    assert elapsed < 20  # fetch_timeout=3 s bounds it; unbounded, it drips for 55 hours


# ---------------------------------------------------------------- 6. function ids do not collide across apps


def test_an_app_cannot_take_over_another_apps_function_with_a_colliding_id(
    setup: tuple[DevServer, ScriptedApp, Client],
) -> None:
    server, app, _ = setup
    other = ScriptedApp()
    try:
        first = {"url": app.url, "appName": "shop", "functions": [app.function("shop-orders-sync", "t/a")]}
        second = {"url": other.url, "appName": "shop-orders", "functions": [other.function("shop-orders-sync", "t/b")]}
        assert http_json("POST", f"{server.url}/fn/register", first)[0] == 200
        status, body = http_json("POST", f"{server.url}/fn/register", second)
        assert status == 400 and "already registered by app 'shop'" in body["error"], body
        functions = http_json("GET", f"{server.url}/dev")[1]["functions"]
        assert [(f["slug"], f["app"]) for f in functions] == [("shop-orders-sync", "shop")]
        # The app that owns it may sync again, and may be renamed (same URL).
        again = {**first, "functions": [app.function("shop-orders-sync", "t/c")]}
        assert http_json("POST", f"{server.url}/fn/register", again)[0] == 200
        assert http_json("POST", f"{server.url}/fn/register", {**first, "appName": "shop-2"})[0] == 200
    finally:
        other.server.shutdown()
        other.server.server_close()


# ---------------------------------------------------------------- 8. the HTTP API answers bad input with a 4xx


def _raw_request(server: DevServer, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    host, port = server.url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest(method, path)
    for key, value in headers.items():
        conn.putheader(key, value)
    if "Content-Length" not in headers:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    payload = json.loads(response.read() or b"null")
    conn.close()
    return response.status, payload


def test_malformed_api_input_gets_a_4xx_with_a_one_line_message(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, _ = setup
    register(server, app, app.function("f", "t/never"))
    deep = b"[" * 5000 + b"]" * 5000
    bad_fn = app.function("g", "t/x")

    def sync(*functions: Any) -> bytes:
        return json.dumps({"url": app.url, "appName": "s", "functions": list(functions)}).encode()

    cases = [
        ("POST", "/e/key", b'{"name": "t/deep", "data": {"x": ' + deep + b"}}"),
        ("POST", "/fn/register", b'{"appName": "s", "functions": [' + deep + b"]}"),
        ("POST", "/v1/signals", b"[1, 2]"),
        ("POST", "/v1/signals", b'{"signal": {"not": "text"}}'),
        ("POST", "/invoke/f", b'"text"'),
        ("POST", "/invoke/f", b'{"data": [1, 2]}'),
        ("POST", "/fn/register", sync({**bad_fn, "steps": {"step": {"retries": {"attempts": "many"}}}})),
        ("POST", "/fn/register", sync({**bad_fn, "triggers": "t/x"})),
        ("POST", "/fn/register", sync({**bad_fn, "steps": [1]})),
        ("POST", "/fn/register", sync({"id": {"x": 1}})),
    ]
    for method, path, body in cases:
        status, payload = _raw_request(server, method, path, body, {"Content-Type": "application/json"})
        assert 400 <= status < 500, (path, body[:80], status, payload)
        assert payload["error"] and "\n" not in payload["error"] and len(payload["error"]) <= 300


def test_a_lone_surrogate_in_an_event_is_kept_as_the_server_keeps_it(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/surrogate-event"))
    app.script = lambda fn, body, q: (200, SDK, body["event"]["data"])
    status, payload = _raw_request(
        server, "POST", "/e/key", b'{"name": "t/surrogate-event", "data": {"s": "x\\udc00y", "\\ud800": 1}}', {}
    )
    assert status == 200, payload
    run = client.wait_run(payload["ids"][0], "f", timeout=10)
    assert run["status"] == "Completed" and run["output"] == {"s": "x\ufffdy", "\ufffd": 1}
    # The same surrogate as raw UTF-8 bytes (CESU-8), which json.loads decodes instead of refusing.
    status, payload = _raw_request(server, "POST", "/e/key", b'{"name": "t/surrogate-event", "data": {"s": "\xed\xa0\x80"}}', {})
    assert status == 200, payload
    assert client.wait_run(payload["ids"][0], "f", timeout=10)["output"] == {"s": "\ufffd"}


def test_integers_beyond_2_53_reach_the_app_exactly_and_non_finite_numbers_are_refused(
    setup: tuple[DevServer, ScriptedApp, Client],
) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/big-int"))
    app.script = lambda fn, body, q: (200, SDK, body["event"]["data"])
    big = {"order": 2**64 + 1, "huge": 10**40, "neg": -(2**63) - 7}
    run = client.wait_run(send(server, "t/big-int", big), "f", timeout=10)
    assert run["status"] == "Completed" and run["output"] == big  # JCS would have refused (or rounded) them
    assert len(app.calls_for("f")) == 1
    for number in (b"1e400", b"-1E+999", b"NaN", b"Infinity", b"1" + b"0" * 400 + b".5"):
        status, payload = _raw_request(server, "POST", "/e/key", b'{"name": "t/big-int", "data": {"x": ' + number + b"}}", {})
        assert status == 400 and "out of a float's range" in payload["error"], (number, status, payload)


def test_a_negative_content_length_is_refused_at_once(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, _, _ = setup
    host, port = server.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /e/key HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}")  # and keep the socket open
        reply = b""
        while chunk := sock.recv(65536):  # the executor closes the connection after an error
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400"), reply[:100]
    assert b"invalid Content-Length" in reply


# ---------------------------------------------------------------- 3, 5. one executor per database; a bad file is refused at start


def _cli_dev(db: str, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inngest_serverless.cli", "dev", "-p", str(port), "--db", db, "--poll-interval", "3600"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": ROOT},
    )


def _one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode != 0, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]


def test_a_second_executor_on_the_same_database_refuses_to_start(tmp_path: Path) -> None:
    db = str(tmp_path / "dev.db")
    first = ExecutorProcess(free_port(), db, [])
    first.start()
    try:
        _one_line_error(_cli_dev(db, free_port()), "another executor is using", db)
        assert http_json("GET", f"{first.url}/health")[0] == 200  # the first one is untouched
        first.kill()  # SIGKILL: the kernel drops its lock with the process
        again = ExecutorProcess(free_port(), db, [])
        again.start()
        again.stop()
    finally:
        first.stop()


def test_a_second_store_in_one_process_is_refused_and_the_lock_goes_with_close(tmp_path: Path) -> None:
    db = str(tmp_path / "dev.db")
    store = Store(db)
    with pytest.raises(StoreError, match="another executor is using"):
        Store(db)
    store.close()
    Store(db).close()


def _damaged_database(path: Path) -> None:
    store = Store(str(path))
    for index in range(400):
        store.run_sql("INSERT INTO events(internal_id, name, body, received_at) VALUES(?,?,?,?)", f"e{index}", "n", "x" * 500, 0)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    with open(path, "r+b") as handle:  # scribble over a few pages in the middle of the file
        handle.seek(8 * 4096)
        handle.write(os.urandom(3 * 4096))


def test_a_damaged_database_is_refused_at_start_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "dev.db"
    _damaged_database(db)
    with pytest.raises(StoreError, match="is damaged"):
        Store(str(db))
    _one_line_error(_cli_dev(str(db), free_port()), "is damaged", "move it away")


def test_a_database_another_program_holds_a_write_lock_on_is_refused_with_one_line(tmp_path: Path) -> None:
    db = str(tmp_path / "dev.db")
    Store(db).close()
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="database is locked"):
            Store(db)
        _one_line_error(_cli_dev(db, free_port()), "database is locked")
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_batch_of_5000_events_is_stored_in_a_few_transactions(
    setup: tuple[DevServer, ScriptedApp, Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, app, _ = setup
    register(server, app, app.function("f", "t/batch"))
    store = server.executor.store
    commits: list[int] = []
    execute = store.conn.execute

    class Counting:  # sqlite3.Connection's methods cannot be patched: wrap the connection instead
        def __getattr__(self, name: str) -> Any:
            return getattr(execute.__self__, name)

        def execute(self, sql: str, *args: Any) -> Any:
            if sql == "COMMIT":
                commits.append(1)
            return execute(sql, *args)

    with store.lock:
        monkeypatch.setattr(store, "conn", Counting())
        # The batch: 5000 events, the last one bad, so the 4999 before it are stored and acknowledged.
        events: list[Any] = [{"name": "t/batch", "data": {"n": n}} for n in range(4999)] + [{"name": ""}]
        with pytest.raises(EventError) as refused:
            server.executor.send(events)
        monkeypatch.setattr(store, "conn", execute.__self__)
    assert len(refused.value.args[1]) == 4999
    assert len(commits) <= 4999 // 250 + 1  # was one commit (and more) per event
    assert store.one("SELECT COUNT(*) FROM events WHERE name='t/batch'")[0] == 4999
    assert store.one("SELECT COUNT(*) FROM runs")[0] == 4999


# ---------------------------------------------------------------- 7. an expression cannot stall the executor

NESTED = "event.data.items.map(x, event.data.items.map(y, event.data.items.filter(z, z == x + y).size())).size() > 0"


def test_an_expression_over_the_cost_limit_fails_clearly_and_stalls_nothing(
    setup: tuple[DevServer, ScriptedApp, Client], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inngest_serverless.dev import expressions

    monkeypatch.setattr(expressions, "_warned", set())  # said once per expression and process
    server, app, client = setup
    costly = app.function("costly", "t/items")
    costly["triggers"] = [{"event": "t/items", "expression": NESTED}]
    register(server, app, costly, app.function("plain", "t/items"))
    app.script = lambda fn, body, q: (200, SDK, fn)
    small = send(server, "t/items", {"items": list(range(10))})  # 10 ** 3 steps: evaluated
    assert client.wait_run(small, "costly")["output"] == "costly"
    with caplog.at_level("WARNING", logger="inngest_serverless.dev"):
        big = send(server, "t/items", {"items": list(range(300))})  # 300 ** 3: about 100 s of CPU, GIL held
    assert client.wait_run(big, "plain")["output"] == "plain"
    assert [r["function_slug"] for r in client.runs_for_event(big)] == ["plain"]
    assert any("over the limit of 100,000" in r.getMessage() and "300 items" in r.getMessage() for r in caplog.records)


def test_the_cost_bound_counts_nesting_not_the_number_of_comprehensions() -> None:
    from inngest_serverless.dev import expressions

    assert expressions.comprehension_depth(NESTED) == 3
    flat = "event.data.items.exists(x, x == 1) && event.data.items.all(y, y != ')' && y != '.map(')"
    assert expressions.comprehension_depth(flat) == 1
    variables = {"event": {"data": {"items": list(range(5000))}}}
    assert expressions.evaluate(flat, variables) is True  # linear: evaluated whatever the size
    with pytest.raises(expressions.CostError):
        expressions.evaluate(NESTED, variables)


# ---------------------------------------------------------------- 9. a clock stepped back stalls nothing; ids never go back


class _SteppedWall:
    """A machine clock the test can step: real time plus ``offset`` seconds."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def test_the_clock_keeps_its_pace_when_the_wall_clock_steps_back_and_follows_it_forward() -> None:
    wall, ticks = [1_000_000.0], [50.0]
    steady = clock.SystemClock(wall=lambda: wall[0], monotonic=lambda: ticks[0])
    assert steady.now() == 1_000_000.0
    ticks[0] += 10
    wall[0] = 1_000_010.0 - 3600  # ten seconds on, the machine clock is stepped back an hour
    assert steady.now() == 1_000_010.0
    ticks[0] += 5
    wall[0] += 7200  # then forward, past where it was
    assert steady.now() == wall[0]
    ticks[0] += 1
    assert steady.now() == wall[0] + 1


@pytest.fixture
def stepped_wall() -> Iterator[tuple[DevServer, ScriptedApp, Client, _SteppedWall]]:
    wall = _SteppedWall()
    server = DevServer(
        port=0, db=":memory:", retry_interval=0.1, poll_interval=3600, event_keys=("key",), clock=clock.SystemClock(wall=wall)
    ).start()
    app = ScriptedApp()
    try:
        yield server, app, Client(server.url), wall
    finally:
        app.server.shutdown()
        app.server.server_close()
        server.stop()


def test_sleeping_and_retrying_runs_are_not_held_back_by_a_clock_stepped_back(
    stepped_wall: tuple[DevServer, ScriptedApp, Client, _SteppedWall],
) -> None:
    server, app, client, wall = stepped_wall
    register(server, app, app.function("f", "t/clock", retries=3))

    def step_back_soon() -> None:  # once the executor has stored when the sleep or retry is due
        threading.Timer(0.5, lambda: setattr(wall, "offset", wall.offset - 3600)).start()

    def script(fn: str, body: dict[str, Any], q: str) -> Reply:
        if "h-sleep" not in body["steps"]:
            step_back_soon()
            return 206, SDK, [{"op": "Sleep", "id": "h-sleep", "name": "nap", "opts": {"duration": "2s"}}]
        if body["ctx"]["attempt"] == 0:
            step_back_soon()
            return 500, {**SDK, "Retry-After": "2"}, {"message": "retry me"}
        return 200, SDK, "done"

    app.script = script
    run = client.wait_run(send(server, "t/clock"), "f", timeout=30)
    assert run["status"] == "Completed" and run["output"] == "done"
    assert wall.offset == -7200.0  # two hours back in all, and the run took seconds


def test_after_a_restart_with_the_clock_behind_new_ids_sort_after_stored_ones(tmp_path: Path) -> None:
    db = str(tmp_path / "dev.db")
    app = ScriptedApp()
    try:
        with DevServer(port=0, db=db, poll_interval=3600, event_keys=("key",)) as server:
            register(server, app, app.function("f", "t/ids"))
            first_event = send(server, "t/ids")
            first_run = Client(server.url).wait_run(first_event, "f")["run_id"]
        behind = clock.SystemClock(wall=lambda: time.time() - 3600)  # a new executor has minted nothing yet
        with DevServer(port=0, db=db, poll_interval=3600, event_keys=("key",), clock=behind) as server:
            second_event = send(server, "t/ids")
            second_run = Client(server.url).wait_run(second_event, "f")["run_id"]
    finally:
        app.server.shutdown()
        app.server.server_close()
    assert first_run < second_event < second_run and first_event < second_event


# ---------------------------------------------------------------- 10. fuzzing the HTTP API: never a 5xx

FUZZ_EXAMPLES = int(os.environ.get("INNGEST_FUZZ_EXAMPLES") or 150)


def test_fuzzed_api_requests_never_get_a_5xx() -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.support import fuzz_executor_api as fuzz

    with fuzz.target() as where:
        statuses: Counter[int] = Counter()

        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        )
        @given(st.data())
        def one_request(data: st.DataObject) -> None:
            statuses[fuzz.check(where, data.draw(fuzz.requests(where.run_id)))] += 1

        one_request()
        assert http_json("GET", f"{where.server.url}/health")[0] == 200
        time.sleep(1.0)  # runs the fuzzed events started: none may fail inside the executor
        runs = where.server.executor.runs.list(1000)
        assert [r.error for r in runs if (r.error or {}).get("name") == "InngestErrExecutor"] == []
        assert sum(statuses.values()) >= FUZZ_EXAMPLES and any(s >= 400 for s in statuses) and any(s < 300 for s in statuses)


def test_the_long_fuzz_run_in_bench_runs_in_smoke_mode() -> None:
    result = subprocess.run(
        [sys.executable, "bench/fuzz_executor_api.py", "--requests", "40"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": ROOT},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures = json.loads(result.stdout)
    assert figures["requests"] >= 40 and figures["5xx"] == 0 and figures["healthy_after"] is True
