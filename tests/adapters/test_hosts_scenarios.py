"""One scenario suite, run against every host's real runtime, so behaviour cannot differ by host.

Hosts (tests/support/hosts/servers.py): gunicorn (WSGI), uvicorn (ASGI), the
functions-framework CLI (GCF), the Azure worker path with azure-functions 1.x
(3.11) and 2.x + azure-functions-runtime (3.13), and vercel-runtime's vc_init
(3.12). Each serves tests/support/hosts/app.py in cloud mode with a signing key; the
Inngest API is a loopback fake that records the register POST; the executor
is tests/support/sim_executor.py, over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.aws_harness import free_port
from tests.support.dev_apps.executor_process import ExecutorProcess
from tests.support.dev_apps.harness import Client as DevClient
from tests.support.fake_api import FakeApi, fake_api
from tests.support.hosts import APP_ID, servers
from tests.support.hosts.templates import STARTERS, start_template
from tests.support.sim_executor import (
    FAILING,
    FAILING_RETRIES,
    MULTI_STEP,
    SimExecutor,
    check_signature,
    drive,
    signature,
    step_hash,
)

pytestmark = pytest.mark.harness

KEY = "signkey-test-8f3a0c1d2e4b5a6978877665544332211"
PUBLIC = "https://app.example.com/api/inngest"
FORWARDED = {"x-forwarded-proto": "https", "x-forwarded-host": "app.example.com"}


def signed_put() -> dict[str, str]:
    """A sync PUT's headers, signed as the dashboard signs it (cloud mode refuses an unsigned one)."""
    return {**FORWARDED, "x-inngest-signature": signature(b"", KEY)}


HOSTS = ["wsgi", "asgi", "gcf", "azure311", "azure313", "vercel"]
FUNCTION_IDS = {f"{APP_ID}-{MULTI_STEP[0]}", f"{APP_ID}-{FAILING[0]}"}


@pytest.fixture(scope="module")
def api() -> Iterator[FakeApi]:
    with fake_api() as fake:
        fake.on("POST", "/fn/register", (200, {"ok": True, "modified": True}))
        yield fake


@pytest.fixture(scope="module", params=HOSTS)
def host(request: pytest.FixtureRequest, api: FakeApi) -> Iterator[servers.Host]:
    env = {"INNGEST_SIGNING_KEY": KEY, "INNGEST_API_BASE_URL": api.url}
    with servers.start(request.param, env) as running:
        yield running


@pytest.fixture
def sim(host: servers.Host) -> SimExecutor:
    return SimExecutor(host.call, host.url, APP_ID, KEY)


def test_the_standard_scenario_passes(host: servers.Host) -> None:
    report = drive(host.call, host.url, app_id=APP_ID, signing_key=KEY)
    assert report["multi_step"].status == "completed"


def test_signed_get_returns_the_authenticated_introspection(sim: SimExecutor) -> None:
    data = sim.introspect(signed=True)
    assert data["authentication_succeeded"] is True
    assert data["app_id"] == APP_ID
    assert data["function_count"] == 2


def test_unsigned_get_reveals_nothing_but_counts(sim: SimExecutor) -> None:
    data = sim.introspect(signed=False)
    assert data["function_count"] == 2
    assert "app_id" not in data and "signing_key_hash" not in data


def test_put_syncs_out_of_band_with_the_public_url(host: servers.Host, api: FakeApi) -> None:
    before = len(api.requests)
    status, headers, body = host.call("PUT", host.url, signed_put(), b"")
    assert status == 200, body
    assert headers["x-inngest-sync-kind"] == "out_of_band"
    registers = [r for r in api.requests[before:] if r.path.startswith("/fn/register")]
    assert len(registers) == 1
    payload = registers[0].json()
    assert payload["url"] == PUBLIC
    assert payload["appName"] == APP_ID
    assert {f["id"] for f in payload["functions"]} == FUNCTION_IDS
    step_url = payload["functions"][0]["steps"]["step"]["runtime"]["url"]
    assert step_url.startswith(f"{PUBLIC}?fnId={APP_ID}-")


def test_deploy_id_goes_to_the_register_call_not_into_the_app_url(host: servers.Host, api: FakeApi) -> None:
    before = len(api.requests)
    status, _, body = host.call("PUT", f"{host.url}?deployId=dep-123", signed_put(), b"")
    assert status == 200, body
    (register,) = [r for r in api.requests[before:] if r.path.startswith("/fn/register")]
    assert register.path == "/fn/register?deployId=dep-123"
    assert register.json()["url"] == PUBLIC


def test_a_query_the_operator_adds_stays_in_the_registered_urls(host: servers.Host, api: FakeApi) -> None:
    """E.g. Vercel's ?x-vercel-protection-bypass=...: every call the server makes must carry it."""
    before = len(api.requests)
    status, _, body = host.call("PUT", f"{host.url}?x-vercel-protection-bypass=s3cret", signed_put(), b"")
    assert status == 200, body
    (register,) = [r for r in api.requests[before:] if r.path.startswith("/fn/register")]
    payload = register.json()
    assert payload["url"] == f"{PUBLIC}?x-vercel-protection-bypass=s3cret"
    step_url = payload["functions"][0]["steps"]["step"]["runtime"]["url"]
    assert step_url.startswith(f"{PUBLIC}?x-vercel-protection-bypass=s3cret&fnId=")


def test_trust_probe_is_answered_with_a_signed_reply(host: servers.Host) -> None:
    body = b"{}"
    headers = {"content-type": "application/json", "x-inngest-signature": signature(body, KEY)}
    status, reply_headers, reply = host.call("POST", f"{host.url}?probe=trust", headers, body)
    assert status == 200
    check_signature(reply, reply_headers.get("x-inngest-signature"), KEY)


def test_signed_in_band_put_answers_with_the_signed_app_config(sim: SimExecutor, api: FakeApi) -> None:
    before = len(api.requests)
    payload = sim.sync()  # checks the reply's signature
    assert payload["url"] == sim.url
    assert {f["id"] for f in payload["functions"]} == FUNCTION_IDS
    assert len(api.requests) == before  # in-band: nothing sent to the API


def test_multi_step_run_completes_by_replaying_memoized_steps(sim: SimExecutor) -> None:
    slug, name, _, _ = MULTI_STEP
    run = sim.run(slug, name, {"start": 5})
    assert (run.status, run.output) == ("completed", {"first": 6, "second": 60})
    assert [[op["op"] for op in ops] for ops in run.ops] == [["StepRun"], ["StepRun"]]
    assert [ops[0]["id"] for ops in run.ops] == [step_hash("first"), step_hash("second")]
    assert run.calls == 3  # the last call replayed both steps from memo and returned


def test_failing_step_errors_then_fails_on_the_last_attempt(sim: SimExecutor) -> None:
    slug, name, data, message = FAILING
    run = sim.run(slug, name, data, max_attempts=FAILING_RETRIES + 1)
    assert [[op["op"] for op in ops] for ops in run.ops] == [["StepError"], ["StepFailed"]]
    assert run.ops[0][0]["error"]["message"] == run.ops[1][0]["error"]["message"] == message
    assert run.status == "failed"
    assert message in json.dumps(run.output)
    assert sim.seen_statuses[-1] >= 400


def test_other_methods_are_refused(host: servers.Host) -> None:
    status, headers, body = host.call("DELETE", host.url, {}, b"")
    if host.filters_methods:
        # Azure's route table lists GET/PUT/POST only: the function is never invoked.
        assert status == 404
        assert "x-inngest-sdk" not in headers
    else:
        assert status == 405
        assert headers["x-inngest-sdk"].startswith("inngest-serverless:v")
        assert body == b""


def test_signed_call_with_bad_json_is_a_400_that_is_not_retried(host: servers.Host) -> None:
    body = b"{this is not json"
    url = f"{host.url}?fnId={APP_ID}-{MULTI_STEP[0]}&stepId=step"
    headers = {"content-type": "application/json", "x-inngest-signature": signature(body, KEY)}
    status, reply_headers, reply = host.call("POST", url, headers, body)
    assert status == 400
    assert reply_headers["x-inngest-no-retry"] == "true"
    assert "json" in json.loads(reply)["message"].lower()


def test_unsigned_call_is_refused(host: servers.Host) -> None:
    body = json.dumps({"event": {"name": MULTI_STEP[1], "data": {}}, "ctx": {"run_id": "r"}}).encode()
    url = f"{host.url}?fnId={APP_ID}-{MULTI_STEP[0]}&stepId=step"
    status, headers, _ = host.call("POST", url, {"content-type": "application/json"}, body)
    assert status == 401
    assert headers["x-inngest-no-retry"] == "true"


@pytest.mark.parametrize("name", HOSTS)
def test_a_forced_keepalive_stream_carries_the_real_reply(name: str, api: FakeApi) -> None:
    """INNGEST_STREAMING=force: 201, keep-alive spaces, then the wrapped reply (Azure joins the stream)."""
    import rfc8785

    event = {"name": MULTI_STEP[1], "data": {"start": 1}, "id": "01STREAMEVENT", "ts": 1, "user": {}}
    call = {"event": event, "events": [event], "steps": {}, "version": 2, "use_api": False,
            "ctx": {"run_id": "01STREAMRUN", "attempt": 0, "max_attempts": 3, "step_id": "step", "env": "",
                    "fn_id": "f", "stack": {"stack": [], "current": 0}, "disable_immediate_execution": False}}
    body = rfc8785.dumps(call)
    env = {"INNGEST_SIGNING_KEY": KEY, "INNGEST_API_BASE_URL": api.url, "INNGEST_STREAMING": "force"}
    with servers.start(name, env) as host:
        url = f"{host.url}?fnId={APP_ID}-{MULTI_STEP[0]}&stepId=step"
        headers = {"content-type": "application/json", "x-inngest-signature": signature(body, KEY)}
        status, reply_headers, reply = host.call("POST", url, headers, body)
    assert status == 201
    assert reply_headers["x-inngest-sdk"].startswith("inngest-serverless:v")
    assert reply.startswith(b" ")
    wrapper = json.loads(reply)
    assert wrapper["status"] == 206
    (op,) = json.loads(wrapper["body"])
    assert (op["op"], op["id"], op["data"]) == ("StepRun", step_hash("first"), 2)


@pytest.mark.parametrize("name", sorted(STARTERS))
def test_each_starter_runs_against_the_embedded_executor_as_the_guides_say(name: str, tmp_path: Path) -> None:
    """Local development: ``inngest-serverless dev -u <url>``, send the event, the run completes."""
    port = free_port()
    with start_template(name, {"INNGEST_DEV": f"http://127.0.0.1:{port}"}) as host:
        executor = ExecutorProcess(port, str(tmp_path / "dev.db"), [host.url])
        executor.start()
        try:
            dev = DevClient(executor.url)
            dev.wait_functions(1)
            run = dev.wait_run(dev.send("app/hello", {"name": "Ada"}), "-hello")
        finally:
            executor.stop()
    assert run["function_slug"] == f"{STARTERS[name]}-hello"
    assert (run["status"], run["output"]) == ("Completed", {"greeting": "Hello, Ada!", "loud": "HELLO, ADA!"})
