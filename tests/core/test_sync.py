"""GET introspection, PUT sync (out-of-band and in-band), trust probe, and bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inngest_serverless import ContextSync, Handler, Inngest, Request, TriggerEvent
from inngest_serverless.core import signing
from tests.support.core_driver import URL, call_body, post
from tests.support.fake_api import fake_api

KEY = "signkey-prod-0123456789abcdef0123456789abcdef"
FALLBACK = "signkey-prod-fedcba9876543210fedcba9876543210"


def app(**kwargs: Any) -> Inngest:
    client = Inngest(app_id="shop", **kwargs)

    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="a/b"))
    def fn(ctx: ContextSync) -> str:
        return "ok"

    return client


def assert_signed_with(resp: Any, key: str) -> None:
    """The response signature is over the exact body bytes (no JCS), with ``key``."""
    ts, _ = signing.parse_header(resp.headers["x-inngest-signature"])
    assert resp.headers["x-inngest-signature"] == signing.sign(resp.body, key, ts)


def signed(method: str, url: str, body: bytes, key: str = KEY, headers: dict[str, str] | None = None) -> Request:
    return Request.build(method, url, {"X-Inngest-Signature": signing.sign(signing.canonical(body), key),
                                       **(headers or {})}, body)


def test_unauthenticated_introspection_has_only_public_fields() -> None:
    resp = Handler(app(signing_key=KEY, event_key="ek")).handle(Request.build("GET", URL))
    body = resp.json()
    assert resp.status == 200
    assert body == {
        "schema_version": "2024-05-24", "authentication_succeeded": None, "function_count": 1,
        "has_event_key": True, "has_signing_key": True, "has_signing_key_fallback": False, "mode": "cloud",
        "capabilities": {"in_band_sync": "v1", "trust_probe": "v1"},
    }
    assert "x-inngest-signature" not in resp.headers


def test_bad_signature_introspection_says_false() -> None:
    req = signed("GET", URL, b"", key="signkey-prod-00")
    assert Handler(app(signing_key=KEY)).handle(req).json()["authentication_succeeded"] is False


def test_authenticated_introspection_with_fallback_key_is_signed_with_it() -> None:
    client = app(signing_key=KEY, signing_key_fallback=FALLBACK, event_key="ek", env="br")
    resp = Handler(client, framework="test").handle(signed("GET", URL, b"", key=FALLBACK))
    body = resp.json()
    assert body["authentication_succeeded"] is True
    assert body["signing_key_hash"] == signing.bearer(KEY)
    assert body["signing_key_fallback_hash"] == signing.bearer(FALLBACK)
    assert body["event_key_hash"] == signing.event_key_hash("ek")
    assert (body["app_id"], body["env"], body["framework"], body["sdk_language"]) == ("shop", "br", "test", "py")
    assert (body["serve_origin"], body["serve_path"]) == ("http://app.test", "/api/inngest")
    assert_signed_with(resp, FALLBACK)  # signed with the key that verified


def test_out_of_band_sync_posts_exact_register_payload() -> None:
    with fake_api() as api:
        api.on("POST", "/fn/register", (200, {"ok": True, "modified": True}))
        client = app(signing_key=KEY, api_base_url=api.url, env="branch-1", app_version="v9")
        req = signed("PUT", "https://my.app/api/inngest?deployId=d-1", b"", headers={"X-Inngest-Server-Kind": "cloud"})
        resp = Handler(client, framework="aws_lambda").handle(req)
        assert (resp.status, resp.json()) == (200, {"message": "Successfully synced.", "modified": True})
        assert resp.headers["x-inngest-sync-kind"] == "out_of_band"
        [rec] = api.requests
        assert rec.path == "/fn/register?deployId=d-1"
        assert rec.headers["authorization"] == f"Bearer {signing.bearer(KEY)}"
        assert rec.headers["x-inngest-expected-server-kind"] == "cloud"
        assert rec.headers["x-inngest-env"] == "branch-1"
        payload = rec.json()
        assert sorted(payload) == ["appName", "appVersion", "capabilities", "deployType", "framework",
                                   "functions", "sdk", "url", "v"]
        assert payload["url"] == "https://my.app/api/inngest"  # deployId stripped
        assert (payload["appName"], payload["deployType"], payload["appVersion"]) == ("shop", "ping", "v9")
        step = payload["functions"][0]["steps"]["step"]
        assert step["runtime"] == {"type": "http", "url": "https://my.app/api/inngest?fnId=shop-fn&stepId=step"}


def test_out_of_band_sync_honours_serve_origin_and_path() -> None:
    with fake_api() as api:
        api.on("POST", "/fn/register", (200, {"modified": False}))
        client = app(signing_key=KEY, api_base_url=api.url, serve_origin="https://public.example",
                     serve_path="/prod/api/inngest")
        Handler(client).handle(signed("PUT", "http://10.0.0.1:8080/", b""))
        assert api.requests[0].json()["url"] == "https://public.example/prod/api/inngest"


def test_out_of_band_sync_server_error_is_reported() -> None:
    with fake_api() as api:
        api.on("POST", "/fn/register", (400, {"error": "bad config"}))
        resp = Handler(app(signing_key=KEY, api_base_url=api.url)).handle(signed("PUT", URL, b""))
        assert (resp.status, resp.json()["message"]) == (400, "bad config")
        assert resp.headers["x-inngest-no-retry"] == "true"


def test_out_of_band_sync_unreachable_api() -> None:
    client = app(signing_key=KEY, api_base_url="http://127.0.0.1:9")
    resp = Handler(client).handle(signed("PUT", URL, b""))
    assert resp.status == 500 and "could not reach" in resp.json()["message"]
    assert KEY not in resp.read().decode()


def test_in_band_sync_answers_signed_without_calling_register() -> None:
    body = json.dumps({"url": "https://seen.by/server?x=1&y=2"}).encode()
    req = signed("PUT", URL, body, headers={"X-Inngest-Sync-Kind": "in_band", "X-Inngest-Server-Kind": "dev"})
    client = app(signing_key=KEY, is_production=False)  # verified even in dev mode
    resp = Handler(client, framework="wsgi").handle(req)
    assert resp.status == 200 and resp.headers["x-inngest-sync-kind"] == "in_band"
    assert_signed_with(resp, KEY)
    payload = resp.json()
    assert payload["url"] == "https://seen.by/server?x=1&y=2"
    assert payload["app_id"] == "shop" and payload["sdk_author"] == "inngest"
    assert payload["inspection"]["authentication_succeeded"] is True
    assert None not in payload.values() and "env" not in payload


def test_in_band_sync_unsigned_is_refused() -> None:
    req = Request.build("PUT", URL, {"X-Inngest-Sync-Kind": "in_band"}, b'{"url":"x"}')
    resp = Handler(app(signing_key=KEY)).handle(req)
    assert resp.status == 401 and resp.headers["x-inngest-no-retry"] == "true"


def test_trust_probe_is_signed() -> None:
    resp = Handler(app(signing_key=KEY)).handle(signed("POST", URL + "?probe=trust", b"{}"))
    assert (resp.status, resp.json()) == (200, {})
    assert_signed_with(resp, KEY)


def test_trust_probe_bad_signature_is_401() -> None:
    resp = Handler(app(signing_key=KEY)).handle(signed("POST", URL + "?probe=trust", b"{}", key="signkey-prod-11"))
    assert resp.status == 401


def test_cloud_call_requires_signature() -> None:
    handler = Handler(app(signing_key=KEY))
    assert post(handler, "fn", call_body()).status == 401
    resp = post(handler, "fn", call_body(), key=KEY)
    assert resp.status == 200 and resp.json() == "ok"
    assert_signed_with(resp, KEY)


def test_dev_mode_call_with_bad_signature_is_refused_when_key_set() -> None:
    handler = Handler(app(signing_key=KEY, is_production=False))
    assert post(handler, "fn", call_body(), key="signkey-prod-99").status == 401
    assert post(handler, "fn", call_body()).status == 200  # unsigned dev call is fine


@pytest.mark.parametrize("method", ["DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"])
def test_other_methods_get_bare_405(method: str) -> None:
    resp = Handler(app(is_production=False)).handle(Request.build(method, URL))
    assert resp.status == 405 and resp.body == b""
    assert resp.headers["x-inngest-sdk"] and resp.headers["x-inngest-no-retry"] == "true"


@pytest.mark.parametrize(
    ("query", "body", "status", "code"),
    [
        ("fnId=shop-fn", b"{not json", 400, "malformed_body"),
        ("fnId=shop-fn", b"[]", 400, "malformed_body"),
        ("fnId=shop-fn", b'{"event": {}}', 400, "malformed_body"),
        ("fnId=shop-fn", b"\xff\xfe", 400, "malformed_body"),
        ("fnId=shop-nope", b"{}", 404, "function_not_found"),
        ("", b"{}", 400, "missing_fn_id"),
    ],
)
def test_bad_input_is_a_one_line_4xx_that_is_not_retried(query: str, body: bytes, status: int, code: str) -> None:
    resp = Handler(app(is_production=False)).handle(Request.build("POST", f"{URL}?{query}", {}, body))
    assert (resp.status, resp.json()["code"]) == (status, code)
    assert resp.headers["x-inngest-no-retry"] == "true"
    assert b"\n" not in resp.body and b"Traceback" not in resp.body


def test_body_over_limit_is_413(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_MAX_BODY_BYTES", "100")
    resp = Handler(app(is_production=False)).handle(Request.build("POST", f"{URL}?fnId=shop-fn", {}, b"x" * 101))
    assert resp.status == 413 and resp.headers["x-inngest-no-retry"] == "true"
