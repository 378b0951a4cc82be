"""Load through the real Inngest server: N runs of a 10-step function under self-hosted ``inngest start``
on PostgreSQL + Redis, all of which must complete (nothing lost), with throughput and where the time goes.

Processes: PostgreSQL (initdb in a temp dir, fsync on as in production), Redis (no persistence) and
``inngest start`` (built by scripts/install-hosts.d/40-inngest-server.sh), all on loopback ports,
started by tests/real_server/harness.py and stopped by PID. The app is our SDK in cloud mode (every
call signed and verified) behind the WSGI adapter, on a thread-per-request wsgiref server in this
process, so the time spent inside our handler can be measured around each call.

Two modes, each on a fresh server, database and Redis: ``plain`` (one call per step, the protocol's
default) and ``checkpointed`` (``checkpoint=Checkpoint()``: a call runs every step and posts each
to the server's checkpoint API).

Figures, per mode:
* throughput: runs/s and steps/s from the first event sent to the last run marked COMPLETED;
* the SDK's share: for every run, the time its calls spent inside our WSGI app (summed) beside
  the run's whole span (its event sent -> its last reply); the rest of the span is the server's
  (queueing, scheduling, state, HTTP). Also the mean handler time per call.
* nothing lost: every event's run is read back from the server (GraphQL ``runs``) as COMPLETED
  with the expected output, and each run's final call happened exactly once.

    python bench/bench_real_server.py                          # 1,000 runs per mode, prints the table
    python bench/bench_real_server.py --smoke                  # 20 runs per mode (the CI test)
    python bench/bench_real_server.py --modes plain            # one mode only
    python bench/bench_real_server.py --write-docs docs/compatibility.md --json out.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.mdsection import replace_section  # noqa: E402
from inngest_serverless import ContextSync, Inngest, TriggerEvent  # noqa: E402
from inngest_serverless.adapters.wsgi import LocalServer, wsgi_adapter  # noqa: E402
from inngest_serverless.core.checkpoint import Checkpoint  # noqa: E402
from tests.real_server import harness  # noqa: E402
from tests.support.aws_harness import free_port  # noqa: E402

DOC_SECTION = "## Load"
DOC_TITLE = "# Compatibility with the real Inngest server\n"
APP_ID = "bench-load"
EVENT = "bench/load"
FN_ID = "load"
SEND_BATCH = 100  # events per POST /e/{key}
MODES = {False: "plain", True: "checkpointed"}
LABELS = {"plain": "without checkpointing", "checkpointed": "`checkpoint=Checkpoint()`"}


_ACTIVE: list[Recorder] = []  # the recorder the timed CheckpointPoster.post credits (one bench at a time)


class Recorder:
    """Times each call inside our WSGI app and files it under its run; with checkpointing, also the
    part of it spent waiting for the server's checkpoint API (``CheckpointPoster.post``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts_s = 0.0
        self.posts = 0
        self._time_posts()
        self.calls: dict[str, list[tuple[float, float]]] = defaultdict(list)  # run ID -> (start, end) per call
        self.finished: dict[str, int] = defaultdict(int)  # run ID -> final (200) replies

    def _time_posts(self) -> None:
        from inngest_serverless.core.inngest_api import CheckpointPoster

        _ACTIVE[:] = [self]
        post = CheckpointPoster.post
        if getattr(post, "_bench_timed", False):
            return

        def timed_post(poster: CheckpointPoster, ops: Any, timeout: float) -> bool:
            began = time.perf_counter()
            try:
                return post(poster, ops, timeout)
            finally:
                spent, recorder = time.perf_counter() - began, _ACTIVE[0]
                with recorder.lock:
                    recorder.posts_s += spent
                    recorder.posts += 1

        timed_post._bench_timed = True  # type: ignore[attr-defined]
        CheckpointPoster.post = timed_post  # type: ignore[method-assign]

    def wrap(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def timed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            # Read the body first (outside the timing) to know the run; hand the app the same bytes.
            import io

            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(raw)
            status: list[str] = []

            def keep(line: str, headers: Any, *exc: Any) -> Any:
                status.append(line)
                return start_response(line, headers, *exc)

            began = time.perf_counter()
            body = list(app(environ, keep))
            ended = time.perf_counter()
            run_id = ""
            if environ["REQUEST_METHOD"] == "POST" and raw:
                run_id = str(json.loads(raw).get("ctx", {}).get("run_id", ""))
            with self.lock:
                if run_id:
                    self.calls[run_id].append((began, ended))
                    if status and status[0].startswith("200"):
                        self.finished[run_id] += 1
            return body

        return timed


def build_client(server_url: str, steps: int, checkpoint: bool) -> Inngest:
    client = Inngest(app_id=APP_ID, is_production=True, signing_key=f"signkey-test-{harness.SIGNING_KEY_HEX}",
                     event_key=harness.EVENT_KEY, api_base_url=server_url, event_api_base_url=server_url,
                     streaming="off")

    @client.create_function(fn_id=FN_ID, trigger=TriggerEvent(event=EVENT), retries=0,
                            checkpoint=Checkpoint() if checkpoint else None)
    def load(ctx: ContextSync) -> dict[str, Any]:
        total = 0
        for i in range(steps):
            total = ctx.step.run(f"step-{i}", lambda i=i, total=total: total + i)
        return {"n": ctx.event.data["n"], "total": total}

    return client


def count_completed(server: harness.InngestServer, since: str) -> int:
    data = server.gql("query($from:Time!){ runs(first:1, orderBy:[{field:QUEUED_AT,direction:ASC}], "
                      "filter:{from:$from, status:[COMPLETED]}) { totalCount } }", {"from": since})
    return int(data["runs"]["totalCount"])


def read_runs(server: harness.InngestServer, since: str) -> list[dict[str, Any]]:
    """Every run queued since ``since``: ID, status and the event that started it."""
    out: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        data = server.gql(
            "query($from:Time!, $after:String){ runs(first:200, after:$after, "
            "orderBy:[{field:QUEUED_AT,direction:ASC}], filter:{from:$from}) { "
            "edges { node { id status triggerIDs } } pageInfo { hasNextPage endCursor } } }",
            {"from": since, "after": after})["runs"]
        out += [edge["node"] for edge in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return out
        after = data["pageInfo"]["endCursor"]


def error_lines(log: str) -> dict[str, int]:
    """The server's ERROR log lines (JSON, one a line), counted by message and error."""
    counts: dict[str, int] = defaultdict(int)
    for line in log.splitlines():
        if '"level":"ERROR"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            counts[line[:120]] += 1
            continue
        counts[f"{entry.get('msg')}: {entry.get('error')}"] += 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def bench(n: int, steps: int, tick: int | None, timeout: float, checkpoint: bool) -> dict[str, Any]:
    durable = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
    recorder = Recorder()
    port = free_port()  # the app must know the server's URL before the server syncs the app's
    client = build_client(f"http://127.0.0.1:{port}", steps, checkpoint)
    with harness.postgres(settings=durable) as pg, harness.redis() as redis, \
            LocalServer(recorder.wrap(wsgi_adapter(client))).start() as local:
        uri = harness.create_database(pg, "bench")
        # --sdk-url: the server syncs the app with a signed PUT, which cloud mode requires.
        with harness.inngest_start(port=port, postgres_uri=uri, redis_uri=redis.uri, tick=tick, retry_interval=1,
                                   sdk_urls=[local.url + local.path]) as server:
            server.wait_for_app(APP_ID, functions=1, timeout=60)
            since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)).isoformat()
            sent_at: dict[str, float] = {}
            started = time.perf_counter()
            for first in range(0, n, SEND_BATCH):
                batch = [{"name": EVENT, "data": {"n": i}} for i in range(first, min(n, first + SEND_BATCH))]
                now = time.perf_counter()
                for event_id in server.send(batch):
                    sent_at[event_id] = now
            deadline = started + timeout
            done = 0
            while time.perf_counter() < deadline:
                done = count_completed(server, since)
                if done >= n:
                    break
                time.sleep(0.5)
            # The last run's final reply, as the app saw it (the polling above only decides when to stop).
            last = max((calls[-1][1] for calls in recorder.calls.values() if calls), default=time.perf_counter())
            wall = (last if done >= n else time.perf_counter()) - started
            runs = read_runs(server, since)
            server_errors = error_lines(server.log_path.read_text(errors="replace"))
            # The runs list carries no output; read each run's own (functionRun) to check it.
            for run in runs:
                one = server.run(str(run["id"])) or {}
                run["output"], run["status"] = one.get("output"), one.get("status", run["status"])
    res = summarize(n, steps, tick, wall, done, runs, sent_at, recorder)
    res["server_errors"] = server_errors
    res["mode"] = MODES[checkpoint]
    return res


def summarize(n: int, steps: int, tick: int | None, wall: float, done: int, runs: list[dict[str, Any]],
              sent_at: dict[str, float], recorder: Recorder) -> dict[str, Any]:
    expected_total = sum(range(steps))
    by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        for event_id in run.get("triggerIDs") or []:
            by_event[event_id].append(run)
    lost = [e for e in sent_at if len(by_event.get(e, [])) != 1]
    bad = []
    for event_id, (run,) in ((e, r) for e, r in by_event.items() if len(r) == 1 and e in sent_at):
        output = run.get("output")
        if run["status"] != harness.COMPLETED or not isinstance(output, dict) or output.get("total") != expected_total:
            bad.append((event_id, run["status"], output))
    durations = [end - start for calls in recorder.calls.values() for start, end in calls]
    n_calls = len(durations)
    finals_once = sum(1 for run in runs if recorder.finished.get(run["id"]) == 1)
    sdk_s, span_s = 0.0, 0.0
    for run in runs:
        calls = recorder.calls.get(run["id"], [])
        event_id = (run.get("triggerIDs") or [""])[0]
        if not calls or event_id not in sent_at:
            continue
        sdk_s += sum(end - start for start, end in calls)
        span_s += max(end for _, end in calls) - sent_at[event_id]
    return {
        "runs": n, "steps_per_run": steps, "tick_ms": tick, "completed": done, "read_back": len(runs),
        "lost_or_duplicated": len(lost), "wrong_output_or_status": len(bad), "final_call_once": finals_once,
        "wall_s": round(wall, 2), "runs_per_s": round(done / wall, 1), "steps_per_s": round(done * steps / wall, 1),
        "calls": n_calls, "calls_per_run": round(n_calls / max(1, n), 2),
        "handler_ms_per_call": round(1000 * statistics.fmean(durations or [0.0]), 3),
        "handler_ms_per_call_median": round(1000 * statistics.median(durations or [0.0]), 3),
        "sdk_share": round(sdk_s / span_s, 6) if span_s else None,
        "sdk_share_less_posts": round((sdk_s - recorder.posts_s) / span_s, 6) if span_s else None,
        "checkpoint_posts": recorder.posts,
        "checkpoint_post_ms": round(1000 * recorder.posts_s / recorder.posts, 3) if recorder.posts else None,
        "handler_ms_per_call_less_posts": round(1000 * (sum(durations) - recorder.posts_s) / max(1, n_calls), 3),
        "handler_s_total": round(sum(durations), 2), "handler_share_of_wall": round(sum(durations) / wall, 4),
        "mean_run_span_s": round(span_s / max(1, len(runs)), 2),
        "examples_bad": bad[:3], "examples_lost": lost[:3],
    }


def markdown(results: list[dict[str, Any]]) -> str:
    """One column per mode (each a fresh server, database and Redis)."""
    first = results[0]

    def row(label: str, cell: Callable[[dict[str, Any]], str]) -> str:
        return f"| {label} | " + " | ".join(cell(r) for r in results) + " |"

    def share(r: dict[str, Any]) -> str:
        return "n/a" if r["sdk_share"] is None else f"{100 * r['sdk_share']:.3f} %"

    def errors(r: dict[str, Any]) -> str:
        def short(msg: str) -> str:  # the first line, without the queue item the server dumps in it
            line = msg.splitlines()[0].rstrip(":")
            return line if len(line) <= 90 else line[:87] + "..."

        return ", ".join(f"{count:,}: `{short(msg)}`" for msg, count in r.get("server_errors", {}).items()) or "none"

    queue_errors = [r["mode"] for r in results if any("queue" in m for m in r.get("server_errors", {}))]
    queue_note = (f" The server's queue errors ({', '.join(LABELS[m] for m in queue_errors)}) came with every run "
                  "completed once, as counted above." if queue_errors else "")
    return "\n".join([
        DOC_SECTION, "",
        f"`bench/bench_real_server.py`: {first['runs']:,} runs of a {first['steps_per_run']}-step function through "
        f"self-hosted `inngest start` ({harness.VERSION}) on PostgreSQL (fsync on) + Redis, the app in cloud mode "
        "(every call signed) behind the WSGI adapter on a thread-per-request wsgiref server; server flags "
        f"`--tick {first['tick_ms'] or 150}`, 100 queue workers (the default). Each column is a fresh server, "
        f"database and Redis. Python {platform.python_version()}, {os.cpu_count()} CPUs shared with other work "
        "(server, database, Redis and app on one machine).",
        "",
        "| figure | " + " | ".join(LABELS[r["mode"]] for r in results) + " |",
        "| --- |" + " --- |" * len(results),
        row("runs completed / sent", lambda r: f"{r['completed']:,} / {r['runs']:,}"),
        row("runs lost or duplicated, wrong output", lambda r: f"{r['lost_or_duplicated']}, {r['wrong_output_or_status']}"),
        row("wall time, first event sent to the last run's final reply", lambda r: f"{r['wall_s']} s"),
        row("throughput", lambda r: f"{r['runs_per_s']} runs/s, {r['steps_per_s']} steps/s"),
        row("calls to the app", lambda r: f"{r['calls']:,} ({r['calls_per_run']} per run)"),
        row("time inside our handler per call",
            lambda r: f"mean {r['handler_ms_per_call']} ms, median {r['handler_ms_per_call_median']} ms"),
        row("of which waiting for the server's checkpoint API", lambda r: (
            f"{r['checkpoint_posts']:,} posts, mean {r['checkpoint_post_ms']} ms each; the rest: mean "
            f"{r['handler_ms_per_call_less_posts']} ms per call") if r["checkpoint_posts"] else "none"),
        row("a run's span, event sent to its last reply", lambda r: f"mean {r['mean_run_span_s']} s"),
        row("SDK's share of the runs' spans", share),
        row("the same, less the checkpoint posts (the SDK's own work)",
            lambda r: "n/a" if r["sdk_share_less_posts"] is None else f"{100 * r['sdk_share_less_posts']:.3f} %"),
        row("time inside our handler, all calls summed",
            lambda r: f"{r['handler_s_total']} s ({100 * r['handler_share_of_wall']:.1f} % of the wall time)"),
        row("the server's ERROR log lines", errors),
        "",
        "The SDK's share is the time the runs' calls spent inside our WSGI app, summed, over the "
        "runs' spans summed; the rest is the server's queueing, scheduling, state and HTTP. All "
        "runs are sent at once, so a run's span is mostly waiting in the server's queue; the summed "
        "handler time beside the wall time says how busy the SDK kept one core. With checkpointing "
        "a call runs all ten steps and posts each to the server's checkpoint API, so it is longer "
        "and there are fewer. The server's ERROR lines, when there are any, come from its own "
        "tracing: it exports its spans over HTTP to itself (`/dev/traces`) and writes them to the "
        "database within that request, which its exporter gives up on under load (`context "
        "canceled`). Runs are not affected: every run still completes, and is listed and read "
        "back, as counted above; some of their trace spans may be missing from the UI. Handler "
        "time summed beyond 100 % of the wall time means calls in parallel (a checkpointed call "
        "lasts the whole run)." + queue_note,
    ]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--tick", type=int, default=None, help="server --tick in ms (default: the server's 150)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for every run")
    parser.add_argument("--smoke", action="store_true", help="20 runs: that it works, not how fast")
    parser.add_argument("--modes", default="plain,checkpointed",
                        help="plain (one call per step), checkpointed (Checkpoint()), or both, comma-separated")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--write-docs", type=Path)
    args = parser.parse_args()
    n = 20 if args.smoke else args.runs
    results = [bench(n, args.steps, args.tick, args.timeout, checkpoint) for checkpoint in (False, True)
               if MODES[checkpoint] in args.modes.split(",")]
    text = markdown(results)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({r["mode"]: r for r in results}, indent=2))
    if args.write_docs:
        replace_section(args.write_docs, DOC_SECTION, text, title=DOC_TITLE)
    for res in results:
        if res["completed"] != n or res["lost_or_duplicated"] or res["wrong_output_or_status"]:
            print(f"not every run completed as it should: {json.dumps(res)}", file=sys.stderr)
            sys.exit(1)

if __name__ == "__main__":
    main()
