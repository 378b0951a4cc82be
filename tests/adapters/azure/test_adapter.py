"""Azure Functions adapter: the route it registers, HttpRequest -> Request, Response -> HttpResponse, deadline.

The harness tests serve the starter through tests/support/hosts/azure_bridge.py: the
worker's indexing and the library's HTTP converters, with azure-functions 1.x on
Python 3.11 and 2.x + azure-functions-runtime on Python 3.13. The .NET Functions
host itself is not exercised (it cannot run here).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import azure.functions as func
import pytest

from inngest_serverless import Inngest, Response
from inngest_serverless.adapters.azure import (
    HTTP_TIMEOUT_SECONDS,
    AzureAdapter,
    azure_adapter,
    host_json_timeout,
)
from tests.support.hosts.stub_core import Recorder
from tests.support.hosts.templates import ENV, KEY, assert_template_serves, run_blocks, start_template


def _request(method: str = "POST", url: str = "https://fn.azurewebsites.net/api/inngest?fnId=a-b&stepId=step",
             body: bytes = b"{}", headers: dict[str, str] | None = None) -> func.HttpRequest:
    return func.HttpRequest(method=method, url=url, headers=headers or {}, params={}, body=body)


def _adapter(limit: int) -> AzureAdapter:
    return AzureAdapter(Recorder(), max_body=limit)


def test_route_is_anonymous_get_put_post_with_an_http_return() -> None:
    app = func.FunctionApp()
    azure_adapter(app, Inngest(app_id="az", is_production=True, signing_key=KEY))
    (function,) = app.get_functions()
    trigger, output = (json.loads(b) for b in function.get_raw_bindings())
    assert function.get_function_name() == "inngest"
    assert trigger == {"direction": "IN", "type": "httpTrigger", "name": "req", "methods": ["GET", "PUT", "POST"],
                       "authLevel": "ANONYMOUS", "route": "inngest"}
    assert output == {"direction": "OUT", "type": "http", "name": "$return"}


def test_request_carries_url_headers_and_body() -> None:
    request = _adapter(100).to_request(_request(body=b'{"a":1}', headers={"X-Inngest-Signature": "t=1&s=ab"}))
    assert not isinstance(request, Response)
    assert request.url == "https://fn.azurewebsites.net/api/inngest?fnId=a-b&stepId=step"
    assert request.headers["x-inngest-signature"] == "t=1&s=ab"
    assert request.body == b'{"a":1}'


def test_front_door_forwarded_host_makes_the_public_url() -> None:
    request = _adapter(100).to_request(_request(headers={"X-Forwarded-Host": "api.example.com"}))
    assert not isinstance(request, Response)
    assert request.url == "https://api.example.com/api/inngest?fnId=a-b&stepId=step"


def test_body_over_the_limit_is_a_413() -> None:
    reply = _adapter(4).to_request(_request(body=b"0123456789"))
    assert isinstance(reply, Response) and reply.status == 413


def test_reply_is_an_http_response_with_status_headers_and_the_joined_stream() -> None:
    reply = AzureAdapter.to_reply(Response(201, {"content-type": "application/json", "x-inngest-sdk": "s:v1"},
                                        stream=iter([b" ", b"{}"])))
    assert reply.status_code == 201
    assert reply.get_body() == b" {}"
    assert reply.headers["x-inngest-sdk"] == "s:v1"
    assert reply.mimetype == "application/json" or reply.headers["content-type"] == "application/json"


def _deadline_after(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host_json: dict[str, object] | None,
                    **opts: float) -> float:
    if host_json is not None:
        (tmp_path / "host.json").write_text(json.dumps(host_json))
    monkeypatch.setenv("AzureWebJobsScriptRoot", str(tmp_path))
    core = Recorder()
    function = AzureAdapter(core, **opts).register(func.FunctionApp())  # type: ignore[arg-type]
    function(_request())
    deadline = core.requests[0].deadline
    assert deadline is not None
    return deadline - time.monotonic()


def test_deadline_comes_from_host_json_function_timeout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    remaining = _deadline_after(monkeypatch, tmp_path, {"version": "2.0", "functionTimeout": "00:02:00"})
    assert 60 < remaining <= 120


def test_deadline_is_capped_at_the_230_s_http_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    remaining = _deadline_after(monkeypatch, tmp_path, {"version": "2.0", "functionTimeout": "00:10:00"})
    assert 170 < remaining <= HTTP_TIMEOUT_SECONDS


def test_timeout_option_wins_over_host_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    remaining = _deadline_after(monkeypatch, tmp_path, {"functionTimeout": "00:02:00"}, timeout=30)
    assert 0 < remaining <= 30


def test_without_host_json_the_http_limit_applies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert 170 < _deadline_after(monkeypatch, tmp_path, None) <= HTTP_TIMEOUT_SECONDS


@pytest.mark.parametrize(("value", "seconds"), [("00:05:00", 300.0), ("1.00:00:30", 86430.0), ("-1", None),
                                                  ("00:00:00", None), ("soon", None)])
def test_host_json_timespans(tmp_path: Path, value: str, seconds: float | None) -> None:
    (tmp_path / "host.json").write_text(json.dumps({"functionTimeout": value}))
    assert host_json_timeout(str(tmp_path)) == seconds


def test_a_method_the_route_does_not_list_still_gets_a_405_from_the_sdk() -> None:
    app = func.FunctionApp()
    function = azure_adapter(app, Inngest(app_id="az", is_production=True, signing_key=KEY))
    reply = function(_request(method="DELETE", body=b""))
    assert reply.status_code == 405
    assert reply.headers["x-inngest-sdk"].startswith("inngest-serverless:v")


def test_importing_the_adapter_loads_no_azure_library() -> None:
    code = ("import sys, inngest_serverless.adapters.azure; "
            "print(sorted(m for m in ('azure', 'azure.functions', 'asyncio', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.harness
def test_the_azure_template_syncs_and_runs_with_azure_functions_1x_on_311() -> None:
    with start_template("azure311", ENV) as host:
        assert_template_serves(host, "my-azure-app")
        info = host.runtime()
    assert info["python"].startswith("3.11") and info["runtime"].startswith("azure-functions 1.")


@pytest.mark.harness
def test_the_azure_template_syncs_and_runs_with_azure_functions_2x_and_the_runtime_indexer_on_313() -> None:
    with start_template("azure313", ENV) as host:
        assert_template_serves(host, "my-azure-app")
        info = host.runtime()
    assert info["python"].startswith("3.13")
    assert info["runtime"].startswith("azure-functions 2.") and "azure-functions-runtime" in info["runtime"]


def test_the_guide_example_registers_one_anonymous_route(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_DEV", "1")
    namespace = run_blocks("deploy-azure.md")
    (function,) = namespace["app"].get_functions()  # type: ignore[attr-defined]
    trigger = json.loads(function.get_raw_bindings()[0])
    assert (trigger["route"], trigger["authLevel"]) == ("inngest", "ANONYMOUS")


def test_a_slow_call_is_answered_plainly_because_azure_would_join_the_stream() -> None:
    from tests.support.standard_functions import add_slow_function, slow_call

    client = Inngest(app_id="slow-azure", is_production=True, signing_key=KEY)
    add_slow_function(client)
    function = azure_adapter(func.FunctionApp(), client)
    query, headers, body = slow_call("slow-azure", KEY)
    reply = function(_request(url=f"https://fn.azurewebsites.net/api/inngest?{query}", headers=headers, body=body))
    assert reply.status_code == 206
    assert json.loads(reply.get_body())[0]["data"] == "done"
