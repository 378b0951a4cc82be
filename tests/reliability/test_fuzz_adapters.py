"""Property-based fuzzing of every adapter's entry point.

Each drawn request (tests/support/fuzz_strategies.py) is turned into what the host would
hand the adapter: a Lambda event of each front-door shape (then sometimes mutated:
keys dropped, values of the wrong type, junk events) with a fake context, a WSGI
environ (sometimes with a bad Content-Length or no input stream), an ASGI scope
with the body in chunks, a functions-framework ``flask.Request`` (Google Cloud
Functions), an ``azure.functions.HttpRequest``. The host-level reply must keep the promises of
:func:`tests.support.fuzz_targets.check_reply`.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from inngest_serverless import Handler, Request, Response
from inngest_serverless.adapters.asgi import asgi_adapter
from inngest_serverless.adapters.aws_lambda import lambda_adapter
from inngest_serverless.adapters.wsgi import wsgi_adapter
from tests.support import aws_harness
from tests.support.fuzz_strategies import json_values, requests
from tests.support.fuzz_targets import EXAMPLES, build_client, check_reply, event_loop, loopback_api, serve_raw

MODES = ("dev", "cloud")
PROFILE = settings(max_examples=EXAMPLES or 40, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LAMBDA_HOSTS = {aws_harness.FUNCTION_URL: "abcdefgh.lambda-url.us-east-1.on.aws"}


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, Any]]:
    with loopback_api() as api:
        yield {mode: build_client(mode, api.url) for mode in MODES}


def core_handler(client: Any) -> Handler:
    return Handler(client)  # only its client's config is read by check_reply


def parts(request: Request) -> tuple[str, str, str, str]:
    """scheme, host, path, query of a drawn request (skipped when its URL cannot be split)."""
    try:
        url = urlsplit(request.url)
    except ValueError:
        assume(False)
        raise
    return url.scheme, url.netloc, url.path or "/", url.query


# -- AWS Lambda --------------------------------------------------------------------------------


@st.composite
def event_mutations(draw: st.DrawFn, event: dict[str, Any]) -> tuple[Any, bool]:
    """``(event, exact)``: the event as built, or with keys dropped or retyped, or junk."""
    choice = draw(st.sampled_from(["keep", "keep", "keep", "drop", "retype", "junk"]))
    if choice == "keep":
        return event, True
    if choice == "junk":
        return draw(json_values), False
    event = copy.deepcopy(event)
    containers = [event, *(v for v in event.values() if isinstance(v, dict))]
    target = draw(st.sampled_from(containers))
    if target:
        key = draw(st.sampled_from(sorted(target)))
        if choice == "drop":
            del target[key]
        else:
            target[key] = draw(json_values)
    return event, False


@pytest.mark.parametrize("mode", MODES)
def test_lambda_handler_keeps_the_promises(clients: dict[str, Any], mode: str) -> None:
    client = clients[mode]
    handler = lambda_adapter(client)
    core = core_handler(client)

    @PROFILE
    @given(request=requests(), shape=st.sampled_from(aws_harness.SHAPES), data=st.data())
    def run(request: Request, shape: str, data: st.DataObject) -> None:
        scheme, host, path, query = parts(request)
        host = LAMBDA_HOSTS.get(shape, host or "app.test")
        url = f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
        try:
            built = aws_harness.build_event(shape, request.method or "GET", url, dict(request.headers), request.body)
        except ValueError:
            assume(False)
        event, exact = data.draw(event_mutations(built))
        reply = handler(event, aws_harness.FakeContext())
        status, headers, body = aws_harness.read_reply(reply)
        sent = Request.build(request.method, url, dict(request.headers), request.body)
        check_reply(core, sent, Response(status, headers, body), exact=exact and bool(request.method))

    run()


# -- WSGI ----------------------------------------------------------------------------------------


def environ_for(request: Request, data: st.DataObject) -> tuple[dict[str, Any], bool]:
    scheme, host, path, query = parts(request)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method, "SCRIPT_NAME": "", "PATH_INFO": path.encode().decode("latin-1"),
        "QUERY_STRING": query, "SERVER_NAME": "app.test", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": scheme or "http", "wsgi.input": io.BytesIO(request.body),
        "CONTENT_LENGTH": str(len(request.body)),
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        latin = value.encode("utf-8", "surrogatepass").decode("latin-1")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = latin
        else:
            environ[f"HTTP_{key}"] = latin
    environ["CONTENT_LENGTH"] = str(len(request.body))
    environ.setdefault("HTTP_HOST", host.encode("utf-8", "surrogatepass").decode("latin-1"))
    change = data.draw(st.sampled_from(["keep", "keep", "keep", "bad-length", "short-length", "no-input"]))
    if change == "bad-length":
        environ["CONTENT_LENGTH"] = data.draw(st.sampled_from(["abc", "-1", "1e3", "99999999999", " "]))
    elif change == "short-length":
        environ["CONTENT_LENGTH"] = str(max(0, len(request.body) // 2))
    elif change == "no-input":
        del environ["wsgi.input"]
    return environ, change == "keep"


@pytest.mark.parametrize("mode", MODES)
def test_wsgi_app_keeps_the_promises(clients: dict[str, Any], mode: str) -> None:
    client = clients[mode]
    app = wsgi_adapter(client)
    core = core_handler(client)

    @PROFILE
    @given(request=requests(), data=st.data())
    def run(request: Request, data: st.DataObject) -> None:
        environ, exact = environ_for(request, data)
        started: list[Any] = []
        chunks = app(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
        body = b"".join(chunks)
        status_line, pairs = started[0]
        response = Response(int(status_line.split()[0]), dict(pairs), body)
        check_reply(core, request, response, exact=exact)

    run()


# -- ASGI ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_asgi_app_keeps_the_promises(clients: dict[str, Any], mode: str) -> None:
    client = clients[mode]
    app = asgi_adapter(client)
    core = core_handler(client)

    @PROFILE
    @given(request=requests(), cut=st.integers(0, 64))
    def run(request: Request, cut: int) -> None:
        scheme, host, path, query = parts(request)
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": request.method,
            "scheme": scheme or "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": query.encode("utf-8", "surrogatepass"), "server": ("127.0.0.1", 8000),
            "headers": [(k.encode("latin-1", "replace"), v.encode("utf-8", "surrogatepass"))
                        for k, v in request.headers.items()],
        }
        if "host" not in request.headers:
            scope["headers"].append((b"host", host.encode("utf-8", "surrogatepass")))
        pieces = [request.body[:cut], request.body[cut:]]
        messages = [{"type": "http.request", "body": p, "more_body": i == 0} for i, p in enumerate(pieces)]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        loop.run_until_complete(app(scope, receive, send))
        start = sent[0]
        assert start["type"] == "http.response.start"
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
        body = b"".join(m.get("body", b"") for m in sent[1:])
        check_reply(core, request, Response(start["status"], headers, body))

    with event_loop() as loop:
        run()


# -- Google Cloud Functions (functions-framework's flask.Request) ---------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_gcf_function_keeps_the_promises(clients: dict[str, Any], mode: str) -> None:
    import flask

    from inngest_serverless.adapters.gcp import gcf_adapter

    client = clients[mode]
    function = gcf_adapter(client)
    core = core_handler(client)
    app = flask.Flask("fuzz")

    @PROFILE
    @given(request=requests())
    def run(request: Request) -> None:
        scheme, host, path, query = parts(request)
        assume(request.method and request.method.isascii() and request.method.isalpha())
        headers = {k: v for k, v in request.headers.items() if v.isprintable()}
        with app.test_request_context(path, base_url=f"{scheme}://{host or 'app.test'}", query_string=query,
                                      method=request.method, data=request.body, headers=headers):
            reply = function(flask.request)
            body = reply.get_data()
        sent = Request.build(request.method, request.url, headers, request.body)
        check_reply(core, sent, Response(reply.status_code, dict(reply.headers), body))

    run()


# -- Azure Functions (azure.functions.HttpRequest) ------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_azure_function_keeps_the_promises(clients: dict[str, Any], mode: str) -> None:
    import azure.functions as azf

    from inngest_serverless.adapters.azure import azure_adapter

    client = clients[mode]
    function = azure_adapter(azf.FunctionApp(), client)
    core = core_handler(client)

    @PROFILE
    @given(request=requests())
    def run(request: Request) -> None:
        reply = function(azf.HttpRequest(request.method, request.url, headers=dict(request.headers), body=request.body))
        check_reply(core, request, Response(reply.status_code, dict(reply.headers), reply.get_body()))

    run()


# -- Vercel (the BaseHTTPRequestHandler class its Python runtime serves) ----------------------------


# Methods drawn for the class (any other name reaches core too: tests/adapters/test_methods.py).
VERCEL_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "PROPFIND")


@pytest.mark.parametrize("mode", MODES)
def test_vercel_handler_keeps_the_promises(clients: dict[str, Any], mode: str) -> None:
    from inngest_serverless.adapters.vercel import vercel_adapter

    client = clients[mode]
    handler_cls = vercel_adapter(client)
    core = core_handler(client)

    @PROFILE
    @given(request=requests(), method=st.sampled_from(VERCEL_METHODS), keep_method=st.booleans())
    def run(request: Request, method: str, keep_method: bool) -> None:
        _, host, path, query = parts(request)
        method = request.method if keep_method and request.method in VERCEL_METHODS else method
        headers = {k: v for k, v in request.headers.items()
                   if k.isascii() and k.replace("-", "").isalnum() and v.isascii() and v.isprintable()
                   and k.lower() not in ("host", "content-length", "transfer-encoding")}
        target = (quote(path, safe="/%") or "/") + (f"?{quote(query, safe='=&%')}" if query else "")
        head = [f"{method} {target} HTTP/1.1", f"Host: {host if host.isascii() and host.isprintable() else 'app.test'}",
                f"Content-Length: {len(request.body)}", *(f"{k}: {v}" for k, v in headers.items())]
        status, reply_headers, body = serve_raw(handler_cls, ("\r\n".join(head) + "\r\n\r\n").encode() + request.body)
        sent = Request.build(method, "http://app.test" + target, {**headers, "host": "app.test"}, request.body)
        check_reply(core, sent, Response(status, reply_headers, b"" if method == "HEAD" else body))

    run()

