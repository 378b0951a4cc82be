"""README.md stays true: its two set-up commands, and its Python examples run as written."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_api import fake_api

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    commands = [b.strip() for b in blocks("sh")]
    assert len(commands) == 2, commands
    main_job, tests = commands
    assert main_job.startswith("pip install") and "inngest-serverless demo" in main_job
    assert tests == "./scripts/test"
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^\./scripts/test\b", ci, flags=re.M), ".ci/run must call the README's test command"


class FakeLambdaContext:
    function_name = "readme"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def http_api_event(method: str, query: str = "", body: bytes = b"") -> dict[str, Any]:
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": "/api/inngest", "rawQueryString": query,
        "headers": {"host": "abc.lambda-url.eu-west-1.on.aws", "content-type": "application/json",
                    "x-forwarded-proto": "https"},
        "requestContext": {"http": {"method": method, "path": "/api/inngest", "sourceIp": "1.2.3.4",
                                    "protocol": "HTTP/1.1", "userAgent": "t"},
                           "domainName": "abc.lambda-url.eu-west-1.on.aws", "stage": "$default",
                           "accountId": "1", "apiId": "abc", "requestId": "r", "time": "t", "timeEpoch": 1},
        "body": base64.b64encode(body).decode(), "isBase64Encoded": True,
    }


def test_readme_python_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in list(os.environ):
        if var.startswith("INNGEST_"):
            monkeypatch.delenv(var)
    with fake_api() as api:
        api.on("POST", "/e/NO_EVENT_KEY_SET", (200, {"ids": ["01README"], "status": 200}))
        monkeypatch.setenv("INNGEST_EVENT_API_BASE_URL", api.url)
        ns: dict[str, Any] = {"__name__": "readme_example"}
        for code in blocks("python"):
            exec(compile(code, "README.md", "exec", dont_inherit=True), ns)  # as a module of its own: no __future__ of this file
        assert ns["ids"] == ["01README"]
        assert api.requests[0].json()[0]["data"] == {"email": "a@example.com"}

    handler = ns["handler"]
    intro = handler(http_api_event("GET"), FakeLambdaContext())
    assert intro["statusCode"] == 200
    body = base64.b64decode(intro["body"]) if intro.get("isBase64Encoded") else intro["body"].encode()
    assert json.loads(body)["function_count"] == 1

    call = {"event": {"name": "api/account.created", "data": {"email": "a@example.com"}}, "steps": {},
            "ctx": {"run_id": "r", "attempt": 0, "stack": {"stack": []}}}
    reply = handler(http_api_event("POST", "fnId=shop-account-created&stepId=step", json.dumps(call).encode()),
                    FakeLambdaContext())
    assert reply["statusCode"] == 206
    raw = base64.b64decode(reply["body"]) if reply.get("isBase64Encoded") else reply["body"].encode()
    assert json.loads(raw)[0]["op"] == "Sleep"


def test_readme_main_command_runs_as_written_in_a_fresh_copy_and_virtualenv(tmp_path: Path) -> None:
    """A newcomer's first command, exactly as README.md gives it, in a copy of the repository with
    a new virtualenv: nothing this checkout or this machine has installed can help it."""
    main_job = blocks("sh")[0].strip()
    copy = tmp_path / "inngest-serverless"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INNGEST_", "PYTHON", "PIP_"))}
    env.update(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}:{env.get('PATH', '')}", PIP_DISABLE_PIP_VERSION_CHECK="1")
    proc = subprocess.run(["bash", "-c", main_job], cwd=copy, env=env, capture_output=True, text=True,
                          timeout=900, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout.lower()
    assert "completed" in out
    for step in ("sleep", "wait"):
        assert step in out
