"""Core SDK vs inngest-py, side by side, in one run.

Measures, for both SDKs, each in fresh processes of its own:

(a) cold start: process start -> first response (import, client, 3 functions,
    handler, one call), median of several fresh processes;
(b) per-call time of a call replaying N = 1, 10, 100, 1000 memoized steps;
(c) whole-run SDK time for N = 100 and 1000 sequential ``step.run`` steps: the
    sum of every call the executor makes (discovery + replay) to finish the run;
(d) RSS after ``import`` (VmRSS of a fresh process), and peak RSS after the first call.

Ours is driven through ``Handler.handle(Request)``; inngest-py through its comm
handler (``CommHandler.post_sync``, the layer all its framework integrations call),
so neither side pays for a web framework. Both in dev mode (no signatures).

    python bench/bench_core.py                  # full run, prints the table
    python bench/bench_core.py --write-docs docs/benchmarks.md
    python bench/bench_core.py --smoke --json out.json   # seconds; used by a CI test
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SDKS = ("ours", "inngest-py")
DOC_SECTION = "## Core SDK vs inngest-py"
# Targets of issue 2 (inngest-py 0.5.19 measured at 279 ms, 32.6 ms at N=1000, 13.7 s, 36.8 MiB).
TARGETS = {"cold": 1 / 5, "call_1000": 1 / 10, "run_1000": 1 / 20, "rss_mib": 15.0}

# -- the app each SDK serves: the same three functions, spelled with each SDK's import --------

_FUNCTIONS = '''
def work(i: int) -> dict:
    return {"i": i, "ok": True}

@client.create_function(fn_id="steps", trigger=sdk.TriggerEvent(event="bench/run"))
def steps(ctx) -> object:
    out = None
    for i in range(ctx.event.data["n"]):
        out = ctx.step.run(f"step-{i}", work, i)
    return out

@client.create_function(fn_id="hello", trigger=sdk.TriggerEvent(event="bench/hello"))
def hello(ctx) -> str:
    return "hello " + ctx.event.data.get("who", "world")

@client.create_function(fn_id="nap", trigger=sdk.TriggerEvent(event="bench/nap"))
def nap(ctx) -> str:
    ctx.step.sleep("nap", 60_000)
    return ctx.step.run("after", lambda: "awake")
'''

_RSS = '''
def _rss_mib(field="VmRSS"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0
'''

SETUP = {
    "ours": {
        "import": "import inngest_serverless as sdk",
        "app": '''
client = sdk.Inngest(app_id="bench", is_production=False)
''' + _FUNCTIONS + '''
handler = sdk.Handler(client)
_HEADERS = {"content-type": "application/json"}

def call(fn_id, body, step="step"):
    url = "http://127.0.0.1:3000/api/inngest?fnId=bench-" + fn_id + "&stepId=" + step
    res = handler.handle(sdk.Request.build("POST", url, _HEADERS, body))
    return res.status, res.read()
''',
    },
    "inngest-py": {
        "import": "import inngest as sdk\nfrom inngest._internal import comm_lib, server_lib",
        "app": '''
client = sdk.Inngest(app_id="bench", is_production=False)
''' + _FUNCTIONS + '''
handler = comm_lib.CommHandler(client=client, enable_unauthed_sync=None, framework=server_lib.Framework.FLASK,
                               functions=[steps, hello, nap], streaming=None)
_HEADERS = {"content-type": "application/json"}

def call(fn_id, body, step="step"):
    req = comm_lib.CommRequest(body=body, headers=dict(_HEADERS), public_path=None,
                               query_params={"fnId": "bench-" + fn_id, "stepId": step}, raw_request=None,
                               request_url="http://127.0.0.1:3000/api/inngest", serve_origin=None, serve_path=None)
    res = handler.post_sync(req)
    return res.status_code, res.body_bytes()
''',
    },
}


def hashed(step_id: str) -> str:
    return hashlib.sha1(step_id.encode()).hexdigest()


def call_body(n: int, steps: dict[str, Any]) -> bytes:
    event = {"name": "bench/run", "data": {"n": n}, "id": "evt-bench", "ts": 1700000000000, "user": {}}
    ctx = {"fn_id": "00000000-0000-0000-0000-00000000b3c4", "run_id": "01BENCHRUN", "env": "", "step_id": "step",
           "attempt": 0, "max_attempts": 4, "stack": {"stack": list(steps), "current": len(steps)},
           "disable_immediate_execution": False, "use_api": False}
    return json.dumps({"event": event, "events": [event], "steps": steps, "ctx": ctx, "version": 2,
                       "use_api": False}).encode()


def memo_of(n: int) -> dict[str, Any]:
    return {hashed(f"step-{i}"): {"data": {"i": i, "ok": True}} for i in range(n)}


# -- (a) and (d): fresh processes ----------------------------------------------------------------


def _cold_program(sdk: str) -> str:
    body = call_body(1, {})
    return "\n".join([
        SETUP[sdk]["import"],
        _RSS,
        "_after_import = _rss_mib()",
        SETUP[sdk]["app"],
        f"_status, _ = call('steps', {body!r})",
        "assert _status == 206, _status",
        "import time as _time",
        "_done = _time.monotonic()",
        "print(repr((_done, _after_import, _rss_mib('VmHWM'))))",
    ])


def _bare_program() -> str:
    return _RSS + "\nimport time as _time\nprint(repr((_time.monotonic(), _rss_mib(), _rss_mib('VmHWM'))))"


def _child_env() -> dict[str, str]:
    """PYTHONPATH for ``python -S`` children: the checkout, then the installed packages."""
    paths = sysconfig.get_paths()
    extra = [str(ROOT), paths["purelib"], paths["platlib"], os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in dict.fromkeys(extra) if p)}


def _spawn(program: str) -> tuple[float, float, float]:
    # -S: no site module, so no .pth start-up hooks; a machine's own hooks (this one has one that
    # imports certifi at every start) would otherwise land on both SDKs' figures alike.
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-S", "-c", program], capture_output=True, text=True, env=_child_env(),
                         cwd=ROOT, timeout=120, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{out.stderr[-2000:]}")
    done, rss_import, rss_peak = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    return (done - start) * 1000, rss_import, rss_peak


def cold_starts(runs: int) -> dict[str, dict[str, float]]:
    """Median ms from spawning a fresh interpreter to the first response, and RSS in MiB."""
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in (*SDKS, "python")}
    programs = {sdk: _cold_program(sdk) for sdk in SDKS}
    programs["python"] = _bare_program()
    for name in samples:  # one warm-up each (page cache, .pyc files)
        _spawn(programs[name])
    for _ in range(runs):
        for name in samples:  # interleaved, so drifting machine load hits both alike
            samples[name].append(_spawn(programs[name]))
    return {
        name: {
            "cold_ms": statistics.median(s[0] for s in rows),
            "cold_ms_min": min(s[0] for s in rows),
            "rss_import_mib": statistics.median(s[1] for s in rows),
            "rss_peak_mib": statistics.median(s[2] for s in rows),
        }
        for name, rows in samples.items()
    }


# -- (b) and (c): in one fresh process per SDK ---------------------------------------------------


def worker(sdk: str, ns: list[int], calls: int, runs: list[int], run_repeats: int) -> dict[str, Any]:
    """Runs inside the child: per-call times and whole-run times for one SDK."""
    space: dict[str, Any] = {}
    exec(SETUP[sdk]["import"] + "\n" + SETUP[sdk]["app"], space)  # the benchmark's own app, as the child runs it
    call = space["call"]
    per_call: dict[str, float] = {}
    for n in ns:
        body = call_body(n, memo_of(n))
        for _ in range(2):  # warm-up
            status, _ = call("steps", body)
            assert status == 200, (sdk, n, status)
        times = []
        for _ in range(calls if n < 1000 else max(3, calls // 2)):
            t0 = time.perf_counter()
            call("steps", body)
            times.append(time.perf_counter() - t0)
        per_call[str(n)] = statistics.median(times) * 1000
    whole: dict[str, float] = {}
    for n in runs:
        totals = []
        for _ in range(run_repeats):
            steps: dict[str, Any] = {}
            total, made = 0.0, 0
            while True:
                body = call_body(n, steps)
                t0 = time.perf_counter()
                status, raw = call("steps", body)
                total += time.perf_counter() - t0
                made += 1
                if status == 200:
                    break
                assert status == 206, (sdk, n, status, raw[:200])
                for op in json.loads(raw):
                    assert op["op"] == "StepRun", op
                    steps[op["id"]] = {"data": op.get("data")}
            assert made == n + 1, (sdk, n, made)
            totals.append(total)
        whole[str(n)] = statistics.median(totals) * 1000
    return {"per_call_ms": per_call, "whole_run_ms": whole}


def in_process(sdk: str, ns: list[int], calls: int, runs: list[int], run_repeats: int) -> dict[str, Any]:
    args = [sys.executable, str(Path(__file__).resolve()), "--worker", sdk, "--ns", ",".join(map(str, ns)),
            "--calls", str(calls), "--runs", ",".join(map(str, runs)), "--run-repeats", str(run_repeats)]
    out = subprocess.run(args, capture_output=True, text=True, env=_child_env(), cwd=ROOT, timeout=1800, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark worker for {sdk} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- report ----------------------------------------------------------------------------------------


def measure(smoke: bool) -> dict[str, Any]:
    ns = [1, 10, 100] if smoke else [1, 10, 100, 1000]
    runs = [10, 100] if smoke else [100, 1000]
    plan = {"cold_runs": 2 if smoke else 9, "calls": 3 if smoke else 21, "run_repeats": 1 if smoke else 3}
    cold = cold_starts(plan["cold_runs"])
    per_sdk = {sdk: in_process(sdk, ns, plan["calls"], runs, plan["run_repeats"]) for sdk in SDKS}
    return {
        "smoke": smoke,
        "plan": plan,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_before": os.getloadavg()[0], "load_after": None},
        "versions": _versions(),
        "cold": cold,
        "per_call_ms": {sdk: per_sdk[sdk]["per_call_ms"] for sdk in SDKS},
        "whole_run_ms": {sdk: per_sdk[sdk]["whole_run_ms"] for sdk in SDKS},
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {"ours": version("inngest-serverless"), "inngest-py": version("inngest")}


def rows(res: dict[str, Any]) -> list[tuple[str, float, float, str, str]]:
    """(metric, ours, inngest-py, ratio text, target text)."""
    out: list[tuple[str, float, float, str, str]] = []

    def add(label: str, ours: float, theirs: float, target: float | None, unit: str) -> None:
        ratio = ours / theirs if theirs else float("nan")
        tgt = ""
        if target is not None:
            tgt = f"<= 1/{round(1 / target)}: {'met' if ratio <= target else 'MISSED'}"
        out.append((f"{label} ({unit})", ours, theirs, f"1/{theirs / ours:.1f}" if ours else "-", tgt))

    cold = res["cold"]
    add("cold start: process start -> first response", cold["ours"]["cold_ms"], cold["inngest-py"]["cold_ms"],
        TARGETS["cold"], "ms")
    for n in res["per_call_ms"]["ours"]:
        add(f"one call replaying N={n} memoized steps", res["per_call_ms"]["ours"][n],
            res["per_call_ms"]["inngest-py"][n], TARGETS["call_1000"] if n == "1000" else None, "ms")
    for n in res["whole_run_ms"]["ours"]:
        add(f"whole run, N={n} steps ({int(n) + 1} calls)", res["whole_run_ms"]["ours"][n],
            res["whole_run_ms"]["inngest-py"][n], TARGETS["run_1000"] if n == "1000" else None, "ms")
    rss_o, rss_t = cold["ours"]["rss_import_mib"], cold["inngest-py"]["rss_import_mib"]
    rss_target = f"<= {TARGETS['rss_mib']:.0f} MiB: {'met' if rss_o <= TARGETS['rss_mib'] else 'MISSED'}"
    out.append(("RSS after import (MiB)", rss_o, rss_t, f"1/{rss_t / rss_o:.1f}", rss_target))
    out.append(("peak RSS after first response (MiB)", cold["ours"]["rss_peak_mib"],
                cold["inngest-py"]["rss_peak_mib"], f"1/{cold['inngest-py']['rss_peak_mib'] / cold['ours']['rss_peak_mib']:.1f}",
                ""))
    return out


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def table(res: dict[str, Any]) -> str:
    lines = ["| metric | ours | inngest-py | ours / inngest-py | target |", "| --- | ---: | ---: | ---: | --- |"]
    for label, ours, theirs, ratio, target in rows(res):
        lines.append(f"| {label} | {_fmt(ours)} | {_fmt(theirs)} | {ratio} | {target} |")
    return "\n".join(lines)


def chart(res: dict[str, Any], width: int = 50) -> str:
    """Bars scaled to inngest-py = full width, one pair per metric (plain text, in a code block)."""
    lines = []
    for label, ours, theirs, ratio, _ in rows(res):
        full = max(ours, theirs)
        bar_o = "#" * max(1, round(width * ours / full))
        bar_t = "=" * max(1, round(width * theirs / full))
        lines.append(label)
        lines.append(f"  ours       {bar_o:<{width}} {_fmt(ours)}")
        lines.append(f"  inngest-py {bar_t:<{width}} {_fmt(theirs)}   ({ratio})")
    return "\n".join(lines)


def section(res: dict[str, Any]) -> str:
    m, cold = res["machine"], res["cold"]
    return f"""{DOC_SECTION}

Measured by `python bench/bench_core.py --write-docs docs/benchmarks.md` (ours {res['versions']['ours']},
inngest-py {res['versions']['inngest-py']}, Python {m['python']}, {m['cpus']} CPUs shared with other work;
load average {m['load_before']:.2f} before, {m['load_after']:.2f} after). Each SDK runs in fresh processes
of its own, in dev mode. Ours is called through `Handler.handle(Request)`, inngest-py through
`CommHandler.post_sync`, the layer its framework integrations call, so neither pays for a web framework.

* Cold start: from spawning the interpreter to the first response (import, client, 3 functions,
  handler, one call that runs a step), median of {res['plan']['cold_runs']} fresh processes per SDK, interleaved.
  A bare `python -c` takes {_fmt(cold['python']['cold_ms'])} ms and {_fmt(cold['python']['rss_import_mib'])} MiB
  here; both SDKs' figures include it.
* Per call: median time of {res['plan']['calls']} calls whose body holds N memoized `step.run` results (the
  function has N steps, so the call replays them all and returns 200), after two warm-up calls.
* Whole run: the sum of the SDK time of every call the executor makes to finish a run of N sequential
  `step.run` steps (N + 1 calls: each runs one new step immediately and replays the ones before),
  median of {res['plan']['run_repeats']} runs.
* RSS: VmRSS right after `import`, in a fresh process; peak (VmHWM) after the first response.

The machine is shared, so figures move by 10-30 % between runs; the ratios are stable to within that.

{table(res)}

```
{chart(res)}
```
"""


def write_docs(path: Path, res: dict[str, Any]) -> None:
    """Replace (or append) only this benchmark's section of ``path``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mdsection import replace_section

    replace_section(path, DOC_SECTION, section(res))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a quick pass with small N (for CI)")
    parser.add_argument("--json", type=Path, help="write the raw results here")
    parser.add_argument("--write-docs", type=Path, help="update the section of this Markdown file")
    parser.add_argument("--worker", choices=SDKS, help=argparse.SUPPRESS)
    parser.add_argument("--ns", default="1,10,100,1000", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=21, help=argparse.SUPPRESS)
    parser.add_argument("--runs", default="100,1000", help=argparse.SUPPRESS)
    parser.add_argument("--run-repeats", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        ints = [int(x) for x in args.ns.split(",") if x]
        runs = [int(x) for x in args.runs.split(",") if x]
        print(json.dumps(worker(args.worker, ints, args.calls, runs, args.run_repeats)))
        return 0
    res = measure(args.smoke)
    res["machine"]["load_after"] = os.getloadavg()[0]
    print(table(res))
    print()
    print(chart(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    if args.write_docs:
        write_docs(args.write_docs, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
