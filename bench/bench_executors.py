"""The embedded executor against ``inngest dev``, side by side in one run, serving the same app.

    python bench/bench_executors.py           # full run; rewrites "## Embedded executor vs inngest dev" in docs/benchmarks.md
    python bench/bench_executors.py --smoke   # under a minute; prints JSON, writes nothing (used by a CI test)

Executors, each a process of its own on loopback, each with its own copy of the app (bench/bench_executor.py's
10-step function on a threaded stdlib WSGI server, which notes when each call came in and went out):
* ``embedded``: ``inngest-serverless dev`` (in memory, default workers);
* ``inngest dev`` v1.43.0 at its default queue tick (150 ms), and with ``--tick 50``.

Measured at the app, so the way each executor is polled for status costs nothing:
* event to completion of a 10-step run: from sending the event to the final call's reply (median of sequential runs);
* inter-step overhead: from the app finishing one reply to the next call of that run arriving (median);
* throughput: N runs sent in one request, steps per second until the last run's final reply (N = 100 and 1,000).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_executor import STEPS, _free_port  # noqa: E402
from tests.support.aws_harness import stop  # noqa: E402
from tests.support.dev_apps.executors import Executor, embedded_dev, real_dev  # noqa: E402

DOC_SECTION = "## Embedded executor vs inngest dev"
CALLS_PER_RUN = STEPS + 1  # each step inline, then the final call
# name -> how to start it
EXECUTORS: dict[str, dict[str, Any]] = {
    "embedded": {},
    "inngest dev (tick 150 ms, its default)": {"tick": None},
    "inngest dev --tick 50": {"tick": 50},
}


@contextlib.contextmanager
def _executor(name: str) -> Iterator[Executor]:
    if name == "embedded":
        with embedded_dev() as embedded:
            yield embedded
    else:
        # No retries happen here; the retry interval is only the harness's default.
        with real_dev(tick=EXECUTORS[name]["tick"]) as real:
            yield real


@contextlib.contextmanager
def _app(executor: Executor) -> Iterator[str]:
    """bench_executor.py's app in its own process, synced to ``executor``; yields its origin."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bench_executor.py"), "--serve", str(port),
                             executor.url], stdout=subprocess.PIPE, cwd=str(ROOT), start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        origin = f"http://127.0.0.1:{port}"
        executor.sync(f"{origin}/api/inngest", "bench", 1)
        yield origin
    finally:
        stop(proc)


def _timings(origin: str) -> dict[str, list[tuple[float, float]]]:
    with urllib.request.urlopen(f"{origin}/timings", timeout=60) as response:
        rows = json.loads(response.read())
    calls: dict[str, list[tuple[float, float]]] = {}
    for run_id, t_in, t_out in rows:
        calls.setdefault(run_id, []).append((t_in, t_out))
    return {run_id: sorted(spans) for run_id, spans in calls.items()}


def _wait_done(origin: str, total: int, timeout: float) -> dict[str, list[tuple[float, float]]]:
    """Until ``total`` runs have had all their calls; their calls by run."""
    deadline = time.time() + timeout
    while True:
        calls = _timings(origin)
        done = {r: spans for r, spans in calls.items() if len(spans) >= CALLS_PER_RUN}
        if len(done) >= total:
            return done
        if time.time() > deadline:
            raise RuntimeError(f"{len(done)} of {total} runs finished within {timeout} s")
        time.sleep(0.05 if total < 10 else 0.5)


def measure_one(name: str, sequential: int, batches: list[int]) -> dict[str, Any]:
    with _executor(name) as executor, _app(executor) as origin:
        executor.send([{"name": "bench/run", "data": {"i": i}} for i in range(3)])  # warm-up
        finished = _wait_done(origin, 3, 120)
        latencies, gaps = [], []
        for _ in range(sequential):
            known = set(finished)
            sent = time.time()
            executor.send_one("bench/run", {"i": -1})
            finished = _wait_done(origin, len(known) + 1, 120)
            (run_id,) = set(finished) - known
            spans = finished[run_id]
            latencies.append(spans[-1][1] - sent)
            gaps += [spans[i + 1][0] - spans[i][1] for i in range(len(spans) - 1)]
        throughput = {}
        for count in batches:
            known = set(finished)
            sent = time.time()
            executor.send([{"name": "bench/run", "data": {"i": i}} for i in range(count)])
            finished = _wait_done(origin, len(known) + count, 600)
            new = [finished[r] for r in set(finished) - known]
            took = max(spans[-1][1] for spans in new) - sent
            throughput[str(count)] = {"seconds": round(took, 2), "steps_per_second": round(count * STEPS / took, 1)}
    return {
        "event_to_completion_ms": round(statistics.median(latencies) * 1000, 1),
        "event_to_completion_ms_min": round(min(latencies) * 1000, 1),
        "inter_step_ms": round(statistics.median(gaps) * 1000, 2),
        "throughput": throughput,
    }


def measure(smoke: bool) -> dict[str, Any]:
    sequential, batches = (2, [10]) if smoke else (20, [100, 1000])
    results = {name: measure_one(name, sequential, batches) for name in EXECUTORS}
    ours = results["embedded"]
    ratios = {}
    for name in EXECUTORS:
        if name == "embedded":
            continue
        theirs = results[name]
        ratios[name] = {
            "latency_x": round(theirs["event_to_completion_ms"] / ours["event_to_completion_ms"], 1),
            "inter_step_x": round(theirs["inter_step_ms"] / ours["inter_step_ms"], 1),
            "throughput_x": {n: round(ours["throughput"][n]["steps_per_second"] / theirs["throughput"][n]["steps_per_second"], 2)
                             for n in ours["throughput"]},
        }
    return {
        "smoke": smoke,
        "steps_per_run": STEPS,
        "sequential_runs": sequential,
        "results": results,
        "ours_vs": ratios,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
    }


def section(res: dict[str, Any]) -> str:
    names = list(res["results"])
    head = "| measure | " + " | ".join(names) + " |\n| --- |" + " ---: |" * len(names)
    rows = [
        (f"event to completion, {res['steps_per_run']}-step run (median of {res['sequential_runs']})",
         [f"{r['event_to_completion_ms']} ms" for r in res["results"].values()]),
        ("inter-step overhead (median)", [f"{r['inter_step_ms']} ms" for r in res["results"].values()]),
    ]
    for n in next(iter(res["results"].values()))["throughput"]:
        rows.append((f"steps/s, {n} runs sent at once", [str(r["throughput"][n]["steps_per_second"])
                                                         for r in res["results"].values()]))
    table = "\n".join(f"| {name} | " + " | ".join(values) + " |" for name, values in rows)
    ratio_rows = "\n".join(
        f"| {name} | {r['latency_x']}x | {r['inter_step_x']}x | "
        + ", ".join(f"{x}x at {n}" for n, x in r["throughput_x"].items()) + " |"
        for name, r in res["ours_vs"].items()
    )
    return f"""{DOC_SECTION}

`python bench/bench_executors.py`: the embedded executor (`inngest-serverless dev`, in memory) and the
real server's `inngest dev` (v1.43.0, built by scripts/install-hosts.d/40-inngest-server.sh), each in
its own process with its own copy of the same app (bench/bench_executor.py's {res["steps_per_run"]}-step
function on a threaded stdlib WSGI server). Times are taken at the app: from sending the event to the
final call's reply; between one reply and the next call of the run. Python {res["python"]},
{res["cores"]} cores shared by executor, app and other work (1-minute load average {res["load_average_1m"]}
at the end).

{head}
{table}

How much faster the embedded executor is (their time over ours; steps per second ours over theirs):

| against | event to completion | inter-step overhead | throughput |
| --- | ---: | ---: | --- |
{ratio_rows}

`inngest dev` polls its queue every tick (150 ms unless `--tick`), and each step of a run is a new
queue item, so a run's latency grows with its steps times the tick; the embedded executor hands the
next call to a waiting worker at once.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="under a minute; print JSON, write nothing")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    res = measure(args.smoke)
    sys.path.insert(0, str(Path(__file__).parent))
    from mdsection import report

    report(res, json_path=args.json, doc=None if args.smoke else ROOT / "docs" / "benchmarks.md",
           heading=DOC_SECTION, body=section(res))


if __name__ == "__main__":
    main()
