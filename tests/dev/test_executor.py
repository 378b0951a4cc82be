"""Executor semantics at the wire, against a scripted app that answers exactly what a test says.

The scripted app speaks the protocol by hand (status, headers, opcodes), so each test pins one
server behaviour: retries and their headers, StepFailed, non-SDK replies, the
event API's validation, state endpoints, timeouts, invoke errors.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from inngest_serverless.dev import DevServer
from tests.support.dev_apps.harness import Client, http_json

Reply = tuple[int, dict[str, str], Any]
SDK = {"X-Inngest-SDK": "scripted:v1", "X-Inngest-Req-Version": "2"}


class _Raw:
    """A reply body sent as these exact bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data


class ScriptedApp:
    """``script(fn_slug, body, query) -> (status, headers, json body)``; every call is kept."""

    def __init__(self) -> None:
        self.script: Callable[[str, dict[str, Any], str], Reply] = lambda fn, body, q: (200, SDK, None)
        self.calls: list[tuple[str, dict[str, Any], float]] = []
        self.queries: list[str] = []  # the query string of each call, in step with ``calls``
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                query = self.path.split("?", 1)[1] if "?" in self.path else ""
                fn = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("fnId", "")
                app.queries.append(query)
                app.calls.append((fn, body, time.time()))
                status, headers, reply = app.script(fn, body, query)
                if isinstance(reply, _Raw):
                    data = reply.data
                else:
                    data = b"" if reply is None and status != 200 else json.dumps(reply).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def function(self, fn_id: str, event: str, **config: Any) -> dict[str, Any]:
        retries = config.pop("retries", 2)
        return {
            "id": fn_id,
            "name": fn_id,
            "triggers": [{"event": event}],
            "steps": {
                "step": {
                    "id": "step",
                    "name": "step",
                    "retries": {"attempts": retries},
                    "runtime": {"type": "http", "url": f"{self.url}?fnId={fn_id}&stepId=step"},
                }
            },
            **config,
        }

    def calls_for(self, fn: str) -> list[dict[str, Any]]:
        return [body for name, body, _ in self.calls if name == fn]


@pytest.fixture
def setup() -> Iterator[tuple[DevServer, ScriptedApp, Client]]:
    server = DevServer(port=0, db=":memory:", retry_interval=0.1, poll_interval=3600, event_keys=("key",)).start()
    app = ScriptedApp()
    try:
        yield server, app, Client(server.url)
    finally:
        app.server.shutdown()
        app.server.server_close()
        server.stop()


def register(server: DevServer, app: ScriptedApp, *functions: dict[str, Any]) -> None:
    status, body = http_json(
        "POST",
        f"{server.url}/fn/register",
        {"url": app.url, "appName": "s", "deployType": "ping", "sdk": "py:v1", "functions": list(functions)},
    )
    assert status == 200, body


def send(server: DevServer, name: str, data: dict[str, Any] | None = None) -> str:
    status, body = http_json("POST", f"{server.url}/e/key", {"name": name, "data": data or {}})
    assert status == 200, body
    return str(body["ids"][0])


def test_retry_after_header_sets_the_next_attempt(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/retry-after"))
    app.script = lambda fn, body, q: (
        (500, {**SDK, "Retry-After": "2"}, {"message": "later"}) if body["ctx"]["attempt"] == 0 else (200, SDK, "ok")
    )
    run = client.wait_run(send(server, "t/retry-after"), "f")
    assert run["status"] == "Completed" and run["output"] == "ok"
    times = [t for name, _, t in app.calls if name == "f"]
    assert times[1] - times[0] >= 0.95  # Retry-After: 2 (from the current second) beats the 0.1 s retry interval


def test_no_retry_header_fails_at_once(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/no-retry", retries=5))
    app.script = lambda fn, body, q: (400, {**SDK, "X-Inngest-No-Retry": "true"}, {"name": "E", "message": "bad"})
    run = client.wait_run(send(server, "t/no-retry"), "f")
    assert run["status"] == "Failed" and run["error"]["message"] == "bad"
    assert len(app.calls_for("f")) == 1


def test_attempts_run_out_after_retries_plus_one(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/exhaust", retries=2))
    app.script = lambda fn, body, q: (500, SDK, {"message": "boom"})
    run = client.wait_run(send(server, "t/exhaust"), "f")
    assert run["status"] == "Failed"
    assert [b["ctx"]["attempt"] for b in app.calls_for("f")] == [0, 1, 2]
    assert all(b["ctx"]["max_attempts"] == 3 for b in app.calls_for("f"))


def test_a_reply_without_the_sdk_header_is_retried(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/proxy"))
    app.script = lambda fn, body, q: (200, {}, "proxy page") if body["ctx"]["attempt"] == 0 else (200, SDK, "real")
    run = client.wait_run(send(server, "t/proxy"), "f")
    assert run["output"] == "real" and len(app.calls_for("f")) == 2


def test_step_failed_is_memoized_as_an_error(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/failed"))
    error = {"name": "Oops", "message": "step broke"}

    def script(fn: str, body: dict[str, Any], q: str) -> Reply:
        if "h1" in body["steps"]:
            return 200, SDK, {"seen": body["steps"]["h1"]}
        return 206, SDK, [{"op": "StepFailed", "id": "h1", "name": "one", "error": error}]

    app.script = script
    run = client.wait_run(send(server, "t/failed"), "f")
    assert run["output"] == {"seen": {"error": error}}


def test_a_retryable_step_error_keeps_the_step_unsaved(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/step-error", retries=1))

    def script(fn: str, body: dict[str, Any], q: str) -> Reply:
        if "h1" in body["steps"]:
            return 200, SDK, body["steps"]["h1"]
        return 206, SDK, [{"op": "StepError", "id": "h1", "name": "one", "error": {"name": "E", "message": "x"}}]

    app.script = script
    run = client.wait_run(send(server, "t/step-error"), "f")
    calls = app.calls_for("f")
    assert [c["steps"] for c in calls[:2]] == [{}, {}]  # retried without the step
    assert [c["ctx"]["attempt"] for c in calls[:2]] == [0, 1]
    assert run["output"] == {"error": {"name": "E", "message": "x"}}  # last attempt: stored as StepFailed


def test_state_endpoints_serve_a_live_run_then_410(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/state"))
    seen: dict[str, Any] = {}

    def script(fn: str, body: dict[str, Any], q: str) -> Reply:
        run_id = body["ctx"]["run_id"]
        if "h1" not in body["steps"]:
            return 206, SDK, [{"op": "StepRun", "id": "h1", "name": "one", "data": {"v": 1}}]
        seen["batch"] = http_json("GET", f"{server.url}/v0/runs/{run_id}/batch")
        seen["actions"] = http_json("GET", f"{server.url}/v0/runs/{run_id}/actions")
        seen["run_id"] = run_id
        return 200, SDK, None

    app.script = script
    client.wait_run(send(server, "t/state", {"a": 1}), "f")
    assert seen["batch"][0] == 200 and seen["batch"][1][0]["data"] == {"a": 1}
    assert seen["actions"] == (200, {"h1": {"data": {"v": 1}}})
    assert http_json("GET", f"{server.url}/v0/runs/{seen['run_id']}/actions")[0] == 410


def test_start_timeout_cancels_a_run_that_never_started(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/start", concurrency=1, timeouts={"start": "1s"}))
    blocker_done = threading.Event()

    def script(fn: str, body: dict[str, Any], q: str) -> Reply:
        if body["event"]["data"].get("block"):
            blocker_done.wait(5)
        return 200, SDK, "done"

    app.script = script
    blocker = send(server, "t/start", {"block": True})
    deadline = time.time() + 10
    while not app.calls_for("f"):  # the blocker holds the only slot before the next run is queued
        assert time.time() < deadline
        time.sleep(0.02)
    waiting = send(server, "t/start")
    run = client.wait_run(waiting, "f")
    blocker_done.set()
    assert run["status"] == "Cancelled"
    assert client.wait_run(blocker, "f")["status"] == "Completed"


def test_invoking_an_unknown_function_fails_the_step(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/invoke"))

    def script(fn: str, body: dict[str, Any], q: str) -> Reply:
        if "h1" in body["steps"]:
            return 200, SDK, body["steps"]["h1"]
        return (
            206,
            SDK,
            [{"op": "InvokeFunction", "id": "h1", "name": "call", "opts": {"function_id": "s-missing", "payload": {"data": {}}}}],
        )

    app.script = script
    run = client.wait_run(send(server, "t/invoke"), "f")
    assert run["output"]["error"]["message"] == "could not find function with ID: s-missing"


def test_finished_and_failed_events_are_emitted(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/lifecycle", retries=0), {**app.function("watch", "inngest/function.failed")})
    app.script = lambda fn, body, q: (200, SDK, body["event"]) if fn == "watch" else (500, SDK, {"message": "gone wrong"})
    event_id = send(server, "t/lifecycle")
    failed = client.wait_run(event_id, "f")
    deadline = time.time() + 10
    while not (watched := [r for r in client.runs() if r["function_slug"] == "watch"]):
        assert time.time() < deadline
        time.sleep(0.05)
    run = client.wait_run(watched[0]["event_id"], "watch")
    assert run["output"]["name"] == "inngest/function.failed"
    assert run["output"]["id"] == failed["run_id"]
    data = run["output"]["data"]
    assert data["function_id"] == "f" and data["run_id"] == failed["run_id"]
    assert data["error"]["message"] == "gone wrong" and data["_inngest"]["status"] == "Failed"


def test_event_api_validates_keys_names_and_shapes(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, _, _ = setup
    assert http_json("POST", f"{server.url}/e/wrong", {"name": "a"})[0] == 401
    status, body = http_json("POST", f"{server.url}/e/key", [{"name": "ok/1"}, {"name": "inngest/x"}])
    assert status == 400 and len(body["ids"]) == 1 and "reserved" in body["error"]
    assert http_json("POST", f"{server.url}/e/key", {"name": "a", "ts": 5})[0] == 400
    assert http_json("POST", f"{server.url}/e/key", {"data": {}})[0] == 400
    assert http_json("POST", f"{server.url}/e/key", [1, 2])[0] == 400
    status, body = http_json("POST", f"{server.url}/e/key", [{"name": "a"}, {"name": "b"}])
    assert status == 200 and len(body["ids"]) == 2 and body["status"] == 200


def test_registration_rejects_invalid_functions(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, _ = setup
    bad_cel = app.function("f", "t/x")
    bad_cel["triggers"] = [{"event": "t/x", "expression": "event.data.x ==="}]
    bad_cron = app.function("g", "t/x")
    bad_cron["triggers"] = [{"cron": "not a cron"}]
    for fn in (bad_cel, bad_cron):
        status, body = http_json("POST", f"{server.url}/fn/register", {"url": app.url, "appName": "s", "functions": [fn]})
        assert status == 400 and body["error"]
    assert http_json("POST", f"{server.url}/fn/register", {"url": app.url, "functions": []})[0] == 400
    assert http_json("POST", f"{server.url}/fn/register", "nope")[0] == 400


def _sleep_then_finish(fn: str, body: dict[str, Any], q: str) -> Reply:
    if "h-sleep" in body["steps"]:
        return 200, SDK, body["event"]["data"]
    return 206, SDK, [{"op": "Sleep", "id": "h-sleep", "name": "nap", "opts": {"duration": "2s"}}]


def test_singleton_cancel_mode_replaces_the_live_run(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/single", singleton={"key": "event.data.k", "mode": "cancel"}))
    app.script = _sleep_then_finish
    first = send(server, "t/single", {"k": "a", "n": 1})
    deadline = time.time() + 5
    while not app.calls_for("f"):
        assert time.time() < deadline
        time.sleep(0.02)
    other_key = send(server, "t/single", {"k": "b", "n": 2})
    second = send(server, "t/single", {"k": "a", "n": 3})
    assert client.wait_run(first, "f")["status"] == "Cancelled"
    assert client.wait_run(second, "f")["output"] == {"k": "a", "n": 3}
    assert client.wait_run(other_key, "f")["output"] == {"k": "b", "n": 2}


def test_rate_limit_key_false_is_not_limited(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/rl", rateLimit={"limit": 1, "period": "1h", "key": "event.data.k"}))
    app.script = lambda fn, body, q: (200, SDK, body["event"]["data"])
    ids = [
        send(server, "t/rl", {"k": "x"}),
        send(server, "t/rl", {"k": "x"}),
        send(server, "t/rl", {"k": False}),
        send(server, "t/rl", {"k": False}),
    ]
    assert client.wait_run(ids[0], "f")["status"] == "Completed"
    assert client.runs_for_event(ids[1]) == []
    assert client.wait_run(ids[2], "f")["status"] == "Completed"
    assert client.wait_run(ids[3], "f")["status"] == "Completed"


def test_wait_for_event_ignores_events_sent_before_the_wait(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/wait"))

    def script(fn: str, body: dict[str, Any], q: str) -> Reply:
        if "h-wait" in body["steps"]:
            return 200, SDK, body["steps"]["h-wait"]
        return (
            206,
            SDK,
            [
                {
                    "op": "WaitForEvent",
                    "id": "h-wait",
                    "name": "t/go",
                    "opts": {"event": "t/go", "timeout": "1s", "if": "async.data.id == event.data.id"},
                }
            ],
        )

    app.script = script
    send(server, "t/go", {"id": 7})
    run = client.wait_run(send(server, "t/wait", {"id": 7}), "f")
    assert run["status"] == "Completed" and run["output"] is None  # timed out: the early event did not count


def test_bad_requests_get_json_errors_not_crashes(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    import http.client

    server, _, _ = setup
    host, port = server.url.split("//")[1].split(":")
    for method, path, body, headers in [
        ("POST", "/e/key", b"{not json", {"Content-Type": "application/json"}),
        ("POST", "/e/key", b"{}", {"Content-Length": "x"}),
        ("GET", "/dev/runs?limit=many", None, {}),
        ("GET", "/nowhere", None, {}),
        ("POST", "/v1/checkpoint/01J00000000000000000000000/async", b'{"steps": []}', {}),
    ]:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.putrequest(method, path)
        for key, value in headers.items():
            conn.putheader(key, value)
        if "Content-Length" not in headers:
            conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body)
        response = conn.getresponse()
        payload = json.loads(response.read())
        conn.close()
        assert 400 <= response.status < 500, (path, response.status)
        assert payload["error"] and "Traceback" not in payload["error"]


def test_batches_group_by_key_and_if_bypasses(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    batch = {"maxSize": 2, "timeout": "1s", "key": "event.data.k", "if": "event.data.batch == true"}
    register(server, app, app.function("f", "t/batch", batchEvents=batch))
    app.script = lambda fn, body, q: (200, SDK, [e["data"]["n"] for e in body["events"]])
    a1 = send(server, "t/batch", {"k": "a", "n": 1, "batch": True})
    b1 = send(server, "t/batch", {"k": "b", "n": 2, "batch": True})
    alone = send(server, "t/batch", {"k": "a", "n": 3, "batch": False})
    send(server, "t/batch", {"k": "a", "n": 4, "batch": True})
    assert client.wait_run(alone, "f")["output"] == [3]  # the if is false: no batching
    assert client.wait_run(a1, "f")["output"] == [1, 4]  # full at maxSize
    assert client.wait_run(b1, "f")["output"] == [2]  # flushed by the timeout


def test_debounce_timeout_caps_the_delay(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/debounce", debounce={"period": "1s", "timeout": "1500ms"}))
    app.script = lambda fn, body, q: (200, SDK, body["event"]["data"]["n"])
    ids = []
    for n in range(8):  # an event every 0.4 s: the period alone would never expire
        ids.append(send(server, "t/debounce", {"n": n}))
        time.sleep(0.4)
    deadline = time.time() + 10
    while True:
        runs = [r for r in client.runs() if r["function_slug"] == "f" and r["status"] == "Completed"]
        if len(runs) >= 2:
            break
        assert time.time() < deadline, runs
        time.sleep(0.05)
    assert len(runs) < len(ids)


def _parallel_script(mode: str | None) -> Callable[[str, dict[str, Any], str], Reply]:
    def script(fn: str, body: dict[str, Any], q: str) -> Reply:
        steps = body["steps"]
        if "stepId=a" in q:
            return 206, SDK, [{"op": "StepRun", "id": "a", "name": "a", "data": "A"}]
        if "stepId=b" in q:
            time.sleep(0.5)
            return 206, SDK, [{"op": "StepRun", "id": "b", "name": "b", "data": "B"}]
        if "a" in steps and "b" in steps:
            return 200, SDK, sorted(steps)
        if steps:
            return 206, SDK, []  # a branch is still running
        opts = {"parallelMode": mode} if mode else {}
        return 206, SDK, [{"op": "StepPlanned", "id": i, "name": i, "opts": opts} for i in ("a", "b")]

    return script


@pytest.mark.parametrize("mode", [None, "race"])
def test_parallel_wait_coalesces_and_race_rediscovers(setup: tuple[DevServer, ScriptedApp, Client], mode: str | None) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/parallel"))
    app.script = _parallel_script(mode)
    run = client.wait_run(send(server, "t/parallel"), "f")
    assert run["output"] == ["a", "b"]
    stacks = [
        tuple(body["ctx"]["stack"]["stack"])
        for (name, body, _), query in zip(app.calls, app.queries, strict=True)
        if name == "f" and "stepId=step" in query
    ]
    if mode == "race":
        assert stacks == [(), ("a",), ("a", "b")]  # a discovery ran while b was still in flight, no more
    else:
        assert stacks == [(), ("a", "b")]  # wait mode: one discovery once both are done


def test_gateway_requests_are_made_by_the_executor(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("f", "t/fetch"))
    target = f"{app.url}?fnId=target"

    def script(fn: str, body: dict[str, Any], q: str) -> Reply:
        if fn == "target":
            return 418, {"X-Teapot": "yes"}, {"short": "and stout"}
        if "h-fetch" in body["steps"]:
            return 200, SDK, body["steps"]["h-fetch"]
        return (
            206,
            SDK,
            [
                {
                    "op": "Gateway",
                    "id": "h-fetch",
                    "name": "fetch",
                    "opts": {"url": target, "method": "POST", "body": '{"a": 1}', "headers": {}},
                }
            ],
        )

    app.script = script
    run = client.wait_run(send(server, "t/fetch"), "f")
    data = run["output"]["data"]
    assert data["status_code"] == 418 and json.loads(data["body"]) == {"short": "and stout"}  # 4xx is a result
    assert data["headers"]["x-teapot"] == "yes" and data["url"] == target
    assert app.calls_for("target") == [{"a": 1}]  # JSON text is sent as-is


def test_events_api_lists_and_gets_events(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, _, _ = setup
    first = send(server, "t/listed", {"n": 1})
    send(server, "t/other")
    status, body = http_json("GET", f"{server.url}/v1/events?name=t/listed")
    assert status == 200 and [e["internal_id"] for e in body["data"]] == [first]
    status, body = http_json("GET", f"{server.url}/v1/events/{first}")
    assert status == 200 and body["data"]["data"] == {"n": 1} and body["data"]["name"] == "t/listed"
    assert http_json("GET", f"{server.url}/v1/events/01J00000000000000000000000")[0] == 404


def test_replies_over_8_mib_fail_and_gzip_replies_are_read(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    import gzip as gzip_lib

    server, app, client = setup
    register(server, app, app.function("big", "t/big", retries=0), app.function("zip", "t/zip"))

    def script(fn: str, body: dict[str, Any], q: str) -> Reply:
        if fn == "big":
            return 200, SDK, "x" * (9 * 1024 * 1024)
        return 200, {**SDK, "Content-Encoding": "gzip"}, _Raw(gzip_lib.compress(b'{"zipped": true}'))

    app.script = script
    big = client.wait_run(send(server, "t/big"), "big")
    assert big["status"] == "Failed" and "output_too_large" in big["error"]["message"]
    assert client.wait_run(send(server, "t/zip"), "zip")["output"] == {"zipped": True}


def test_invoke_timeout_stores_the_timeout_error(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, client = setup
    register(server, app, app.function("parent", "t/invoke-timeout"), app.function("child", "t/never"))

    def script(fn: str, body: dict[str, Any], q: str) -> Reply:
        if fn == "child":
            return 206, SDK, [{"op": "Sleep", "id": "zz", "name": "zz", "opts": {"duration": "1m"}}]
        if "h1" in body["steps"]:
            return 200, SDK, body["steps"]["h1"]
        return (
            206,
            SDK,
            [
                {
                    "op": "InvokeFunction",
                    "id": "h1",
                    "name": "call",
                    "opts": {"function_id": "child", "payload": {"data": {"x": 1}, "v": "2024-06-01.1"}, "timeout": "1s"},
                }
            ],
        )

    app.script = script
    run = client.wait_run(send(server, "t/invoke-timeout"), "parent")
    assert run["output"]["error"]["name"] == "InngestInvokeTimeoutError"
    child = app.calls_for("child")[0]
    assert child["event"]["name"] == "inngest/function.invoked" and child["event"]["data"]["x"] == 1
    assert child["event"]["v"] == "2024-06-01.1"  # the payload's version, as step.invoke(v=...) sends it
    assert child["event"]["data"]["_inngest"]["correlation_id"] == f"{run['run_id']}.h1"


def test_a_resent_batch_with_the_same_id_seed_runs_once(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    import base64
    import os

    server, app, client = setup
    register(server, app, app.function("f", "t/seeded"))
    app.script = lambda fn, body, q: (200, SDK, body["event"]["data"])
    seed = f"{int(time.time() * 1000)},{base64.b64encode(os.urandom(10)).decode()}"
    batch = [{"name": "t/seeded", "data": {"n": 1}}, {"name": "t/seeded", "data": {"n": 2}}]
    first = http_json("POST", f"{server.url}/e/key", batch, {"x-inngest-event-id-seed": seed})[1]["ids"]
    again = http_json("POST", f"{server.url}/e/key", batch, {"x-inngest-event-id-seed": seed})[1]["ids"]
    assert first == again and len(set(first)) == 2  # the retry is recognised, ids stay distinct
    for event_id in first:
        client.wait_run(event_id, "f")
    assert len(app.calls_for("f")) == 2
    other = http_json("POST", f"{server.url}/e/key", batch[:1], {"x-inngest-event-id-seed": "bad"})[1]["ids"]
    assert other[0] not in first  # a malformed seed is ignored


def test_apps_can_be_listed_and_removed(setup: tuple[DevServer, ScriptedApp, Client]) -> None:
    server, app, _ = setup
    register(server, app, app.function("f", "t/app"))
    status, body = http_json("GET", f"{server.url}/v1/apps/s/functions")
    assert status == 200 and [f["slug"] for f in body["data"]["functions"]] == ["f"]
    assert http_json("GET", f"{server.url}/v1/apps/nope/functions")[0] == 404
    assert http_json("DELETE", f"{server.url}/fn/remove?url={app.url}")[0] == 200
    assert http_json("GET", f"{server.url}/dev")[1]["functions"] == []
    assert http_json("DELETE", f"{server.url}/fn/remove?url={app.url}")[0] == 404
