"""The core tests pass on every supported Python (3.10 to 3.13), not only the default 3.11."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE_TESTS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_core_*.py"))


@pytest.mark.harness
@pytest.mark.parametrize("version", ["3.10", "3.12", "3.13"])
def test_core_suite_passes_on(version: str) -> None:
    python = ROOT / ".cache" / f"venv-core-py{version}" / "bin" / "python"
    assert python.exists(), f"run scripts/install-hosts.d/10-pythons.sh first ({python} is missing)"
    proc = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *CORE_TESTS],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout.splitlines()[-1]
