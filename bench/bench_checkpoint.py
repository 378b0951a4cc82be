"""Checkpointing: invocations and end-to-end time of a 10-step run, with and without it.

The embedded executor (inngest_serverless/dev) runs in this process; the app
is served by a threaded wsgiref server through the WSGI adapter, so every
invocation is a real HTTP call. Two functions with the same ten
``step.run``s, one with ``checkpoint=True``. For each run: the number of calls
the executor made to the app, and the time from sending the event to the run
being ``Completed`` as the executor reports it (polled every 2 ms).

    python bench/bench_checkpoint.py                      # prints the table
    python bench/bench_checkpoint.py --write-docs docs/benchmarks.md
    python bench/bench_checkpoint.py --runs 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.mdsection import replace_section  # noqa: E402
from inngest_serverless import Context, Inngest, TriggerEvent  # noqa: E402
from inngest_serverless.adapters.wsgi import wsgi_app  # noqa: E402
from inngest_serverless.dev.server import DevServer  # noqa: E402

DOC_SECTION = "## Checkpointing"
TARGETS = {"invocations": 2, "speedup": 3.0}  # issue 6


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _json(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


def build_app(executor_url: str, steps: int) -> tuple[Callable[..., Iterable[bytes]], Counter[str]]:
    client = Inngest(app_id="bench-ck", is_production=False, api_base_url=executor_url,
                     event_api_base_url=executor_url)

    def define(fn_id: str, event: str, checkpoint: bool) -> None:
        @client.create_function(fn_id=fn_id, trigger=TriggerEvent(event=event), checkpoint=checkpoint, retries=0)
        def fn(ctx: Context) -> Any:
            total = 0
            for i in range(steps):
                total += ctx.step.run(f"step-{i}", lambda i=i: i)
            return total

    define("plain", "bench/plain", False)
    define("checkpointed", "bench/checkpointed", True)
    inngest = wsgi_app(client)
    calls: Counter[str] = Counter()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST":
            query = environ.get("QUERY_STRING", "")
            calls["checkpointed" if "fnId=bench-ck-checkpointed" in query else "plain"] += 1
        return inngest(environ, start_response)

    return app, calls


def one_run(executor_url: str, event: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    event_id = _json("POST", f"{executor_url}/e/bench", {"name": event, "data": {}})["ids"][0]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = _json("GET", f"{executor_url}/v1/events/{event_id}/runs")["data"]
        if runs and runs[0]["status"] in ("Completed", "Failed", "Cancelled"):
            elapsed = time.perf_counter() - started
            return elapsed, runs[0]
        time.sleep(0.002)
    raise RuntimeError(f"the run of {event} did not finish")


def measure(runs: int, steps: int) -> dict[str, Any]:
    dev = DevServer(port=0, db=":memory:", poll_interval=3600.0).start()
    app, calls = build_app(dev.url, steps)
    server = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app_url = f"http://127.0.0.1:{server.server_address[1]}/api/inngest"
    try:
        reply = urllib.request.urlopen(urllib.request.Request(app_url, method="PUT"), timeout=30)
        assert reply.status == 200, "the app did not sync with the executor"
        results: dict[str, Any] = {}
        for mode in ("plain", "checkpointed"):
            times, invocations, outputs = [], [], []
            for _ in range(runs + 1):  # the first run warms up (imports, connections)
                calls.clear()
                elapsed, run = one_run(dev.url, f"bench/{mode}")
                times.append(elapsed)
                invocations.append(calls[mode])
                outputs.append((run["status"], run["output"]))
            results[mode] = {
                "times_ms": [round(t * 1000, 1) for t in times[1:]],
                "median_ms": round(statistics.median(times[1:]) * 1000, 1),
                "invocations": invocations[1:],
                "outcomes": outputs[1:],
            }
        plain, ck = results["plain"], results["checkpointed"]
        results["speedup"] = round(plain["median_ms"] / ck["median_ms"], 2)
        results["steps"] = steps
        results["runs"] = runs
        return results
    finally:
        server.shutdown()
        server.server_close()
        dev.stop()


def markdown(results: dict[str, Any]) -> str:
    plain, ck = results["plain"], results["checkpointed"]
    steps = results["steps"]
    ok_inv = max(ck["invocations"]) <= TARGETS["invocations"]
    ok_speed = results["speedup"] >= TARGETS["speedup"]
    expected = steps * (steps - 1) // 2
    correct = all(o == ("Completed", expected) for o in plain["outcomes"] + ck["outcomes"])
    lines = [
        DOC_SECTION,
        "",
        f"`python bench/bench_checkpoint.py` — one run of {steps} consecutive `step.run`s on the embedded",
        "executor (in-process), the app behind a threaded wsgiref server through the WSGI adapter; time from",
        "sending the event to the executor reporting `Completed`. Median of "
        f"{results['runs']} runs after one warm-up; Python {platform.python_version()}, {platform.platform()}.",
        "",
        "| | invocations | end to end (ms, median) | runs (ms) |",
        "| --- | ---: | ---: | --- |",
        f"| without checkpointing | {statistics.median(plain['invocations']):g} | {plain['median_ms']} | "
        f"{', '.join(map(str, plain['times_ms']))} |",
        f"| `checkpoint=True` | {statistics.median(ck['invocations']):g} | {ck['median_ms']} | "
        f"{', '.join(map(str, ck['times_ms']))} |",
        "",
        f"Speed-up: **{results['speedup']}x** (target ≥ {TARGETS['speedup']:g}x: "
        f"{'met' if ok_speed else 'not met'}); invocations with checkpointing: "
        f"{max(ck['invocations'])} (target ≤ {TARGETS['invocations']}: {'met' if ok_inv else 'not met'}). "
        f"Every run completed with the right result: {'yes' if correct else 'NO'}.",
        "",
        "Each invocation without checkpointing costs an executor round trip (queue, HTTP call, replay of the",
        "steps so far); with it the steps run back to back in one call, each posted to",
        "`/v1/checkpoint/{runID}/async` before the next starts. On a serverless host every invocation",
        "saved is also a cold start or a billed request saved (docs/timeouts.md).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--write-docs", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = measure(args.runs, args.steps)
    text = markdown(results)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.write_docs:
        replace_section(args.write_docs, DOC_SECTION, text)


if __name__ == "__main__":
    main()
