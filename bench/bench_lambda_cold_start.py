"""Lambda cold start: our adapter beside inngest-py's recommended Lambda route, in one run.

Each candidate runs in fresh interpreters (``python -S``, as bench_core.py does):
import, client, the same 3 functions, the Lambda handler, then the first
invocation with an API Gateway HTTP API (payload 2.0) event carrying a real
call (``fnId=bench-steps``, one ``step.run`` executed and reported: 206).

* ours: ``lambda_adapter(client)`` from ``inngest_serverless.adapters.aws_lambda``;
* inngest-py 0.5.19 + FastAPI + Mangum: ``inngest.fast_api.serve(app, ...)``
  wrapped in ``Mangum(app)``, the route the official SDK documents for Lambda.

Ours is measured twice more: with the ``site`` module imported, as the Lambda runtime's
interpreter does (``python`` without ``-S``), and as CPU time, which a machine that others are
loading distorts less than the wall clock. The goal for ours: at most 20 ms above a bare
interpreter. Part of that is a floor the package cannot lower by importing less: the standard
library modules the first reply needs (``typing``, ``json``, ``urllib.parse``; its classes are
plain classes, so neither ``dataclasses`` nor ``inspect`` is among them), measured as imports below.

It also measures what importing the candidate translation libraries would add
to our cold start (Mangum, Powertools' event handler and event classes, and
Powertools Parameters + boto3, which the adapter imports only when keys come
from Secrets Manager / SSM): fresh ``python -S -c "import X"`` minus a bare one.

    python bench/bench_lambda_cold_start.py
    python bench/bench_lambda_cold_start.py --write-docs docs/benchmarks.md
    python bench/bench_lambda_cold_start.py --smoke --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import _FUNCTIONS, _RSS, _bare_program, _spawn, call_body
from mdsection import replace_section

ROOT = Path(__file__).resolve().parent.parent
DOC_SECTION = "## Lambda cold start"
CANDIDATES = ("ours", "core-only", "inngest-py+fastapi+mangum")


def http_api_event() -> dict[str, Any]:
    """A payload 2.0 event for the first call, as API Gateway would send it."""
    return {
        "version": "2.0", "routeKey": "ANY /api/inngest", "rawPath": "/api/inngest",
        "rawQueryString": "fnId=bench-steps&stepId=step",
        "headers": {"content-type": "application/json", "host": "abc123.execute-api.us-east-1.amazonaws.com",
                    "x-forwarded-proto": "https"},
        "queryStringParameters": {"fnId": "bench-steps", "stepId": "step"},
        "requestContext": {"accountId": "123456789012", "apiId": "abc123",
                           "domainName": "abc123.execute-api.us-east-1.amazonaws.com", "domainPrefix": "abc123",
                           "http": {"method": "POST", "path": "/api/inngest", "protocol": "HTTP/1.1",
                                    "sourceIp": "203.0.113.1", "userAgent": "inngest"},
                           "requestId": "bench", "routeKey": "ANY /api/inngest", "stage": "$default",
                           "time": "27/Nov/2026:10:00:00 +0000", "timeEpoch": 1795773600000},
        "body": call_body(1, {}).decode(), "isBase64Encoded": False,
    }


_SETUP = {
    "ours": (
        "import inngest_serverless as sdk\nfrom inngest_serverless.adapters.aws_lambda import lambda_adapter",
        "handler = lambda_adapter(client)",
    ),
    # The same call straight into core's Handler: what the adapter itself adds is the difference.
    "core-only": (
        "import inngest_serverless as sdk",
        "_core = sdk.Handler(client)\n"
        "def handler(event, context):\n"
        "    url = 'https://' + event['headers']['host'] + event['rawPath'] + '?' + event['rawQueryString']\n"
        "    reply = _core.handle(sdk.Request.build('POST', url, event['headers'], event['body']))\n"
        "    return {'statusCode': reply.status}",
    ),
    "inngest-py+fastapi+mangum": (
        "import inngest as sdk\nimport inngest.fast_api\nimport fastapi\nfrom mangum import Mangum",
        "app = fastapi.FastAPI()\ninngest.fast_api.serve(app, client, [steps, hello, nap])\n"
        "handler = Mangum(app, lifespan='off')",
    ),
}


def cold_program(name: str) -> str:
    imports, adapter = _SETUP[name]
    return "\n".join([
        imports, _RSS, "_after_import = _rss_mib()",
        'client = sdk.Inngest(app_id="bench", is_production=False)', _FUNCTIONS, adapter,
        f"_reply = handler({http_api_event()!r}, None)",
        "assert _reply['statusCode'] == 206, _reply",
        "import time as _time",
        "print(repr((_time.monotonic(), _after_import, _rss_mib('VmHWM'))))",
    ])


# What each library would cost at import; ours is the adapter module beyond the package itself.
FLOOR = "standard library the first reply needs (typing, json, urllib.parse)"
IMPORTS = {
    FLOOR: "import typing, json, urllib.parse",
    "inngest_serverless (the package)": "import inngest_serverless",
    "inngest_serverless.adapters.aws_lambda": "import inngest_serverless.adapters.aws_lambda",
    "mangum": "import mangum",
    "aws_lambda_powertools.utilities.data_classes": "import aws_lambda_powertools.utilities.data_classes",
    "aws_lambda_powertools.event_handler": "import aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.parameters (+ boto3)": (
        "import aws_lambda_powertools.utilities.parameters, boto3"),
}


def import_program(statement: str) -> str:
    return "\n".join([_RSS, statement, "import time as _time",
                      "print(repr((_time.monotonic(), _rss_mib(), _rss_mib('VmHWM'))))"])


def measure(smoke: bool) -> dict[str, Any]:
    runs = 1 if smoke else 9
    programs = {name: cold_program(name) for name in CANDIDATES}
    programs["python"] = _bare_program()
    imports = {label: stmt for label, stmt in IMPORTS.items() if not smoke or label == "mangum"}
    programs.update({f"import {label}": import_program(stmt) for label, stmt in imports.items()})
    # With site, as the Lambda runtime starts Python: ours and the bare interpreter.
    with_site = {f"{name} (site)": programs[name] for name in ("ours", "python")}
    spawns = {**{name: (program, False) for name, program in programs.items()},
              **{name: (program, True) for name, program in with_site.items()}}
    for program, site in spawns.values():  # warm-up: page cache, .pyc files
        _spawn(program, site=site)
    samples: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in spawns}
    for _ in range(runs):
        for name, (program, site) in spawns.items():  # interleaved, so drifting load hits all alike
            samples[name].append(_spawn(program, site=site))
    cold = {name: {"ms": statistics.median(s[0] for s in samples[name]),
                   "ms_min": min(s[0] for s in samples[name]),
                   "cpu_ms": statistics.median(s[1] for s in samples[name]),
                   "rss_peak_mib": statistics.median(s[3] for s in samples[name])}
            for name in (*CANDIDATES, "python", *with_site)}

    def above_bare(name: str, bare_name: str, field: int) -> float:
        """Each round's figure less the same round's bare interpreter, then the median."""
        return statistics.median(a[field] - b[field] for a, b in zip(samples[name], samples[bare_name], strict=True))

    ours = {"ms": above_bare("ours", "python", 0), "cpu_ms": above_bare("ours", "python", 1),
            "site_ms": above_bare("ours (site)", "python (site)", 0),
            "site_cpu_ms": above_bare("ours (site)", "python (site)", 1)}
    bare = samples["python"]
    # Each round's import time less the same round's bare interpreter, then the median.
    import_ms = {}
    for label in imports:
        deltas = [a[0] - b[0] for a, b in zip(samples[f"import {label}"], bare, strict=True)]
        import_ms[label] = max(statistics.median(deltas), 0.0)
    return {"cold": cold, "ours_above_bare": ours, "imports": import_ms, "runs": runs,
            "machine": {"python": platform.python_version(), "platform": platform.platform()}}


def section(res: dict[str, Any]) -> str:
    cold, imports, m, above = res["cold"], res["imports"], res["machine"], res["ours_above_bare"]
    ours, theirs = cold["ours"], cold["inngest-py+fastapi+mangum"]
    lines = [
        DOC_SECTION, "",
        "`python bench/bench_lambda_cold_start.py` — fresh `python -S` processes: import, client, the same 3",
        "functions, the Lambda handler, then the first invocation with an HTTP API (payload 2.0) event that runs",
        f"one step (206). Median of {res['runs']} runs, interleaved; Python {m['python']}, {m['platform']}.",
        f"A bare interpreter takes {cold['python']['ms']:.0f} ms (with site: {cold['python (site)']['ms']:.0f} ms).", "",
        "| route | cold start to first reply (ms) | min (ms) | peak RSS (MiB) |",
        "| --- | ---: | ---: | ---: |",
        f"| `lambda_adapter(client)` | {ours['ms']:.0f} | {ours['ms_min']:.0f} | {ours['rss_peak_mib']:.1f} |",
        f"| core `Handler` alone, no adapter (for scale) | {cold['core-only']['ms']:.0f} | "
        f"{cold['core-only']['ms_min']:.0f} | {cold['core-only']['rss_peak_mib']:.1f} |",
        f"| inngest-py + FastAPI + Mangum | {theirs['ms']:.0f} | {theirs['ms_min']:.0f} | "
        f"{theirs['rss_peak_mib']:.1f} |",
        f"| ratio (ours / theirs) | {ours['ms'] / theirs['ms']:.2f} | {ours['ms_min'] / theirs['ms_min']:.2f} | "
        f"{ours['rss_peak_mib'] / theirs['rss_peak_mib']:.2f} |",
        "",
        "Without the interpreter's own start-up: ours "
        f"{ours['ms'] - cold['python']['ms']:.0f} ms, theirs {theirs['ms'] - cold['python']['ms']:.0f} ms "
        f"(ratio {(ours['ms'] - cold['python']['ms']) / (theirs['ms'] - cold['python']['ms']):.2f}).", "",
        "Ours above a bare interpreter (each round less the same round's bare interpreter, then the median;",
        "goal: at most 20 ms on a quiet machine):", "",
        "| interpreter | wall (ms) | CPU (ms) |", "| --- | ---: | ---: |",
        f"| `python -S` | {above['ms']:.0f} | {above['cpu_ms']:.0f} |",
        f"| `python` (site imported, as the Lambda runtime does) | {above['site_ms']:.0f} | {above['site_cpu_ms']:.0f} |",
        "",
        "Import cost above a bare interpreter (ms, median of fresh processes), the numbers behind translating",
        "Lambda events ourselves rather than through Mangum or Powertools (docs/deploy-lambda.md), and the",
        "floor of ours (the first row):", "",
        "| import | ms |", "| --- | ---: |",
        *[f"| `{label}` | {ms:.0f} |" for label, ms in imports.items()],
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="one run each (for CI)")
    parser.add_argument("--json", type=Path, help="write the raw results here")
    parser.add_argument("--write-docs", type=Path, help="update the Lambda section of this Markdown file")
    args = parser.parse_args(argv)
    res = measure(args.smoke)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    if args.write_docs:
        replace_section(args.write_docs, DOC_SECTION, section(res))
    print(section(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
