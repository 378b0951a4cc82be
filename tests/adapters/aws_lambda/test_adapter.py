"""lambda_adapter in-process: the simulated executor through every event shape, deadlines,
serve URL overrides, non-HTTP events and keys from Secrets Manager / SSM (moto, no network)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from inngest_serverless import Inngest, InngestError, TriggerEvent
from inngest_serverless.adapters import aws_lambda
from inngest_serverless.adapters.aws_lambda import lambda_adapter
from inngest_serverless.core import errors
from inngest_serverless.core.http import Request, Response
from tests.support import aws_harness as aws
from tests.support.sim_executor import SimExecutor, drive

KEY = "signkey-test-8ee2262a15e8d3c42d6a840db7af3de2aab08ef632b32a37a687f24b34dba3ff"
OTHER_KEY = "signkey-test-1111111111111111111111111111111111111111111111111111111111111111"

URLS = aws.SAMPLE_URLS


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("INNGEST_SIGNING_KEY", KEY)
    monkeypatch.delenv("INNGEST_SERVE_ORIGIN", raising=False)
    monkeypatch.delenv("INNGEST_SERVE_PATH", raising=False)
    sys.modules.pop("tests.support.aws_lambda_app", None)
    import tests.support.aws_lambda_app as module

    yield module
    sys.modules.pop("tests.support.aws_lambda_app", None)


def lambda_call(handler: aws_lambda.LambdaHandler, shape: str, stage: str | None = None) -> aws.Call:
    return aws.event_call(lambda event: handler(event, aws.FakeContext()), shape, stage=stage)


@pytest.mark.parametrize("shape", aws.SHAPES)
def test_simulated_executor_runs_the_scenario_through_every_shape(app: Any, shape: str) -> None:
    url, stage = URLS[shape]
    report = drive(lambda_call(app.handler, shape, stage), url, app_id=app.APP_ID, signing_key=KEY)
    assert report["sync"]["framework"] == "aws_lambda"


def test_unsigned_call_in_cloud_mode_is_refused(app: Any) -> None:
    url, _ = URLS[aws.HTTP_API]
    sim = SimExecutor(lambda_call(app.handler, aws.HTTP_API), url, app.APP_ID, signing_key=None)
    status, headers, body = sim.request("POST", {"fnId": f"{app.APP_ID}-multi-step", "stepId": "step"}, {})
    assert status == 401
    assert headers["x-inngest-no-retry"] == "true"
    assert KEY not in body.decode()


@pytest.mark.parametrize(("options", "env", "expected"), [
    ({"serve_origin": "https://inngest.example.com"}, {}, "https://inngest.example.com/prod/api/inngest"),
    ({"serve_path": "/v2/inngest"}, {}, "https://abc123.execute-api.us-east-1.amazonaws.com/v2/inngest"),
    ({}, {"INNGEST_SERVE_ORIGIN": "https://env.example.com", "INNGEST_SERVE_PATH": "/x"},
     "https://env.example.com/x"),
])
def test_serve_url_overrides_win_over_the_event(monkeypatch: pytest.MonkeyPatch, options: dict[str, str],
                                                env: dict[str, str], expected: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = Inngest(app_id="o", is_production=True, signing_key=KEY)

    @client.create_function(fn_id="f", trigger=TriggerEvent(event="a/b"))
    def f(ctx: Any) -> None:
        return None

    url, stage = URLS[aws.REST]
    sim = SimExecutor(lambda_call(lambda_adapter(client, **options), aws.REST, stage), url, "o", KEY)
    assert sim.sync()["url"] == expected


class Recorder:
    def __init__(self) -> None:
        self.requests: list[Request] = []

    def handle(self, request: Request) -> Response:
        self.requests.append(request)
        return Response(200, {"content-type": "application/json"}, b"{}")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def test_deadline_is_lambdas_remaining_time(recorder: Recorder) -> None:
    handler = aws_lambda.LambdaAdapter(recorder)  # type: ignore[arg-type]
    before = time.monotonic()
    handler(aws.build_event(aws.HTTP_API, "GET", "https://h.example.com/api/inngest"), aws.FakeContext(12_345))
    deadline = recorder.requests[0].deadline
    assert deadline is not None
    assert before + 12.345 <= deadline <= time.monotonic() + 12.345


@pytest.mark.parametrize("context", [None, object(), aws.FakeContext(0)])
def test_no_deadline_when_the_context_cannot_tell(recorder: Recorder, context: object) -> None:
    handler = aws_lambda.LambdaAdapter(recorder)  # type: ignore[arg-type]
    reply = handler(aws.build_event(aws.ALB, "GET", "https://h.example.com/api/inngest"), context)
    assert reply["statusCode"] == 200
    assert recorder.requests[0].deadline is None


@pytest.mark.parametrize("event", [
    {"Records": [{"eventSource": "aws:sqs", "body": "{}"}]},
    {"detail-type": "Object Created", "source": "aws.s3", "detail": {}},
    {"garbage": True},
    [1, 2, 3],
    "a string",
])
def test_non_http_event_gets_a_400_naming_the_accepted_shapes(app: Any, event: object) -> None:
    reply = app.handler(event, aws.FakeContext())
    assert reply["statusCode"] == 400
    assert reply["headers"]["x-inngest-sdk"].startswith("inngest-serverless:")
    message = json.loads(reply["body"])["message"]
    for shape in aws_lambda.SHAPES:
        assert shape.name in message


def test_importing_the_adapter_loads_no_heavy_module() -> None:
    heavy = ["asyncio", "httpx", "boto3", "botocore", "aws_lambda_powertools", "pydantic", "mangum"]
    code = ("import sys, inngest_serverless.adapters.aws_lambda as m; "
            f"print([n for n in {heavy!r} if n in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=aws.REPO)
    assert out.stdout.strip() == "[]"


# -- keys from AWS --------------------------------------------------------------

@pytest.fixture
def mocked_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from aws_lambda_powertools.utilities import parameters
    from moto import mock_aws

    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv(aws_lambda.SECRET_ENV, raising=False)
    monkeypatch.delenv(aws_lambda.PARAMETER_ENV, raising=False)
    parameters.clear_caches()
    with mock_aws():
        import boto3

        yield boto3
    parameters.clear_caches()


def keyed_app(**adapter_options: Any) -> tuple[Inngest, aws_lambda.LambdaHandler]:
    client = Inngest(app_id="k", is_production=True, **aws_lambda.aws_keys(
        adapter_options.get("signing_key_secret"), adapter_options.get("signing_key_parameter"),
        adapter_options.get("keys_max_age", 300)))

    @client.create_function(fn_id="f", trigger=TriggerEvent(event="a/b"))
    def f(ctx: Any) -> str:
        return "ok"

    return client, lambda_adapter(client, **adapter_options)


def run_once(handler: aws_lambda.LambdaHandler, key: str | None) -> tuple[int, Any]:
    url, _ = URLS[aws.HTTP_API]
    sim = SimExecutor(lambda_call(handler, aws.HTTP_API), url, "k", key)
    run = sim.run("f", "a/b", {})
    return (200 if run.status == "completed" else 500), run.output


def test_signing_key_from_a_plain_secret(mocked_aws: Any) -> None:
    mocked_aws.client("secretsmanager").create_secret(Name="inngest/plain", SecretString=KEY)
    client, handler = keyed_app(signing_key_secret="inngest/plain")
    assert client.config.signing_key == KEY
    assert run_once(handler, KEY) == (200, "ok")


def test_keys_from_a_json_secret_named_by_the_environment(mocked_aws: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    arn = mocked_aws.client("secretsmanager").create_secret(
        Name="inngest/json", SecretString=json.dumps({"INNGEST_SIGNING_KEY": KEY, "INNGEST_EVENT_KEY": "ek-1",
                                                      "INNGEST_SIGNING_KEY_FALLBACK": OTHER_KEY}))["ARN"]
    monkeypatch.setenv(aws_lambda.SECRET_ENV, arn)
    client, handler = keyed_app()
    assert (client.config.signing_key, client.config.signing_key_fallback, client.config.event_key) == (
        KEY, OTHER_KEY, "ek-1")
    assert run_once(handler, OTHER_KEY) == (200, "ok")


def test_signing_key_from_an_ssm_secure_string(mocked_aws: Any) -> None:
    mocked_aws.client("ssm").put_parameter(Name="/inngest/key", Value=KEY, Type="SecureString")
    client, handler = keyed_app(signing_key_parameter="/inngest/key")
    assert client.config.signing_key == KEY
    assert run_once(handler, KEY) == (200, "ok")


def test_rotated_secret_is_picked_up_once_the_cache_expires(mocked_aws: Any) -> None:
    sm = mocked_aws.client("secretsmanager")
    sm.create_secret(Name="inngest/rotating", SecretString=KEY)
    client, handler = keyed_app(signing_key_secret="inngest/rotating", keys_max_age=0)
    sm.put_secret_value(SecretId="inngest/rotating", SecretString=OTHER_KEY)
    assert run_once(handler, OTHER_KEY) == (200, "ok")
    assert client.config.signing_key == OTHER_KEY


def test_unreadable_secret_is_a_retriable_500_that_names_it(mocked_aws: Any) -> None:
    client = Inngest(app_id="k", is_production=True, signing_key=KEY)
    handler = lambda_adapter(client, signing_key_secret="inngest/missing")
    reply = handler(aws.build_event(aws.HTTP_API, "GET", URLS[aws.HTTP_API][0]), aws.FakeContext())
    status, headers, body = aws.read_reply(reply)
    assert status == 500
    assert headers["x-inngest-no-retry"] == "false"
    assert "inngest/missing" in json.loads(body)["message"]
    assert KEY not in body.decode()


def test_secret_without_a_signing_key_is_refused(mocked_aws: Any) -> None:
    mocked_aws.client("secretsmanager").create_secret(Name="inngest/empty",
                                                       SecretString=json.dumps({"INNGEST_EVENT_KEY": "x"}))
    with pytest.raises(aws_lambda.KeySourceError, match="holds no signing key"):
        aws_lambda.aws_keys(secret="inngest/empty")


def test_a_key_source_error_is_an_inngest_error_and_still_a_runtime_error(mocked_aws: Any) -> None:
    for caught in (InngestError, RuntimeError):
        with pytest.raises(caught, match="could not read the Secrets Manager secret"):
            aws_lambda.aws_keys(secret="inngest/absent")
    assert "KeySourceError" in (errors.__doc__ or "")  # the hierarchy names it


def test_no_key_location_means_no_aws_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(aws_lambda.SECRET_ENV, raising=False)
    monkeypatch.delenv(aws_lambda.PARAMETER_ENV, raising=False)
    assert aws_lambda.aws_keys() == {}


def test_secret_and_parameter_together_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        aws_lambda.aws_keys(secret="a", parameter="b")


def test_forced_keep_alive_stream_is_joined_into_one_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_STREAMING", "force")
    client = Inngest(app_id="s", is_production=True, signing_key=KEY)

    @client.create_function(fn_id="f", trigger=TriggerEvent(event="a/b"))
    def f(ctx: Any) -> str:
        return "ok"

    url, _ = URLS[aws.FUNCTION_URL]
    run = SimExecutor(lambda_call(lambda_adapter(client), aws.FUNCTION_URL), url, "s", KEY).run("f", "a/b", {})
    assert (run.status, run.output) == ("completed", "ok")


def _leaf_paths(value: object, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaf_paths(item, (*path, index))


@pytest.mark.parametrize("name", aws.fixture_names())
def test_any_field_of_the_wrong_type_gets_an_http_reply_not_a_crash(name: str) -> None:
    handler = lambda_adapter(Inngest(app_id="fuzz", is_production=False))
    original = aws.fixture(name)
    for path in _leaf_paths(original):
        for wrong in (None, 7, "x", [1], {"a": [None]}, True):
            event = json.loads(json.dumps(original))
            parent = event
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = wrong
            reply = handler(event, None)
            assert isinstance(reply["statusCode"], int), (path, wrong)
            assert isinstance(reply["body"], str), (path, wrong)


@pytest.mark.parametrize("shape", aws.SHAPES)
def test_out_of_band_sync_registers_the_url_rebuilt_from_the_event(shape: str) -> None:
    from tests.support.fake_api import fake_api

    with fake_api() as api:
        api.on("POST", "/fn/register", (200, {"ok": True, "modified": True}))
        client = Inngest(app_id="oob", is_production=True, signing_key=KEY, api_base_url=api.url)

        @client.create_function(fn_id="f", trigger=TriggerEvent(event="a/b"))
        def f(ctx: Any) -> None:
            return None

        url, stage = URLS[shape]
        call = lambda_call(lambda_adapter(client), shape, stage)
        from inngest_serverless.core import signing

        headers = {"content-type": "application/json", "x-inngest-signature": signing.sign(b"", KEY)}
        status, _, body = call("PUT", url + "?deployId=d1", headers, b"")
        (register,) = [r for r in api.requests if r.path.startswith("/fn/register")]
    assert status == 200, body
    assert register.json()["url"] == url
    assert register.path == "/fn/register?deployId=d1"


def test_async_functions_run_under_the_sync_lambda_handler() -> None:
    client = Inngest(app_id="a", is_production=True, signing_key=KEY)

    @client.create_function(fn_id="f", trigger=TriggerEvent(event="a/b"))
    async def f(ctx: Any) -> int:
        first: int = await ctx.step.run("one", lambda: 1)

        async def plus_one() -> int:
            return first + 1

        second: int = await ctx.step.run("two", plus_one)
        return second

    url, _ = URLS[aws.HTTP_API]
    run = SimExecutor(lambda_call(lambda_adapter(client), aws.HTTP_API), url, "a", KEY).run("f", "a/b", {})
    assert (run.status, run.output, run.calls) == ("completed", 2, 3)
