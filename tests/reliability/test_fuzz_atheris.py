"""CI smoke step for the coverage-guided fuzzer (bench/fuzz_atheris.py): a few seconds of
libFuzzer over the handler must end without a crash. Skipped when atheris is not installed
(scripts/install-hosts.d/60-reliability.sh installs it; see docs/reliability.md)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "fuzz_atheris.py"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("atheris") is None,
    reason="atheris is not importable here (scripts/install-hosts.d/60-reliability.sh installs it from PyPI wheels)",
)


def test_a_short_coverage_guided_run_finds_no_crash(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "-max_total_time=4", f"-artifact_prefix={tmp_path}/", "-print_final_stats=1"],
        cwd=SCRIPT.parent.parent, capture_output=True, text=True, timeout=180,
    )
    crashes = sorted(p.name for p in tmp_path.iterdir())
    assert proc.returncode == 0 and not crashes, proc.stderr[-4000:]
    runs = re.search(r"Done (\d+) runs", proc.stderr)
    assert runs and int(runs.group(1)) > 0, proc.stderr[-2000:]
