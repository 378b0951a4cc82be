"""What an adversarial pass over core and the adapters found (docs/reliability.md, findings 14-21),
each kept as named tests that failed before the fix."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

from inngest_serverless import Context, Handler, Inngest, Request, TriggerEvent
from inngest_serverless.core import serialize, signing
from tests.core_driver import URL

KEY = "signkey-prod-" + "3e" * 32
OTHER_KEY = "signkey-prod-" + "4f" * 32
CALL_URL = f"{URL}?fnId=app-fn&stepId=step"


def cloud_handler(api_url: str = "http://127.0.0.1:9", **client_args: Any) -> Handler:
    client = Inngest(app_id="app", is_production=True, signing_key=KEY, api_base_url=api_url, **client_args)

    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
    def fn(ctx: Context) -> str:
        return "ok"

    return Handler(client)


def large_call_body(items: int = 20_000) -> bytes:
    """A valid call body of about 1 MB, in JCS form (as the server sends calls)."""
    event = {"data": {"items": [{"k": "v", "n": i} for i in range(items)]}, "id": "e1", "name": "test/event", "ts": 1}
    body = {"ctx": {"attempt": 0, "run_id": "01RUN", "stack": {"current": 0, "stack": []}},
            "event": event, "events": [event], "steps": {}, "version": 2}
    return signing.canonical(json.dumps(body).encode())


# -- 14. an unauthenticated request is cheap -------------------------------------------------------


def test_a_wrong_signature_on_a_large_body_is_refused_without_parsing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    body = large_call_body()
    assert len(body) > signing.JCS_FALLBACK_MAX_BYTES
    parsed: list[int] = []
    real = serialize.loads_request
    monkeypatch.setattr(serialize, "loads_request", lambda raw: parsed.append(len(raw)) or real(raw))
    bad = Request.build("POST", CALL_URL, {"X-Inngest-Signature": signing.sign(body, OTHER_KEY)}, body)
    assert cloud_handler().handle(bad).status == 401
    assert parsed == [], "a request with a wrong signature was parsed"
    # The same body signed with the app's key is parsed once and served.
    good = Request.build("POST", CALL_URL, {"X-Inngest-Signature": signing.sign(body, KEY)}, body)
    resp = cloud_handler().handle(good)
    assert (resp.status, resp.json(), parsed) == (200, "ok", [len(body)])


def test_a_small_body_signed_over_its_jcs_form_still_verifies() -> None:
    # What a sync PUT looks like: Go's json.Marshal escapes '&', the signature covers the JCS form.
    raw = b'{"url":"http://app.test/api/inngest?a=1\\u0026b=2"}'
    sig = signing.sign(signing.canonical(raw), KEY)
    assert signing.verify(raw, sig, (KEY, None)).key == KEY


def test_handle_async_verifies_a_large_body_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    body = large_call_body()
    threads: list[int] = []
    real = signing.verify

    def spy(*args: Any, **kwargs: Any) -> signing.Verified:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(signing, "verify", spy)
    handler = cloud_handler()

    async def main() -> tuple[int, list[int]]:
        requests = [Request.build("POST", CALL_URL, {"X-Inngest-Signature": signing.sign(body, key)}, body)
                    for key in (OTHER_KEY, KEY)]
        replies = await asyncio.gather(*(handler.handle_async(r) for r in requests))
        return threading.get_ident(), [r.status for r in replies]

    loop_thread, statuses = asyncio.run(main())
    assert statuses == [401, 200]
    assert len(threads) == 2 and loop_thread not in threads


# -- 16. guessable signing keys are refused at configuration ------------------------------------


@pytest.mark.parametrize("key", ["signkey-prod-", "signkey-test-ab", "signkey-prod-" + "ab" * 15 + "a", " ",
                                 "signkey-prod-" + "ab" * 32 + "\n", "signkey-prod-" + "ab" * 16 + " " + "ab" * 16])
@pytest.mark.parametrize("argument", ["signing_key", "signing_key_fallback"])
@pytest.mark.parametrize("production", [True, False])
def test_a_guessable_or_broken_signing_key_is_refused_at_configuration(key: str, argument: str,
                                                                       production: bool) -> None:
    from inngest_serverless.core.errors import ConfigError

    keys = {"signing_key": KEY, argument: key}
    with pytest.raises(ConfigError, match=argument) as info:
        Inngest(app_id="app", is_production=production, **keys)
    secret = signing.normalize_key(key).strip()
    assert not secret or secret not in str(info.value), "the error message shows the key"


def test_a_blank_signing_key_in_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from inngest_serverless.core.errors import ConfigError

    monkeypatch.setenv("INNGEST_SIGNING_KEY", "   ")
    with pytest.raises(ConfigError, match="whitespace"):
        Inngest(app_id="app", is_production=True)
    monkeypatch.setenv("INNGEST_SIGNING_KEY", "")
    with pytest.raises(ConfigError, match="needs a signing key"):
        Inngest(app_id="app", is_production=True)


def test_a_key_of_32_characters_is_accepted() -> None:
    assert Inngest(app_id="app", is_production=True, signing_key="signkey-prod-" + "ab" * 16).config.signing_key


def test_a_guessable_key_read_from_aws_is_not_used() -> None:
    from inngest_serverless.adapters.aws_lambda import AwsKeySource, KeySourceError

    class Fixed(AwsKeySource):
        def fetch(self) -> dict[str, str]:
            return {"signing_key": "signkey-prod-"}

    client = cloud_handler().client
    with pytest.raises(KeySourceError, match="too short"):
        Fixed(secret="inngest-keys").apply(client)
    assert client.config.signing_key == KEY


# -- 15. an unsigned PUT cannot point the app's registration at another host ------------------------


def test_an_unsigned_put_in_cloud_mode_is_refused_and_registers_nothing() -> None:
    from tests.fake_api import fake_api

    with fake_api() as api:
        api.on("POST", "/fn/register", (200, {"ok": True, "modified": False}))
        handler = cloud_handler(api.url)
        for _ in range(50):
            resp = handler.handle(Request.build("PUT", "http://evil.example/api/inngest", {"host": "evil.example"}))
            assert (resp.status, resp.headers["x-inngest-no-retry"]) == (401, "true")
        assert "INNGEST_ENABLE_UNAUTHED_SYNC" in resp.json()["message"]
        wrong = signing.sign(b"", OTHER_KEY)
        resp = handler.handle(Request.build("PUT", "http://evil.example/api/inngest", {"X-Inngest-Signature": wrong}))
        assert resp.status == 401
        assert api.requests == []
        # A signed PUT (the dashboard's) syncs the URL it was sent to.
        body = b'{"url":"http://app.test/api/inngest"}'
        signed = {"X-Inngest-Signature": signing.sign(body, KEY)}
        assert handler.handle(Request.build("PUT", URL, signed, body)).status == 200
        assert [r.json()["url"] for r in api.requests] == [URL]


def test_allowed_unsigned_syncs_register_only_the_serve_origin_and_are_rate_limited(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fake_api import fake_api

    monkeypatch.setenv("INNGEST_ENABLE_UNAUTHED_SYNC", "true")
    with fake_api() as api:
        api.on("POST", "/fn/register", (200, {"ok": True, "modified": False}))
        without_origin = cloud_handler(api.url)
        resp = without_origin.handle(Request.build("PUT", "http://evil.example/api/inngest"))
        assert resp.status == 401 and "INNGEST_SERVE_ORIGIN" in resp.json()["message"]
        assert api.requests == []

        handler = cloud_handler(api.url, serve_origin="https://shop.example.com")
        replies = [handler.handle(Request.build("PUT", "http://evil.example/api/inngest", {"host": "evil.example"}))
                   for _ in range(50)]
        assert [r.status for r in replies] == [200] + [429] * 49
        assert int(replies[1].headers["retry-after"]) > 0 and replies[1].headers["x-inngest-no-retry"] == "false"
        assert [r.json()["url"] for r in api.requests] == ["https://shop.example.com/api/inngest"]
        fn_urls = {s["runtime"]["url"].split("?")[0] for f in api.requests[0].json()["functions"] for s in f["steps"].values()}
        assert fn_urls == {"https://shop.example.com/api/inngest"}


def test_dev_mode_still_syncs_an_unsigned_put_from_the_url_it_came_to() -> None:
    from tests.fake_api import fake_api

    with fake_api() as api:
        api.on("POST", "/fn/register", (200, {"ok": True, "modified": False}))
        client = Inngest(app_id="app", is_production=False, api_base_url=api.url)

        @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
        def fn(ctx: Context) -> str:
            return "ok"

        assert Handler(client).handle(Request.build("PUT", "http://127.0.0.1:3000/api/inngest")).status == 200
        assert api.requests[0].json()["url"] == "http://127.0.0.1:3000/api/inngest"
