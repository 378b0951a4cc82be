"""Only GET, PUT and POST are answered; any other method gets a bare 405.

Checked through the core handler (sync and async) and through each adapter's entry
point, because a host could route a method to some other handler before core sees it.
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest

from inngest_serverless import ContextSync, Handler, Inngest, Request, TriggerEvent
from inngest_serverless.adapters.asgi import asgi_adapter
from inngest_serverless.adapters.aws_lambda import lambda_adapter
from inngest_serverless.adapters.wsgi import wsgi_adapter
from inngest_serverless.core.version import SDK_HEADER
from tests.support import aws_harness
from tests.support.fuzz_targets import serve_raw

OTHER_METHODS = ["DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT", "PROPFIND", "BREW"]
BODY = json.dumps({"event": {"name": "a/b", "data": {}}, "ctx": {"run_id": "r"}}).encode()
URL = "https://app.example.com/api/inngest?fnId=app-fn&stepId=step"


def client() -> Inngest:
    c = Inngest(app_id="app", is_production=True, signing_key="signkey-prod-" + "ab" * 32)

    @c.create_function(fn_id="fn", trigger=TriggerEvent(event="a/b"))
    def fn(ctx: ContextSync) -> str:
        return "ran"

    return c


def assert_bare_405(status: int, headers: dict[str, str], body: bytes) -> None:
    headers = {k.lower(): v for k, v in headers.items()}
    assert status == 405
    assert body == b""
    assert headers["x-inngest-sdk"] == SDK_HEADER
    assert headers["x-inngest-no-retry"] == "true"


@pytest.mark.parametrize("method", OTHER_METHODS)
def test_core_handler(method: str) -> None:
    handler = Handler(client())
    resp = handler.handle(Request.build(method, URL, {}, BODY))
    assert_bare_405(resp.status, resp.headers, resp.read())
    resp = asyncio.run(handler.handle_async(Request.build(method, URL, {}, BODY)))
    assert_bare_405(resp.status, resp.headers, resp.read())


@pytest.mark.parametrize("shape", aws_harness.SHAPES)
@pytest.mark.parametrize("method", ["DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_lambda_handler(shape: str, method: str) -> None:
    url = URL.replace("app.example.com", "abcdefgh.lambda-url.us-east-1.on.aws")
    event = aws_harness.build_event(shape, method, url, {"content-type": "application/json"}, BODY)
    reply = lambda_adapter(client())(event, aws_harness.FakeContext())
    assert_bare_405(*aws_harness.read_reply(reply))


@pytest.mark.parametrize("method", OTHER_METHODS)
def test_wsgi_app(method: str) -> None:
    started: list[Any] = []
    environ = {"REQUEST_METHOD": method, "PATH_INFO": "/api/inngest", "QUERY_STRING": "fnId=app-fn",
               "SERVER_NAME": "app.example.com", "SERVER_PORT": "443", "wsgi.url_scheme": "https",
               "wsgi.input": io.BytesIO(BODY), "CONTENT_LENGTH": str(len(BODY))}
    body = b"".join(wsgi_adapter(client())(environ, lambda status, headers, exc_info=None: started.append((status, headers))))
    status, headers = started[0]
    assert_bare_405(int(status.split()[0]), dict(headers), body)


@pytest.mark.parametrize("method", OTHER_METHODS)
def test_asgi_app(method: str) -> None:
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": BODY, "more_body": False}]
    scope = {"type": "http", "method": method, "scheme": "https", "path": "/api/inngest", "root_path": "",
             "query_string": b"fnId=app-fn", "headers": [(b"host", b"app.example.com")], "server": ("app", 443)}

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asgi_adapter(client())(scope, receive, send))
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    assert_bare_405(sent[0]["status"], headers, b"".join(m.get("body", b"") for m in sent[1:]))


def vercel_reply(method: str) -> tuple[int, dict[str, str], bytes]:
    from inngest_serverless.adapters.vercel import vercel_adapter

    head = f"{method} /api/inngest?fnId=app-fn HTTP/1.1\r\nHost: app.example.com\r\nContent-Length: {len(BODY)}\r\n\r\n"
    return serve_raw(vercel_adapter(client()), head.encode() + BODY)


@pytest.mark.parametrize("method", ["DELETE", "PATCH", "OPTIONS"])
def test_vercel_handler(method: str) -> None:
    assert_bare_405(*vercel_reply(method))


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND"])
def test_vercel_handler_other_methods(method: str) -> None:
    assert_bare_405(*vercel_reply(method))
