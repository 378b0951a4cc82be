"""Google Cloud Functions adapter: flask.Request -> Request, Response -> flask.Response; under functions-framework."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import flask
import pytest

from inngest_serverless import Response
from inngest_serverless.adapters.gcp import GcfAdapter
from tests.support.hosts import servers
from tests.support.hosts.stub_core import Recorder, read_gated
from tests.support.hosts.templates import ENV, assert_template_serves, run_blocks, start_template

_app = flask.Flask(__name__)


def _invoke(core: Recorder, path: str = "/", *, base_url: str = "http://fn.local", method: str = "POST",
            body: bytes = b"{}", headers: dict[str, str] | None = None, **opts: float) -> flask.Response:
    function = GcfAdapter(core, **opts).function()  # type: ignore[arg-type]
    with _app.test_request_context(path, base_url=base_url, method=method, data=body, headers=headers or {}):
        return function(flask.request)


def test_request_carries_full_url_headers_and_body() -> None:
    core = Recorder()
    _invoke(core, "/api/inngest?fnId=a-b&stepId=step", body=b'{"a":1}', headers={"X-Inngest-Signature": "t=1&s=ab"})
    (request,) = core.requests
    assert request.url == "http://fn.local/api/inngest?fnId=a-b&stepId=step"
    assert request.headers["x-inngest-signature"] == "t=1&s=ab"
    assert request.body == b'{"a":1}'


def test_cloud_run_forwarded_proto_gives_https() -> None:
    core = Recorder()
    _invoke(core, "/", base_url="http://inngest-abc-uc.a.run.app", headers={"X-Forwarded-Proto": "https"})
    assert core.requests[0].url == "https://inngest-abc-uc.a.run.app/"


def test_cloudfunctions_net_url_gets_the_function_name_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K_SERVICE", "inngest")
    core = Recorder()
    _invoke(core, "/?fnId=x", base_url="http://us-central1-proj.cloudfunctions.net",
            headers={"X-Forwarded-Proto": "https"})
    assert core.requests[0].url == "https://us-central1-proj.cloudfunctions.net/inngest?fnId=x"


def test_deadline_comes_from_cloud_run_timeout_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUD_RUN_TIMEOUT_SECONDS", "120")
    core = Recorder()
    _invoke(core)
    _invoke(core, timeout=20)
    from_env, given = (r.deadline for r in core.requests)
    assert from_env is not None and 20 < from_env - time.monotonic() <= 120
    assert given is not None and 0 < given - time.monotonic() <= 20


def test_no_timeout_known_means_no_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUD_RUN_TIMEOUT_SECONDS", raising=False)
    core = Recorder()
    _invoke(core)
    assert core.requests[0].deadline is None


def test_body_over_the_limit_is_refused_before_core() -> None:
    core = Recorder()
    reply = _invoke(core, body=b"0123456789", max_body=4)
    assert reply.status_code == 413
    assert reply.headers["x-inngest-no-retry"] == "true"
    assert core.requests == []


def test_reply_keeps_status_headers_and_json_content_type() -> None:
    core = Recorder(Response(206, {"content-type": "application/json", "x-inngest-sdk": "s:v1"}, b"[1]"))
    reply = _invoke(core)
    assert reply.status_code == 206
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["x-inngest-sdk"] == "s:v1"
    assert reply.get_data() == b"[1]"


def test_streamed_reply_becomes_a_streaming_flask_response() -> None:
    core = Recorder(Response(201, {"content-type": "application/json"}, stream=iter([b" ", b"{}"])))
    reply = _invoke(core)
    assert reply.is_streamed
    assert list(reply.response) == [b" ", b"{}"]


def test_importing_the_adapter_loads_no_flask() -> None:
    code = ("import sys, inngest_serverless.adapters.gcp; "
            "print(sorted(m for m in ('flask', 'werkzeug', 'functions_framework', 'asyncio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.harness
def test_functions_framework_flushes_each_streamed_chunk(tmp_path: Path) -> None:
    env = {"CLOUD_RUN_TIMEOUT_SECONDS": "300"}
    with servers.gcf(env, source=servers.HOSTS_DIR / "stub_core.py", target="gcf_entry") as host:
        status, first, report = read_gated(host.url, tmp_path / "gate")
    assert (status, first) == (201, b" ")
    assert report["gate_opened"] is True
    remaining = report["remaining"]
    assert isinstance(remaining, float) and 0 < remaining <= 300


@pytest.mark.harness
def test_the_gcf_template_syncs_and_runs_under_functions_framework() -> None:
    with start_template("gcf", ENV) as host:
        assert_template_serves(host, "my-gcf-app")


def test_the_guide_example_answers_introspection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_DEV", "1")
    namespace = run_blocks("deploy-gcf.md")
    with _app.test_request_context("/api/inngest", base_url="http://127.0.0.1:8080", method="GET"):
        reply = namespace["inngest"](flask.request)  # type: ignore[operator]
    assert reply.status_code == 200
    assert reply.get_json()["function_count"] == 1
