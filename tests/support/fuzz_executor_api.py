"""Hypothesis strategies and the oracle for fuzzing the embedded executor's HTTP API.

Used by ``tests/dev/test_reliability.py`` (a bounded smoke run) and ``bench/fuzz_executor_api.py``
(a longer run whose figures go in docs/reliability.md). Each drawn request goes over a real
socket to a ``DevServer`` on a loopback port; the oracle: never a 5xx, an error is one line of
JSON, and the executor still answers ``/health`` afterwards.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

from inngest_serverless.dev import DevServer
from tests.dev.test_executor import ScriptedApp
from tests.support.dev_apps.harness import http_json

RUN_ID = "01J00000000000000000000000"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO")


@dataclass
class Request:
    method: str
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Target:
    server: DevServer
    app: ScriptedApp
    run_id: str
    lock: threading.Lock

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = self.server.url.split("//")[1].split(":")
        return host, int(port)


@contextmanager
def target() -> Iterator[Target]:
    """An executor with an app synced, a run waiting for a signal, and a scripted app that answers anything."""
    server = DevServer(port=0, db=":memory:", retry_interval=0.05, poll_interval=3600, event_keys=("key",)).start()
    app = ScriptedApp()
    sdk = {"X-Inngest-SDK": "scripted:v1", "X-Inngest-Req-Version": "2"}

    def script(fn: str, body: dict[str, Any], q: str) -> tuple[int, dict[str, str], Any]:
        if fn == "waits" and "h-signal" not in body.get("steps", {}):
            op = {"op": "WaitForSignal", "id": "h-signal", "name": "s", "opts": {"signal": "go", "timeout": "1h"}}
            return 206, sdk, [op]
        return 200, sdk, {"ok": True}

    app.script = script
    try:
        register = {
            "url": app.url,
            "appName": "fuzz",
            "functions": [app.function("any", "fuzz/event"), app.function("waits", "fuzz/wait")],
        }
        status, reply = http_json("POST", f"{server.url}/fn/register", register)
        assert status == 200, reply
        status, reply = http_json("POST", f"{server.url}/e/key", {"name": "fuzz/wait"})
        assert status == 200, reply
        runs: list[Any] = []
        while not runs:
            runs = http_json("GET", f"{server.url}/v1/events/{reply['ids'][0]}/runs")[1]["data"]
        yield Target(server, app, str(runs[0]["run_id"]), threading.Lock())
    finally:
        app.server.shutdown()
        app.server.server_close()
        server.stop()


# ---------------------------------------------------------------- strategies

_text = st.text(st.characters(codec="utf-8") | st.sampled_from(["\ud800", "\udfff", "\x00", "\u2028"]), max_size=20)
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text
json_values = st.recursive(
    _scalars | st.sampled_from([10**400, -(2**70)]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_ids = st.sampled_from([RUN_ID, "not-a-ulid", "", "%2e%2e", "../x", "01J" + "Z" * 23, "\u00e9", "a" * 300])


@st.composite
def _deep(draw: st.DrawFn) -> Any:
    depth = draw(st.sampled_from([50, 499, 501, 2000, 100_000]))
    return json.loads("[" * depth + "]" * depth) if depth < 900 else _Raw(b"[" * depth + b"]" * depth)


class _Raw:
    """A body sent as these bytes (not JSON-encoded)."""

    def __init__(self, data: bytes) -> None:
        self.data = data


_event = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["fuzz/event", "fuzz/wait", "", "inngest/function.finished", "x" * 600]) | _text | json_values,
        "data": json_values,
        "user": json_values,
        "id": json_values,
        "ts": st.sampled_from([0, 5, 1_700_000_000_000, 10**20, -1, 1e308]) | json_values,
        "v": json_values,
    },
)


@st.composite
def _function_config(draw: st.DrawFn) -> Any:
    config: dict[str, Any] = {
        "id": draw(st.sampled_from(["f", "any", "fuzz-any"]) | json_values),
        "name": draw(json_values),
        "triggers": draw(
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "event": st.sampled_from(["fuzz/x"]) | json_values,
                        "expression": st.sampled_from(["event.data.x == 1", "event.data.x ===", "size(event.data) > 0"])
                        | json_values,
                        "cron": st.sampled_from(["* * * * *", "TZ=Nowhere/X 0 0 * * *", "61 * * * *"]) | json_values,
                    },
                ),
                max_size=3,
            )
            | json_values
        ),
        "steps": draw(
            st.fixed_dictionaries(
                {
                    "step": st.fixed_dictionaries(
                        {},
                        optional={
                            "runtime": st.fixed_dictionaries({"url": st.sampled_from(["http://127.0.0.1:9/x"]) | json_values}),
                            "retries": st.fixed_dictionaries({"attempts": st.integers(-5, 50) | json_values}),
                        },
                    )
                }
            )
            | json_values
        ),
    }
    for key in draw(
        st.lists(
            st.sampled_from(
                [
                    "concurrency",
                    "throttle",
                    "rateLimit",
                    "debounce",
                    "batchEvents",
                    "priority",
                    "cancel",
                    "singleton",
                    "timeouts",
                    "idempotency",
                ]
            ),
            max_size=3,
        )
    ):
        config[key] = draw(json_values)
    return config


_register = st.fixed_dictionaries(
    {"url": st.just("http://127.0.0.1:9/api") | json_values, "appName": st.sampled_from(["fuzz-other", "fuzz"]) | json_values},
    optional={"functions": st.lists(_function_config(), max_size=3) | json_values, "sdk": json_values},
)
_checkpoint = st.fixed_dictionaries(
    {},
    optional={
        "steps": st.lists(
            st.fixed_dictionaries(
                {"op": st.sampled_from(["StepRun", "Sleep", "x"]) | json_values, "id": json_values, "data": json_values}
            ),
            max_size=3,
        )
        | json_values,
        "request_id": json_values,
        "qi_id": st.sampled_from(["aXRlbS0xOjpkZXY=", "!!"]) | json_values,
    },
)
_signal = st.fixed_dictionaries({}, optional={"signal": st.sampled_from(["go", ""]) | json_values, "data": json_values})


@st.composite
def requests(draw: st.DrawFn, run_id: str) -> Request:
    run = quote(draw(st.just(run_id) | _ids), safe="%")
    natural, path, body_strategy = draw(
        st.sampled_from(
            [
                ("POST", "/e/key", st.lists(_event, max_size=4) | _event),
                ("POST", "/e/", _event),
                ("POST", "/e/wrong", _event),
                ("POST", "/fn/register", _register),
                ("POST", "/invoke/any", _event),
                ("POST", "/invoke/nothing", _event),
                ("GET", f"/v0/runs/{run}/batch", st.none()),
                ("GET", f"/v0/runs/{run}/actions", st.none()),
                ("POST", "/v1/signals", _signal),
                ("POST", f"/v1/checkpoint/{run}/async", _checkpoint),
                ("POST", f"/v1/http/runs/{run}/async", _checkpoint),
                ("GET", "/v1/events", st.none()),
                ("GET", f"/v1/events/{run}", st.none()),
                ("GET", f"/v1/events/{run}/runs", st.none()),
                ("GET", f"/v1/runs/{run}", st.none()),
                ("GET", f"/dev/runs/{run}", st.none()),
                ("GET", "/dev/runs", st.none()),
                ("DELETE", "/fn/remove", st.none()),
                ("GET", "/v1/apps/fuzz/functions", st.none()),
                ("GET", "/dev", st.none()),
                ("GET", "/health", st.none()),
                ("POST", "/nowhere", json_values),
            ]
        )
    )
    query = draw(
        st.dictionaries(
            st.sampled_from(["limit", "status", "name", "cursor", "url", "x"]),
            st.sampled_from(["1", "0", "-5", "many", "99999999999999999999", "Running", "http://127.0.0.1:9/api", ""]) | _text,
            max_size=3,
        )
    )
    if query:
        path += "?" + urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in query.items()})
    body_kind = draw(st.sampled_from(["shaped", "shaped", "shaped", "json", "deep", "bytes", "empty"]))
    if body_kind == "shaped":
        value = draw(body_strategy)
        body = b"" if value is None else json.dumps(value).encode("utf-8", "surrogatepass")
    elif body_kind == "json":
        body = json.dumps(draw(json_values)).encode("utf-8", "surrogatepass")
    elif body_kind == "deep":
        deep = draw(_deep())
        body = deep.data if isinstance(deep, _Raw) else json.dumps(deep).encode()
    elif body_kind == "bytes":
        body = draw(st.binary(max_size=64) | st.sampled_from([b"\xff\xfe{", b'{"name": "a\xed\xa0\x80"}', b"\xef\xbb\xbf{}"]))
    else:
        body = b""
    headers = {"Content-Type": draw(st.sampled_from(["application/json", "text/plain", ""]))}
    length = draw(st.sampled_from(["exact"] * 6 + ["-1", "x", "99999999999", "1e3", " 3", "+3"]))
    headers["Content-Length"] = str(len(body)) if length == "exact" else length
    if length != "exact" and length.strip().lstrip("+").isdigit() and int(length) < 10**9:
        body = body[: int(length)].ljust(int(length), b" ")  # a valid length is honoured: never leave the server waiting
    extra = draw(
        st.sampled_from(
            [
                {},
                {"X-Inngest-Event-Id-Seed": "1,AAAAAAAAAAAAAA=="},
                {"X-Inngest-Event-Id-Seed": "x"},
                {"Authorization": "Bearer nope"},
                {"X-Inngest-Expected-Server-Kind": "cloud"},
            ]
        )
    )
    headers.update(extra)
    method = draw(st.sampled_from([natural] * 3 + ["DELETE" if natural == "GET" else natural]) | st.sampled_from(METHODS))
    return Request(method, path, body, headers)


# ---------------------------------------------------------------- the oracle


def send(where: Target, request: Request) -> tuple[int, bytes]:
    host, port = where.host_port
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.putrequest(request.method, request.path, skip_accept_encoding=True)
        for key, value in request.headers.items():
            conn.putheader(key, value)
        conn.endheaders(request.body if request.body else None)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def check(where: Target, request: Request) -> int:
    """Send ``request`` and state the promises; returns the status."""
    status, body = send(where, request)
    assert status < 500, f"{request.method} {request.path} {request.headers} {request.body[:200]!r} -> {status} {body[:300]!r}"
    if status >= 400 and request.method != "HEAD" and not (request.path.startswith("/dashboard") or request.path == "/"):
        reply = json.loads(body)
        assert isinstance(reply, dict) and isinstance(reply.get("error"), str), reply
        assert "\n" not in reply["error"] and "Traceback" not in reply["error"], reply
    assert b"Traceback" not in body
    return status
