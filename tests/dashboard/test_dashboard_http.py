"""The dashboard's HTTP side without a browser: its answers to bad requests, its guards, live
polling with ETags, pagination and filters over many runs, the CLI's links, the wheel's package
data and the cold start it must not touch."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inngest_serverless.dev import DevServer
from inngest_serverless.dev.ids import ulid_floor
from inngest_serverless.dev.runs import Run
from tests.support.dev_apps.harness import ROOT, free_port, http_json

ACTION = {"X-Inngest-Dashboard": "1", "Content-Type": "application/json"}


@pytest.fixture
def server() -> Iterator[DevServer]:
    with DevServer(port=0, db=":memory:", poll_interval=3600, workers=2) as dev:
        yield dev


def request(
    server: DevServer, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, Any]:
    """(status, parsed JSON or raw bytes, headers) of one request on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
        parsed: Any = raw
        if response.getheader("Content-Type", "").startswith("application/json") and raw:
            parsed = json.loads(raw)
        return response.status, parsed, response.headers
    finally:
        conn.close()


def register(server: DevServer, *slugs: str) -> None:
    """Functions whose app is nowhere: enough for runs to be stored and listed."""
    server.executor.register(
        {
            "appName": "store-only",
            "url": f"http://127.0.0.1:{free_port()}/api/inngest",
            "functions": [
                {"id": slug, "name": slug, "triggers": [{"event": f"t/{slug}"}], "steps": {"step": {"runtime": {"url": "http://127.0.0.1:9/"}}}}
                for slug in slugs
            ],
        }
    )


def store_runs(server: DevServer, count: int, slugs: tuple[str, ...], start: float) -> list[str]:
    """``count`` finished runs one second apart, statuses and functions taking turns."""
    ids = []
    for index in range(count):
        created = start + index
        fn = server.executor.registry.by_id(slugs[index % len(slugs)])
        assert fn is not None
        status = ("Completed", "Failed")[index % 2]
        events = [{"name": "t/x", "data": {"i": index}, "user": {}}]
        run = Run(ulid_floor(int(created * 1000)), fn.uuid, fn.slug, status, events, [], created, created, created + 0.5,
                  None, None, -1, False, [], {})
        server.executor.runs.create(run)
        ids.append(run.id)
    return ids


def test_bad_requests_get_one_line_json_and_the_right_status(server: DevServer) -> None:
    cases = [
        ("GET", "/ui/api/runs?status=Sleeping", None, {}, 400),
        ("GET", "/ui/api/runs?limit=many", None, {}, 400),
        ("GET", "/ui/api/runs?cursor=not-an-id", None, {}, 400),
        ("GET", "/ui/api/runs?since=yesterday", None, {}, 400),
        ("GET", "/ui/api/runs/01J00000000000000000000000", None, {}, 404),
        ("GET", "/ui/api/runs/<script>", None, {}, 404),
        ("GET", "/ui/api/events/nope", None, {}, 404),
        ("GET", "/ui/api/nothing", None, {}, 404),
        ("GET", "/ui/static/../api.py", None, {}, 404),
        ("GET", "/ui/static/missing.js", None, {}, 404),
        ("DELETE", "/ui/api/runs", None, {}, 405),
        ("PUT", "/ui/runs", None, {}, 405),
        ("POST", "/ui/api/events", {"name": "x/y"}, {}, 403),  # no dashboard header
        ("POST", "/ui/api/events", {"name": "x/y"}, {**ACTION, "Origin": "http://evil.example"}, 403),
        ("POST", "/ui/api/events", b"{not json", ACTION, 400),
        ("POST", "/ui/api/events", {"name": ""}, ACTION, 400),
        ("POST", "/ui/api/events", {"name": "x/y", "data": [1]}, ACTION, 400),
        ("POST", "/ui/api/events", {"name": "inngest/function.failed"}, ACTION, 400),
        ("POST", "/ui/api/functions/nope/invoke", {}, ACTION, 404),
        ("POST", "/ui/api/runs/01J00000000000000000000000/cancel", {}, ACTION, 404),
        ("POST", "/ui/api/runs/01J00000000000000000000000/rerun", {}, ACTION, 404),
        ("GET", "/ui/runs", None, {"Host": "attacker.example:8288"}, 403),  # DNS rebinding
    ]
    for method, path, body, headers, expected in cases:
        status, reply, reply_headers = request(server, method, path, body, headers)
        assert status == expected, (method, path, status, reply)
        assert isinstance(reply, dict) and isinstance(reply["error"], str) and "\n" not in reply["error"], (path, reply)
        assert "Traceback" not in reply["error"]
        assert reply_headers["Content-Type"] == "application/json"


def test_the_page_and_its_files(server: DevServer) -> None:
    status, _, headers = request(server, "GET", "/")
    assert status == 302 and headers["Location"] == "/ui/"
    for path in ("/ui/", "/ui/runs", "/ui/runs/01J00000000000000000000000", "/ui/apps"):
        status, body, headers = request(server, "GET", path)
        assert status == 200 and body.startswith(b"<!doctype html>"), path
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
    # Nothing in the page comes from elsewhere: no scheme-qualified URL in any of its files.
    for name in ("index.html", "app.js", "style.css"):
        status, body, headers = request(server, "GET", f"/ui/static/{name}")
        assert status == 200 and headers["Cache-Control"] == "no-cache"
        text = body.decode()
        assert "http://" not in text and "https://" not in text and "@import" not in text, name
        again, _, _ = request(server, "GET", f"/ui/static/{name}", headers={"If-None-Match": headers["ETag"]})
        assert again == 304
    # The Inngest API is untouched by the dashboard's routes.
    assert request(server, "GET", "/health")[0] == 200
    assert request(server, "GET", "/v1/events")[0] == 200


def test_live_polling_answers_304_until_something_changes(server: DevServer) -> None:
    register(server, "poll")
    status, first, headers = request(server, "GET", "/ui/api/runs")
    assert status == 200 and first["runs"] == []
    etag = headers["ETag"]
    status, body, _ = request(server, "GET", "/ui/api/runs", headers={"If-None-Match": etag})
    assert status == 304 and body == b""
    status, sent, _ = request(server, "POST", "/ui/api/events", {"name": "t/poll", "data": {"n": 1}}, ACTION)
    assert status == 200 and sent["runs"][0]["function"] == "poll"
    status, changed, headers = request(server, "GET", "/ui/api/runs", headers={"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag
    assert [r["run_id"] for r in changed["runs"]] == [sent["runs"][0]["run_id"]]


def test_pages_filters_and_time_bounds_over_many_runs(server: DevServer) -> None:
    register(server, "alpha", "beta")
    start = time.time() - 1000
    ids = store_runs(server, 250, ("alpha", "beta"), start)
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        _, page, _ = request(server, "GET", f"/ui/api/runs?limit=100{cursor}")
        seen += [r["run_id"] for r in page["runs"]]
        if not page["next"]:
            break
        cursor = f"&cursor={page['next']}"
    assert seen == ids[::-1]  # newest first, every run once
    _, page, _ = request(server, "GET", "/ui/api/runs?function=beta&status=Failed&limit=200")
    assert {(r["function"], r["status"]) for r in page["runs"]} == {("beta", "Failed")} and len(page["runs"]) == 125
    since, until = start + 100, start + 110
    _, page, _ = request(server, "GET", f"/ui/api/runs?since={since}&until={until}")
    assert [r["run_id"] for r in page["runs"]] == ids[100:110][::-1]


def test_rerun_links_both_runs_and_cancel_is_refused_once_ended(server: DevServer) -> None:
    register(server, "gamma")
    (run_id,) = store_runs(server, 1, ("gamma",), time.time() - 5)
    status, reply, _ = request(server, "POST", f"/ui/api/runs/{run_id}/cancel", {}, ACTION)
    assert status == 409 and "already Completed" in reply["error"]
    status, rerun, _ = request(server, "POST", f"/ui/api/runs/{run_id}/rerun", {}, ACTION)
    assert status == 200 and rerun["rerun_of"] == run_id
    _, new, _ = request(server, "GET", f"/ui/api/runs/{rerun['run_id']}")
    _, old, _ = request(server, "GET", f"/ui/api/runs/{run_id}")
    assert new["rerun_of"] == run_id and old["reruns"] == [rerun["run_id"]]
    assert new["function"] == "gamma" and new["events"] == old["events"]


def test_the_cli_prints_the_dashboards_links(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": ROOT}
    dev = subprocess.Popen(
        [sys.executable, "-m", "inngest_serverless.cli", "dev", "-p", str(port), "--db", str(tmp_path / "dev.db"),
         "--poll-interval", "3600"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert dev.stdout is not None
        lines = [dev.stdout.readline() for _ in range(2)]
        assert lines[1].strip() == f"dashboard {base}/ui/", lines
        payload = {"appName": "nowhere", "url": f"http://127.0.0.1:{free_port()}/api/inngest",
                   "functions": [{"id": "f", "triggers": [{"event": "t/f"}], "steps": {"step": {"runtime": {"url": "http://127.0.0.1:9/"}}}}]}
        assert http_json("POST", f"{base}/fn/register", payload)[0] == 200
        event_id = http_json("POST", f"{base}/e/key", {"name": "t/f"})[1]["ids"][0]
        run_id = http_json("GET", f"{base}/v1/events/{event_id}/runs")[1]["data"][0]["run_id"]
        shown = subprocess.run([sys.executable, "-m", "inngest_serverless.cli", "run", run_id, "--url", base],
                               cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.splitlines()[0] == f"dashboard {base}/ui/runs/{run_id}"
    finally:
        dev.terminate()
        dev.wait(timeout=10)


def test_importing_the_package_or_an_adapter_loads_none_of_it() -> None:
    code = (
        "import sys, inngest_serverless, inngest_serverless.adapters.wsgi, inngest_serverless.adapters.asgi;"
        "print([m for m in sys.modules if m.startswith('inngest_serverless.dev')]);"
        "import inngest_serverless.dev.http_api;"
        "print(sorted(m for m in sys.modules if m.startswith('inngest_serverless.dev.dashboard')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    before, after = out.stdout.splitlines()
    assert before == "[]"
    assert after == "['inngest_serverless.dev.dashboard']"  # the executor asks it only whether a path is its own


def test_the_wheel_ships_the_page(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "--wheel-dir", str(tmp_path), ROOT],
        capture_output=True, text=True, timeout=600,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("inngest_serverless-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("index.html", "app.js", "style.css", "icon.svg"):
        assert f"inngest_serverless/dev/dashboard/static/{name}" in names


def test_with_keys_set_only_this_machine_may_act() -> None:
    from inngest_serverless.dev.dashboard.routes import may_act
    from inngest_serverless.dev.executor import Options

    open_executor, keyed, event_keyed = Options(), Options(signing_key="signkey-test-" + "ab" * 32), Options(event_keys=("k",))
    assert may_act("192.0.2.7", open_executor)  # like its event API, open to whoever reaches it
    for options in (keyed, event_keyed):
        assert may_act("127.0.0.1", options) and may_act("::1", options)
        assert not may_act("192.0.2.7", options) and not may_act("", options)
    # And through HTTP from here (loopback): a keyed executor's page still acts.
    with DevServer(port=0, db=":memory:", poll_interval=3600, workers=1, event_keys=("k",)) as dev:
        status, reply, _ = request(dev, "POST", "/ui/api/events", {"name": "t/keyed"}, ACTION)
        assert status == 200 and reply["runs"] == []
