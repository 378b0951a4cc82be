"""Inngest's SDK conformance suite (``inngest alpha conformance run``), run and read from Python.

The runner needs a dev server already running; it syncs the SDK in band (a PUT signed with the
suite's key), registers the functions itself with their URLs pointed at its own recording proxy,
sends events and compares every call and reply with what the Go SDK sends. ``run`` exits 0 even
when cases fail: the JSON report (``--report-out``) says how each case went.

Two runners (docs/compatibility.md): the server binary as built, and ``conformance-runner``,
the same source with one fix: at v1.43.0 the runner does not copy ``generation_id`` (which the
server stamps on every SDK call) into the context it expects, so every case that runs a function
fails for every SDK. scripts/install-hosts.d/41-conformance-runner.sh builds it.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.real_server import harness

# The serve cases the runner implements at v1.43.0; invalid-auth, malformed-payload and
# secret-redaction are registered but report "not_implemented" for every SDK.
CASES = ("serve-introspection", "basic-invoke", "steps-serial", "retry-basic", "cancel-basic",
         "wait-for-event-basic")
# The suite's default signing key ("this is a test key" in hex), as its Go reference app uses it.
SIGNING_KEY = "7468697320697320612074657374206b6579"
FIXED_RUNNER_SCRIPT = "scripts/install-hosts.d/41-conformance-runner.sh"


def fixed_runner() -> Path:
    path = harness.BIN_DIR / "conformance-runner"
    if not os.access(path, os.X_OK):
        raise harness.MissingTool(f"the fixed conformance runner ({path}) is missing: run {FIXED_RUNNER_SCRIPT} "
                                  "(./scripts/test runs it)")
    return path


def run(runner: Path, server: harness.InngestServer, sdk_url: str, *, cases: Sequence[str] = CASES,
        timeout: float = 300.0) -> dict[str, Any]:
    """Run ``cases`` against the SDK at ``sdk_url`` through dev server ``server``; the JSON report."""
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp:
        out = Path(tmp) / "report.json"
        argv = [str(runner), "alpha", "conformance", "run", "--transport", "serve", "--sdk-url", sdk_url,
                "--dev-url", server.url, "--event-key", server.event_key or "test", "--signing-key", SIGNING_KEY,
                "--report-format", "json", "--report-out", str(out)]
        for case in cases:
            argv += ["--case", case]
        done = subprocess.run(argv, cwd=tmp, env=harness.clean_env(home=Path(tmp)), capture_output=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        if done.returncode != 0 or not out.exists():
            raise AssertionError(f"the conformance runner failed ({done.returncode}): "
                                 f"{(done.stdout + done.stderr).decode(errors='replace')[-3000:]}")
        report: dict[str, Any] = json.loads(out.read_text())
        return report


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {case["case_id"]: case["status"] for case in report["cases"]}


def reasons(report: dict[str, Any]) -> dict[str, str]:
    return {case["case_id"]: case.get("reason", "") for case in report["cases"] if case["status"] != "passed"}
