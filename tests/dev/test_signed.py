"""Signed mode: the executor signs every call and checks the bearer on registration, as production does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inngest_serverless.core import signing
from inngest_serverless.dev import DevServer
from tests.support.dev_apps.harness import Client, app_process, http_json

KEY = "signkey-test-7468697320697320612074657374206b6579"


@pytest.fixture
def server() -> Iterator[DevServer]:
    server = DevServer(port=0, db=":memory:", signing_key=KEY, retry_interval=0.2, poll_interval=3600).start()
    try:
        yield server
    finally:
        server.stop()


def test_signed_calls_pass_the_sdk_verification(server: DevServer) -> None:
    with app_process("tests.support.dev_apps.ours_app", server.url, {"SUITE_SIGNING_KEY": KEY}) as app_url:
        server.sdk_urls.append(app_url)
        server.ping_apps()
        client = Client(server.url)
        client.wait_functions(10)
        run = client.wait_run(client.send("tests/step.test"), "-step-test")
        assert run["status"] == "Completed"
        assert run["output"]["second"] == {"first": "first step", "second": True}


def test_an_app_with_another_key_rejects_every_call(server: DevServer) -> None:
    other = "signkey-test-" + "ab" * 16
    with app_process("tests.support.dev_apps.ours_app", server.url, {"SUITE_SIGNING_KEY": other}) as app_url:
        payload = {
            "url": app_url,
            "appName": "dev-suite",
            "deployType": "ping",
            "sdk": "py:v0",
            "functions": [
                {
                    "id": "dev-suite-simple-fn",
                    "name": "simple",
                    "triggers": [{"event": "tests/function.test"}],
                    "steps": {
                        "step": {
                            "id": "step",
                            "name": "step",
                            "runtime": {"type": "http", "url": app_url + "?fnId=dev-suite-simple-fn&stepId=step"},
                            "retries": {"attempts": 1},
                        }
                    },
                }
            ],
        }
        headers = {"Authorization": "Bearer " + signing.bearer(KEY)}
        assert http_json("POST", f"{server.url}/fn/register", payload, headers)[0] == 200
        client = Client(server.url)
        run = client.wait_run(client.send("tests/function.test"), "-simple-fn")
        assert run["status"] == "Failed"
        # As the Inngest server does, a failed run's output is its error: here the app's refusal.
        assert run["output"]["code"] == "unauthorized"
        assert "signature" in run["output"]["message"]


def test_registration_needs_the_bearer_token(server: DevServer) -> None:
    body = {"url": "http://127.0.0.1:1/api", "appName": "x", "functions": []}
    assert http_json("POST", f"{server.url}/fn/register", body)[0] == 401
    wrong = {"Authorization": "Bearer signkey-test-" + "00" * 32}
    assert http_json("POST", f"{server.url}/fn/register", body, wrong)[0] == 401
    plain = {"Authorization": "Bearer " + signing.normalize_key(KEY)}
    assert http_json("POST", f"{server.url}/fn/register", body, plain)[0] == 200
    assert http_json("GET", f"{server.url}/v0/runs/01J00000000000000000000000/batch")[0] == 401
