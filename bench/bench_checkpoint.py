"""Checkpointing: invocations and end-to-end time of a 10-step run, with and without it.

The embedded executor (inngest_serverless/dev) runs in this process; the app
is served by a threaded wsgiref server through the WSGI adapter, so every
invocation and every checkpoint is a real HTTP call. Three functions with the
same ten ``step.run``s: no checkpointing, ``checkpoint=True`` (each finished
step posted before the next starts) and ``Checkpoint(batch_steps=10)``
(posted together). For each run: the calls the executor made to the app, and
the time from sending the event to the executor marking the run finished
(observed by wrapping ``Executor.finalize``, so no polling is measured).

    python bench/bench_checkpoint.py                      # prints the table
    python bench/bench_checkpoint.py --write-docs docs/benchmarks.md
    python bench/bench_checkpoint.py --runs 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.mdsection import replace_section  # noqa: E402
from inngest_serverless import ContextSync, Inngest, TriggerEvent  # noqa: E402
from inngest_serverless.adapters.wsgi import LocalServer, wsgi_adapter  # noqa: E402
from inngest_serverless.core.checkpoint import Checkpoint  # noqa: E402
from inngest_serverless.dev.server import DevServer  # noqa: E402
from tests.support.dev_apps.harness import json_body  # noqa: E402

DOC_SECTION = "## Checkpointing"
TARGETS = {"invocations": 2, "speedup": 3.0}  # checkpointing's goals: at most 2 invocations, at least 3x faster
MODES: dict[str, Checkpoint | bool] = {"plain": False, "checkpointed": True, "batched": Checkpoint(batch_steps=10)}
LABELS = {"plain": "without checkpointing", "checkpointed": "`checkpoint=True` (post each step)",
          "batched": "`Checkpoint(batch_steps=10)`"}


def build_app(executor_url: str, steps: int) -> tuple[Callable[..., Iterable[bytes]], Counter[str]]:
    client = Inngest(app_id="bench-ck", is_production=False, api_base_url=executor_url,
                     event_api_base_url=executor_url)
    for mode, checkpoint in MODES.items():
        @client.create_function(fn_id=mode, trigger=TriggerEvent(event=f"bench/{mode}"), checkpoint=checkpoint,
                                retries=0)
        def fn(ctx: ContextSync) -> Any:
            total = 0
            for i in range(steps):
                total += ctx.step.run(f"step-{i}", lambda i=i: i)
            return total

    inngest = wsgi_adapter(client)
    calls: Counter[str] = Counter()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST":
            query = environ.get("QUERY_STRING", "")
            calls.update(mode for mode in MODES if f"fnId=bench-ck-{mode}&" in query + "&")
        return inngest(environ, start_response)

    return app, calls


class Finished:
    """Wraps the executor's ``Lifecycle.finalize`` to note when (perf_counter) and how each run ended."""

    def __init__(self, dev: DevServer) -> None:
        self.done = threading.Event()
        self.at = 0.0
        self.run_id = ""
        lifecycle = dev.executor.lifecycle
        original = lifecycle.finalize

        def finalize(run_id: str, status: str, **kwargs: Any) -> bool:
            changed = original(run_id, status, **kwargs)
            if changed:
                self.at, self.run_id = time.perf_counter(), run_id
                self.done.set()
            return changed

        lifecycle.finalize = finalize  # type: ignore[method-assign]


def one_run(dev: DevServer, finished: Finished, event: str) -> tuple[float, dict[str, Any]]:
    finished.done.clear()
    started = time.perf_counter()
    json_body("POST", f"{dev.url}/e/bench", {"name": event, "data": {}})
    if not finished.done.wait(60):
        raise RuntimeError(f"the run of {event} did not finish")
    run = json_body("GET", f"{dev.url}/dev/runs/{finished.run_id}")
    return finished.at - started, run


def measure(runs: int, steps: int) -> dict[str, Any]:
    dev = DevServer(port=0, db=":memory:", poll_interval=3600.0).start()
    finished = Finished(dev)
    app, calls = build_app(dev.url, steps)
    server = LocalServer(app).start()
    app_url = f"{server.url}/api/inngest"
    try:
        reply = urllib.request.urlopen(urllib.request.Request(app_url, method="PUT"), timeout=30)
        assert reply.status == 200, "the app did not sync with the executor"
        samples: dict[str, dict[str, list[Any]]] = {mode: {"times": [], "calls": [], "outcomes": []} for mode in MODES}
        for index in range(runs + 1):  # the first round warms up (imports, connections)
            for mode in MODES:  # interleaved, so that load drifts hit every mode alike
                calls.clear()
                elapsed, run = one_run(dev, finished, f"bench/{mode}")
                if index:
                    samples[mode]["times"].append(elapsed)
                    samples[mode]["calls"].append(calls[mode])
                    samples[mode]["outcomes"].append((run["status"], run["output"]))
        results: dict[str, Any] = {"steps": steps, "runs": runs}
        for mode, got in samples.items():
            results[mode] = {
                "times_ms": [round(t * 1000, 1) for t in got["times"]],
                "median_ms": round(statistics.median(got["times"]) * 1000, 1),
                "invocations": got["calls"],
                "outcomes": got["outcomes"],
            }
        for mode in ("checkpointed", "batched"):
            results[mode]["speedup"] = round(results["plain"]["median_ms"] / results[mode]["median_ms"], 2)
        return results
    finally:
        server.close()
        dev.stop()


def markdown(results: dict[str, Any]) -> str:
    steps = results["steps"]
    expected = steps * (steps - 1) // 2
    correct = all(o == ("Completed", expected) for mode in MODES for o in results[mode]["outcomes"])
    lines = [
        DOC_SECTION,
        "",
        f"`python bench/bench_checkpoint.py` — one run of {steps} consecutive `step.run`s (trivial bodies) on the",
        "embedded executor (in-process), the app behind a threaded wsgiref server through the WSGI adapter;",
        "time from sending the event to the executor marking the run finished. Median of "
        f"{results['runs']} runs per row, interleaved, after a warm-up; Python {platform.python_version()}, "
        f"{platform.platform()}, {os.cpu_count()} CPUs shared with other work.",
        "",
        "| | invocations | end to end (ms, median) | speed-up | runs (ms) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for mode in MODES:
        row = results[mode]
        speedup = f"{row['speedup']}x" if "speedup" in row else "1x"
        lines.append(f"| {LABELS[mode]} | {statistics.median(row['invocations']):g} | {row['median_ms']} | {speedup} | "
                     f"{', '.join(map(str, row['times_ms']))} |")
    ck = results["checkpointed"]
    plain_ms, ck_ms, batched_ms = (results[m]["median_ms"] for m in ("plain", "checkpointed", "batched"))
    invocation_ms = max(0.0, (plain_ms - batched_ms) / steps)
    post_ms = max(0.0, (ck_ms - batched_ms) / max(1, steps - 1))
    lines += [
        "",
        f"Targets: ≤ {TARGETS['invocations']} invocations — "
        f"{'met' if max(ck['invocations']) <= TARGETS['invocations'] else 'not met'} ({max(ck['invocations'])}); "
        f"≥ {TARGETS['speedup']:g}x faster — with a post per step "
        f"{'met' if ck['speedup'] >= TARGETS['speedup'] else 'not met'} ({ck['speedup']}x), batched "
        f"{'met' if results['batched']['speedup'] >= TARGETS['speedup'] else 'not met'} "
        f"({results['batched']['speedup']}x). Every run completed with the right result: {'yes' if correct else 'NO'}.",
        "",
        f"From these medians, one invocation costs about {invocation_ms:.1f} ms here and one post about "
        f"{post_ms:.1f} ms; posting every step bounds the speed-up by their ratio, so on a shared machine it moves",
        "around the 3x target with load (2.6x to 3.3x over the runs made while writing this); batching removes",
        "most posts.",
        "",
        "Without checkpointing each step costs a full executor round trip (queue, HTTP call to the app, replay",
        "of the steps so far). With it the steps run back to back in one call; the default posts each finished",
        "step to `/v1/checkpoint/{runID}/async` before the next one starts (one loopback HTTP call and one",
        "SQLite write each), and batching trades that durability for fewer posts. Here an invocation is only a",
        "loopback call; on a serverless host each one saved is also a billed request and possibly a cold start,",
        "and the executor's queue latency is larger, so the gain grows (docs/timeouts.md).",
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
