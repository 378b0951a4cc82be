"""Vercel adapter under vercel-runtime's production bridge (vc_init in IPC mode, Python 3.12), over HTTP.

vc_init imports the entry file, serves its ``handler`` class (or WSGI ``app``)
on a loopback port and announces the port over the IPC socket the harness
plays; requests go to that port as Vercel's platform sends them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from inngest_serverless.adapters.vercel import VercelAdapter, runtime_deadline
from tests.support.hosts import servers
from tests.support.hosts.stub_core import Recorder, read_gated
from tests.support.hosts.templates import ENV, TEMPLATES, assert_template_serves, run_blocks, start_template

needs_runtime = pytest.mark.skipif(not servers.VERCEL_PYTHON.exists(),
                                   reason="no Python 3.12 venv with vercel-runtime: run scripts/install-hosts.d/30-hosts.sh")


def _deadline_header(seconds: float) -> str:
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture(scope="module", params=["handler", "app", "asgi_app"])
def gated(request: pytest.FixtureRequest) -> Iterator[servers.Host]:
    """tests/support/hosts/stub_core.py under vc_init: the handler class, the WSGI app, the ASGI app."""
    if not servers.VERCEL_PYTHON.exists():
        pytest.skip("no Python 3.12 venv with vercel-runtime: run scripts/install-hosts.d/30-hosts.sh")
    with servers.vercel({}, entry=servers.HOSTS_DIR / "stub_core.py", variable=request.param,
                        module="stub_core") as host:
        yield host


@pytest.mark.harness
def test_vercel_runtime_flushes_each_streamed_chunk(gated: servers.Host, tmp_path: Path) -> None:
    status, first, report = read_gated(gated.url, tmp_path / "gate")
    assert (status, first) == (201, b" ")
    assert report["gate_opened"] is True
    assert report["body_length"] == 10


@pytest.mark.harness
def test_deadline_comes_from_the_runtime_header(gated: servers.Host, tmp_path: Path) -> None:
    _, _, report = read_gated(gated.url, tmp_path / "gate", {"x-vercel-internal-deadline": _deadline_header(100)})
    remaining = report["remaining"]
    assert isinstance(remaining, float) and 40 < remaining <= 100


@pytest.mark.harness
def test_forwarded_host_and_proto_make_the_public_url(gated: servers.Host, tmp_path: Path) -> None:
    headers = {"x-forwarded-proto": "https", "x-forwarded-host": "my-app.vercel.app"}
    _, _, report = read_gated(gated.url + "?fnId=a-b", tmp_path / "gate", headers)
    assert str(report["url"]).startswith("https://my-app.vercel.app/api/inngest?fnId=a-b&gate=")


@pytest.mark.harness
@needs_runtime
def test_the_vercel_template_syncs_and_runs_under_vercel_runtime() -> None:
    with start_template("vercel", ENV) as host:
        assert_template_serves(host, "my-vercel-app")


def test_without_vercel_runtime_there_is_no_runtime_deadline() -> None:
    assert "vercel_runtime" not in sys.modules
    assert runtime_deadline() is None


def test_importing_the_adapter_loads_no_http_server_or_runtime() -> None:
    code = ("import sys, inngest_serverless.adapters.vercel; "
            "print(sorted(m for m in ('http.server', 'vercel_runtime', 'asyncio', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_vercel_json_gives_the_function_a_max_duration() -> None:
    import json

    config = json.loads((TEMPLATES / "vercel" / "vercel.json").read_text())
    assert config["functions"]["api/inngest.py"]["maxDuration"] > 0


def test_the_guide_example_is_a_wsgi_app_named_app(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setenv("INNGEST_DEV", "1")
    app = run_blocks("deploy-vercel.md")["app"]
    statuses: list[str] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/inngest", "HTTP_HOST": "my-app.vercel.app",
               "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(b"")}
    body = b"".join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))  # type: ignore[operator]
    assert statuses == ["200 OK"]
    assert b'"function_count":1' in body


# -- the handler class itself, under http.server (the base vc_init serves it on) --------


@pytest.fixture
def plain_server() -> Iterator[tuple[str, Recorder]]:
    import threading
    from http.server import ThreadingHTTPServer

    core = Recorder()
    server = ThreadingHTTPServer(("127.0.0.1", 0), VercelAdapter(core, max_body=64).handler_class())  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", core
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _send(address: str, method: str, headers: dict[str, str], body: bytes | None = None,
          chunks: list[bytes] | None = None) -> tuple[int, bytes]:
    import http.client

    conn = http.client.HTTPConnection(address, timeout=30)
    try:
        if chunks is not None:
            conn.putrequest(method, "/api/inngest?fnId=a-b")
            for name, value in {**headers, "transfer-encoding": "chunked"}.items():
                conn.putheader(name, value)
            conn.endheaders()
            for chunk in chunks:
                conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            conn.send(b"0\r\n\r\n")
        else:
            conn.request(method, "/api/inngest?fnId=a-b", body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_a_chunked_upload_is_read_whole(plain_server: tuple[str, Recorder]) -> None:
    address, core = plain_server
    status, _ = _send(address, "POST", {"host": "my-app.vercel.app"}, chunks=[b'{"a"', b":1}"])
    assert status == 200
    assert core.requests[0].body == b'{"a":1}'
    assert core.requests[0].url == "http://my-app.vercel.app/api/inngest?fnId=a-b"


def test_a_body_over_the_limit_is_a_413_unread(plain_server: tuple[str, Recorder]) -> None:
    address, core = plain_server
    status, reply = _send(address, "POST", {}, body=b"x" * 100)
    assert status == 413 and b"INNGEST_MAX_BODY_BYTES" in reply
    assert core.requests == []


def test_a_bad_content_length_is_a_400(plain_server: tuple[str, Recorder]) -> None:
    address, core = plain_server
    status, _ = _send(address, "POST", {"content-length": "many"})
    assert status == 400
    assert core.requests == []


def test_head_gets_headers_but_no_body(plain_server: tuple[str, Recorder]) -> None:
    address, core = plain_server
    status, reply = _send(address, "HEAD", {})
    assert status == 200 and reply == b""
    assert core.requests[0].method == "HEAD"
