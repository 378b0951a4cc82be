"""bench/bench_dashboard.py --smoke fills a store and measures every dashboard route end to end
(the figures go to docs/benchmarks.md from a full run, never into an assertion)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_bench_dashboard_smoke(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Another section\n\nkept as is\n")
    proc = subprocess.run(
        [sys.executable, "bench/bench_dashboard.py", "--smoke", "--json", str(out), "--write-docs", str(docs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["smoke"] is True and res["runs"] == 500
    assert {"runs list, newest 50", "run page", "run page with an invoke", "events list, newest 50"} <= set(res["results"])
    for figures in res["results"].values():
        assert 0 < figures["server_ms"]["median"] <= figures["server_ms"]["max"]
        assert figures["round_trip_ms"]["median"] > 0 and figures["bytes"] > 2
    text = docs.read_text()
    assert "## Another section\n\nkept as is\n" in text and text.count("## Dashboard") == 1
