"""Lambda event shapes <-> Request/Response, over captured events and events we build."""

from __future__ import annotations

import base64

import pytest

from inngest_serverless.adapters.aws_lambda import _events
from inngest_serverless.adapters.aws_lambda._events import (
    AlbEvent,
    EventShapeError,
    FunctionUrlEvent,
    HttpApiEvent,
    RestApiEvent,
    infer,
)
from inngest_serverless.core import errors
from inngest_serverless.core.errors import InngestError
from inngest_serverless.core.http import Response
from tests.support import aws_harness as aws

# What each event template must be read as: its shape, method, URL and body.
CAPTURED = {
    "alb_multivalue.json": (
        AlbEvent, "GET", "http://orders-alb-1234567890.eu-west-1.elb.amazonaws.com/orders?status=open&status=paid&page=2",
        b""),
    "functionurl.json": (
        FunctionUrlEvent, "POST", "https://k3xq7v2mplr5tw8a.lambda-url.eu-west-1.on.aws/orders?status=open&status=paid&page=2",
        b'{"order": 42}'),
    "samgen_alb.json": (
        AlbEvent, "POST", "http://lambda-alb-123578498.us-east-2.elb.amazonaws.com/path/to/resource?query=1234ABCD",
        b'{"test":"body"}'),
    "samgen_v1.json": (
        RestApiEvent, "POST", "https://0123456789.execute-api.us-east-1.amazonaws.com/prod/path/to/resource?foo=bar",
        b'{"test":"body"}'),
    "samgen_v2.json": (
        HttpApiEvent, "POST",
        "https://id.execute-api.us-east-1.amazonaws.com/path/to/resource?parameter1=value1&parameter1=value2"
        "&parameter2=value", b'{"test":"body"}'),
    "samlocal_v1.json": (RestApiEvent, "POST", "http://127.0.0.1:18093/v1/some/path?a=1&a=2", b"payload"),
    "samlocal_v2.json": (HttpApiEvent, "POST", "http://127.0.0.1:18093/v2/some/path?a=1&a=2", b"payload"),
    "slsoffline_alb.json": (AlbEvent, "POST", "http://127.0.0.1:18085/alb/x?a=1&a=2", b"payload"),
    "slsoffline_v1.json": (RestApiEvent, "POST", "http://127.0.0.1:18083/v1/some/path?a=1&a=2", b"payload"),
    "slsoffline_v2.json": (HttpApiEvent, "POST", "http://127.0.0.1:18083/v2/some/path?a=1&a=2", b"payload"),
}
# Extra cases, read when the workspace's shared captures sit beside the checkout (aws_harness.EXTRA).
EXTRA_CAPTURED = {
    "powertools_alb_multivalue.json": (
        AlbEvent, "GET", "http://alb-c-LoadB-14POFKYCLBNSF-1815800096.eu-central-1.elb.amazonaws.com/todos", b""),
    "powertools_function_url.json": (FunctionUrlEvent, "GET", "https://<url-id>.lambda-url.us-east-1.on.aws/", b""),
    "powertools_http_api_v2.json": (
        HttpApiEvent, "POST",
        "https://id.execute-api.us-east-1.amazonaws.com/my/path?parameter1=value1&parameter1=value2&parameter2=value",
        b'{"message": "hello world", "username": "tom"}'),
    "powertools_rest_v1.json": (
        RestApiEvent, "GET",
        "https://id.execute-api.us-east-1.amazonaws.com/my/path?parameter1=value1&parameter1=value2&parameter2=value",
        b"Hello from Lambda!"),
}
EXPECTED = {**EXTRA_CAPTURED, **CAPTURED}


def test_every_event_template_has_an_expectation() -> None:
    assert sorted(CAPTURED) == aws.fixture_names(extra=False)
    assert set(aws.fixture_names()) <= set(EXPECTED)


@pytest.mark.parametrize("name", aws.fixture_names())
def test_captured_event_is_read_as_the_request_the_caller_made(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IS_OFFLINE", raising=False)
    shape, method, url, body = EXPECTED[name]
    event = infer(aws.fixture(name))
    request = event.to_request(remaining_seconds=5)
    assert type(event) is shape
    assert (request.method, request.url, request.body) == (method, url, body)
    assert request.deadline is not None


def test_serverless_offline_rest_url_gets_the_stage_it_is_served_under(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IS_OFFLINE", "true")
    request = infer(aws.fixture("slsoffline_v1.json")).to_request()
    assert request.url == "http://127.0.0.1:18083/dev/v1/some/path?a=1&a=2"


def test_multi_value_headers_keep_every_value_and_single_only_names() -> None:
    event = aws.fixture("samgen_v1.json")
    event["multiValueHeaders"] = {"header1": ["value1"], "header2": ["value1", "value2"]}
    event["headers"] = {"header1": "value1", "header2": "value2", "Origin": "https://aws.amazon.com"}
    request = infer(event).to_request()
    assert request.headers["header2"] == "value1, value2"
    assert request.headers["origin"] == "https://aws.amazon.com"


def test_alb_multi_value_headers_keep_every_value() -> None:
    request = infer(aws.fixture("alb_multivalue.json")).to_request()
    assert request.headers["x-tag"] == "first, second"


def test_http_api_cookies_come_back_as_a_cookie_header() -> None:
    request = infer(aws.fixture("samgen_v2.json")).to_request()
    assert request.headers["cookie"] == "cookie1; cookie2"


def test_function_url_cookies_come_back_as_a_cookie_header() -> None:
    request = infer(aws.fixture("functionurl.json")).to_request()
    assert request.headers["cookie"] == "session=abc; theme=dark"


URLS = [
    "https://abc123.execute-api.eu-west-1.amazonaws.com/api/inngest",
    "https://abc123.execute-api.eu-west-1.amazonaws.com/api/inngest?fnId=app-fn&stepId=step",
    "https://api.example.com/api/inngest?fnId=app-f%20n&stepId=0123abcd",
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("shape", [aws.REST, aws.REST_SINGLE, aws.HTTP_API, aws.ALB, aws.ALB_MULTI])
def test_built_event_is_valid_and_reads_back_as_its_url(shape: str, url: str) -> None:
    event = aws.build_event(shape, "POST", url, {"content-type": "application/json"}, b'{"a": 1}')
    aws.validate(shape, event)
    request = infer(event).to_request()
    assert (request.method, request.url, request.body) == ("POST", url, b'{"a": 1}')
    assert request.headers["content-type"] == "application/json"


def test_rest_event_without_multi_value_keys_reads_back_as_its_url() -> None:
    url = "https://api.example.com/api/inngest?fnId=f&stepId=step"
    event = aws.build_event(aws.REST_SINGLE, "POST", url, {"x-a": "1"}, b"{}")
    del event["multiValueHeaders"], event["multiValueQueryStringParameters"]
    request = infer(event).to_request()
    assert (request.url, request.headers["x-a"], request.body) == (url, "1", b"{}")


def test_function_url_event_reads_back_as_its_url() -> None:
    url = "https://abcdefg.lambda-url.us-east-1.on.aws/api/inngest?fnId=x"
    event = aws.build_event(aws.FUNCTION_URL, "PUT", url, {}, b"")
    aws.validate(aws.FUNCTION_URL, event)
    parsed = infer(event)
    assert isinstance(parsed, FunctionUrlEvent)
    assert parsed.to_request().url == url


@pytest.mark.parametrize("shape", [aws.REST, aws.REST_SINGLE])
def test_rest_stage_prefix_is_part_of_the_url(shape: str) -> None:
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/api/inngest?fnId=f"
    event = aws.build_event(shape, "GET", url, stage="prod")
    aws.validate(shape, event)
    assert event["path"] == "/api/inngest"
    assert infer(event).to_request().url == url


def test_rest_stage_is_added_on_execute_api_host_when_request_context_path_is_missing() -> None:
    event = aws.build_event(aws.REST, "GET", "https://abc.execute-api.us-east-1.amazonaws.com/prod/api/inngest",
                            stage="prod")
    del event["requestContext"]["path"]
    assert infer(event).to_request().url == "https://abc.execute-api.us-east-1.amazonaws.com/prod/api/inngest"


def test_rest_custom_domain_base_path_is_kept_and_stage_is_not_added() -> None:
    # Behind a custom domain with base path mapping "v1" -> stage "prod", API Gateway
    # puts the base path in both path and requestContext.path, and no stage.
    event = aws.build_event(aws.REST, "GET", "https://api.example.com/v1/api/inngest", stage="prod")
    assert event["path"] == event["requestContext"]["path"] == "/v1/api/inngest"
    assert infer(event).to_request().url == "https://api.example.com/v1/api/inngest"


def test_http_api_named_stage_is_kept_from_raw_path() -> None:
    url = "https://abc.execute-api.us-east-1.amazonaws.com/prod/api/inngest"
    event = aws.build_event(aws.HTTP_API, "GET", url, stage="prod")
    aws.validate(aws.HTTP_API, event)
    assert infer(event).to_request().url == url


@pytest.mark.parametrize("shape", [aws.REST, aws.HTTP_API, aws.ALB_MULTI])
def test_base64_request_body_is_decoded(shape: str) -> None:
    body = bytes(range(256))
    event = aws.build_event(shape, "POST", "https://h.example.com/api/inngest", {}, body)
    assert event["isBase64Encoded"] is True
    aws.validate(shape, event)
    assert infer(event).to_request().body == body


def test_text_body_marked_base64_is_decoded_too() -> None:
    event = aws.build_event(aws.HTTP_API, "POST", "https://h.example.com/x", {}, b'{"x": 1}', base64_body=True)
    assert infer(event).to_request().body == b'{"x": 1}'


def test_bad_base64_body_is_a_shape_error() -> None:
    event = aws.build_event(aws.HTTP_API, "POST", "https://h.example.com/x", {}, b"")
    event.update(body="not base64!", isBase64Encoded=True)
    with pytest.raises(EventShapeError, match="base64"):
        infer(event).to_request()


def test_a_shape_error_is_an_inngest_error_and_still_a_value_error() -> None:
    for caught in (InngestError, ValueError):
        with pytest.raises(caught, match="serves Inngest over HTTP"):
            infer({"Records": [{"eventSource": "aws:sqs"}]})
    assert "EventShapeError" in (errors.__doc__ or "")  # the hierarchy names it


def test_json_reply_is_plain_text() -> None:
    event = infer(aws.build_event(aws.HTTP_API, "GET", "https://h.example.com/x"))
    reply = event.reply(Response(206, {"content-type": "application/json", "X-Inngest-SDK": "s:v1"}, b"[1]"))
    assert reply == {"statusCode": 206, "headers": {"content-type": "application/json", "x-inngest-sdk": "s:v1"},
                     "body": "[1]", "isBase64Encoded": False}


def test_binary_reply_is_base64() -> None:
    event = infer(aws.build_event(aws.REST, "GET", "https://h.example.com/x"))
    reply = event.reply(Response(200, {"content-type": "application/octet-stream"}, b"\x00\xff"))
    assert reply["isBase64Encoded"] is True
    assert base64.b64decode(reply["body"]) == b"\x00\xff"


def test_streamed_reply_is_joined() -> None:
    event = infer(aws.build_event(aws.REST, "GET", "https://h.example.com/x"))
    reply = event.reply(Response(201, {"content-type": "application/json"}, stream=iter([b" ", b" ", b"{}"])))
    assert reply["body"] == "  {}"


def test_alb_reply_has_status_description_and_canonical_header_names() -> None:
    event = infer(aws.build_event(aws.ALB, "GET", "https://h.example.com/x"))
    reply = event.reply(Response(206, {"content-type": "application/json"}, b"[]"))
    assert reply["statusDescription"] == "206 Partial Content"
    assert reply["headers"] == {"Content-Type": "application/json"}
    assert "multiValueHeaders" not in reply


def test_alb_multi_value_reply_uses_multi_value_headers_only() -> None:
    event = infer(aws.build_event(aws.ALB_MULTI, "GET", "https://h.example.com/x"))
    reply = event.reply(Response(200, {"x-inngest-sdk": "s:v1"}, b"{}"))
    assert reply["multiValueHeaders"] == {"X-Inngest-Sdk": ["s:v1"]}
    assert "headers" not in reply


SQS = {"Records": [{"messageId": "1", "eventSource": "aws:sqs", "body": "{}"}]}
EVENTBRIDGE = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}


@pytest.mark.parametrize(("event", "described"), [
    (SQS, "aws:sqs records"),
    (EVENTBRIDGE, "EventBridge event (aws.events)"),
    ({"hello": "world"}, "keys ['hello']"),
    ({}, "an empty object"),
    (["a", "list"], "a JSON list"),
    ("text", "a JSON str"),
    (None, "a JSON NoneType"),
    ({"httpMethod": "GET"}, "keys ['httpMethod']"),
])
def test_non_http_event_error_names_what_came_and_what_is_accepted(event: object, described: str) -> None:
    with pytest.raises(EventShapeError) as err:
        infer(event)
    message = str(err.value)
    assert described in message
    for shape in _events.SHAPES:
        assert shape.name in message
