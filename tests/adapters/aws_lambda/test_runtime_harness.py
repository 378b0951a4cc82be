"""lambda_adapter inside Lambda's real runtime code, driven by the simulated executor:

* the Runtime Interface Emulator running the handler under awslambdaric, for every event shape
  and every captured event;
* serverless-offline (Serverless Framework v3) serving templates/serverless.yml: REST, HTTP API, ALB;
* SAM CLI's API Gateway emulator serving sam/template.yaml's routes, invoking through the emulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import aws_harness as aws
from tests.support.aws_lambda_app import APP_ID
from tests.support.sim_executor import SimExecutor, drive

pytestmark = pytest.mark.harness

KEY = "signkey-test-5d3a1c0e9b8f7a6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d"
ENV = {"INNGEST_SIGNING_KEY": KEY}

URLS = aws.SAMPLE_URLS


def need(path: Path) -> None:
    if not path.exists():
        pytest.fail(f"{path} is missing: run scripts/install-hosts.d/20-aws.sh")


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    need(aws.RIE)
    with aws.rie("tests.support.aws_lambda_app.handler", aws.REPO, ENV) as url:
        yield url


@pytest.mark.parametrize("shape", aws.SHAPES)
def test_emulator_runs_the_scenario_for_every_shape(emulator: str, shape: str) -> None:
    url, stage = URLS[shape]
    call = aws.event_call(lambda event: aws.invoke_url(emulator, event), shape, stage=stage)
    report = drive(call, url, app_id=APP_ID, signing_key=KEY)
    assert report["sync"]["framework"] == "aws_lambda"


@pytest.mark.parametrize("name", aws.fixture_names())
def test_emulator_accepts_every_captured_event(emulator: str, name: str) -> None:
    event = aws.fixture(name)
    method = event.get("httpMethod") or event["requestContext"]["http"]["method"]
    status, headers, body = aws.read_reply(aws.invoke_url(emulator, event))
    assert headers["x-inngest-sdk"].startswith("inngest-serverless:")
    if method == "GET":  # unsigned introspection
        assert (status, json.loads(body)["function_count"]) == (200, 2)
    else:  # an unsigned POST in cloud mode reaches core and is refused there
        assert (status, json.loads(body)["code"]) == (401, "unauthorized")


@pytest.mark.parametrize("event", [
    {"Records": [{"eventSource": "aws:sqs", "messageId": "1", "body": "{}"}]},
    {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}},
    ["not", "an", "object"],
])
def test_emulator_answers_a_non_http_event_with_a_clear_400(emulator: str, event: object) -> None:
    reply = aws.invoke_url(emulator, event)
    assert "errorType" not in reply
    assert reply["statusCode"] == 400
    assert "accepts events from" in json.loads(reply["body"])["message"]


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    need(aws.SLS_DIR / "node_modules" / "serverless-offline")
    with aws.serverless_offline(tmp_path_factory.mktemp("sls"), ENV) as ports:
        yield ports


@pytest.mark.parametrize(("door", "path", "advertised"), [
    ("http", "/dev/api/inngest", "/dev/api/inngest"),  # REST API (payload 1.0), under the stage
    ("http", "/api/inngest", "/api/inngest"),  # HTTP API (payload 2.0)
    # ALB: serverless-offline serves the route under the stage but leaves the stage out of the
    # event's path; a real ALB has no stage, so the adapter advertises the path the event carries.
    ("alb", "/dev/api/inngest", "/api/inngest"),
])
def test_serverless_offline_runs_the_scenario(offline: dict[str, int], door: str, path: str,
                                              advertised: str) -> None:
    origin = f"http://127.0.0.1:{offline[door]}"
    drive(aws.http, origin + path, app_id=APP_ID, signing_key=KEY, expect_url=origin + advertised)


@pytest.fixture(scope="module")
def sam_api(emulator: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    need(aws.SAM_PYTHON)
    with aws.sam_local_api(emulator, tmp_path_factory.mktemp("sam")) as port:
        yield port


@pytest.mark.parametrize("path", ["/api/inngest", "/rest/api/inngest"])  # HttpApi and Api events of the template
def test_sam_api_gateway_emulator_runs_the_scenario(sam_api: int, path: str) -> None:
    drive(aws.http, f"http://127.0.0.1:{sam_api}{path}", app_id=APP_ID, signing_key=KEY)


def test_lambda_cold_start_bench_runs(tmp_path: Path) -> None:
    """The benchmark's smoke mode: each route's first reply is a 206 (asserted in its child process)."""
    import subprocess
    import sys

    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, str(aws.REPO / "bench" / "bench_lambda_cold_start.py"), "--smoke",
                           "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(out.read_text())
    assert set(results["cold"]) == {"ours", "core-only", "inngest-py+fastapi+mangum", "python", "ours (site)",
                                    "python (site)"}
    assert set(results["ours_above_bare"]) == {"ms", "cpu_ms", "site_ms", "site_cpu_ms"}


def test_real_lambda_context_gives_the_deadline() -> None:
    need(aws.RIE)
    with aws.rie("tests.support.aws_deadline_app.handler", aws.REPO, {"AWS_LAMBDA_FUNCTION_TIMEOUT": "30"}) as url:
        event = aws.build_event(aws.HTTP_API, "GET", aws.SAMPLE_URLS[aws.HTTP_API][0])
        status, _, body = aws.read_reply(aws.invoke_url(url, event))
    left = json.loads(body)["seconds_left"]
    assert status == 200
    assert left is not None
    assert 0 < left <= 30  # the function timeout the emulator was given


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    """moto's AWS API stand-in on a loopback port (the Lambda process's boto3 reaches it over HTTP)."""
    from moto.server import ThreadedMotoServer

    port = aws.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.mark.parametrize(("workdir", "handler", "app_id", "call", "result"), [
    ("templates", "inngest_handler.handler", "inngest-app", ("hello", "app/hello", {"name": "Lambda"}),
     {"greeting": "Hello, Lambda!", "loud": "HELLO, LAMBDA!"}),
    ("sam/app", "app.handler", "sam-app", ("welcome", "user/signed.up", {"email": "a@example.com"}),
     {"welcomed": "a@example.com"}),
])
def test_template_handlers_take_their_keys_from_secrets_manager(
        moto_endpoint: str, workdir: str, handler: str, app_id: str, call: tuple[str, str, dict[str, str]],
        result: object) -> None:
    """Each template's handler as deployed (aws_keys() + lambda_adapter), under the emulator."""
    import boto3

    need(aws.RIE)
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
             "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": moto_endpoint}
    secrets = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    arn = secrets.create_secret(Name=f"{app_id}-keys", SecretString=json.dumps({"INNGEST_SIGNING_KEY": KEY}))["ARN"]
    env = {**creds, "INNGEST_SIGNING_KEY_SECRET_ARN": arn}
    with aws.rie(handler, aws.REPO / workdir, env) as invoke:
        url, _ = aws.SAMPLE_URLS[aws.FUNCTION_URL]
        sim = SimExecutor(aws.event_call(lambda event: aws.invoke_url(invoke, event), aws.FUNCTION_URL),
                          url, app_id, KEY)
        assert sim.introspect(signed=True)["authentication_succeeded"] is True
        run = sim.run(*call)
    assert (run.status, run.output) == ("completed", result)
