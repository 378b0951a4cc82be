"""Running one scenario on two executors at once and comparing what each produced.

``Side`` is one executor with an app synced to it behind a recording proxy; ``same(pair, scenario)``
runs ``scenario(side)`` on both sides in parallel and asserts the results are equal.
"""

from __future__ import annotations

import contextlib
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from tests.support.dev_apps.executors import EXECUTORS, Executor
from tests.support.dev_apps.harness import Recorder, http_json

T = TypeVar("T")


class Side:
    """One executor with the app synced to it, behind a recording proxy."""

    def __init__(self, executor: Executor, recorder: Recorder, app_url: str) -> None:
        self.executor, self.recorder, self.app_url = executor, recorder, app_url
        self.cron_fires: list[float] = []  # when the two cron functions' schedules fire (UTC, then a zone's)
        self.cron_schedules: list[str] = []

    def stats(self) -> list[dict[str, Any]]:
        return list(http_json("GET", self.app_url.replace("/api/inngest", "/stats"))[1])

    def raw_calls(self, run_id: str) -> list[dict[str, Any]]:
        return [c for c in list(self.recorder.calls) if (c["request"] or {}).get("ctx", {}).get("run_id") == run_id]

    def calls(self, run_id: str) -> list[dict[str, Any]]:
        """The calls of one run, as the app saw them: ids, timestamps and stack traces left out."""
        return [_call_shape(c) for c in self.raw_calls(run_id)]

    def trigger(self, name: str, data: dict[str, Any] | None = None, *, timeout: float = 60.0, **fields: Any) -> dict[str, Any]:
        return self.executor.wait_run(self.executor.send_one(name, data, **fields), timeout=timeout)


def _call_shape(call: dict[str, Any]) -> dict[str, Any]:
    request, query = call["request"], urllib.parse.parse_qs(urllib.parse.urlparse(call["path"]).query)
    ctx = request["ctx"]
    reply = call["response"]
    ops = [{"op": op["op"], "id": op.get("id")} for op in reply] if call["status"] == 206 else None
    return {
        "stepId": query["stepId"][0],
        "attempt": ctx["attempt"],
        "stack": ctx["stack"],
        "planned": ctx["disable_immediate_execution"],
        "use_api": request.get("use_api", False),
        "steps": _scrub(request["steps"]),
        "status": call["status"],
        "ops": ops,
    }


def _scrub(value: Any) -> Any:
    """Memoized values without what differs by nature: event ids and timestamps, stack traces."""
    if isinstance(value, dict):
        event_like = "name" in value and "data" in value
        return {
            k: ("*" if event_like and k in ("id", "ts") else _scrub(v))
            for k, v in value.items()
            if k not in ("stack", "_inngest")
        }
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def both(pair: dict[str, Side], scenario: Callable[[Side], T]) -> dict[str, T]:
    """Run ``scenario`` on both executors at once; their results by executor name."""
    with ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(scenario, side) for name, side in pair.items()}
        return {name: future.result() for name, future in futures.items()}


def same(pair: dict[str, Side], scenario: Callable[[Side], T]) -> T:
    """Run ``scenario`` on both executors; their results must be equal. Returns the real server's."""
    results = both(pair, scenario)
    real, ours = (results[name] for name in EXECUTORS)
    assert ours == real, f"the embedded executor differs from inngest dev:\n  ours: {ours}\n  real: {real}"
    return real


def run_outcome(run: dict[str, Any]) -> dict[str, Any]:
    return {k: run[k] for k in ("status", "output", "error")}


def wait_for_call(side: Side, run_id: str, count: int = 1) -> None:
    """Until the app has answered ``count`` calls of the run (and the executor has had time to store the reply)."""
    deadline = time.time() + 30
    while len(side.raw_calls(run_id)) < count:
        assert time.time() < deadline, f"{side.executor.name}: run {run_id} had no call {count}"
        time.sleep(0.05)
    time.sleep(0.5)


@contextlib.contextmanager
def synced(executor: Executor, app_url: str, app_id: str, functions: int) -> Iterator[Side]:
    """The app at ``app_url`` behind a recording proxy, synced to ``executor`` (it registers itself)."""
    recorder = Recorder(app_url)
    try:
        executor.sync(recorder.url, app_id, functions)
        yield Side(executor, recorder, app_url)
    finally:
        recorder.close()
