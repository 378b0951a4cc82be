"""bench/bench_testing.py --smoke runs end to end and reports every figure.

Only that numbers come out is checked: timings are never asserted in tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_testing_smoke(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_testing.py"), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["smoke"] is True and res["first_test_ms"] > 0
    for figures in (res["per_test_ms"], res["executor_run_ms"]):
        assert 0 < figures["min"] <= figures["median"] <= figures["p90"]
    suite = res["pytest_suite"]
    assert suite["tests"] == 50 and suite["seconds"] > suite["startup_seconds"] > 0
