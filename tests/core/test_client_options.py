"""The smaller parts of parity with the official SDKs: slugify, public signing helpers, sends split
into batches the event API takes, what ctx tells, an app's own HTTP clients, and body-size and
in-band-sync options on the client (not only in the environment)."""

from __future__ import annotations

import asyncio
import datetime
import json
import threading
from typing import Any

import httpx
import pytest

from inngest_serverless import Context, ContextSync, Handler, Inngest, Request, TriggerEvent, slugify
from inngest_serverless.core.errors import ConfigError
from inngest_serverless.signing import SignatureError, hash_signing_key, sign, verify
from tests.support.core_driver import URL, call_body, h, post
from tests.support.fake_api import Recorded, fake_api

KEY = "signkey-prod-0123456789abcdef0123456789abcdef"
FALLBACK = "signkey-prod-fedcba9876543210fedcba9876543210"


@pytest.mark.parametrize(("name", "slug"), [
    ("Send Welcome Email", "send-welcome-email"),
    ("  --Hello__World!! ", "hello-world"),
    ("already-a-slug", "already-a-slug"),
    ("a---b", "a-b"),
    ("ABC 123", "abc-123"),
    ("Ünïcode café", "n-code-caf"),  # only a-z and 0-9 survive, as in the TypeScript SDK
    ("user/signed.up", "user-signed-up"),
    ("---", ""),
])
def test_slugify_derives_the_legacy_function_id(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_signing_helpers_sign_and_verify_as_the_server_and_app_do() -> None:
    body = b'{"event":{"name":"a"},"ctx":{"run_id":"r","attempt":0},"steps":{}}'
    header = sign(body, KEY)
    verify(body, header, KEY)
    verify(body, header, "signkey-prod-ffff", signing_key_fallback=KEY)  # rotated: the fallback matches
    with pytest.raises(SignatureError, match="does not match"):
        verify(body, header, FALLBACK)
    with pytest.raises(SignatureError, match="expired"):
        verify(body, sign(body, KEY, timestamp=1_000_000), KEY)
    with pytest.raises(SignatureError, match="missing"):
        verify(body, None, KEY)
    # A call signed with the helper is accepted by an app's handler.
    client = Inngest(app_id="app", is_production=True, signing_key=KEY)

    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="a"))
    def fn(ctx: ContextSync) -> str:
        return "ok"

    raw = json.dumps(call_body()).encode()
    resp = Handler(client).handle(Request.build("POST", f"{URL}?fnId=app-fn&stepId=step",
                                                {"X-Inngest-Signature": sign(raw, KEY)}, raw))
    assert (resp.status, resp.json()) == (200, "ok")
    assert hash_signing_key(KEY) == "signkey-prod-" + __import__("hashlib").sha256(
        bytes.fromhex("0123456789abcdef0123456789abcdef")).hexdigest()


def _ids_reply(rec: Recorded) -> tuple[int, Any]:
    events = rec.json()
    if len(events) > 5000:
        return 400, {"error": "too many events"}
    return 200, {"ids": [e["data"]["i"] for e in events], "status": 200}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_send_of_more_than_5000_events_is_split_into_batches(mode: str) -> None:
    events = [{"name": "bulk/item", "data": {"i": str(i)}} for i in range(12_001)]
    with fake_api() as api:
        api.on("POST", "/e/ek", _ids_reply)
        client = Inngest(app_id="a", is_production=False, event_key="ek", event_api_base_url=api.url)
        ids = client.send_sync(events) if mode == "sync" else asyncio.run(client.send(events))
        sizes = [len(r.json()) for r in api.requests]
        seeds = {r.headers["x-inngest-event-id-seed"] for r in api.requests}
    assert sizes == [5000, 5000, 2001]
    assert ids == [str(i) for i in range(12_001)]
    assert len(seeds) == 3  # each batch has its own seed (kept across that batch's retries)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_request_timeout_gives_up_on_a_call_that_hangs_and_the_send_is_retried(mode: str) -> None:
    release = threading.Event()

    def reply(rec: Recorded) -> tuple[int, Any]:
        if len(api.requests) == 1:  # the first call hangs until the test ends
            release.wait(60)
        return 200, {"ids": ["x"], "status": 200}

    with fake_api() as api:
        api.on("POST", "/e/ek", reply)
        client = Inngest(app_id="a", is_production=False, event_key="ek", event_api_base_url=api.url,
                         request_timeout=datetime.timedelta(seconds=2))
        try:
            ids = client.send_sync({"name": "e"}) if mode == "sync" else asyncio.run(client.send({"name": "e"}))
        finally:
            release.set()
    assert ids == ["x"] and len(api.requests) == 2


def test_request_timeout_is_milliseconds_or_a_timedelta() -> None:
    assert Inngest(app_id="a", is_production=False, request_timeout=1500).config.request_timeout == 1.5
    assert Inngest(app_id="a", is_production=False).config.request_timeout is None  # the package's 30 s
    for bad in (0, -1, float("nan"), "5", True):
        with pytest.raises(ConfigError, match="request_timeout"):
            Inngest(app_id="a", is_production=False, request_timeout=bad)  # type: ignore[arg-type]


def test_the_apps_own_http_clients_carry_the_calls() -> None:
    with fake_api() as api:
        api.on("POST", "/e/ek", (200, {"ids": ["x"], "status": 200}))
        api.on("POST", "/fn/register", (200, {"modified": False}))
        sync_client = httpx.Client(headers={"x-corp-proxy": "sync"})
        async_client = httpx.AsyncClient(headers={"x-corp-proxy": "async"})
        client = Inngest(app_id="a", is_production=False, event_key="ek", event_api_base_url=api.url,
                         api_base_url=api.url, http_client=sync_client, async_http_client=async_client)
        client.send_sync({"name": "e"})
        asyncio.run(client.send({"name": "e"}))
        Handler(client).handle(Request.build("PUT", URL, {}, b""))
        assert [(r.path, r.headers.get("x-corp-proxy")) for r in api.requests] == [
            ("/e/ek", "sync"), ("/e/ek", "async"), ("/fn/register", "sync")]
        assert not sync_client.is_closed and not async_client.is_closed  # the app's to close
        sync_client.close()
        asyncio.run(async_client.aclose())


def test_max_body_size_and_allow_in_band_sync_are_client_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_MAX_BODY_BYTES", "999999")
    client = Inngest(app_id="a", is_production=True, signing_key=KEY, max_body_size=1000)
    resp = Handler(client).handle(Request.build("POST", URL + "?fnId=a-fn", {}, b"x" * 1001))
    assert resp.status == 413 and resp.headers["x-inngest-no-retry"] == "true"
    with pytest.raises(ConfigError, match="max_body_size"):
        Inngest(app_id="a", is_production=False, max_body_size=0)
    with fake_api() as api:
        api.on("POST", "/fn/register", (200, {"modified": False}))
        body = b'{"url":"https://app.example/api/inngest"}'
        headers = {"X-Inngest-Signature": sign(body, KEY), "X-Inngest-Sync-Kind": "in_band"}
        on = Handler(Inngest(app_id="a", is_production=True, signing_key=KEY, api_base_url=api.url))
        off = Handler(Inngest(app_id="a", is_production=True, signing_key=KEY, api_base_url=api.url,
                              allow_in_band_sync=False))
        assert on.handle(Request.build("PUT", URL, headers, body)).headers["x-inngest-sync-kind"] == "in_band"
        assert off.handle(Request.build("PUT", URL, headers, body)).headers["x-inngest-sync-kind"] == "out_of_band"
        assert [r.path for r in api.requests] == ["/fn/register"]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_ctx_tells_the_function_id_the_step_id_and_the_environment(kind: str) -> None:
    client = Inngest(app_id="app", is_production=False, env="feature-x")
    trigger = TriggerEvent(event="a")
    if kind == "sync":
        @client.create_function(fn_id="fn", trigger=trigger)
        def fn(ctx: ContextSync) -> Any:
            inside = ctx.step.run("s", lambda: ctx.step_id)
            return [ctx.function_id, ctx.env, inside, ctx.step_id]
    else:
        @client.create_function(fn_id="fn", trigger=trigger)
        async def fn_async(ctx: Context) -> Any:
            inside = await ctx.step.run("s", lambda: ctx.step_id)
            return [ctx.function_id, ctx.env, inside, ctx.step_id]

    handler = Handler(client)
    (op,) = post(handler, "fn", call_body()).json()
    assert op["data"] == "s"
    done = post(handler, "fn", call_body({h("s"): {"data": "s"}}))
    assert done.json() == ["app-fn", "feature-x", "s", None]
