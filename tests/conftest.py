"""Suite-wide rules.

* In CI (``CI=true``) a skipped test is a failed one: every tool a test needs is
  installed by ``scripts/test``, so a skip there means an install step is missing.
* Hosts started as subprocesses (serverless-offline, SAM, gunicorn...) find
  ``python`` on PATH: run from a virtualenv, the suite puts that virtualenv first,
  so they use the interpreter (and packages) the suite runs with.
* Shared fixtures: ``client``. Apps, executors and helpers that tests share live in tests/support/.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from inngest_serverless import Inngest

_IN_CI = os.environ.get("CI", "").lower() == "true"

if sys.prefix != sys.base_prefix:
    _bin = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != _bin:
        os.environ["PATH"] = os.pathsep.join([_bin, os.environ.get("PATH", "")])
    os.environ["VIRTUAL_ENV"] = sys.prefix


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if _IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may skip: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, None, None]:
    outcome = yield
    report: pytest.CollectReport = outcome.get_result()
    if _IN_CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"module skipped in CI, where nothing may skip: {report.longrepr}"


@pytest.fixture
def client() -> Inngest:
    """A client in dev mode (no keys) for app ``app``, a new one per test: what most core tests define
    their functions on. A test that needs other options builds its own, or overrides this fixture."""
    from inngest_serverless import Inngest  # here, so that collecting a test imports nothing of the package

    return Inngest(app_id="app", is_production=False)
