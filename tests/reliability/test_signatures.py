"""Signature attacks, one named test each.

Every request goes through ``Handler.handle`` with real HMAC signatures; the last
tests replay every scenario of this file and check that no reply to an
unauthenticated caller, and no log line at any level, contains a key or its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from inngest_serverless import ContextSync, Handler, Inngest, Request, Response, TriggerEvent
from inngest_serverless.core import signing
from tests.support.core_driver import URL, call_body
from tests.support.fake_api import fake_api

KEY = "signkey-prod-0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
FALLBACK = "signkey-prod-99aa88bb77cc66dd55ee44ff3300221199aa88bb77cc66dd55ee44ff33002211"
OTHER = "signkey-prod-" + "5" * 64
EVENT_KEY = "ek-signature-tests"
CALL_URL = f"{URL}?fnId=app-fn&stepId=step"


def secrets() -> list[str]:
    out = [EVENT_KEY, hashlib.sha256(EVENT_KEY.encode()).hexdigest()]
    for key in (KEY, FALLBACK):
        bearer = signing.bearer(key)
        out += [key, signing.normalize_key(key), bearer, bearer.removeprefix("signkey-prod-")]
    return out


def make_handler(*, cloud: bool = True, key: str | None = KEY, fallback: str | None = None,
                 api_url: str = "http://127.0.0.1:9") -> Handler:
    client = Inngest(app_id="app", is_production=cloud, signing_key=key, signing_key_fallback=fallback,
                     event_key=EVENT_KEY, api_base_url=api_url)

    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
    def fn(ctx: ContextSync) -> str:
        return "done"

    return Handler(client)


def body_bytes(**kwargs: Any) -> bytes:
    return json.dumps(call_body(**kwargs)).encode()


def signed(method: str, url: str, body: bytes, key: str, *, ts: int | None = None,
           headers: dict[str, str] | None = None) -> Request:
    sig = signing.sign(signing.canonical(body), key, int(time.time()) if ts is None else ts)
    return Request.build(method, url, {"X-Inngest-Signature": sig, **(headers or {})}, body)


def assert_refused(resp: Response, reason: str) -> None:
    assert resp.status == 401, resp.read()
    assert resp.headers["x-inngest-no-retry"] == "true"
    assert reason in resp.json()["message"]


def verifies_with(resp: Response, key: str) -> bool:
    ts, _ = signing.parse_header(resp.headers["x-inngest-signature"])
    return hmac.compare_digest(signing.sign(resp.body, key, ts), resp.headers["x-inngest-signature"])


# -- the scenarios ---------------------------------------------------------------------------


def test_valid_signature_is_accepted_and_reply_signed() -> None:
    resp = make_handler().handle(signed("POST", CALL_URL, body_bytes(), KEY))
    assert (resp.status, resp.json()) == (200, "done")
    assert verifies_with(resp, KEY)


def test_whitespace_around_signed_json_still_verifies_because_of_jcs() -> None:
    good = signed("POST", CALL_URL, body_bytes(), KEY)
    spaced = Request.build("POST", CALL_URL, dict(good.headers), b"  " + good.body + b"\n")
    assert make_handler().handle(spaced).status == 200


def test_tampered_body_is_refused() -> None:
    good = signed("POST", CALL_URL, body_bytes(event={"name": "test/event", "data": {"amount": 1}}), KEY)
    tampered = Request.build("POST", CALL_URL, dict(good.headers), good.body.replace(b'"amount": 1', b'"amount": 1000'))
    assert tampered.body != good.body
    assert_refused(make_handler().handle(tampered), "does not match")


def test_wrong_key_is_refused() -> None:
    assert_refused(make_handler().handle(signed("POST", CALL_URL, body_bytes(), OTHER)), "does not match")


def test_fallback_key_rotation_verifies_and_signs_the_reply_with_the_fallback() -> None:
    handler = make_handler(fallback=FALLBACK)
    resp = handler.handle(signed("POST", CALL_URL, body_bytes(), FALLBACK))
    assert resp.status == 200
    assert verifies_with(resp, FALLBACK) and not verifies_with(resp, KEY)
    intro = handler.handle(signed("GET", URL, b"", FALLBACK))
    assert intro.json()["authentication_succeeded"] is True and verifies_with(intro, FALLBACK)


def test_fallback_key_is_not_accepted_when_not_configured() -> None:
    assert_refused(make_handler().handle(signed("POST", CALL_URL, body_bytes(), FALLBACK)), "does not match")


def test_timestamp_older_than_five_minutes_is_refused() -> None:
    handler = make_handler()
    now = int(time.time())
    assert_refused(handler.handle(signed("POST", CALL_URL, body_bytes(), KEY, ts=now - 301)), "expired")
    assert handler.handle(signed("POST", CALL_URL, body_bytes(), KEY, ts=now - 240)).status == 200


def test_far_future_timestamp_is_refused() -> None:
    handler = make_handler()
    now = int(time.time())
    assert_refused(handler.handle(signed("POST", CALL_URL, body_bytes(), KEY, ts=now + 3600)), "future")
    assert handler.handle(signed("POST", CALL_URL, body_bytes(), KEY, ts=now + 60)).status == 200


def test_missing_signature_in_cloud_mode_is_refused() -> None:
    handler = make_handler()
    assert_refused(handler.handle(Request.build("POST", CALL_URL, {}, body_bytes())), "missing X-Inngest-Signature")
    probe = handler.handle(Request.build("POST", f"{URL}?probe=trust", {}, b"{}"))
    assert probe.status == 401


@pytest.mark.parametrize("header", [
    "", "garbage", "t=&s=", "s=abcd", "t=1700000000", "t=soon&s=abcd", "t=1.5e9&s=abcd",
    "t=" + "9" * 400 + "&s=abcd", "t=-5&s=abcd", "t={now}&s=é" + "0" * 63, "t={now}&s=\x00", "t={now}&s=%ff%fe",
])
def test_malformed_signature_header_in_cloud_mode_is_refused(header: str) -> None:
    value = header.format(now=int(time.time()))
    resp = make_handler().handle(Request.build("POST", CALL_URL, {"X-Inngest-Signature": value}, body_bytes()))
    assert resp.status == 401 and resp.headers["x-inngest-no-retry"] == "true"


def test_replay_of_an_old_signed_request_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = make_handler()
    captured = signed("POST", CALL_URL, body_bytes(), KEY)
    assert handler.handle(captured).status == 200  # fresh: accepted once ...
    later = time.time() + 301
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert_refused(handler.handle(captured), "expired")  # ... replayed five minutes later: refused


def test_signature_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac as hmac_module

    seen: list[tuple[Any, Any]] = []
    real = hmac_module.compare_digest

    def spy(a: Any, b: Any) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac_module, "compare_digest", spy)
    handler = make_handler(fallback=FALLBACK)
    canonical_body = signing.canonical(body_bytes())  # as the server sends call bodies
    req = signed("POST", CALL_URL, canonical_body, FALLBACK)
    assert handler.handle(req).status == 200
    _, sig = signing.parse_header(req.headers["x-inngest-signature"])
    # One comparison per key tried (primary fails, fallback matches), each against the caller's s.
    assert len(seen) == 2 and all(b == sig.encode() for _, b in seen)
    seen.clear()
    assert handler.handle(signed("POST", CALL_URL, canonical_body, OTHER)).status == 401
    assert len(seen) == 2
    seen.clear()
    # A body in another form than the one signed: each key against the bytes, then the JCS form.
    req = signed("POST", CALL_URL, body_bytes(), FALLBACK)
    assert body_bytes() != canonical_body and handler.handle(req).status == 200
    assert len(seen) == 4 and all(b == signing.parse_header(req.headers["x-inngest-signature"])[1].encode()
                                  for _, b in seen)


def test_a_body_in_the_signed_form_is_verified_without_canonicalising_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Call bodies arrive in JCS form: verifying them must not parse and re-serialise the body
    (tens of milliseconds for a large state); other bodies still verify through their JCS form."""
    handler = make_handler()
    canonical_body = signing.canonical(body_bytes())
    sig_canonical = signed("POST", CALL_URL, canonical_body, KEY)
    sig_spaced = signed("POST", CALL_URL, body_bytes(), KEY)
    calls: list[bytes] = []
    real = signing.canonical

    def counting(body: bytes) -> bytes:
        calls.append(body)
        return real(body)

    monkeypatch.setattr(signing, "canonical", counting)
    assert handler.handle(sig_canonical).status == 200 and calls == []
    assert handler.handle(sig_spaced).status == 200 and calls == [body_bytes()]
    tampered = Request.build("POST", CALL_URL, dict(sig_canonical.headers), canonical_body.replace(b'"n":1', b'"n":2'))
    assert b'"n":2' in tampered.body
    assert_refused(handler.handle(tampered), "signature does not match")


def test_dev_mode_without_a_key_accepts_unsigned_and_ignores_signatures() -> None:
    handler = make_handler(cloud=False, key=None)
    assert handler.handle(Request.build("POST", CALL_URL, {}, body_bytes())).status == 200
    assert handler.handle(signed("POST", CALL_URL, body_bytes(), OTHER)).status == 200
    intro = handler.handle(Request.build("GET", URL)).json()
    assert intro["mode"] == "dev" and intro["has_signing_key"] is False


def test_dev_mode_with_a_key_still_checks_a_signature_that_is_present() -> None:
    handler = make_handler(cloud=False)
    assert handler.handle(Request.build("POST", CALL_URL, {}, body_bytes())).status == 200
    assert_refused(handler.handle(signed("POST", CALL_URL, body_bytes(), OTHER)), "does not match")


@pytest.mark.parametrize("cloud, key", [(True, KEY), (False, KEY), (False, None)])
def test_in_band_sync_unsigned_is_refused(cloud: bool, key: str | None) -> None:
    handler = make_handler(cloud=cloud, key=key)
    resp = handler.handle(Request.build("PUT", URL, {"x-inngest-sync-kind": "in_band"}, b'{"url":"' + URL.encode() + b'"}'))
    assert resp.status == 401 and resp.headers["x-inngest-no-retry"] == "true"
    assert "functions" not in resp.json()


def test_in_band_sync_signed_is_answered_and_signed() -> None:
    body = json.dumps({"url": URL + "?a=1&b=2"}).encode()
    resp = make_handler().handle(signed("PUT", URL, body, KEY, headers={"x-inngest-sync-kind": "in_band"}))
    assert resp.status == 200 and resp.json()["app_id"] == "app" and verifies_with(resp, KEY)


def test_signature_and_bearer_vectors() -> None:
    vector_key = "signkey-test-7468697320697320612074657374206b6579"
    expected = "7b5670d47c7b6557f138bdb25cd63a5f64d261ae49b5c9e7214541af71ba94e8"
    assert signing.sign(b'{"a":1}', vector_key, 1705586504) == f"t=1705586504&s={expected}"
    assert signing.verify(b'{ "a" : 1 }', f"t=1705586504&s={expected}", (vector_key,), now=1705586504 + 10).key == vector_key
    assert signing.bearer("signkey-prod-12345678") == (
        "signkey-prod-b2ed992186a5cb19f6668aade821f502c1d00970dfd0e35128d51bac4649916c")
    with pytest.raises(signing.SignatureError):
        signing.verify(b'{"a":1}', f"t=1705586504&s={expected}", (vector_key,), now=1705586504 + 301)


# -- nothing secret leaks ----------------------------------------------------------------------


def unauthenticated_requests() -> Iterator[tuple[str, Request]]:
    now = int(time.time())
    body = body_bytes()
    yield "GET unsigned", Request.build("GET", URL)
    yield "GET wrong key", signed("GET", URL, b"", OTHER)
    yield "GET stale", signed("GET", URL, b"", KEY, ts=now - 1000)
    yield "GET future", signed("GET", URL, b"", KEY, ts=now + 1000)
    yield "GET malformed", Request.build("GET", URL, {"X-Inngest-Signature": "t=x&s=é"})
    yield "POST unsigned", Request.build("POST", CALL_URL, {}, body)
    yield "POST wrong key", signed("POST", CALL_URL, body, OTHER)
    tampered = body.replace(b'"n": 1', b'"n": 2')
    assert tampered != body
    yield "POST tampered", Request.build("POST", CALL_URL, dict(signed("POST", CALL_URL, body, KEY).headers), tampered)
    yield "POST bad json", signed("POST", CALL_URL, b"{", OTHER)
    yield "POST unknown fn", Request.build("POST", f"{URL}?fnId=nope", {}, body)
    yield "probe unsigned", Request.build("POST", f"{URL}?probe=trust", {}, b"{}")
    yield "probe wrong key", signed("POST", f"{URL}?probe=trust", b"{}", OTHER)
    yield "in-band unsigned", Request.build("PUT", URL, {"x-inngest-sync-kind": "in_band"}, b"{}")
    yield "in-band wrong key", signed("PUT", URL, b"{}", OTHER, headers={"x-inngest-sync-kind": "in_band"})
    yield "out-of-band unsigned", Request.build("PUT", URL, {}, b"")
    yield "out-of-band wrong key", signed("PUT", URL, b"", OTHER)
    yield "DELETE", Request.build("DELETE", URL)
    yield "too large", Request.build("POST", CALL_URL, {}, b" " * (17 * 1024 * 1024))


def authenticated_requests() -> Iterator[tuple[str, Request]]:
    yield "GET signed", signed("GET", URL, b"", KEY)
    yield "GET fallback", signed("GET", URL, b"", FALLBACK)
    yield "POST signed", signed("POST", CALL_URL, body_bytes(), KEY)
    yield "probe signed", signed("POST", f"{URL}?probe=trust", b"{}", KEY)
    yield "in-band signed", signed("PUT", URL, b'{"url":"http://x/y"}', KEY, headers={"x-inngest-sync-kind": "in_band"})
    yield "out-of-band signed", signed("PUT", URL, b"", KEY)


HandlerFactory = Callable[[str], Handler]


@pytest.fixture
def handlers() -> Iterator[HandlerFactory]:
    """Handlers whose outbound sync reaches a loopback API that answers with an error."""
    with fake_api() as api:
        api.on("POST", "/fn/register", (500, {"error": "down for maintenance"}))

        def factory(mode: str) -> Handler:
            return make_handler(cloud=mode == "cloud", fallback=FALLBACK, api_url=api.url)

        yield factory


@pytest.mark.parametrize("mode", ["cloud", "dev"])
def test_replies_to_unauthenticated_callers_never_reveal_a_key_or_its_hash(handlers: HandlerFactory, mode: str) -> None:
    handler = handlers(mode)
    for name, request in unauthenticated_requests():
        resp = handler.handle(request)
        text = resp.read().decode("utf-8", "replace") + json.dumps(resp.headers)
        leaked = [s for s in secrets() if s in text]
        assert not leaked, (name, resp.status, text)
        assert "x-inngest-signature" not in resp.headers, name


def test_authenticated_introspection_shows_hashes_only(handlers: HandlerFactory) -> None:
    body = handlers("cloud").handle(signed("GET", URL, b"", KEY)).json()
    assert body["signing_key_hash"] == signing.bearer(KEY)
    assert body["signing_key_fallback_hash"] == signing.bearer(FALLBACK)
    text = json.dumps(body)
    assert KEY not in text and signing.normalize_key(KEY) not in text and EVENT_KEY not in text


@pytest.mark.parametrize("mode", ["cloud", "dev"])
def test_logs_never_print_a_key(handlers: HandlerFactory, mode: str, caplog: pytest.LogCaptureFixture) -> None:
    handler = handlers(mode)
    with caplog.at_level(logging.DEBUG):
        for _, request in [*unauthenticated_requests(), *authenticated_requests()]:
            handler.handle(request)
    assert caplog.records, "the scenarios are expected to log something (the failed sync at least)"
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        assert not [s for s in secrets() if s in text], text
