"""Benchmark of the test engine (inngest_serverless.testing) beside the embedded executor.

    python bench/bench_testing.py            # full run; rewrites the "## Test engine" section of docs/benchmarks.md
    python bench/bench_testing.py --smoke    # seconds; prints JSON, writes nothing (used by a CI test)

The function under test runs 3 steps, sleeps 30 days and waits up to 3 days for an event. Measured:
* one test, end to end, on the engine: open an engine on the client, start the run, move the
  clock past the sleep, send the awaited event, finish the run, check it, close the engine
  (wall time per test, in this process);
* the same tests as a pytest suite: 1,000 (smoke: 50) parametrized tests using the
  ``inngest_engine`` fixture, run by ``python -m pytest`` in a child process (wall time of the whole run);
* for scale, the same function on the embedded executor (``DevServer``, the app over loopback
  HTTP) with real time shortened as far as it goes: the sleep made 1 ms, the event sent as soon as
  the wait is registered (wall time from the first event to completion).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOC_SECTION = "## Test engine"
START = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)

APP = """
import datetime as dt

import inngest_serverless as sdk

client = sdk.Inngest(app_id="bench-testing", is_production=False)


@client.create_function(fn_id="order", trigger=sdk.TriggerEvent(event="bench/order"))
def order(ctx: sdk.ContextSync) -> dict:
    a = ctx.step.run("reserve", lambda: ctx.event.data["id"])
    b = ctx.step.run("charge", lambda: a * 10)
    ctx.step.sleep("cool-off", dt.timedelta(milliseconds=ctx.event.data.get("sleep_ms", 30 * 86_400_000)))
    shipped = ctx.step.wait_for_event(
        "shipped", event="bench/shipped", timeout=dt.timedelta(days=3), if_exp="async.data.id == event.data.id"
    )
    c = ctx.step.run("notify", lambda: shipped is not None)
    return {"a": a, "b": b, "shipped": c}
"""

SUITE = """
import datetime as dt

import pytest

from bench_testing_app import client, order

START = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("i", range({count}))
def test_order_ships(inngest_engine, i):
    engine = inngest_engine(client, start=START)
    run = engine.start(order, {{"name": "bench/order", "data": {{"id": i}}}})
    engine.advance(dt.timedelta(days=31))
    engine.send({{"name": "bench/shipped", "data": {{"id": i}}}})
    result = engine.finish(run)
    assert result.completed and result.output == {{"a": i, "b": i * 10, "shipped": True}}
    assert result.ended_at == START + dt.timedelta(days=31)
"""


def _load_app(folder: Path) -> Any:
    (folder / "bench_testing_app.py").write_text(APP)
    sys.path.insert(0, str(folder))
    import bench_testing_app

    return bench_testing_app


def one_test(app: Any, i: int) -> float:
    from inngest_serverless.testing import TestEngine

    started = time.perf_counter()
    with TestEngine(app.client, start=START) as engine:
        run = engine.start(app.order, {"name": "bench/order", "data": {"id": i}})
        engine.advance(dt.timedelta(days=31))
        engine.send({"name": "bench/shipped", "data": {"id": i}})
        result = engine.finish(run)
        assert result.completed and result.output == {"a": i, "b": i * 10, "shipped": True}
        assert result.ended_at == START + dt.timedelta(days=31)
    return time.perf_counter() - started


def pytest_suite(folder: Path, count: int) -> dict[str, float]:
    (folder / "test_bench_suite.py").write_text(SUITE.format(count=count))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "test_bench_suite.py")]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - started
    if proc.returncode != 0 or f"{count} passed" not in proc.stdout:
        raise RuntimeError(f"the pytest suite failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    # The same interpreter and pytest with no test to run: what the run pays before the first test.
    empty = folder / "test_nothing.py"
    empty.write_text("")
    started = time.perf_counter()
    subprocess.run([*command[:-1], str(empty)], cwd=folder, env=env, capture_output=True, timeout=600)
    baseline = time.perf_counter() - started
    return {
        "tests": count,
        "seconds": round(seconds, 2),
        "startup_seconds": round(baseline, 2),
        "ms_per_test": round((seconds - baseline) * 1000 / count, 2),
    }


def on_executor(app: Any, runs: int) -> list[float]:
    """Event to completion on the embedded executor over HTTP, real time as short as it goes."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from inngest_serverless.adapters.wsgi import wsgi_adapter
    from inngest_serverless.dev import DevServer

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    with DevServer(port=0, db=":memory:", poll_interval=3600) as dev:
        cfg = app.client.config
        app.client.config = cfg.replace(api_origin=dev.url, event_api_origin=dev.url)
        http = make_server("127.0.0.1", 0, wsgi_adapter(app.client), server_class=Server, handler_class=Quiet)
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        try:
            dev.sdk_urls.append(f"http://127.0.0.1:{http.server_address[1]}/api/inngest")
            dev.ping_apps()
            times = []
            for i in range(runs + 1):  # the first is a warm-up
                started = time.perf_counter()
                event_id = dev.executor.send([{"name": "bench/order", "data": {"id": i, "sleep_ms": 1}}])[0]
                run_id = _wait(lambda e=event_id: _run_of(dev, e))
                _wait(lambda r=run_id: any(e["kind"] == "WaitForEvent" for e in dev.executor.runs.timeline(r)))
                dev.executor.send([{"name": "bench/shipped", "data": {"id": i}}])
                run = _wait(lambda r=run_id: _ended(dev, r))
                assert run.status == "Completed" and run.output == {"a": i, "b": i * 10, "shipped": True}, run
                if i:
                    times.append(time.perf_counter() - started)
            return times
        finally:
            http.shutdown()
            http.server_close()
            app.client.config = cfg


def _run_of(dev: Any, event_id: str) -> str | None:
    ids = dev.executor.runs.ids(event_id=event_id)
    return ids[0] if ids else None


def _ended(dev: Any, run_id: str) -> Any:
    run = dev.executor.runs.get(run_id)
    return run if run is not None and run.status != "Running" else None


def _wait(probe: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise RuntimeError("the run did not get there in time")
        time.sleep(0.002)


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered) * 1000, 2),
        "p90": round(ordered[int(len(ordered) * 0.9)] * 1000, 2),
        "min": round(ordered[0] * 1000, 2),
    }


def measure(smoke: bool) -> dict[str, Any]:
    tests, suite, executor_runs = (20, 50, 2) if smoke else (300, 1000, 10)
    with tempfile.TemporaryDirectory(prefix="bench-testing-") as tmp:
        folder = Path(tmp)
        app = _load_app(folder)
        first = one_test(app, 0)  # imports and first-use costs, reported apart
        per_test = [one_test(app, i) for i in range(1, tests + 1)]
        suite_res = pytest_suite(folder, suite)
        real = on_executor(app, executor_runs)
    return {
        "smoke": smoke,
        "first_test_ms": round(first * 1000, 1),
        "tests": tests,
        "per_test_ms": _ms(per_test),
        "pytest_suite": suite_res,
        "executor_runs": executor_runs,
        "executor_run_ms": _ms(real),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
    }


def section(res: dict[str, Any]) -> str:
    per, suite, real = res["per_test_ms"], res["pytest_suite"], res["executor_run_ms"]
    rows = [
        (f"one test end to end on the engine, median of {res['tests']} (goal under 20 ms)", f"{per['median']} ms"),
        ("one test end to end on the engine, p90", f"{per['p90']} ms"),
        ("the first test in a process (imports included)", f"{res['first_test_ms']} ms"),
        (f"{suite['tests']} such tests in one pytest run, whole run", f"{suite['seconds']} s"),
        ("of which pytest's own start (an empty run)", f"{suite['startup_seconds']} s"),
        ("per test in that run, start excluded", f"{suite['ms_per_test']} ms"),
        (
            f"the same run on the embedded executor over HTTP, sleep cut to 1 ms (median of {res['executor_runs']})",
            f"{real['median']} ms",
        ),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return textwrap.dedent(f"""\
        {DOC_SECTION}

        `python bench/bench_testing.py` — the test engine (`inngest_serverless.testing`) running a
        function of 3 steps, a 30-day sleep and a wait of up to 3 days for an event, as a test would:
        open an engine, start the run, move the virtual clock 31 days, send the event, finish the run,
        check its output and end time, close the engine. Everything happens in the test's process, through
        the same core handler the adapters use; no port, no thread. Python {res["python"]}, {res["cores"]} cores
        shared with other work (1-minute load average {res["load_average_1m"]} at the end).

        | measure | value |
        | --- | ---: |
        {{table}}

        The last row is the same function on the embedded executor (`DevServer`, the app served over
        loopback HTTP by the WSGI adapter), with real time cut as far as it goes: a 1 ms sleep, and the
        event sent as soon as the wait is registered. On the real clock the 30-day sleep and the wait would
        take 30 days and up to 3 more.

        Where an engine test's time goes (cProfile): mostly SQLite (a fresh in-memory store per engine,
        its schema included), the SDK's own handling of the six calls, and the canonical JSON of each call
        body. That JSON was written twice per call (to measure the body, then to send it), a fifth of an
        engine test's profile; it is written once now.
        """).replace("{table}", table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few seconds; print JSON, write nothing")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    res = measure(args.smoke)
    sys.path.insert(0, str(Path(__file__).parent))
    from mdsection import report

    report(
        res,
        json_path=args.json,
        doc=None if args.smoke else ROOT / "docs" / "benchmarks.md",
        heading=DOC_SECTION,
        body=section(res),
    )


if __name__ == "__main__":
    main()
