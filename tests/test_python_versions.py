"""The core suites pass on every supported Python (3.10 to 3.13), not only the default 3.11."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Everything that needs only the package, pytest and the standard library (no host runtime).
_PORTABLE = ("test_core_*.py", "test_checkpoint.py", "test_deadline.py", "test_streaming.py", "test_determinism.py",
             "test_signatures.py", "test_limits.py")
CORE_TESTS = sorted(str(p.relative_to(ROOT)) for pattern in _PORTABLE for p in (ROOT / "tests").glob(pattern))


@pytest.mark.harness
@pytest.mark.parametrize("version", ["3.10", "3.12", "3.13"])
def test_core_suite_passes_on(version: str) -> None:
    python = ROOT / ".cache" / f"venv-core-py{version}" / "bin" / "python"
    if not python.exists():  # 10-pythons.sh found no such interpreter here (in CI that stops the install)
        pytest.skip(f"Python {version} is not installed here, so the core suite was not tested on it")
    proc = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *CORE_TESTS],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout.splitlines()[-1]
