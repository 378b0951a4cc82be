"""The executor benchmark's smoke mode runs end to end (the figures themselves go to docs, not asserts)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_executor_smoke(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "bench/bench_executor.py", "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["smoke"] is True and figures["steps_per_run"] == 10
    assert figures["inter_step_overhead_ms_median"] > 0 and figures["steps_per_second"] > 0
