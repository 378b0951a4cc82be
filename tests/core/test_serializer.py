"""``Inngest(serializer=...)`` (core/serializer.py): step outputs, function results and invoke
results given an ``output_type`` go through the client's serializer, as in the official SDK, in
real protocol calls to the core Handler; without one nothing of it is imported."""

from __future__ import annotations

import asyncio
import datetime
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pydantic
import pytest

from inngest_serverless import (
    Context,
    ContextSync,
    Handler,
    Inngest,
    PydanticSerializer,
    Serializer,
    TriggerEvent,
)
from inngest_serverless.core.errors import ConfigError
from tests.support.core_driver import call_body, h, post

TRIGGER = TriggerEvent(event="test/event")


class Item(pydantic.BaseModel):
    sku: str
    price: Decimal
    at: datetime.datetime


class Total(pydantic.BaseModel):
    amount: Decimal


ITEMS = [Item(sku="a", price=Decimal("1.50"), at=datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc))]
WIRE_ITEMS = [{"sku": "a", "price": "1.50", "at": "2026-01-02T00:00:00Z"}]


class Tagging:
    """A serializer of its own (any object with the two methods): JSON tagged with the type's name."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def serialize(self, obj: object, typ: object) -> object:
        self.calls.append(("serialize", getattr(typ, "__name__", str(typ))))
        return {"tag": getattr(typ, "__name__", str(typ)), "value": obj}

    def deserialize(self, obj: object, typ: object) -> object:
        self.calls.append(("deserialize", getattr(typ, "__name__", str(typ))))
        assert isinstance(obj, dict) and obj["tag"] == getattr(typ, "__name__", str(typ)), obj
        return obj["value"]


def _app(serializer: Serializer | None, *, is_async: bool, seen: list[Any]) -> Handler:
    client = Inngest(app_id="app", is_production=False, serializer=serializer)

    if is_async:
        @client.create_function(fn_id="fn", trigger=TRIGGER, output_type=Total)
        async def fn(ctx: Context) -> Total:
            items = await ctx.step.run("items", lambda: ITEMS, output_type=list[Item])
            seen.append(items)
            return Total(amount=sum((i.price for i in items), Decimal(0)))
    else:
        @client.create_function(fn_id="fn", trigger=TRIGGER, output_type=Total)
        def fn(ctx: ContextSync) -> Total:
            items = ctx.step.run("items", lambda: ITEMS, output_type=list[Item])
            seen.append(items)
            return Total(amount=sum((i.price for i in items), Decimal(0)))

    return Handler(client)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_pydantic_serializer_converts_step_outputs_and_the_result_with_output_type(is_async: bool) -> None:
    seen: list[Any] = []
    handler = _app(PydanticSerializer(), is_async=is_async, seen=seen)
    first = post(handler, "fn", call_body())
    assert first.status == 206
    assert first.json()[0]["data"] == WIRE_ITEMS  # pydantic's JSON: the Decimal and the datetime as text
    last = post(handler, "fn", call_body({h("items"): {"data": WIRE_ITEMS}}))
    assert last.status == 200 and last.json() == {"amount": "1.50"}
    assert seen == [ITEMS]  # validated back into list[Item] (the package's own conversion leaves a list of dicts)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_serializer_of_ones_own_sees_every_typed_output_and_invoke_result(is_async: bool) -> None:
    tagging = Tagging()
    client = Inngest(app_id="app", is_production=False, serializer=tagging)
    got: list[Any] = []

    @client.create_function(fn_id="child", trigger=TRIGGER, output_type=int)
    def child(ctx: ContextSync) -> int:
        return 7

    if is_async:
        @client.create_function(fn_id="fn", trigger=TRIGGER)
        async def fn(ctx: Context) -> Any:
            got.append(await ctx.step.run("typed", lambda: 1, output_type=int))
            got.append(await ctx.step.run("plain", lambda: 2))
            got.append(await ctx.step.invoke("inv", function=child))
            return "done"
    else:
        @client.create_function(fn_id="fn", trigger=TRIGGER)
        def fn(ctx: ContextSync) -> Any:
            got.append(ctx.step.run("typed", lambda: 1, output_type=int))
            got.append(ctx.step.run("plain", lambda: 2))
            got.append(ctx.step.invoke("inv", function=child))
            return "done"

    handler = Handler(client)
    assert post(handler, "child", call_body()).json() == {"tag": "int", "value": 7}  # create_function(output_type=)
    first = post(handler, "fn", call_body())
    assert first.json()[0]["data"] == {"tag": "int", "value": 1}
    steps = {h("typed"): {"data": {"tag": "int", "value": 1}}, h("plain"): {"data": 2},
             h("inv"): {"data": {"tag": "int", "value": 7}}}
    last = post(handler, "fn", call_body(steps))
    assert last.status == 200 and last.json() == "done"  # no output_type: the result as it is
    assert got == [1, 2, 7]
    assert tagging.calls == [("serialize", "int"), ("serialize", "int"),
                             ("deserialize", "int"), ("deserialize", "int")]


def test_a_serializer_that_fails_fails_the_step() -> None:
    class Refusing:
        def serialize(self, obj: object, typ: object) -> object:
            raise ValueError("cannot serialize this")

        def deserialize(self, obj: object, typ: object) -> object:
            return obj

    client = Inngest(app_id="app", is_production=False, serializer=Refusing())

    @client.create_function(fn_id="fn", trigger=TRIGGER)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.run("s", lambda: 1, output_type=int)

    op = post(Handler(client), "fn", call_body()).json()[0]
    assert op["op"] == "StepError" and op["error"]["message"] == "cannot serialize this"


def test_serializer_is_checked_when_configured() -> None:
    with pytest.raises(ConfigError, match="serialize"):
        Inngest(app_id="app", is_production=False, serializer=object())  # type: ignore[arg-type]


def test_pydantic_serializer_round_trips_types_pydantic_takes() -> None:
    serializer = PydanticSerializer()
    assert serializer.serialize(ITEMS, list[Item]) == WIRE_ITEMS
    assert serializer.deserialize(WIRE_ITEMS, list[Item]) == ITEMS
    assert serializer.deserialize("3", int) == 3
    with pytest.raises(pydantic.ValidationError):
        serializer.deserialize({"amount": "x"}, Total)
    assert asyncio.run(asyncio.to_thread(serializer.deserialize, {"amount": "2"}, Total)) == Total(amount=Decimal(2))


def test_serializers_load_nothing_until_used() -> None:
    code = "\n".join([
        "import sys, inngest_serverless as i",
        "from inngest_serverless import Handler",
        "from tests.support.core_driver import call_body, post",
        "c = i.Inngest(app_id='x', is_production=False)",
        "@c.create_function(fn_id='f', trigger=i.TriggerEvent(event='e'), output_type=int)",
        "def f(ctx):",
        "    return ctx.step.run('s', lambda: 1, output_type=int)",
        "assert post(Handler(c), 'f', call_body()).status == 206",
        "print(sorted(m for m in ('pydantic', 'inngest_serverless.core.serializer') if m in sys.modules))",
        "i.PydanticSerializer",
        "print('pydantic' in sys.modules)",
    ])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.split("\n")[:2] == ["[]", "False"]  # the class is there; pydantic loads when one is made


def test_an_on_failure_handlers_result_goes_through_the_serializer_as_object() -> None:
    def refunded(ctx: ContextSync) -> Decimal:
        return Decimal("1.50")  # not JSON: pydantic's JSON of an ``object`` makes it text

    client = Inngest(app_id="app", is_production=False, serializer=PydanticSerializer())

    @client.create_function(fn_id="fn", trigger=TRIGGER, on_failure=refunded)
    def fn(ctx: ContextSync) -> None:
        raise ValueError("never runs here")

    reply = post(Handler(client), "fn-failure", call_body())
    assert reply.status == 200 and reply.json() == "1.50"
