"""bench/bench_executors.py --smoke runs both executors end to end and reports every figure.

Only that numbers come out is checked: timings are never asserted in tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_executors_smoke(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_executors.py"), "--smoke", "--json", str(out)],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert set(res["results"]) == {"embedded", "inngest dev (tick 150 ms, its default)", "inngest dev --tick 50"}
    for figures in res["results"].values():
        assert 0 < figures["event_to_completion_ms_min"] <= figures["event_to_completion_ms"]
        assert figures["inter_step_ms"] > 0
        assert set(figures["throughput"]) == {"10"} and figures["throughput"]["10"]["steps_per_second"] > 0
    for ratios in res["ours_vs"].values():
        assert ratios["latency_x"] > 0 and ratios["inter_step_x"] > 0 and ratios["throughput_x"]["10"] > 0
