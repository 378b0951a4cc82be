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
