"""bench/bench_checkpoint.py still runs and counts what it should (one short round; no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.harness


def test_the_checkpoint_bench_runs_and_checkpointing_takes_one_invocation(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "bench/bench_checkpoint.py", "--runs", "1", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["plain"]["invocations"] == [11]
    assert results["checkpointed"]["invocations"] == [1]
    assert results["batched"]["invocations"] == [1]
    for mode in ("plain", "checkpointed", "batched"):
        assert results[mode]["outcomes"] == [["Completed", 45]]
    assert "## Checkpointing" in proc.stdout
