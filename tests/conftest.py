"""Suite-wide rules.

In CI (``CI=true``) a skipped test is a failed one: every tool a test needs is
installed by ``scripts/test``, so a skip there means an install step is missing.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

_IN_CI = os.environ.get("CI", "").lower() == "true"


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
