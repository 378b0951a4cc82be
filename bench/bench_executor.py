"""Benchmark of the embedded executor (inngest_serverless.dev) with an app over real HTTP.

    python bench/bench_executor.py            # full run; rewrites the "## Executor" section of docs/benchmarks.md
    python bench/bench_executor.py --smoke    # seconds; prints JSON, writes nothing (used by a CI test)

Measures, with our SDK served by a threaded stdlib WSGI server in its own process:
* event-to-completion time of a 10-step run (median of sequential runs);
* inter-step overhead: from the app finishing one reply to the next call arriving, i.e. the
  executor's own share of each step (median over every step of those runs);
* steps per second with 100 runs started at once.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STEPS = 10
DOC_SECTION = "## Executor"


# ---------------------------------------------------------------------------- the app (child process)


def serve(port: int, executor_url: str) -> None:
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    import inngest_serverless as sdk
    from inngest_serverless.adapters.wsgi import wsgi_adapter

    client = sdk.Inngest(app_id="bench", is_production=False, api_base_url=executor_url, event_api_base_url=executor_url)

    @client.create_function(fn_id="ten-steps", trigger=sdk.TriggerEvent(event="bench/run"))
    def ten_steps(ctx: sdk.ContextSync) -> Any:
        total = 0
        for i in range(STEPS):
            total += ctx.step.run(f"step {i}", lambda i=i: i)
        return {"total": total}

    inner = wsgi_adapter(client, functions=[ten_steps])
    timings: list[tuple[str, float, float]] = []
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/timings":
            body = json.dumps(timings).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        t_in = time.time()
        out = b"".join(inner(environ, start_response))
        if environ["REQUEST_METHOD"] == "POST":
            with lock:
                timings.append((environ.get("HTTP_X_RUN_ID", ""), t_in, time.time()))
        return [out]

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        request_queue_size = 256

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", port, app, server_class=Server, handler_class=Quiet)
    print("ready", flush=True)
    server.serve_forever()


# ---------------------------------------------------------------------------- the measurement


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _send(url: str, count: int) -> list[str]:
    body = json.dumps([{"name": "bench/run", "data": {"i": i}} for i in range(count)]).encode()
    request = urllib.request.Request(f"{url}/e/bench", data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return list(json.loads(response.read())["ids"])


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_done(server: Any, run_count: int, timeout: float = 300) -> list[Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        runs = server.executor.runs.list(run_count + 10)
        if len(runs) >= run_count and all(r.status != "Running" for r in runs):
            return list(runs)
        time.sleep(0.02)
    raise RuntimeError("runs did not finish")


def measure(smoke: bool) -> dict[str, Any]:
    from inngest_serverless.dev import DevServer

    sequential = 3 if smoke else 30
    concurrent = 20 if smoke else 100
    with tempfile.TemporaryDirectory() as tmp:
        server = DevServer(port=0, db=os.path.join(tmp, "bench.db"), poll_interval=3600).start()
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), server.url],
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(ROOT),
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            app_url = f"http://127.0.0.1:{port}/api/inngest"
            server.sdk_urls.append(app_url)
            server.ping_apps()
            while not _get(f"{server.url}/dev")["functions"]:
                time.sleep(0.01)
            # warm-up
            _send(server.url, 2)
            _wait_done(server, 2)

            completion = []
            seq_runs = []
            for index in range(sequential):
                _send(server.url, 1)
                runs = _wait_done(server, 3 + index)
                run = runs[0]
                completion.append(run.ended_at - run.created_at)
                seq_runs.append(run.id)
            timings = _get(f"http://127.0.0.1:{port}/timings")
            gaps = []
            for run_id in seq_runs:
                calls = sorted((t_in, t_out) for rid, t_in, t_out in timings if rid == run_id)
                gaps += [calls[i + 1][0] - calls[i][1] for i in range(len(calls) - 1)]

            before = 2 + sequential
            started = time.time()
            _send(server.url, concurrent)
            runs = _wait_done(server, before + concurrent)
            elapsed = time.time() - started
            batch = runs[:concurrent]
            assert all(r.status == "Completed" and r.output == {"total": sum(range(STEPS))} for r in batch)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            server.stop()
    return {
        "smoke": smoke,
        "steps_per_run": STEPS,
        "sequential_runs": sequential,
        "event_to_completion_ms_median": round(statistics.median(completion) * 1000, 1),
        "event_to_completion_ms_min": round(min(completion) * 1000, 1),
        "inter_step_overhead_ms_median": round(statistics.median(gaps) * 1000, 2),
        "inter_step_overhead_ms_p90": round(sorted(gaps)[int(len(gaps) * 0.9)] * 1000, 2),
        "concurrent_runs": concurrent,
        "concurrent_seconds": round(elapsed, 2),
        "steps_per_second": round(concurrent * STEPS / elapsed, 1),
        "sdk_calls_per_second": round(concurrent * (STEPS + 1) / elapsed, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
    }


def section(res: dict[str, Any]) -> str:
    n, steps = res["concurrent_runs"], res["steps_per_run"]
    table = [
        (
            f"event to completion, {steps}-step run (median of {res['sequential_runs']})",
            f"{res['event_to_completion_ms_median']} ms",
        ),
        ("event to completion, fastest", f"{res['event_to_completion_ms_min']} ms"),
        ("inter-step overhead, median (target ≤ 10 ms)", f"{res['inter_step_overhead_ms_median']} ms"),
        ("inter-step overhead, p90", f"{res['inter_step_overhead_ms_p90']} ms"),
        (f"{n} runs started at once: all done in", f"{res['concurrent_seconds']} s"),
        (f"steps per second at {n} concurrent runs", str(res["steps_per_second"])),
        (f"SDK calls per second at {n} concurrent runs", str(res["sdk_calls_per_second"])),
    ]
    rows = "\n".join(f"| {name} | {value} |" for name, value in table)
    return f"""{DOC_SECTION}

`python bench/bench_executor.py` — the embedded executor (`inngest-serverless dev`, SQLite file in WAL
mode) calling our SDK over loopback HTTP (a threaded stdlib WSGI server in its own process; a new
connection per call, as the Inngest server does). The function runs {res["steps_per_run"]} `step.run`s,
each executed inline (one call per step, plus the final call). Python {res["python"]}, {res["cores"]} cores
shared by executor and app (1-minute load average {res["load_average_1m"]} at the end; other work was running).

| measure | value |
| --- | ---: |
{rows}

Inter-step overhead is measured at the app: from the moment it finished one reply to the moment
the next call arrived, so it is the executor's share (store the step, queue the next call, build
and send the request) plus the loopback connection set-up.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few seconds; print JSON, write nothing")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "EXECUTOR_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    res = measure(args.smoke)
    sys.path.insert(0, str(Path(__file__).parent))
    from mdsection import report

    report(res, json_path=args.json, doc=None if args.smoke else ROOT / "docs" / "benchmarks.md",
           heading=DOC_SECTION, body=section(res))


if __name__ == "__main__":
    main()
