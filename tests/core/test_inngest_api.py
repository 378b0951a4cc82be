"""The one client for the Inngest API, over real loopback HTTP: the fallback signing key on both
of its transports (httpx for register, run state and events; the standard library for
checkpoint posts, or the app's own httpx client when it gave one), and a failed send naming the
events sent before it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from inngest_serverless import Inngest, SendEventsError
from inngest_serverless.core import inngest_api, signing
from inngest_serverless.core.wire import Limit
from tests.support.fake_api import FakeApi, Recorded, fake_api

PRIMARY = "signkey-prod-" + "7072696d617279206b6579".ljust(64, "0")
FALLBACK = "signkey-prod-" + "66616c6c6261636b206b6579".ljust(64, "0")


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with fake_api() as server:
        yield server


def _only_fallback(request: Recorded) -> tuple[int, object]:
    if request.headers.get("authorization") == f"Bearer {signing.bearer(FALLBACK)}":
        return 200, {"modified": True, "ok": True}
    return 401, {"error": "unauthorized"}


def _client(api: FakeApi) -> Inngest:
    return Inngest(app_id="a", is_production=True, signing_key=PRIMARY, signing_key_fallback=FALLBACK,
                   api_base_url=api.url, event_api_base_url=api.url, event_key="k")


def _bearers(api: FakeApi) -> list[str]:
    return [r.headers.get("authorization", "") for r in api.requests]


def test_a_refused_primary_key_is_retried_with_the_fallback_over_httpx(api: FakeApi) -> None:
    api.on("POST", "/fn/register", _only_fallback)
    status, reply = inngest_api.register(_client(api).config, {"url": "http://app"}, deploy_id=None, server_kind=None)
    assert status == 200 and reply["modified"] is True
    assert _bearers(api) == [f"Bearer {signing.bearer(PRIMARY)}", f"Bearer {signing.bearer(FALLBACK)}"]


def test_a_refused_primary_key_is_retried_with_the_fallback_for_checkpoints(api: FakeApi) -> None:
    api.on("POST", "/v1/checkpoint/run-1/async", _only_fallback)
    poster = inngest_api.CheckpointPoster(_client(api).config, "run-1", fn_id="fn", qi_id="q", request_id=None,
                                          generation_id=7)
    try:
        assert poster.post([{"op": "StepRun", "id": "h"}], timeout=5.0)
    finally:
        poster.close()
    assert _bearers(api) == [f"Bearer {signing.bearer(PRIMARY)}", f"Bearer {signing.bearer(FALLBACK)}"]
    assert api.requests[-1].json()["generation_id"] == 7


def test_a_key_refused_twice_fails_the_post_without_a_third_try(api: FakeApi) -> None:
    api.on("POST", "/v1/checkpoint/run-1/async", (403, {"error": "forbidden"}))
    poster = inngest_api.CheckpointPoster(_client(api).config, "run-1", fn_id="fn", qi_id=None, request_id=None,
                                          generation_id=None)
    try:
        assert not poster.post([{"op": "StepRun", "id": "h"}], timeout=5.0)
    finally:
        poster.close()
    assert len(api.requests) == 2


def test_checkpoints_go_through_the_apps_own_http_client_when_it_gave_one(api: FakeApi) -> None:
    api.on("POST", "/v1/checkpoint/run-1/async", _only_fallback)
    own = httpx.Client(headers={"x-through": "the-apps-client"})
    client = Inngest(app_id="a", is_production=True, signing_key=PRIMARY, signing_key_fallback=FALLBACK,
                     api_base_url=api.url, http_client=own)
    poster = inngest_api.CheckpointPoster(client.config, "run-1", fn_id="fn", qi_id="q", request_id="r",
                                          generation_id=None)
    try:
        assert poster.post([{"op": "StepRun", "id": "h", "data": 1}], timeout=5.0)
        assert poster.post([{"op": "StepRun", "id": "i", "data": 2}], timeout=5.0)
    finally:
        poster.close()
    assert [r.headers.get("x-through") for r in api.requests] == ["the-apps-client"] * 4  # each post: both keys
    assert _bearers(api)[:2] == [f"Bearer {signing.bearer(PRIMARY)}", f"Bearer {signing.bearer(FALLBACK)}"]
    assert [r.json()["steps"][0]["id"] for r in api.requests[1::2]] == ["h", "i"]
    assert not own.is_closed  # the app's client: the poster never closes it
    own.close()


def test_a_refusal_through_the_apps_client_fails_the_post(api: FakeApi) -> None:
    api.on("POST", "/v1/checkpoint/run-1/async", (409, {"error": "not in flight"}))
    with httpx.Client() as own:
        client = Inngest(app_id="a", is_production=False, api_base_url=api.url, http_client=own)
        poster = inngest_api.CheckpointPoster(client.config, "run-1", fn_id="fn", qi_id=None, request_id=None,
                                              generation_id=None)
        assert not poster.post([{"op": "StepRun", "id": "h"}], timeout=5.0)
    assert len(api.requests) == 1


def test_without_a_client_of_the_apps_a_checkpoint_post_loads_no_httpx(api: FakeApi) -> None:
    # The cold-start path: a checkpointing function's first call posts over the standard library.
    api.on("POST", "/v1/checkpoint/run-1/async", (200, None))
    code = (
        "import sys\n"
        "from inngest_serverless import Inngest\n"
        "from inngest_serverless.core.inngest_api import CheckpointPoster\n"
        f"cfg = Inngest(app_id='a', is_production=False, api_base_url={api.url!r}).config\n"
        "poster = CheckpointPoster(cfg, 'run-1', fn_id='fn', qi_id=None, request_id=None, generation_id=None)\n"
        "print(poster.post([{'op': 'StepRun', 'id': 'h'}], timeout=5.0), 'httpx' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False"]
    assert len(api.requests) == 1


def test_a_failed_batch_names_the_events_sent_before_it(api: FakeApi) -> None:
    batches = iter([(200, {"ids": [f"id{i}" for i in range(Limit.EVENTS_PER_SEND)]}),
                    (400, {"error": "event name empty"})])
    api.on("POST", "/e/k", lambda _request: next(batches))
    events = [{"name": "x/y", "data": {"i": i}} for i in range(Limit.EVENTS_PER_SEND + 1)]
    with pytest.raises(SendEventsError, match="event name empty") as caught:
        _client(api).send_sync(events)
    assert caught.value.status == 400
    assert caught.value.ids == [f"id{i}" for i in range(Limit.EVENTS_PER_SEND)]
