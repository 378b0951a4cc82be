"""The replay hot path stays cheap without changing what it returns (see bench/bench_core.py)."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pydantic
import pytest

from inngest_serverless.core import serialize


@dataclasses.dataclass
class Point:
    x: int


class Model(pydantic.BaseModel):
    y: int


def test_output_type_of_string_annotations_resolve_once_per_code_object(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = typing.get_type_hints

    def counting(obj: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(obj)
        return real(obj, *args, **kwargs)

    monkeypatch.setattr(typing, "get_type_hints", counting)

    def make(n: int) -> Point:  # a string annotation here (postponed evaluation)
        return Point(n)

    for _ in range(50):
        assert serialize.output_type_of(make) is Point
    assert len(calls) == 1

    def plain() -> dict:  # type: ignore[type-arg]
        return {}

    for _ in range(3):
        assert serialize.output_type_of(plain) is None
    assert len(calls) == 2


def test_output_type_of_plain_cases() -> None:
    assert serialize.output_type_of(lambda: 1) is None
    assert serialize.output_type_of(print) is None

    def model() -> Model:
        return Model(y=1)

    model.__annotations__["return"] = Model  # an evaluated annotation is used as is
    assert serialize.output_type_of(model) is Model

    def unresolvable() -> NoSuchType:  # type: ignore[name-defined]  # noqa: F821
        raise AssertionError

    assert serialize.output_type_of(unresolvable) is None
