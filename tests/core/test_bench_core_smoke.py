"""bench/bench_core.py --smoke runs end to end and reports every figure for both SDKs.

Only that numbers come out is checked: timings are never asserted in tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_core_smoke(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Another section\n\nkept as is\n")
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_core.py"), "--smoke", "--json", str(out),
                           "--write-docs", str(docs)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    for sdk in ("ours", "inngest-py"):
        cold = res["cold"][sdk]
        assert cold["cold_ms"] > 0 and cold["rss_import_mib"] > 0 and cold["rss_peak_mib"] >= cold["rss_import_mib"]
        assert set(res["per_call_ms"][sdk]) == {"1", "10", "100"}
        assert all(0 < v["min"] <= v["median"] for v in res["per_call_ms"][sdk].values())
        assert set(res["signed_call_ms"][sdk]) == {"100"}
        assert all(0 < v["min"] <= v["median"] for v in res["signed_call_ms"][sdk].values())
        assert set(res["whole_run_ms"][sdk]) == {"10", "100"}
        assert all(0 < v["min"] <= v["median"] for v in res["whole_run_ms"][sdk].values())
    assert "| metric | ours | inngest-py |" in proc.stdout
    text = docs.read_text()
    assert "## Another section\n\nkept as is\n" in text  # other sections untouched
    assert text.count("## Core SDK vs inngest-py") == 1 and "| metric | ours | inngest-py |" in text


def test_bench_unauthenticated_smoke() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_unauthenticated.py"), "--smoke"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout)
    assert res["status"] == 401 and res["cpu_s"] >= 0 and res["peak_mb"] >= 0 and res["sleep_10ms_took_s"] > 0
