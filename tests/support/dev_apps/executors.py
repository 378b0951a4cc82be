"""The two executors a scenario runs on, behind one interface.

* ``RealExecutor``: the Inngest server, ``inngest dev`` v1.43.0 (tests/real_server/harness.py
  starts it; runs are read through its GraphQL API, whose answers are not cached).
* ``EmbeddedExecutor``: ours, ``inngest-serverless dev`` as a child process (the CLI), in memory,
  in a machine time zone that is not UTC, so that anything read in the machine's zone shows.

Both are started on free 127.0.0.1 ports, with a 1 s retry interval, and stopped by PID. A run is
read back as ``{"id", "slug", "status", "output", "error"}`` with the REST API's status names
(``Completed``, ``Failed``, ``Cancelled``, ``Running``, ``Queued``, ``Skipped``); ``error`` is the
failed run's ``{"name", "message"}``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.real_server import harness as real
from tests.support.aws_harness import stop
from tests.support.dev_apps.harness import ROOT, free_port

ENDED = frozenset({"Completed", "Failed", "Cancelled", "Skipped"})
EVENT_KEY = "test"
# The embedded executor's machine zone in these tests: schedules must not follow it.
MACHINE_TZ = "America/New_York"


class Executor:
    name = ""
    url = ""

    # -- what each executor does its own way ------------------------------------------------

    def runs_of_event(self, event_id: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def run(self, run_id: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def function_count(self, app_id: str) -> int:
        raise NotImplementedError

    # -- the same on both ---------------------------------------------------------------------

    def send(self, events: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[str]:
        status, body = real.request("POST", f"{self.url}/e/{EVENT_KEY}", events)
        assert status == 200 and isinstance(body, dict), f"{self.name}: sending failed: {status} {body}"
        return [str(i) for i in body["ids"]]

    def send_one(self, name: str, data: Mapping[str, Any] | None = None, **fields: Any) -> str:
        return self.send({"name": name, "data": dict(data or {}), **fields})[0]

    def sync(self, app_url: str, app_id: str, functions: int, timeout: float = 60.0) -> None:
        """PUT the app (it registers itself with the executor it points at); wait for its functions."""
        status, body = real.request("PUT", app_url, b"")
        assert status < 300, f"{self.name}: syncing {app_url} failed: {status} {body}"
        deadline = time.monotonic() + timeout
        while self.function_count(app_id) < functions:
            assert time.monotonic() < deadline, f"{self.name}: {app_id} did not register {functions} functions"
            time.sleep(0.1)

    def cancel(self, run_id: str) -> int:
        """The REST cancel, ``DELETE /v1/runs/{id}``; returns the HTTP status."""
        return real.request("DELETE", f"{self.url}/v1/runs/{run_id}")[0]

    def wait_runs(self, event_id: str, count: int = 1, *, timeout: float = 60.0, ended: bool = True) -> list[dict[str, Any]]:
        """The ``count`` runs an event started, once they exist (and have ended, unless ``ended=False``)."""
        deadline = time.monotonic() + timeout
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            runs = self.runs_of_event(event_id)
            if len(runs) >= count and (not ended or all(r["status"] in ENDED for r in runs)):
                return runs
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: event {event_id} has {runs}, not {count} ended runs, after {timeout}s")

    def wait_run(self, event_id: str, *, timeout: float = 60.0) -> dict[str, Any]:
        runs = self.wait_runs(event_id, 1, timeout=timeout)
        assert len(runs) == 1, f"{self.name}: event {event_id} started {len(runs)} runs: {runs}"
        return runs[0]

    def wait_status(self, run_id: str, statuses: frozenset[str], *, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        run: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run is not None and run["status"] in statuses:
                return run
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: run {run_id} is {run}, not in {sorted(statuses)} after {timeout}s")


class RealExecutor(Executor):
    name = "inngest-dev"

    def __init__(self, server: real.InngestServer) -> None:
        self.server, self.url = server, server.url

    def _gql(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any] | None:
        status, body = real.request("POST", f"{self.url}/v0/gql", {"query": query, "variables": dict(variables)})
        assert status == 200 and isinstance(body, dict), f"GraphQL: {status} {body}"
        errors = body.get("errors") or []
        if any("no rows" in str(e.get("message")) for e in errors):
            return None  # not stored yet: the event API answers before the event is written
        assert not errors, f"GraphQL: {errors}"
        data: dict[str, Any] = body["data"]
        return data

    def runs_of_event(self, event_id: str) -> list[dict[str, Any]]:
        data = self._gql(
            "query($id:ID!){ event(query:{eventId:$id}){ functionRuns { id status output function { slug } } } }",
            {"id": event_id},
        )
        runs = ((data or {}).get("event") or {}).get("functionRuns") or []
        return sorted((_real_run(r, r["function"]["slug"]) for r in runs), key=lambda r: str(r["id"]))

    def run(self, run_id: str) -> dict[str, Any] | None:
        data = self._gql(
            "query($id:ID!){ functionRun(query:{functionRunId:$id}){ id status output function { slug } } }",
            {"id": run_id},
        )
        found = (data or {}).get("functionRun")
        return None if not found else _real_run(found, found["function"]["slug"])

    def function_count(self, app_id: str) -> int:
        return sum(int(a["functionCount"]) for a in self.server.apps() if a["name"] == app_id)


def _real_run(found: dict[str, Any], slug: str) -> dict[str, Any]:
    status = str(found["status"]).capitalize()
    output = real._decode(found.get("output"))
    failed = status == "Failed"
    error = {"name": output.get("name"), "message": output.get("message")} if failed and isinstance(output, dict) else None
    return {"id": found["id"], "slug": slug, "status": status, "output": None if failed else output, "error": error}


class EmbeddedExecutor(Executor):
    name = "embedded"

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"

    def runs_of_event(self, event_id: str) -> list[dict[str, Any]]:
        status, body = real.request("GET", f"{self.url}/v1/events/{event_id}/runs")
        assert status == 200, body
        return sorted((_embedded_run(r) for r in body["data"]), key=lambda r: str(r["id"]))

    def run(self, run_id: str) -> dict[str, Any] | None:
        status, body = real.request("GET", f"{self.url}/v1/runs/{run_id}")
        return _embedded_run(body["data"]) if status == 200 else None

    def function_count(self, app_id: str) -> int:
        status, body = real.request("GET", f"{self.url}/v1/apps/{app_id}/functions")
        return len(body["data"]["functions"]) if status == 200 else 0


def _embedded_run(found: dict[str, Any]) -> dict[str, Any]:
    error = found.get("error")
    if isinstance(error, dict):
        error = {"name": error.get("name"), "message": error.get("message")}
    failed = found["status"] == "Failed"
    return {"id": found["run_id"], "slug": found["function_slug"], "status": found["status"],
            "output": None if failed else found.get("output"), "error": error}


@contextlib.contextmanager
def embedded_dev(*extra: str, tz: str = MACHINE_TZ) -> Iterator[EmbeddedExecutor]:
    """``inngest-serverless dev`` in memory on a free port, from an empty directory, stopped by PID."""
    port = free_port()
    argv = [sys.executable, "-m", "inngest_serverless.cli", "dev", "-p", str(port), "--db", ":memory:",
            "--retry-interval", "1", "--poll-interval", "3600", *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNGEST_")}
    env.update(PYTHONPATH=ROOT, TZ=tz)
    with tempfile.TemporaryDirectory(prefix="inngest-serverless-dev-") as cwd:
        log_path = os.path.join(cwd, "dev.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            executor = EmbeddedExecutor(port)
            deadline = time.monotonic() + 60  # a loaded machine may take a while to import
            while True:
                with contextlib.suppress(OSError):
                    if real.request("GET", f"{executor.url}/health", timeout=2)[0] == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"inngest-serverless dev did not start:\n{real._tail(Path(log_path))}")
                time.sleep(0.05)
            yield executor
        finally:
            stop(proc)


@contextlib.contextmanager
def real_dev(**options: Any) -> Iterator[RealExecutor]:
    """``inngest dev`` with ``--tick 50 --retry-interval 1`` (the harness's defaults)."""
    with real.inngest_dev(**options) as server:
        yield RealExecutor(server)


@contextlib.contextmanager
def executor(name: str, **options: Any) -> Iterator[Executor]:
    if name == RealExecutor.name:
        with real_dev(**options) as found:
            yield found
    else:
        with embedded_dev() as embedded:
            yield embedded


EXECUTORS = (RealExecutor.name, EmbeddedExecutor.name)
