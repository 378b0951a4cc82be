"""bench/bench_trees.py --smoke compares two versions of the package end to end (here the same one
twice, so that no git history is needed). Only that numbers come out is checked, never a timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_trees_smoke(tmp_path: Path) -> None:
    out = tmp_path / "trees.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_trees.py"), "--smoke", "--before", str(ROOT),
                           "--after", str(ROOT), "--json", str(out)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert (res["rounds"], res["steps"], res["calls"]) == (1, 10, 5)
    for version in ("before", "after"):
        figures = res["summary"][version]
        assert set(figures) == {"cold_ms", "cold_cpu_ms", "replay_min_ms", "replay_median_ms"}
        assert all(0 < f["min"] <= f["median"] for f in figures.values())
    assert "| replay call, fastest (ms), min of rounds |" in proc.stdout


def test_bench_trees_refuses_what_is_neither_a_tree_nor_a_revision() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_trees.py"), "--smoke", "--before",
                           "no-such-revision-or-dir"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1] == (
        "bench_trees: 'no-such-revision-or-dir' is neither a directory with the package nor a git revision")
