"""Two versions of this package side by side, in lockstep: did a change cost anything?

Each round starts one fresh process per version, in alternating order, so that both share the
machine's load as it rises and falls (on a loaded machine, two runs of bench_core.py minutes
apart differ more than most changes do). Each process measures, for its version:

* cold: import, client, a function, the core Handler and the first call (ms, and CPU ms);
* replay: one call replaying N memoized ``step.run`` steps (the replay hot path), the fastest
  and the median of many calls (ms).

The versions are directories holding an ``inngest_serverless`` package, or git revisions of this
repository (exported to a temporary directory)::

    python bench/bench_trees.py --before HEAD~1 --after .           # a commit against the checkout
    python bench/bench_trees.py --before /tmp/old --after . --rounds 10 --steps 1000
    python bench/bench_trees.py --smoke --json out.json               # used by a CI test
    python bench/bench_trees.py --before REV --middleware             # the app with a middleware that does nothing
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import _FUNCTIONS, call_body, memo_of  # noqa: E402  # the core bench's app and call bodies

# The child: its clock starts before the package is imported; the bodies come as files (argv).
_CHILD = "\n".join([
    "import json, sys, time",
    "t0, c0 = time.perf_counter(), time.process_time()",
    "import inngest_serverless as sdk",
    "from inngest_serverless import Handler, Request",
    'client = sdk.Inngest(app_id="bench", is_production=False)',
    _FUNCTIONS,
    """
if sys.argv[4:] == ["middleware"]:  # every call then runs the hook chain (core/middleware.py)
    client.add_middleware(type("Noop", (sdk.MiddlewareSync,), {}))
handler = Handler(client)
url = "http://bench/api/inngest?fnId=bench-steps&stepId=step"
first_body, replay_body = (open(path, "rb").read() for path in sys.argv[1:3])
first = handler.handle(Request.build("POST", url, {}, first_body))
assert first.status == 206, first.status
cold_ms, cold_cpu_ms = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
times = []
for _ in range(int(sys.argv[3])):
    start = time.perf_counter()
    reply = handler.handle(Request.build("POST", url, {}, replay_body))
    times.append((time.perf_counter() - start) * 1000)
assert reply.status == 200, reply.status
times.sort()
print(json.dumps({"cold_ms": cold_ms, "cold_cpu_ms": cold_cpu_ms, "replay_min_ms": times[0],
                  "replay_median_ms": times[len(times) // 2]}))
"""])


def _tree(spec: str, scratch: Path) -> Path:
    """A directory holding the package: ``spec`` itself, or the git revision ``spec`` exported."""
    path = (ROOT / spec).resolve() if not os.path.isabs(spec) else Path(spec)
    if (path / "inngest_serverless" / "__init__.py").is_file():
        return path
    out = scratch / spec.replace("/", "_").replace("~", "-").replace("^", "-")
    out.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", spec, "inngest_serverless"], cwd=ROOT, capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"bench_trees: {spec!r} is neither a directory with the package nor a git revision")
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    return out


def _run(tree: Path, bodies: tuple[Path, Path], calls: int, middleware: bool = False) -> dict[str, float]:
    paths = sysconfig.get_paths()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), paths["purelib"], paths["platlib"]])}
    # Each version's bytecode beside its own sources, written by the first run: installed packages
    # start from bytecode (pip compiles it), so compiling is left out of the figures.
    for name in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    argv = [*map(str, bodies), str(calls), *(["middleware"] if middleware else [])]
    proc = subprocess.run([sys.executable, "-S", "-c", _CHILD, *argv], env=env, cwd=tree,
                          capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench_trees: the version in {tree} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return dict(json.loads(proc.stdout))


def measure(before: Path, after: Path, scratch: Path, rounds: int, steps: int, calls: int,
            middleware: bool = False) -> dict[str, Any]:
    trees = {"before": before, "after": after}
    bodies = (scratch / "first.json", scratch / "replay.json")
    bodies[0].write_bytes(call_body(1, {}))
    bodies[1].write_bytes(call_body(steps, memo_of(steps)))
    for tree in trees.values():
        _run(tree, bodies, 1)  # compile each version's bytecode once, outside the figures
    samples: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for i in range(rounds):
        for name in ("before", "after") if i % 2 == 0 else ("after", "before"):
            samples[name].append(_run(trees[name], bodies, calls, middleware))
    summary = {
        name: {key: {"min": min(s[key] for s in rows), "median": statistics.median(s[key] for s in rows)}
               for key in rows[0]}
        for name, rows in samples.items()
    }
    return {"rounds": rounds, "steps": steps, "calls": calls, "middleware": middleware, "summary": summary,
            "samples": samples}


def report(res: dict[str, Any]) -> str:
    s = res["summary"]
    lines = [f"{res['rounds']} rounds in lockstep; replay: one call over {res['steps']} memoized steps, "
             f"{res['calls']} calls a process" + ("; the app has a middleware that does nothing"
                                                    if res.get("middleware") else ""),
             "| measure | before | after | after / before |", "| --- | ---: | ---: | ---: |"]
    for key, label in (("cold_ms", "cold start to first reply (ms)"), ("cold_cpu_ms", "the same, CPU (ms)"),
                       ("replay_min_ms", "replay call, fastest (ms)"), ("replay_median_ms", "replay call, median (ms)")):
        for stat in ("min", "median"):
            b, a = s["before"][key][stat], s["after"][key][stat]
            lines.append(f"| {label}, {stat} of rounds | {b:.3f} | {a:.3f} | {a / b:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="HEAD", help="a directory with the package, or a git revision")
    parser.add_argument("--after", default=".", help="a directory with the package, or a git revision")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=1000, help="memoized steps the replayed call meets")
    parser.add_argument("--calls", type=int, default=300, help="replayed calls measured in each process")
    parser.add_argument("--smoke", action="store_true", help="one round, 10 steps, 5 calls (for CI)")
    parser.add_argument("--json", type=Path, help="write the raw results here")
    parser.add_argument("--middleware", action="store_true", help="give the app a middleware that does nothing")
    args = parser.parse_args(argv)
    rounds, steps, calls = (1, 10, 5) if args.smoke else (args.rounds, args.steps, args.calls)
    with tempfile.TemporaryDirectory(prefix="bench-trees-") as scratch:
        res = measure(_tree(args.before, Path(scratch)), _tree(args.after, Path(scratch)), Path(scratch), rounds, steps,
                      calls, args.middleware)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
