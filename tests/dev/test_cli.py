"""The command line against a real ``inngest-serverless dev`` process and a real app process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dev_apps.executor_process import ExecutorProcess
from tests.support.dev_apps.harness import ROOT, Client, app_process, free_port, http_json


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI as its user would (``env``: variables to add, e.g. ``COLUMNS``)."""
    return subprocess.run(
        [sys.executable, "-m", "inngest_serverless.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": ROOT, **(env or {})},
    )


def on_a_terminal(*args: str) -> str:
    """Run the CLI with its stdout on a pseudo-terminal; return what it printed."""
    import pty

    leader, follower = pty.openpty()
    try:
        subprocess.run(
            [sys.executable, "-m", "inngest_serverless.cli", *args],
            cwd=ROOT,
            stdout=follower,
            stderr=subprocess.DEVNULL,
            timeout=60,
            env={**os.environ, "PYTHONPATH": ROOT, "NO_COLOR": ""},
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(leader)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[ExecutorProcess, Client]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with app_process("tests.support.dev_apps.ours_app", url) as app_url:
        executor = ExecutorProcess(port, str(tmp_path / "dev.db"), [app_url])
        try:
            executor.start()
            client = Client(url)
            client.wait_functions(10)
            yield executor, client
        finally:
            executor.stop()


def test_send_runs_run_and_cancel(stack: tuple[ExecutorProcess, Client]) -> None:
    executor, client = stack
    url = executor.url
    sent = cli("send", "tests/step.test", "--data", '{"steps": {"ok": "yes"}}', "--url", url)
    assert sent.returncode == 0, sent.stderr
    event_id = sent.stdout.strip()
    run = client.wait_run(event_id, "-step-test")
    table = cli("runs", "--url", url)
    assert table.returncode == 0
    assert run["run_id"] in table.stdout and "Completed" in table.stdout
    assert "\x1b[" not in table.stdout  # piped: no colour
    timeline = cli("run", run["run_id"], "--url", url)
    assert timeline.returncode == 0
    assert "first step" in timeline.stdout and "second step" in timeline.stdout and "Sleep" in timeline.stdout
    assert "\x1b[" in on_a_terminal("run", run["run_id"], "--url", url)  # colour on a TTY

    waiting = cli("send", "tests/cancel.test", "--data", '{"request_id": "cli"}', "--url", url).stdout.strip()
    run_id = ""
    while not run_id:
        runs = client.runs_for_event(waiting)
        run_id = runs[0]["run_id"] if runs else ""
    cancelled = cli("cancel", run_id, "--url", url)
    assert cancelled.returncode == 0 and "Cancelled" in cancelled.stdout
    assert client.run(run_id)["status"] == "Cancelled"


def test_bad_input_gets_a_clear_error(stack: tuple[ExecutorProcess, Client]) -> None:
    executor, _ = stack
    bad = cli("send", "x/y", "--data", "{not json", "--url", executor.url)
    assert bad.returncode == 2 and "not JSON" in bad.stderr
    reserved = cli("send", "inngest/function.failed", "--url", executor.url)
    assert reserved.returncode == 1 and "reserved" in reserved.stderr
    missing = cli("run", "01J00000000000000000000000", "--url", executor.url)
    assert missing.returncode == 1 and "no run 01J00000000000000000000000 on this executor" in missing.stderr
    assert http_json("POST", f"{executor.url}/e/key", None)[0] == 400
    assert http_json("GET", f"{executor.url}/v0/runs/not-a-ulid/batch")[0] == 400


def test_unreachable_executor() -> None:
    result = cli("runs", "--url", f"http://127.0.0.1:{free_port()}")
    assert result.returncode != 0 and "cannot reach" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_runs_the_order_flow_to_completion() -> None:
    result = cli("demo")
    assert result.returncode == 0, result.stdout + result.stderr
    for step in ("reserve stock", "let the warehouse pack", "wait for payment", "charge card"):
        assert step in result.stdout
    assert "card processor timed out" in result.stdout and '"status": "shipped"' in result.stdout


def test_sdk_urls_are_polled_until_the_app_registers() -> None:
    from inngest_serverless.dev import DevServer

    port = free_port()
    server = DevServer(port=0, db=":memory:", poll_interval=0.3)
    server.sdk_urls.append(f"http://127.0.0.1:{port}/api/inngest")  # nothing listens there yet
    server.start()
    try:
        time.sleep(0.5)
        assert http_json("GET", f"{server.url}/dev")[1]["functions"] == []
        with app_process("tests.support.dev_apps.official_app", server.url, port=port):
            Client(server.url).wait_functions(10)
    finally:
        server.stop()


def test_dev_flags_event_key_and_signing_key(tmp_path: Path) -> None:
    key = "signkey-test-" + "ab" * 16
    executor = ExecutorProcess(free_port(), ":memory:", [], "--event-key", "k1", "--signing-key", key)
    try:
        executor.start()
        assert http_json("POST", f"{executor.url}/e/other", {"name": "a/b"})[0] == 401
        assert http_json("POST", f"{executor.url}/e/k1", {"name": "a/b"})[0] == 200
        body = {"url": "http://127.0.0.1:1/api", "appName": "x", "functions": []}
        assert http_json("POST", f"{executor.url}/fn/register", body)[0] == 401
        sent = cli("send", "a/b", "--url", executor.url, "--event-key", "k1")
        assert sent.returncode == 0 and sent.stdout.strip()
    finally:
        executor.stop()
