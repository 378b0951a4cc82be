"""serve() under the official SDK's module names (inngest_serverless.flask, .fast_api, .django,
.tornado): each framework's real server on a loopback port, driven through the standard scenario
(introspection, in-band sync, a multi-step run, a failing step) by the simulated executor."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from inngest_serverless import Context, Inngest, TriggerEvent
from tests.support import aws_harness as aws
from tests.support.sim_executor import SimExecutor, drive
from tests.support.standard_functions import add_standard_functions

KEY = "signkey-test-8ee2262a15e8d3c42d6a840db7af3de2aab08ef632b32a37a687f24b34dba3ff"
APP_ID = "serve-app"


def make_client(*, with_async: bool = False) -> tuple[Inngest, list[Any]]:
    client = Inngest(app_id=APP_ID, is_production=True, signing_key=KEY)
    add_standard_functions(client)
    if with_async:
        @client.create_function(fn_id="async-fn", trigger=TriggerEvent(event="serve/async"))
        async def async_fn(ctx: Context) -> int:
            return int(await ctx.step.run("one", lambda: 1)) + 1
    return client, list(client.functions)


@contextmanager
def flask_server(path: str | None, **options: Any) -> Iterator[int]:
    import flask
    from werkzeug.serving import make_server as werkzeug_server

    import inngest_serverless.flask

    app = flask.Flask("serve-test")
    client, functions = make_client()
    inngest_serverless.flask.serve(app, client, functions, serve_path=path, **options)
    server = werkzeug_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def fastapi_server(path: str | None) -> Iterator[int]:
    import fastapi
    import uvicorn

    import inngest_serverless.fast_api

    app = fastapi.FastAPI()
    client, functions = make_client(with_async=True)
    inngest_serverless.fast_api.serve(app, client, functions, serve_path=path)
    port = aws.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait(lambda: server.started)
        yield port
    finally:
        server.should_exit = True
        thread.join(5)


class _QuietWSGI(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(WSGIServer):
    def process_request(self, request: Any, client_address: Any) -> None:
        threading.Thread(target=self._one, args=(request, client_address), daemon=True).start()

    def _one(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)


@contextmanager
def django_server(path: str | None, *, with_async: bool = False) -> Iterator[int]:
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEBUG=False, ALLOWED_HOSTS=["127.0.0.1", "localhost"], ROOT_URLCONF="tests_serve_urls",
                           SECRET_KEY="test-only", MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"])
        import django

        django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.urls import clear_url_caches

    import inngest_serverless.django

    client, functions = make_client(with_async=with_async)
    urls = types.ModuleType("tests_serve_urls")
    urls.urlpatterns = [inngest_serverless.django.serve(client, functions, serve_path=path)]  # type: ignore[attr-defined]
    sys.modules["tests_serve_urls"] = urls
    clear_url_caches()
    server = make_server("127.0.0.1", 0, WSGIHandler(), server_class=_ThreadingWSGIServer, handler_class=_QuietWSGI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        sys.modules.pop("tests_serve_urls", None)
        clear_url_caches()


@contextmanager
def tornado_server(path: str | None) -> Iterator[int]:
    import tornado.web

    import inngest_serverless.tornado

    client, functions = make_client(with_async=True)
    app = tornado.web.Application(xsrf_cookies=True)
    inngest_serverless.tornado.serve(app, client, functions, serve_path=path)
    port = aws.free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        holder["server"] = app.listen(port, address="127.0.0.1")
        loop.call_soon(ready.set)
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(holder["server"].stop)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def _wait(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise AssertionError("server did not start")
        time.sleep(0.02)


SERVERS: dict[str, Callable[[str | None], Any]] = {
    "flask": flask_server, "fast_api": fastapi_server, "django": django_server, "tornado": tornado_server,
}


@pytest.mark.parametrize("framework", sorted(SERVERS))
@pytest.mark.parametrize("path", [None, "/custom/inngest"])
def test_serve_runs_the_standard_scenario_on_the_real_framework(framework: str, path: str | None) -> None:
    with SERVERS[framework](path) as port:
        url = f"http://127.0.0.1:{port}{path or '/api/inngest'}"
        report = drive(aws.http, url, app_id=APP_ID, signing_key=KEY)
        assert report["sync"]["framework"] == framework
        status, headers, body = aws.http("POST", url + "?fnId=nope", {"content-type": "application/json"}, b"{}")
        assert status == 401 and headers["x-inngest-no-retry"] == "true" and b"Traceback" not in body


@pytest.mark.parametrize("framework", ["fast_api", "tornado"])
def test_async_functions_run_on_the_frameworks_event_loop(framework: str) -> None:
    with SERVERS[framework](None) as port:
        url = f"http://127.0.0.1:{port}/api/inngest"
        run = SimExecutor(aws.http, url, APP_ID, KEY).run("async-fn", "serve/async", {})
    assert (run.status, run.output) == ("completed", 2)


def test_django_serves_an_async_view_when_a_function_is_async() -> None:
    with django_server(None, with_async=True) as port:
        url = f"http://127.0.0.1:{port}/api/inngest"
        run = SimExecutor(aws.http, url, APP_ID, KEY).run("async-fn", "serve/async", {})
        assert (run.status, run.output) == ("completed", 2)
        import tests_serve_urls  # type: ignore[import-not-found]

        assert asyncio.iscoroutinefunction(tests_serve_urls.urlpatterns[0].callback)


def test_public_path_and_serve_origin_name_the_registered_url() -> None:
    with flask_server(None, public_path="/behind/proxy", serve_origin="https://app.example.com") as port:
        signed = SimExecutor(aws.http, f"http://127.0.0.1:{port}/api/inngest", APP_ID, KEY).introspect(signed=True)
    assert (signed["serve_origin"], signed["serve_path"]) == ("https://app.example.com", "/behind/proxy")


def test_enable_unauthed_sync_is_passed_to_the_handler() -> None:
    with flask_server(None) as port:
        status, _, refused = aws.http("PUT", f"http://127.0.0.1:{port}/api/inngest", {}, b"")
    assert status == 401 and b"sync from the Inngest dashboard" in refused
    # Allowed, it still needs a serve origin (the register call must not take the URL from the request).
    with flask_server(None, enable_unauthed_sync=True) as port:
        status, _, body = aws.http("PUT", f"http://127.0.0.1:{port}/api/inngest", {}, b"")
    assert status == 401 and b"needs INNGEST_SERVE_ORIGIN" in body
