"""``inngest-serverless dev`` as a child process, for CLI and crash tests (stopped by PID)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from tests.support.dev_apps.harness import ROOT


class ExecutorProcess:
    def __init__(self, port: int, db: str, sdk_urls: list[str], *extra: str, crash_at: str | None = None) -> None:
        """``crash_at``: run ``tests.support.dev_apps.crash_at`` instead, which SIGKILLs itself at that point."""
        self.port, self.db, self.sdk_urls, self.extra, self.crash_at = port, db, sdk_urls, extra, crash_at
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["tests.support.dev_apps.crash_at", self.crash_at] if self.crash_at else ["inngest_serverless.cli", "dev"]
        args = [
            sys.executable,
            "-m",
            *command,
            "-p",
            str(self.port),
            "--db",
            self.db,
            "--retry-interval",
            "0.2",
            "--poll-interval",
            "3600",
            *self.extra,
        ]
        for url in self.sdk_urls:
            args += ["-u", url]
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.time() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1):
                    return
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the executor did not start") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
