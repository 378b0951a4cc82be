"""A longer fuzz run of the embedded executor's HTTP API (the suite runs 150 requests; this, thousands).

    python bench/fuzz_executor_api.py                 # 10,000 requests; prints the figures
    python bench/fuzz_executor_api.py --requests 300  # a smoke run

Requests are drawn by ``tests/support/fuzz_executor_api.py`` (every route, shaped and hostile bodies,
lone surrogates, deep nesting, bad Content-Length, unknown methods) and sent over a socket to a
``DevServer``. Nothing is asserted while it runs: every reply is counted, so the figures show
how many 5xx (and malformed error bodies) a run met. docs/reliability.md holds the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import fuzz_executor_api as fuzz
from tests.support.dev_apps.harness import http_json


def run(count: int) -> dict[str, object]:
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    started = time.monotonic()
    with fuzz.target() as where:

        @settings(
            max_examples=count,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(st.data())
        def one_request(data: st.DataObject) -> None:
            request = data.draw(fuzz.requests(where.run_id))
            try:
                statuses[fuzz.check(where, request)] += 1
            except AssertionError as exc:  # counted, not raised: a bench reports, it does not stop
                statuses[fuzz.send(where, request)[0]] += 1
                problems.append(str(exc).splitlines()[0][:300])

        one_request()
        healthy = http_json("GET", f"{where.server.url}/health")[0] == 200
        time.sleep(1.0)  # the runs the fuzzed events started: none may fail inside the executor
        runs = where.server.executor.runs.list(100_000)
        internal = sum(1 for r in runs if (r.error or {}).get("name") == "InngestErrExecutor")
    return {
        "requests": sum(statuses.values()),
        "5xx": sum(n for s, n in statuses.items() if s >= 500),
        "broken_promises": len(problems),
        "first_problems": problems[:5],
        "statuses": dict(sorted(statuses.items())),
        "healthy_after": healthy,
        "runs": len(runs),
        "runs_failed_inside_the_executor": internal,
        "seconds": round(time.monotonic() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args()
    figures = run(args.requests)
    print(json.dumps(figures, indent=2))
    broken = figures["5xx"] or figures["broken_promises"] or figures["runs_failed_inside_the_executor"]
    sys.exit(1 if broken or not figures["healthy_after"] else 0)


if __name__ == "__main__":
    main()
