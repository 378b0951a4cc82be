"""Limits: request body size, step output size, steps per run."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

from inngest_serverless import ContextSync, Handler, Inngest, Request, TriggerEvent
from inngest_serverless.core import serialize, signing
from inngest_serverless.core.wire import Limit
from tests.support.core_driver import URL, call_body, h, post

KEY = "signkey-prod-" + "7c" * 32
MB4 = 4 * 1024 * 1024


# -- request bodies over the configured maximum: 413 before any parsing ------------------------


@pytest.fixture
def json_loads_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every body parsed while the test runs (its size), by json.loads or by the fast parser
    that large bodies go to (core/serialize.py)."""
    calls: list[int] = []
    real = json.loads
    fast = serialize._fast_json()

    def spy(s: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(s))
        return real(s, *args, **kwargs)

    def fast_spy(s: bytes) -> Any:
        calls.append(len(s))
        return fast(s) if fast is not None else real(s)

    monkeypatch.setattr(json, "loads", spy)
    monkeypatch.setattr(serialize, "_fast_loads", fast_spy)
    return calls


@pytest.mark.parametrize("method, query", [("POST", "?fnId=app-fn"), ("PUT", ""), ("GET", ""),
                                           ("POST", "?probe=trust")])
def test_body_over_the_configured_maximum_is_413_before_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch, json_loads_calls: list[int], method: str, query: str
) -> None:
    monkeypatch.setenv("INNGEST_MAX_BODY_BYTES", "1000")
    handler = Handler(Inngest(app_id="app", is_production=True, signing_key=KEY))
    body = json.dumps({"pad": "x" * 1000}).encode()
    headers = {"X-Inngest-Signature": signing.sign(body, KEY), "x-inngest-sync-kind": "in_band"}
    json_loads_calls.clear()
    resp = handler.handle(Request.build(method, URL + query, headers, body))
    assert json_loads_calls == [], "the oversized body was parsed"
    assert resp.status == 413 and resp.headers["x-inngest-no-retry"] == "true"
    assert "1000" in resp.json()["message"] and str(len(body)) in resp.json()["message"]


@pytest.mark.parametrize("pad", [0, serialize.FAST_JSON_MIN_BYTES])  # a small body, and one for the fast parser
def test_the_spy_does_see_the_handler_parse_a_body_under_the_limit(json_loads_calls: list[int], pad: int) -> None:
    client = Inngest(app_id="app", is_production=True, signing_key=KEY)
    client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))(lambda ctx: "done")
    handler = Handler(client)
    body = json.dumps(call_body(event={"name": "test/event", "data": {"pad": "x" * pad}})).encode()
    json_loads_calls.clear()
    handler.handle(Request.build("POST", URL + "?fnId=app-fn", {"X-Inngest-Signature": signing.sign(body, KEY)}, body))
    assert len(body) in json_loads_calls


def test_body_at_the_maximum_is_accepted_and_one_byte_more_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_MAX_BODY_BYTES", "5000")
    client = Inngest(app_id="app", is_production=False)

    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
    def fn(ctx: ContextSync) -> int:
        return len(ctx.event.data["pad"])

    raw = json.dumps(call_body(event={"name": "test/event", "data": {"pad": ""}}, events=[])).encode()
    raw = raw.replace(b'"pad": ""', b'"pad": "' + b"x" * (5000 - len(raw)) + b'"')
    assert len(raw) == 5000
    handler = Handler(client)
    assert post(handler, "fn", raw).status == 200
    assert post(handler, "fn", raw + b" ").status == 413


def test_default_maximum_is_16_mb() -> None:
    assert Inngest(app_id="app", is_production=False).config.max_body_bytes == Limit.DEFAULT_MAX_BODY == 16 * 1024 * 1024


# -- a step output over 4 MB fails that step, non-retriably, naming step and size --------------


def big_step_client(size: int) -> Inngest:
    client = Inngest(app_id="app", is_production=False)

    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
    def fn(ctx: ContextSync) -> int:
        return len(ctx.step.run("export-report", lambda: "x" * size))

    return client


def test_step_output_over_4_mb_fails_the_step_with_a_clear_non_retriable_error() -> None:
    size = MB4 - 2 + 1  # JSON quotes make the output one byte over the limit
    resp = post(Handler(big_step_client(size)), "fn", call_body())
    assert resp.status == 206 and resp.headers["x-inngest-no-retry"] == "true"
    (op,) = resp.json()
    assert (op["op"], op["id"]) == ("StepFailed", h("export-report"))
    assert op["data"] is None  # the oversized output is not sent
    message = op["error"]["message"]
    assert "'export-report'" in message and str(MB4 + 1) in message and str(MB4) in message
    assert op["error"]["name"] == "NonRetriableError"


def test_step_output_of_exactly_4_mb_is_accepted() -> None:
    resp = post(Handler(big_step_client(MB4 - 2)), "fn", call_body())
    assert resp.status == 206 and resp.json()[0]["op"] == "StepRun"


def test_the_failed_step_then_fails_the_run_without_retry() -> None:
    handler = Handler(big_step_client(MB4))
    (op,) = post(handler, "fn", call_body()).json()
    resp = post(handler, "fn", call_body({op["id"]: {"error": op["error"]}}))
    assert resp.status == 400 and resp.headers["x-inngest-no-retry"] == "true"
    assert "'export-report'" in resp.json()["message"]


# -- more than the server's 1000 steps per run ---------------------------------------------------


def many_steps_client(count: int) -> Inngest:
    client = Inngest(app_id="app", is_production=False)

    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
    def fn(ctx: ContextSync) -> int:
        return sum(ctx.step.run("item", lambda: 1) for _ in range(count))

    return client


def memoized_items(n: int) -> dict[str, Any]:
    return {h("item" if i == 0 else f"item:{i}"): {"data": 1} for i in range(n)}


def test_step_1001_is_reported_clearly_and_not_retried() -> None:
    resp = post(Handler(many_steps_client(1001)), "fn", call_body(memoized_items(1000)))
    assert resp.status == 400 and resp.headers["x-inngest-no-retry"] == "true"
    message = resp.json()["message"]
    assert "step 'item' would be step 1001" in message and "limit of 1000 steps per run" in message


def test_the_step_limit_cannot_be_swallowed_by_user_code(client: Inngest) -> None:

    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
    def fn(ctx: ContextSync) -> str:
        for _ in range(1001):
            with contextlib.suppress(Exception):
                ctx.step.run("item", lambda: 1)
        return "finished without step 1001"

    resp = post(Handler(client), "fn", call_body(memoized_items(1000)))
    assert resp.status == 400 and "limit of 1000 steps" in resp.json()["message"]


def test_exactly_1000_steps_complete() -> None:
    resp = post(Handler(many_steps_client(1000)), "fn", call_body(memoized_items(1000)))
    assert (resp.status, resp.json()) == (200, 1000)
