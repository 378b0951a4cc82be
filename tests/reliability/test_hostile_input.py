"""The failures the fuzz suites found (docs/reliability.md), each kept as a named test."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import unquote, urlsplit

import pytest

from inngest_serverless import ContextSync, Handler, Inngest, Request, TriggerEvent
from inngest_serverless.core import signing
from tests.support.core_driver import URL, call_body
from tests.support.fake_api import fake_api
from tests.support.fuzz_targets import loopback_api

KEY = "signkey-prod-" + "3e" * 32


def handler(cloud: bool = True, api_url: str = "http://127.0.0.1:9") -> Handler:
    client = Inngest(app_id="app", is_production=cloud, signing_key=KEY if cloud else None, api_base_url=api_url)

    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
    def fn(ctx: ContextSync) -> str:
        return "ok"

    return Handler(client)


def no_internal_error(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_2xx_replies_say_no_retry_explicitly() -> None:
    h = handler(cloud=False)
    for resp in (h.handle(Request.build("GET", URL)),
                 h.handle(Request.build("POST", f"{URL}?fnId=app-fn", {}, json.dumps(call_body()).encode()))):
        assert resp.status == 200 and resp.headers["x-inngest-no-retry"] == "false"


@pytest.mark.parametrize("host", ["[::1", "[zz]", "a[::1"])
@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
def test_unparseable_url_is_400(host: str, method: str, caplog: pytest.LogCaptureFixture) -> None:
    resp = handler().handle(Request.build(method, f"http://{host}/api/inngest?fnId=app-fn", {}, b"{}"))
    assert (resp.status, resp.json()["code"], resp.headers["x-inngest-no-retry"]) == (400, "malformed_url", "true")
    no_internal_error(caplog)


@pytest.mark.parametrize("sig", ["é" * 64, "\u0100", "\x80abc"])
def test_non_ascii_signature_is_401(sig: str, caplog: pytest.LogCaptureFixture) -> None:
    header = f"t={int(time.time())}&s={sig}"
    resp = handler().handle(Request.build("POST", f"{URL}?fnId=app-fn", {"X-Inngest-Signature": header}, b"{}"))
    assert resp.status == 401
    no_internal_error(caplog)


@pytest.mark.parametrize("ts", ["1" + "0" * 310, str(2**53), "9" * 4000])
def test_timestamp_beyond_float_range_is_401(ts: str, caplog: pytest.LogCaptureFixture) -> None:
    resp = handler().handle(Request.build("GET", URL, {"X-Inngest-Signature": f"t={ts}&s=" + "0" * 64}))
    assert resp.status == 200 and resp.json()["authentication_succeeded"] is False
    resp = handler().handle(Request.build("POST", f"{URL}?fnId=app-fn", {"X-Inngest-Signature": f"t={ts}&s=00"}, b"{}"))
    assert resp.status == 401
    no_internal_error(caplog)


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 5000, b"[" * 2000 + b"]" * 2000])
def test_deeply_nested_json_is_4xx(body: bytes, caplog: pytest.LogCaptureFixture) -> None:
    call = f"{URL}?fnId=app-fn"
    other = "signkey-prod-" + "4f" * 32
    # Signed over its raw bytes (it has no JCS form): authenticated, then refused as malformed.
    assert handler().handle(Request.build("POST", call, {"X-Inngest-Signature": signing.sign(body, KEY)}, body)).status == 400
    assert handler().handle(Request.build("POST", call, {"X-Inngest-Signature": signing.sign(body, other)}, body)).status == 401
    assert handler(cloud=False).handle(Request.build("POST", call, {}, body)).status == 400
    in_band = {"X-Inngest-Signature": signing.sign(body, KEY), "x-inngest-sync-kind": "in_band"}
    assert handler().handle(Request.build("PUT", URL, in_band, body)).status == 400
    no_internal_error(caplog)


@pytest.mark.parametrize("run_id", ["\x1f", "../../fn/register?", "a b#c", "é", "x/../../v1"])
def test_use_api_run_id_is_one_escaped_path_segment(run_id: str) -> None:
    with loopback_api() as api:
        body = json.dumps(call_body(run_id=run_id, use_api=True)).encode()
        resp = handler(cloud=False, api_url=api.url).handle(Request.build("POST", f"{URL}?fnId=app-fn", {}, body))
        assert resp.status == 200, resp.read()
        paths = [urlsplit(r.path) for r in api.requests]
        assert [p.query for p in paths] == ["", ""]
        assert [p.path.split("/")[:3] + p.path.split("/")[4:] for p in paths] == [["", "v0", "runs", "batch"],
                                                                                 ["", "v0", "runs", "actions"]]
        assert {unquote(p.path.split("/")[3]) for p in paths} == {run_id}


@pytest.mark.parametrize("kind", ["\x80", "dev\n", "é", "other"])
def test_junk_server_kind_is_not_forwarded_to_register(kind: str) -> None:
    with fake_api() as api:
        api.on("POST", "/fn/register", (200, {"ok": True, "modified": False}))
        resp = handler(cloud=False, api_url=api.url).handle(Request.build("PUT", URL, {"x-inngest-server-kind": kind}))
        assert resp.status == 200, resp.read()
        assert "x-inngest-expected-server-kind" not in api.requests[0].headers


def test_valid_server_kind_is_forwarded_to_register() -> None:
    with fake_api() as api:
        api.on("POST", "/fn/register", (200, {"ok": True, "modified": False}))
        handler(cloud=False, api_url=api.url).handle(Request.build("PUT", URL, {"x-inngest-server-kind": "dev"}))
        assert api.requests[0].headers["x-inngest-expected-server-kind"] == "dev"


def test_deep_nesting_is_refused_even_when_the_recursion_limit_was_raised() -> None:
    # Python 3.11's C JSON decoder relies on the recursion limit alone: raised (as apps and test
    # tools do), a deep enough body overflows the C stack. Run in a child so a crash shows as one.
    import subprocess
    import sys

    program = """
import sys
sys.setrecursionlimit(1_000_000)
from inngest_serverless import Handler, Inngest, Request
client = Inngest(app_id="app", is_production=False)
client.create_function(fn_id="fn", trigger=__import__("inngest_serverless").TriggerEvent(event="e"))(lambda ctx: 1)
handler = Handler(client)
body = b"[" * 300_000 + b"]" * 300_000
call = handler.handle(Request.build("POST", "http://a/api?fnId=app-fn", {}, body))
sync = handler.handle(Request.build("PUT", "http://a/api", {"x-inngest-sync-kind": "in_band"}, body))
print(call.status, call.json()["code"], sync.status)
"""
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["400", "malformed_body", "401"]  # the unsigned in-band sync is refused first
