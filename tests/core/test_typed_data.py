"""Typed event data, typed invoke and step results at run time, through the protocol.

A function declared with ``event_type=`` gets ``ctx.event.data`` (and every event of a batch) as
that dataclass or pydantic model; data that does not fit fails the run at once, non-retriable, with
a message naming the field and never the value. ``wait_for_event(event_type=...)`` and
``step.invoke`` results are checked the same way. Handler tests post real call bodies; the last
test runs through the embedded executor and an app served over HTTP.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import pytest

from inngest_serverless import (
    ConfigError,
    Context,
    ContextSync,
    Handler,
    Inngest,
    NonRetriableError,
    TriggerCron,
    TriggerEvent,
)
from inngest_serverless.adapters.wsgi import LocalServer, wsgi_adapter
from inngest_serverless.dev import DevServer
from tests.support.core_driver import call_body, h, post
from tests.support.dev_apps.harness import Client

TRIGGER = TriggerEvent(event="shop/order.placed")
SECRET = "4111-1111-1111-4242"


@dataclass
class Item:
    sku: str
    qty: int


@dataclass
class Order:
    order_id: str
    items: list[Item]
    note: str | None = None


class Payment(pydantic.BaseModel):
    order_id: str
    amount: float


@dataclass
class Receipt:
    order_id: str
    units: int


def order(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"order_id": "o-1", "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 3}]}
    data.update(changes)
    return {"name": "shop/order.placed", "data": data, "id": "e1", "ts": 1, "user": {}}


@pytest.fixture
def client() -> Inngest:
    return Inngest(app_id="app", is_production=False, event_key="ek")


def test_event_data_arrives_as_the_declared_dataclass(client: Inngest) -> None:
    @client.create_function(fn_id="fn", trigger=TRIGGER, event_type=Order)
    def fn(ctx: ContextSync[Order]) -> dict[str, Any]:
        assert isinstance(ctx.event.data, Order) and isinstance(ctx.event.data.items[0], Item)
        return {"units": sum(i.qty for i in ctx.event.data.items), "batch": [e.data.order_id for e in ctx.events]}

    second = order(order_id="o-2", items=[])
    resp = post(Handler(client), "fn", call_body(event=order(), events=[order(), second]))
    assert (resp.status, resp.json()) == (200, {"units": 5, "batch": ["o-1", "o-2"]})


def test_a_pydantic_event_type_validates_and_converts_as_pydantic_does(client: Inngest) -> None:
    @client.create_function(fn_id="fn", trigger=TRIGGER, event_type=Payment)
    async def fn(ctx: Context[Payment]) -> float:
        assert isinstance(ctx.event.data, Payment)
        return ctx.event.data.amount * 2

    event = {"name": "shop/order.placed", "data": {"order_id": "o-1", "amount": "12.5"}}
    resp = post(Handler(client), "fn", call_body(event=event))
    assert (resp.status, resp.json()) == (200, 25.0)


@pytest.mark.parametrize(("data", "field", "why"), [
    ({"order_id": "o-1", "items": [{"sku": "a", "qty": SECRET}]}, "items.0.qty", "expected int, got a string"),
    ({"items": []}, "order_id", "field required"),
    ({"order_id": "o-1", "items": {"sku": SECRET}}, "items", "expected an array, got an object"),
    ({"order_id": "o-1", "items": [], "note": 4242}, "note", "expected str | None, got a number"),
])
def test_data_that_does_not_fit_fails_at_once_naming_the_field(client: Inngest, data: dict[str, Any], field: str,
                                                               why: str) -> None:
    ran: list[int] = []

    @client.create_function(fn_id="fn", trigger=TRIGGER, event_type=Order, retries=3)
    def fn(ctx: ContextSync[Order]) -> None:
        ran.append(1)

    resp = post(Handler(client), "fn", call_body(event={"name": "shop/order.placed", "data": data}))
    assert resp.status == 400 and resp.headers["x-inngest-no-retry"] == "true"
    body = resp.json()
    assert body["name"] == "NonRetriableError"
    assert body["message"] == f"the data of event 'shop/order.placed' does not fit Order: field {field!r}: {why}"
    assert SECRET not in json.dumps(body) and "4242" not in body["message"]
    assert ran == []  # the handler never saw the data


def test_a_pydantic_failure_names_pydantics_field_and_counts_the_others(client: Inngest) -> None:
    @client.create_function(fn_id="fn", trigger=TRIGGER, event_type=Payment)
    def fn(ctx: ContextSync[Payment]) -> None:
        pass

    resp = post(Handler(client), "fn", call_body(event={"name": "x", "data": {"amount": SECRET}}))
    message = resp.json()["message"]
    assert resp.status == 400 and message.startswith("the data of event 'x' does not fit Payment: field 'order_id': ")
    assert message.endswith("(and 1 more)") and SECRET not in message


@dataclass
class Card:
    number: str


@dataclass
class Checkout:
    encrypted: Card


def test_event_data_is_typed_after_middleware_has_decrypted_it() -> None:
    from cryptography.fernet import Fernet

    from tests.support import middleware_examples

    key = Fernet.generate_key()
    middleware = middleware_examples.encryption_middleware(key)
    client = Inngest(app_id="app", is_production=False, middleware=[middleware])

    @client.create_function(fn_id="fn", trigger=TRIGGER, event_type=Checkout)
    def fn(ctx: ContextSync[Checkout]) -> str:
        return ctx.event.data.encrypted.number[-4:]

    sealed = Fernet(key).encrypt(json.dumps({"number": SECRET}).encode()).decode()
    event = {"name": "shop/order.placed",
             "data": {"encrypted": {middleware_examples.MARKER: True, middleware_examples.STRATEGY: "fernet",
                                    "data": sealed}}}
    resp = post(Handler(client), "fn", call_body(event=event))
    assert resp.status == 200, resp.json()
    assert json.loads(Fernet(key).decrypt(resp.json()["data"].encode())) == "4242"


def test_event_type_is_checked_when_the_function_is_defined(client: Inngest) -> None:
    with pytest.raises(ConfigError, match="event_type must be a dataclass or a pydantic model"):
        client.create_function(fn_id="a", trigger=TRIGGER, event_type=dict)
    with pytest.raises(ConfigError, match="a cron trigger has none"):
        client.create_function(fn_id="b", trigger=TriggerCron(cron="0 * * * *"), event_type=Order)


def test_wait_for_event_gives_the_matched_event_typed(client: Inngest) -> None:
    @client.create_function(fn_id="fn", trigger=TRIGGER)
    def fn(ctx: ContextSync) -> Any:
        paid = ctx.step.wait_for_event("paid", event="shop/paid", timeout=60_000, event_type=Payment)
        return None if paid is None else {"type": type(paid.data).__name__, "amount": paid.data.amount}

    handler = Handler(client)
    matched = {"name": "shop/paid", "data": {"order_id": "o-1", "amount": 3}, "id": "e2", "ts": 2}
    resp = post(handler, "fn", call_body({h("paid"): {"data": matched}}))
    assert (resp.status, resp.json()) == (200, {"type": "Payment", "amount": 3.0})
    assert post(handler, "fn", call_body({h("paid"): None})).json() is None  # timed out
    bad = post(handler, "fn", call_body({h("paid"): {"data": {**matched, "data": {"amount": 1}}}}))
    assert bad.status == 400 and "event 'shop/paid' does not fit Payment: field 'order_id'" in bad.json()["message"]


def test_invoke_returns_the_invoked_functions_declared_type(client: Inngest) -> None:
    @client.create_function(fn_id="receipt", trigger=TriggerEvent(event="shop/receipt"))
    def receipt(ctx: ContextSync) -> Receipt:
        return Receipt(order_id="o-1", units=5)

    @client.create_function(fn_id="payment", trigger=TriggerEvent(event="shop/payment"), output_type=Payment)
    def payment(ctx: ContextSync) -> dict[str, Any]:
        return {"order_id": "o-1", "amount": 9}

    @client.create_function(fn_id="caller", trigger=TRIGGER)
    def caller(ctx: ContextSync) -> Any:
        got = ctx.step.invoke("receipt", function=receipt)
        paid = ctx.step.invoke("payment", function=payment)
        by_id = ctx.step.invoke_by_id("by-id", function_id="receipt", output_type=Receipt)
        return [type(got).__name__, got.units, type(paid).__name__, paid.amount, type(by_id).__name__]

    memos = {h("receipt"): {"data": {"order_id": "o-1", "units": 5}},
             h("payment"): {"data": {"order_id": "o-1", "amount": 9}},
             h("by-id"): {"data": {"order_id": "o-1", "units": 5}}}
    resp = post(Handler(client), "caller", call_body(memos))
    assert (resp.status, resp.json()) == (200, ["Receipt", 5, "Payment", 9.0, "Receipt"])
    memos[h("receipt")] = {"data": {"order_id": "o-1", "units": "five"}}
    bad = post(Handler(client), "caller", call_body(memos))
    assert bad.status == 400 and bad.json()["message"] == (
        "the result of invoke('receipt') does not fit Receipt: field 'units': expected int, got a string")


def test_step_run_output_type_turns_the_memoized_json_into_that_type(client: Inngest) -> None:
    def make(order_id: str, units: int) -> dict[str, Any]:
        return {"order_id": order_id, "units": units}

    @client.create_function(fn_id="fn", trigger=TRIGGER)
    def fn(ctx: ContextSync) -> Any:
        made = ctx.step.run("make", make, "o-9", 4, output_type=Receipt)
        return [type(made).__name__, made.units]

    handler = Handler(client)
    ops = post(handler, "fn", call_body()).json()
    assert [(o["name"], o["data"]) for o in ops] == [("make", {"order_id": "o-9", "units": 4})]
    resp = post(handler, "fn", call_body({h("make"): {"data": ops[0]["data"]}}))
    assert resp.json() == ["Receipt", 4]


def test_direct_calls_and_function_ids_are_unchanged_by_a_type(client: Inngest) -> None:
    @client.create_function(fn_id="fn", trigger=TRIGGER, event_type=Order)
    def fn(ctx: ContextSync[Order]) -> str:
        return ctx.event.data.order_id

    assert fn.is_async is False and fn.local_id == "fn"
    with pytest.raises(NonRetriableError, match="field 'order_id'"):
        fn(_FakeContext({"items": []}))
    assert fn(_FakeContext(order()["data"])) == "o-1"


class _FakeContext:
    """What a unit test hands a function directly: an event and its batch."""

    def __init__(self, data: dict[str, Any]) -> None:
        from inngest_serverless import Event

        self.event = Event(name="shop/order.placed", data=data)
        self.events = [self.event]


def test_an_untyped_app_loads_neither_the_typed_data_module_nor_pydantic() -> None:
    code = """
import sys, json
import inngest_serverless as i
from tests.support.core_driver import call_body, post
c = i.Inngest(app_id="app", is_production=False)
@c.create_function(fn_id="fn", trigger=i.TriggerEvent(event="e"))
def fn(ctx: i.ContextSync) -> str:
    return ctx.step.run("a", lambda: "x")
assert post(i.Handler(c), "fn", call_body()).status == 206
print(json.dumps(["inngest_serverless.core.typed_data" in sys.modules, "pydantic" in sys.modules]))
"""
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root).stdout
    assert json.loads(out) == [False, False]


# -- through the embedded executor ---------------------------------------------------------------


@dataclass
class Live:
    client: Inngest
    api: Client
    executor: DevServer
    calls: list[str]  # the query string of every call the app answered


@pytest.fixture
def live() -> Iterator[Live]:
    executor = DevServer(port=0, db=":memory:", retry_interval=0.2, poll_interval=3600).start()
    client = Inngest(app_id="typed", is_production=False, api_base_url=executor.url, event_api_base_url=executor.url)
    calls: list[str] = []
    app = wsgi_adapter(client)

    def counting(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["REQUEST_METHOD"] == "POST":
            calls.append(environ.get("QUERY_STRING", ""))
        return app(environ, start_response)

    server = LocalServer(counting).start()
    try:
        executor.sdk_urls.append(f"{server.url}/api/inngest")
        yield Live(client, Client(executor.url), executor, calls)
    finally:
        server.close()
        executor.stop()


def test_typed_events_invoke_and_wait_run_through_the_embedded_executor(live: Live) -> None:
    client, api = live.client, live.api

    @client.create_function(fn_id="count", trigger=TriggerEvent(event="shop/count"), event_type=Order)
    def count(ctx: ContextSync[Order]) -> Receipt:
        return Receipt(order_id=ctx.event.data.order_id, units=sum(i.qty for i in ctx.event.data.items))

    @client.create_function(fn_id="checkout", trigger=TRIGGER, event_type=Order, retries=3)
    def checkout(ctx: ContextSync[Order]) -> dict[str, Any]:
        receipt = ctx.step.invoke("count", function=count, data=dataclasses.asdict(ctx.event.data))
        paid = ctx.step.wait_for_event("paid", event="shop/paid", timeout=20_000,
                                       if_exp="async.data.order_id == event.data.order_id", event_type=Payment)
        assert isinstance(receipt, Receipt) and paid is not None and isinstance(paid.data, Payment)
        return {"units": receipt.units, "paid": paid.data.amount}

    live.executor.ping_apps()
    api.wait_functions(2)
    event_id = api.send("shop/order.placed", order()["data"])
    _wait_for_pause(api, event_id)
    api.send("shop/paid", {"order_id": "o-1", "amount": "7.5"})
    run = api.wait_run(event_id, "-checkout")
    assert (run["status"], run["output"]) == ("Completed", {"units": 5, "paid": 7.5})

    answered = len([c for c in live.calls if "checkout" in c])
    bad_id = api.send("shop/order.placed", {"order_id": "o-2", "items": [{"sku": "a", "qty": SECRET}]})
    bad = api.wait_run(bad_id, "-checkout")
    assert bad["status"] == "Failed"
    assert bad["error"]["message"] == (
        "the data of event 'shop/order.placed' does not fit Order: field 'items.0.qty': expected int, got a string")
    assert len([c for c in live.calls if "checkout" in c]) == answered + 1  # retries=3, yet one attempt
    assert SECRET not in json.dumps(bad)


def _wait_for_pause(api: Client, event_id: str) -> None:
    deadline = time.time() + 20
    while time.time() < deadline:
        runs = api.runs_for_event(event_id)
        if runs and any(e["kind"] == "WaitForEvent" for e in api.run(runs[0]["run_id"]).get("timeline") or []):
            return
        time.sleep(0.05)
    raise AssertionError("the run never waited for the payment")
