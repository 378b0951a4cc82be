"""Core's plain data classes behave as the dataclasses they replaced did (equality, repr, keyword
construction, defaults, read-only fields, copies that re-check), and the async checks that stand
in for ``inspect`` give ``inspect``'s answers."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import types
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import pytest

import inngest_serverless as sdk
from inngest_serverless.core import serialize
from inngest_serverless.core.call_body import CallBody, CallContext
from inngest_serverless.core.coroutines import is_awaitable, is_coroutine_function
from inngest_serverless.core.http import Request, Response

KEY = "signkey-test-" + "ab" * 32


def test_an_event_compares_shows_and_defaults_as_a_dataclass_did() -> None:
    event = sdk.Event(name="shop/order", data={"id": 1})
    assert event == sdk.Event("shop/order", {"id": 1}, "", 0, {}, None)
    assert event != sdk.Event(name="shop/order", data={"id": 2})
    assert repr(event) == "Event(name='shop/order', data={'id': 1}, id='', ts=0, user={}, v=None)"
    bare, other = sdk.Event(name="a"), sdk.Event(name="a")
    assert bare.data == {} and bare.user == {}
    assert bare.data is not other.data and bare.user is not other.user  # a new dict each, not one shared
    assert sdk.Event(name="a", data=None).data is None  # given explicitly, kept
    with pytest.raises(TypeError):
        hash(event)  # mutable, so unhashable, as an eq dataclass


def test_replace_copies_with_changes_and_refuses_unknown_fields() -> None:
    event = sdk.Event(name="a", data={"x": 1}, id="e1")
    copy = event.replace(data={"x": 2})
    assert copy == sdk.Event(name="a", data={"x": 2}, id="e1") and event.data == {"x": 1}
    with pytest.raises(TypeError, match="no field 'nme'"):
        event.replace(nme="b")


def test_a_config_copy_checks_its_keys_again_and_ignores_the_apps_clients() -> None:
    client = sdk.Inngest(app_id="record", is_production=False)
    config = client.config
    with_key = config.replace(signing_key=KEY)
    assert with_key.signing_key == KEY and config.signing_key is None
    with pytest.raises(ValueError, match="too short"):
        config.replace(signing_key="signkey-test-abc")
    http = object()
    assert config.replace(http_client=http) == config  # the app's clients are not compared...
    assert "http_client" not in repr(config.replace(http_client=http))  # ... nor shown
    assert KEY not in repr(with_key) and "signing_key=<secret>" in repr(with_key)  # a key is compared, never shown
    assert "signing_key_fallback=None" in repr(with_key)


def test_frozen_records_refuse_assignment_and_hash_by_value() -> None:
    trigger = sdk.TriggerEvent(event="a")
    with pytest.raises(AttributeError, match="cannot assign"):
        trigger.event = "b"
    with pytest.raises(AttributeError, match="cannot delete"):
        del trigger.expression
    assert {trigger, sdk.TriggerEvent("a")} == {trigger}
    assert sdk.TriggerCron(cron="* * * * *") != sdk.TriggerCron(cron="*/5 * * * *")
    config = sdk.Inngest(app_id="record", is_production=False).config
    with pytest.raises(AttributeError):
        config.app_id = "other"


def test_a_requests_query_is_parsed_once_on_a_read_only_request() -> None:
    request = Request.build("post", "https://h/api/inngest?fnId=f&fnId=g&stepId=s", {"X-A": "1"}, "{}")
    assert request.query == {"fnId": "f", "stepId": "s"} and request.query is request.query
    assert (request.method, request.body, request.headers["x-a"]) == ("POST", b"{}", "1")
    assert request == Request("POST", request.url, request.headers, b"{}")
    assert Response(200) == Response(200, {}, b"", None) and Response(200).headers is not Response(200).headers


def test_the_call_body_round_trips_through_its_constructor() -> None:
    ctx = CallContext(run_id="r", attempt=2, env="", stack=["h1"], stack_current=0)
    body = CallBody(event={"name": "a"}, ctx=ctx, events=[{"name": "a"}], version=2)
    assert CallBody.parse(body.to_wire()) == body
    assert CallBody.parse(body.to_wire()) != CallBody(event={"name": "a"}, ctx=CallContext(run_id="r"))
    assert "run_id='r'" in repr(ctx)


def test_an_event_a_function_returns_is_encoded_as_its_fields() -> None:
    event = sdk.Event(name="a", data={"n": 1}, id="e1", ts=5)
    assert json.loads(serialize.dumps({"event": event})) == {
        "event": {"name": "a", "data": {"n": 1}, "id": "e1", "ts": 5, "user": {}, "v": None}}


# -- the async checks, against inspect's own answers --------------------------------------------


def _plain() -> int:
    return 1


async def _async() -> int:
    return 1


def _wrapped() -> Callable[..., Any]:
    @functools.wraps(_async)
    def wrapper() -> Awaitable[int]:
        return _async()

    return wrapper


class _Methods:
    async def run(self) -> None:
        pass

    def sync(self) -> None:
        pass

    async def __call__(self) -> None:
        pass


@types.coroutine
def _generator_coroutine() -> Generator[None, None, int]:
    yield
    return 1


def _callables() -> list[Any]:
    out: list[Any] = [_plain, _async, lambda: 1, functools.partial(_async), functools.partial(_plain),
                      _Methods().run, _Methods().sync, _Methods.run, _Methods(), _wrapped(), print, len, object()]
    if hasattr(inspect, "markcoroutinefunction"):  # Python 3.12+: a plain function marked as async
        out.append(inspect.markcoroutinefunction(lambda: _async()))
    return out


@pytest.mark.parametrize("fn", _callables(), ids=repr)
def test_is_coroutine_function_answers_as_inspect(fn: Any) -> None:
    assert is_coroutine_function(fn) is inspect.iscoroutinefunction(fn)


def test_is_awaitable_answers_as_inspect() -> None:
    coroutine = _async()
    generator_coroutine = _generator_coroutine()
    future = asyncio.new_event_loop().create_future()
    values: list[Any] = [None, True, 1, 1.5, "s", b"b", {}, [], (), coroutine, generator_coroutine, future,
                         iter([]), object(), _plain]
    try:
        for value in values:
            assert is_awaitable(value) is inspect.isawaitable(value), value
        assert is_awaitable(coroutine) and is_awaitable(future) and not is_awaitable({"a": 1})
    finally:
        coroutine.close()
        generator_coroutine.close()
        future.get_loop().close()
