"""client.send_sync and send over real HTTP."""

from __future__ import annotations

import asyncio

import pytest

from inngest_serverless import ApiError, Event, Inngest
from tests.support.fake_api import fake_api


def test_send_posts_array_to_event_api_and_returns_ids() -> None:
    with fake_api() as api:
        api.on("POST", "/e/my-key", (200, {"ids": ["01A", "01B"], "status": 200}))
        client = Inngest(app_id="a", is_production=False, event_key="my-key", event_api_base_url=api.url, env="br")
        ids = client.send_sync([{"name": "x/one", "data": {"n": 1}, "id": ""}, Event(name="x/two", data={"n": 2})])
        assert ids == ["01A", "01B"]
        [rec] = api.requests
        sent = rec.json()
        assert [e["name"] for e in sent] == ["x/one", "x/two"]
        assert "id" not in sent[0] and all(isinstance(e["ts"], int) for e in sent)
        assert rec.headers["x-inngest-sdk"].startswith("inngest-serverless:v")
        assert rec.headers["x-inngest-env"] == "br"
        assert "authorization" not in rec.headers
        ms, seed = rec.headers["x-inngest-event-id-seed"].split(",")
        assert ms.isdigit() and seed


def test_async_send_and_dev_default_event_key() -> None:
    with fake_api() as api:
        api.on("POST", "/e/NO_EVENT_KEY_SET", (200, {"ids": ["01C"], "status": 200}))
        client = Inngest(app_id="a", is_production=False, event_api_base_url=api.url)
        assert asyncio.run(client.send({"name": "x/y", "data": {}})) == ["01C"]


def test_send_retries_server_errors_but_not_client_errors() -> None:
    with fake_api() as api:
        replies = iter([(502, {}), (200, {"ids": ["01D"], "status": 200})])
        api.on("POST", "/e/k", lambda _r: next(replies))
        client = Inngest(app_id="a", is_production=False, event_key="k", event_api_base_url=api.url)
        assert client.send_sync({"name": "x/y"}) == ["01D"]
        api.on("POST", "/e/k", (400, {"error": "event name empty", "status": 400}))
        before = len(api.requests)
        with pytest.raises(ApiError, match="event name empty"):
            client.send_sync({"name": "x/y"})
        assert len(api.requests) == before + 1


def test_send_rejects_events_without_name() -> None:
    client = Inngest(app_id="a", is_production=False)
    with pytest.raises(ValueError, match="name"):
        client.send_sync({"data": {}})
