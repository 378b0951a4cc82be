"""The load bench against the real server runs in CI in its smoke mode (see bench/bench_real_server.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.real_server import harness


def test_the_load_bench_smoke_run_completes_every_run(tmp_path: os.PathLike[str]) -> None:
    """bench/bench_real_server.py --smoke: 20 runs per mode through inngest start on PostgreSQL + Redis,
    none lost.

    Only that every run completes and the figures come out is checked; timings are never asserted."""
    out, docs = Path(tmp_path) / "load.json", Path(tmp_path) / "compatibility.md"
    docs.write_text("# Compatibility with the real Inngest server\n\n## Another section\n\nkept as is\n")
    proc = subprocess.run([sys.executable, str(harness.REPO / "bench" / "bench_real_server.py"), "--smoke",
                           "--json", str(out), "--write-docs", str(docs)],
                          capture_output=True, text=True, timeout=600, cwd=harness.REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert set(results) == {"plain", "checkpointed"}
    for res in results.values():
        assert res["completed"] == res["runs"] == res["read_back"] == res["final_call_once"] == 20, res
        assert res["lost_or_duplicated"] == res["wrong_output_or_status"] == 0, res
        assert res["runs_per_s"] > 0 and res["handler_ms_per_call"] > 0 and 0 < res["sdk_share"] < 1
    assert results["plain"]["calls_per_run"] == 11.0  # ten steps, then the function's return
    assert results["checkpointed"]["calls_per_run"] < 11.0
    text = docs.read_text()
    assert "## Another section\n\nkept as is\n" in text and text.count("## Load") == 1
