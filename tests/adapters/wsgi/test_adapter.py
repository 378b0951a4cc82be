"""WSGI adapter: environ -> Request, Response -> start_response + iterable; under wsgiref and in Flask."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from inngest_serverless import Inngest, Response
from inngest_serverless.adapters.wsgi import LocalServer, WSGIAdapter, wsgi_adapter
from tests.support.hosts.stub_core import GatedStream, Recorder, read_gated
from tests.support.hosts.templates import run_blocks
from tests.support.sim_executor import SimExecutor
from tests.support.standard_functions import add_standard_functions

KEY = "signkey-test-0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def _environ(body: bytes = b"", **extra: Any) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": "/api/inngest", "QUERY_STRING": "",
        "SERVER_NAME": "internal", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "app.local:8000", "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.version": (1, 0),
    }
    env.update(extra)
    return env


def _call(app: WSGIAdapter, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    got: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        got.update(status=status, headers=headers)

    chunks = list(app(environ, start_response))
    return got["status"], got["headers"], chunks


def test_request_carries_full_url_headers_and_body() -> None:
    core = Recorder()
    environ = _environ(b'{"a":1}', QUERY_STRING="fnId=a-b&stepId=step", HTTP_X_INNGEST_SIGNATURE="t=1&s=ab")
    _call(WSGIAdapter(core), environ)
    (request,) = core.requests
    assert request.url == "http://app.local:8000/api/inngest?fnId=a-b&stepId=step"
    assert request.headers["x-inngest-signature"] == "t=1&s=ab"
    assert request.headers["content-type"] == "application/json"
    assert request.body == b'{"a":1}'


def test_script_name_and_a_utf8_path_are_kept() -> None:
    core = Recorder()
    path = "/fonctions/é".encode().decode("latin-1")  # PEP 3333: bytes as latin-1
    _call(WSGIAdapter(core), _environ(SCRIPT_NAME="/mount", PATH_INFO=path))
    assert core.requests[0].url == "http://app.local:8000/mount/fonctions/%C3%A9"


def test_without_host_header_server_name_and_port_are_used() -> None:
    core = Recorder()
    environ = _environ()
    del environ["HTTP_HOST"]
    _call(WSGIAdapter(core), environ)
    assert core.requests[0].url == "http://internal:8000/api/inngest"


def test_forwarded_headers_make_the_public_url() -> None:
    core = Recorder()
    _call(WSGIAdapter(core), _environ(HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_HOST="app.example.com"))
    assert core.requests[0].url == "https://app.example.com/api/inngest"


def test_timeout_becomes_a_deadline() -> None:
    core = Recorder()
    _call(WSGIAdapter(core, timeout=30), _environ())
    deadline = core.requests[0].deadline
    assert deadline is not None and 0 < deadline - time.monotonic() <= 30


def test_bad_content_length_is_a_400_json_error() -> None:
    core = Recorder()
    status, headers, chunks = _call(WSGIAdapter(core), _environ(CONTENT_LENGTH="many"))
    assert status.startswith("400 ")
    assert ("x-inngest-no-retry", "true") in headers
    assert b"Content-Length" in b"".join(chunks)
    assert core.requests == []


def test_body_over_the_limit_is_refused_unread() -> None:
    core = Recorder()
    status, _, _ = _call(WSGIAdapter(core, max_body=4), _environ(b"0123456789"))
    assert status.startswith("413 ")
    assert core.requests == []


def test_chunked_upload_without_length_is_read_when_the_server_terminates_input() -> None:
    core = Recorder()
    environ = _environ(b"{}", CONTENT_LENGTH="")
    environ["wsgi.input_terminated"] = True
    _call(WSGIAdapter(core), environ)
    assert core.requests[0].body == b"{}"


def test_reply_status_line_headers_and_length() -> None:
    core = Recorder(Response(206, {"content-type": "application/json"}, b"[1]"))
    status, headers, chunks = _call(WSGIAdapter(core), _environ())
    assert status == "206 Partial Content"
    assert ("content-length", "3") in headers
    assert chunks == [b"[1]"]


def test_streamed_reply_is_returned_as_the_iterator() -> None:
    core = Recorder(Response(201, {"content-type": "application/json"}, stream=iter([b" ", b"{}"])))
    status, headers, chunks = _call(WSGIAdapter(core), _environ())
    assert status == "201 Created"
    assert all(name != "content-length" for name, _ in headers)
    assert chunks == [b" ", b"{}"]


def test_importing_the_adapter_loads_no_host_library() -> None:
    code = ("import sys, inngest_serverless.adapters.wsgi; "
            "print(sorted(m for m in ('asyncio', 'flask', 'werkzeug', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- under a real WSGI server (wsgiref) and in Flask -----------------------------------


@pytest.mark.harness
def test_wsgiref_flushes_each_streamed_chunk(tmp_path: Path) -> None:
    with LocalServer(WSGIAdapter(GatedStream())) as server:
        status, first, report = read_gated(f"{server.url}/api/inngest", tmp_path / "gate")
    assert (status, first) == (201, b" ")
    assert report["gate_opened"] is True
    assert report["body_length"] == 10


@pytest.mark.harness
def test_mounted_under_a_prefix_in_flask_syncs_with_the_prefix_and_runs() -> None:
    from flask import Flask
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from tests.support.hosts.servers import http

    client = Inngest(app_id="flask-app", is_production=True, signing_key=KEY)
    add_standard_functions(client)
    flask_app = Flask(__name__)
    flask_app.wsgi_app = DispatcherMiddleware(flask_app.wsgi_app, {"/api/inngest": wsgi_adapter(client)})  # type: ignore[method-assign]
    with LocalServer(flask_app) as server:
        origin = server.url
        sim = SimExecutor(http, f"{origin}/api/inngest", "flask-app", KEY)
        payload = sim.sync()
        run = sim.run("multi-step", "sim/multi", {"start": 4})
    assert payload["url"] == f"{origin}/api/inngest"
    assert (run.status, run.output) == ("completed", {"first": 5, "second": 50})


def test_the_guide_flask_example_serves_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_DEV", "1")
    namespace = run_blocks("deploy-asgi-wsgi.md", skip=("django", "fastapi"))
    flask_app = namespace["app"]
    with flask_app.test_client() as browser:  # type: ignore[attr-defined]
        assert browser.get("/api/inngest").get_json()["function_count"] == 0
        assert browser.delete("/api/inngest").status_code == 405
        assert browser.get("/elsewhere").status_code == 404


def test_serve_origin_and_path_options_override_the_request_url() -> None:
    from tests.support.fake_api import fake_api

    with fake_api() as api:
        api.on("POST", "/fn/register", (200, {"ok": True, "modified": False}))
        client = Inngest(app_id="pinned", is_production=True, signing_key=KEY, api_base_url=api.url)
        add_standard_functions(client)
        app = wsgi_adapter(client, serve_origin="https://public.example.com", serve_path="/hooks/inngest")
        from inngest_serverless.core import signing

        signature = signing.sign(b"", KEY)  # the dashboard signs its PUT; an unsigned one is refused in cloud mode
        status, _, _ = _call(app, _environ(REQUEST_METHOD="PUT", HTTP_X_FORWARDED_HOST="ignored.example.com",
                                           HTTP_X_INNGEST_SIGNATURE=signature))
        (register,) = [r for r in api.requests if r.path.startswith("/fn/register")]
    assert status.startswith("200 ")
    assert register.json()["url"] == "https://public.example.com/hooks/inngest"


@pytest.mark.harness
def test_a_call_that_outlasts_the_grace_is_streamed_by_default() -> None:
    from tests.support.hosts.servers import http
    from tests.support.standard_functions import add_slow_function, slow_call

    client = Inngest(app_id="slow-wsgi", is_production=True, signing_key=KEY)
    add_slow_function(client)
    query, headers, body = slow_call("slow-wsgi", KEY)
    with LocalServer(wsgi_adapter(client)) as server:
        status, _, reply = http("POST", f"{server.url}/api/inngest?{query}", headers, body)
    assert status == 201 and reply.startswith(b" ")
    wrapper = json.loads(reply)
    assert wrapper["status"] == 206
    assert json.loads(wrapper["body"])[0]["data"] == "done"
