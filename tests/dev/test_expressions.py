"""CEL as the executor evaluates it, on each CEL library it can use (Rust-backed, and the
pure-Python fallback for Python 3.10 where the Rust wheel does not exist)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

from inngest_serverless.dev import expressions

BACKENDS = [
    pytest.param(backend, marks=pytest.mark.skipif(importlib.util.find_spec(module) is None, reason=f"{module} is not installed"))
    for backend, module in ((expressions._RustCEL, "cel"), (expressions._PurePythonCEL, "celpy"))
]

EVENT = {"name": "shop/order", "data": {"id": "123", "n": 5, "tier": "Pro", "tags": ["a"]}, "user": {}, "id": "e1", "ts": 1.0}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(expressions, "_backend", request.param())
    yield request.param


def test_boolean_triggers(backend: Any) -> None:
    variables = {"event": EVENT}
    assert expressions.matches("event.data.id == '123' && event.data.n > 3", variables)
    assert not expressions.matches("event.data.n > 10", variables)
    assert expressions.matches(None, variables)


def test_missing_data_is_false_not_an_error(backend: Any) -> None:
    assert not expressions.matches("event.data.nothing == 'x'", {"event": EVENT})
    assert expressions.evaluate("event.data.nothing.deeper", {"event": EVENT}) is None


def test_async_against_the_trigger_event(backend: Any) -> None:
    incoming = {**EVENT, "data": {"id": "123", "resume": True}}
    expression = "async.data.resume == true && async.data.id == event.data.id"
    assert expressions.matches(expression, {"event": EVENT, "async": incoming})
    assert not expressions.matches(expression, {"event": EVENT, "async": {**incoming, "data": {"id": "9"}}})


def test_keys_and_custom_functions(backend: Any) -> None:
    assert expressions.key_value("event.data.id", {"event": EVENT}) == "123"
    assert expressions.key_value("event.data.n", {"event": EVENT}) == "5"
    assert expressions.key_value("event.data.n > 10", {"event": EVENT}) is None  # false: no key
    assert expressions.evaluate("lowercase(event.data.tier)", {"event": EVENT}) == "pro"
    assert expressions.evaluate("event.data.tags", {"event": EVENT}) == ["a"]


def test_a_bad_expression_is_refused(backend: Any) -> None:
    with pytest.raises(expressions.ExpressionError):
        expressions.validate("event.data.id ===")
