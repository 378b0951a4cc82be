"""The core suites pass on every supported Python (3.10 to 3.13), not only the default 3.11."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Everything that needs only the package, pytest and the standard library (no host runtime).
CORE_TESTS = [f"tests/{name}" for name in (
    "core/test_calls.py", "core/test_call_body.py", "core/test_checkpoint.py", "core/test_client.py",
    "core/test_config.py", "core/test_deadline.py", "core/test_deadline_guard.py", "core/test_determinism.py",
    "core/test_hot_path.py", "core/test_inngest_api.py", "core/test_limits.py", "core/test_record.py", "core/test_signing.py",
    "core/test_streaming.py", "core/test_sync.py", "reliability/test_signatures.py",
)]


def test_the_portable_list_names_existing_files() -> None:
    assert [name for name in CORE_TESTS if not (ROOT / name).is_file()] == []


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
