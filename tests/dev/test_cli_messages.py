"""What a newcomer reads: the CLI's one-line errors, the executor's console, a run's error, Ctrl-C.

Everything runs through real processes: ``inngest-serverless dev`` (started from a temp dir,
stopped by PID with SIGINT as Ctrl-C would), apps on free loopback ports, the CLI verbs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

import pytest

from tests.dev.test_cli import cli
from tests.support.dev_apps.harness import ROOT, app_process, free_port, http_json

INSTALL = "pip install 'inngest-serverless[dev]'"
ENV = {**os.environ, "PYTHONPATH": ROOT, "NO_COLOR": "1"}


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a command that must fail cleanly."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


class Process:
    """A child process whose output goes to files read while it runs; stopped by PID."""

    def __init__(self, tmp: Path, name: str, args: list[str]) -> None:
        self.out_path, self.err_path = tmp / f"{name}.out", tmp / f"{name}.err"
        self._out: IO[bytes] = self.out_path.open("wb")
        self._err: IO[bytes] = self.err_path.open("wb")
        self.proc = subprocess.Popen(args, cwd=tmp, env=ENV, stdout=self._out, stderr=self._err)

    @property
    def output(self) -> str:
        return self.out_path.read_text()

    @property
    def errors(self) -> str:
        return self.err_path.read_text()

    # Generous bounds (the machine may be busy): a wait ends as soon as the text is there.
    def wait_for(self, text: str, timeout: float = 60, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while self.output.count(text) < count:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never printed {text!r}:\n{self.output}\n{self.errors}")
            time.sleep(0.05)
        return self.output

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT, then the exit status."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=60)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._out.close()
        self._err.close()


class Dev(Process):
    """``inngest-serverless dev`` in memory, its console captured."""

    def __init__(self, tmp: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "inngest_serverless.cli", "dev", "-p", str(self.port), "--db", ":memory:"]
        super().__init__(tmp, "dev", [*command, "--retry-interval", "0.2", *extra])
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"the executor did not start: {self.errors}") from None
                time.sleep(0.05)

    def send(self, name: str, data: dict[str, Any] | None = None, event_id: str | None = None) -> str:
        event: dict[str, Any] = {"name": name, "data": data or {}}
        if event_id:
            event["id"] = event_id
        status, body = http_json("POST", f"{self.url}/e/test", event)
        assert status == 200, body
        return str(body["ids"][0])

    def register(self, app: str, functions: list[dict[str, Any]]) -> tuple[int, Any]:
        return http_json("POST", f"{self.url}/fn/register", {"appName": app, "url": UNREACHABLE, "functions": functions})


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    process = Dev(tmp_path)
    try:
        yield process
    finally:
        process.close()


UNREACHABLE = "http://127.0.0.1:9/api/inngest"  # the discard port: nothing listens on loopback


def function(fn_id: str, event: str, **options: Any) -> dict[str, Any]:
    """A function config as an SDK registers it; its app is never reached in these tests."""
    trigger: dict[str, Any] = {"event": event}
    if "expression" in options:
        trigger["expression"] = options.pop("expression")
    step = {"id": "step", "name": fn_id, "runtime": {"type": "http", "url": f"{UNREACHABLE}?fnId={fn_id}&stepId=step"}}
    return {"id": fn_id, "name": fn_id, "triggers": [trigger], "steps": {"step": step}, **options}


# ---------------------------------------------------------------------------------------------- 1


BLOCK_AND_RUN = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # as if the package were not installed: importing it raises ImportError
from inngest_serverless.cli import main
raise SystemExit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("blocked", ["cel,celpy", "croniter"])
@pytest.mark.parametrize("verb", ["dev", "demo"])
def test_without_the_dev_extra_dev_and_demo_stop_at_once_with_the_fix(verb: str, blocked: str) -> None:
    port = str(free_port())
    args = ["dev", "-p", port, "--db", ":memory:"] if verb == "dev" else ["demo"]
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_AND_RUN, blocked, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, env=ENV
    )
    assert result.returncode == 2
    line = one_line_error(result)
    assert line.endswith(INSTALL)
    assert ("CEL" in line) == (blocked != "croniter") and ("croniter" in line) == (blocked == "croniter")
    assert result.stdout == ""  # nothing started: no banner, no demo output


# ---------------------------------------------------------------------------------------------- 3


def test_console_says_why_an_app_did_not_sync(tmp_path: Path) -> None:
    port = free_port()
    app_url = f"http://127.0.0.1:{port}/api/inngest"
    dev = Dev(tmp_path, "-u", app_url, "--poll-interval", "0.2")
    try:
        dev.wait_for(f"app at {app_url} did not sync: Unable to reach SDK URL")
        time.sleep(1.5)  # several more polls find it as unreachable as before: no new line
        assert dev.output.count(f"app at {app_url} did not sync") == 1, dev.output
        with app_process("tests.support.dev_apps.ours_app", dev.url, port=port):
            dev.wait_for(f"app at {app_url} answers again")
            dev.wait_for(f"synced from {app_url}")
        dev.wait_for(f"app at {app_url} did not sync: Unable to reach SDK URL", count=2)  # down again: once more
        time.sleep(1)
        assert dev.output.count(f"app at {app_url} did not sync") == 2, dev.output

        status, _ = dev.register("broken", [{"name": "no id"}])
        assert status == 400
        dev.wait_for(f"sync of app broken from {UNREACHABLE} refused: every function needs an id")
        status, _ = dev.register("broken", [function("bad-if", "x/y", expression="event.data.x ==")])
        assert status == 400
        dev.wait_for("sync of app broken from http://127.0.0.1:9/api/inngest refused: function bad-if:")
        cloud = {"x-inngest-expected-server-kind": "cloud"}
        assert http_json("POST", f"{dev.url}/fn/register", {"appName": "prod"}, headers=cloud)[0] == 400
        dev.wait_for("sync refused: the app expects a cloud server: run it in dev mode (INNGEST_DEV=1)")
        assert http_json("POST", f"{dev.url}/fn/register", ["not", "an", "object"])[0] == 400
        dev.wait_for("sync refused: its body is not a JSON object")
        assert dev.interrupt() == 0
    finally:
        dev.close()
    assert "stopped" in dev.output and "Traceback" not in dev.errors


def test_a_client_that_hangs_up_leaves_no_traceback(dev: Dev) -> None:
    for _ in range(3):  # an app stopped while it synced: its connection reset halfway through the body
        with socket.create_connection(("127.0.0.1", dev.port)) as sock:
            sock.sendall(b"POST /fn/register HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    assert http_json("GET", f"{dev.url}/health")[0] == 200  # after the three of them
    assert dev.interrupt() == 0
    assert dev.errors == "", dev.errors


def test_console_says_why_a_sync_was_refused_for_its_key(tmp_path: Path) -> None:
    dev = Dev(tmp_path, "--signing-key", "signkey-test-" + "ab" * 16)
    try:
        assert dev.register("keyless", [])[0] == 401
        dev.wait_for("sync refused: Authentication failed: the app signs with another signing key, or none")
    finally:
        dev.close()


def test_console_says_why_an_event_started_no_run(dev: Dev) -> None:
    functions = [
        function("filtered", "shop/filtered", expression="event.data.total > 100"),
        function("limited", "shop/limited", rateLimit={"limit": 1, "period": "1h"}),
        function("once-per-user", "shop/idem", idempotency="event.data.user"),
        function("debounced", "shop/debounced", debounce={"period": "1h"}),
        function("alone", "shop/singleton", singleton={"mode": "skip"}, retries=20),
        function("batched", "shop/batched", batchEvents={"maxSize": 10, "timeout": "1h"}),
        function("plain", "shop/plain"),
    ]
    assert dev.register("shop", functions)[0] == 200

    nobody = dev.send("shop/nobody")
    dev.wait_for(f"event shop/nobody {nobody}: no function is triggered by shop/nobody, and no run waits for it")
    small = dev.send("shop/filtered", {"total": 5})
    dev.wait_for(f"event shop/filtered {small}: no run of filtered: its trigger's if did not match: event.data.total > 100")
    dev.send("shop/limited")
    limited = dev.send("shop/limited")
    dev.wait_for(f"event shop/limited {limited}: no run of limited: rate limited to 1 per 1h")
    dev.send("shop/idem", {"user": "ada"})
    again = dev.send("shop/idem", {"user": "ada"})
    dev.wait_for(f"event shop/idem {again}: no run of once-per-user: idempotency key 'ada' already started a run")
    held = dev.send("shop/debounced")
    dev.wait_for(f"event shop/debounced {held}: held by debounced's debounce: its run starts 1h after the last such event")
    dev.send("shop/singleton")  # its run keeps retrying an app that is not there
    skipped = dev.send("shop/singleton")
    dev.wait_for(f"event shop/singleton {skipped}: no run of alone: skipped (run ")
    assert "is still running" in dev.output
    batched = dev.send("shop/batched")
    dev.wait_for(f"event shop/batched {batched}: held in batched's batch (1 of 10; it runs when full or 1h after")
    dev.send("shop/plain", event_id="order-1")
    duplicate = dev.send("shop/plain", event_id="order-1")
    dev.wait_for(f"event shop/plain {duplicate}: no run of plain: event id order-1 already started run ")

    # An event a run waits for, and the executor's own lifecycle events, are not reported.
    assert "inngest/function" not in dev.output


# ---------------------------------------------------------------------------------------------- 4


@pytest.fixture
def failing_app(tmp_path: Path, dev: Dev) -> Iterator[tuple[Dev, Process]]:
    port = free_port()
    app = Process(tmp_path, "app", [sys.executable, "-m", "tests.support.dev_apps.console_app", str(port), dev.url])
    try:
        app.wait_for(f"listening on http://127.0.0.1:{port}/api/inngest")
        assert http_json("PUT", f"http://127.0.0.1:{port}/api/inngest", {"url": f"http://127.0.0.1:{port}/api/inngest"})[0] == 200
        yield dev, app
    finally:
        app.close()


def wait_run(dev: Dev, event_id: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = http_json("GET", f"{dev.url}/v1/events/{event_id}/runs")[1]["data"]
        if runs:
            run = http_json("GET", f"{dev.url}/dev/runs/{runs[0]['run_id']}")[1]
            if done(run):
                return dict(run)
        time.sleep(0.05)
    raise AssertionError("the run did not get there")


def test_run_shows_the_error_its_stack_and_the_next_attempt(failing_app: tuple[Dev, Process]) -> None:
    from tests.support.dev_apps.console_app import LONG_MESSAGE

    dev, _ = failing_app
    retried = wait_run(dev, dev.send("console/retry", {"order": "ord_7"}), lambda r: r["timeline"][-1]["kind"] == "StepError")
    shown = cli("run", retried["run_id"], "--url", dev.url, env={"COLUMNS": "400"})
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    error_at = lines.index(f"  error  RetryAfterError: ord_7: {LONG_MESSAGE}")
    first_frame = lines[error_at + 1].strip()  # the app's own frame, before the SDK's
    assert first_frame.startswith("at charge (") and "console_app.py" in first_frame
    assert "raise sdk.RetryAfterError" in first_frame
    assert any(" in the SDK and libraries (--json shows the raw stack)" in line for line in lines[error_at:]), shown.stdout
    assert re.search(r"^  attempt #1 failed; attempt #2 is due at \d\d:\d\d:\d\d \(in (59|60)\.\dm\)$", shown.stdout, re.M)
    row = next(line for line in lines if "StepError" in line)
    assert LONG_MESSAGE in row and len(row) > 120  # a wide terminal gets the whole message on its row

    narrow = cli("run", retried["run_id"], "--url", dev.url, env={"COLUMNS": "100"}).stdout.splitlines()
    row = next(line for line in narrow if "StepError" in line)
    assert len(row) <= 100 and row.endswith("…")
    assert f"  error  RetryAfterError: ord_7: {LONG_MESSAGE}" in narrow  # the error itself is never cut

    failed = wait_run(dev, dev.send("console/fail", {"order": "ord_8"}), lambda r: r["status"] == "Failed")
    shown = cli("run", failed["run_id"], "--url", dev.url)
    assert "  error  NonRetriableError: ord_8: card declined" in shown.stdout
    assert "at refuse (" in shown.stdout and "  attempt #1 failed; no attempt follows" in shown.stdout.splitlines()


def test_every_verb_fails_in_one_line_for_a_wrong_url(failing_app: tuple[Dev, Process]) -> None:
    _, app = failing_app
    app_url = app.output.split("listening on ", 1)[1].split()[0]
    nothing = f"http://127.0.0.1:{free_port()}"
    verbs = [["send", "shop/x"], ["runs"], ["run", "01J00000000000000000000000"], ["cancel", "01J00000000000000000000000"]]
    for verb in verbs:
        for url in (app_url, app_url.rsplit("/api", 1)[0]):
            line = one_line_error(cli(*verb, "--url", url))
            assert "is not an inngest-serverless executor" in line or "is not an Inngest event API" in line, line
        assert "cannot reach the executor at " in one_line_error(cli(*verb, "--url", nothing))
        assert one_line_error(cli(*verb, "--url", "localhost-8288")) == "error: localhost-8288 is not an http:// URL (from --url)"


def test_unknown_ids_event_ids_and_cancel_that_did_nothing(failing_app: tuple[Dev, Process]) -> None:
    dev, _ = failing_app
    assert dev.register("shop", [function("plain", "shop/plain")])[0] == 200
    event_id = dev.send("shop/plain")
    run_id = wait_run(dev, event_id, lambda r: True)["run_id"]
    line = one_line_error(cli("run", event_id, "--url", dev.url))
    assert line == f"error: {event_id} is an event's id, not a run's: it started {run_id}"
    quiet = dev.send("shop/nothing-listens")
    assert one_line_error(cli("cancel", quiet, "--url", dev.url)).endswith("is an event's id, not a run's: it started no run")
    assert "no run 01J00000000000000000000000 on this executor" in one_line_error(
        cli("run", "01J00000000000000000000000", "--url", dev.url)
    )

    done = wait_run(dev, dev.send("shop/plain", {"n": 2}), lambda r: r["status"] != "Running")  # its app is not there
    line = one_line_error(cli("cancel", done["run_id"], "--url", dev.url))
    assert line == f"error: {done['run_id']} is already {done['status']}: nothing to cancel"

    live = wait_run(dev, dev.send("console/retry", {"order": "ord_9"}), lambda r: r["status"] == "Running")  # for an hour
    cancelled = cli("cancel", live["run_id"], "--url", dev.url)
    assert cancelled.returncode == 0 and cancelled.stdout.strip() == f"{live['run_id']} Cancelled"
    assert one_line_error(cli("cancel", live["run_id"], "--url", dev.url)).endswith("is already Cancelled: nothing to cancel")


def test_version_comes_from_the_installed_distribution() -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"inngest-serverless {version('inngest-serverless')}"


# ---------------------------------------------------------------------------------------------- 2


FAIL_FIRST_STEP = """
import sys
import inngest_serverless.demo as demo

def reserve_stock(order_id):
    raise LookupError(f"{order_id}: out of stock")

demo.reserve_stock = reserve_stock  # the flow's first step now fails on every attempt
from inngest_serverless.cli import main
raise SystemExit(main(["demo"]))
"""


def test_demo_stops_when_its_run_fails_and_prints_why() -> None:
    result = subprocess.run(
        [sys.executable, "-c", FAIL_FIRST_STEP], cwd=ROOT, capture_output=True, text=True, timeout=60, env=ENV
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "> the run failed: LookupError: ord_1001: out of stock" in out
    assert "  error  LookupError: ord_1001: out of stock" in out and "at reserve_stock (<string>:" in out
    assert "shop/payment.received" not in out  # it never waited for the payment it could not reach
    assert "reached its wait" not in out


# ---------------------------------------------------------------------------------------------- 5


LOCAL_SERVER = """
import signal
import sys
import inngest_serverless as sdk
from inngest_serverless.adapters.wsgi import LocalServer, wsgi_adapter

# As at a terminal: a suite started in the background inherits SIGINT ignored, and so would this.
signal.signal(signal.SIGINT, signal.default_int_handler)

client = sdk.Inngest(app_id="ctrl-c", is_production=False)
LocalServer(wsgi_adapter(client), port=int(sys.argv[1])).serve_forever()
print("returned")
"""


def test_local_server_prints_where_it_listens_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    server = Process(tmp_path, "local", [sys.executable, "-c", LOCAL_SERVER, str(port)])
    try:
        server.wait_for(f"listening on http://127.0.0.1:{port}/api/inngest")
        status, body = http_json("GET", f"http://127.0.0.1:{port}/api/inngest")
        assert status == 200 and json.dumps(body)
        assert server.interrupt() == 0
    finally:
        server.close()
    assert "returned" in server.output  # serve_forever returned: the program goes on after Ctrl-C
    assert "Traceback" not in server.errors and "KeyboardInterrupt" not in server.errors
