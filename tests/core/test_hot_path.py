"""The replay hot path stays cheap without changing what it returns (see bench/bench_core.py)."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pydantic
import pytest

from inngest_serverless.core import serialize
from inngest_serverless.core.errors import StepError
from inngest_serverless.core.replay import MISSING, Engine, Pending


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


@pytest.mark.parametrize("memo, expected", [
    ({"data": 3}, 3),
    ({"data": None}, None),
    ({"data": 3, "error": None}, 3),
    ({"error": None}, None),
    ({}, {}),  # not the {data?, error?} shape: the value itself
    ({"data": 1, "extra": 2}, {"data": 1, "extra": 2}),
    ({"name": "e", "data": {"x": 1}}, {"name": "e", "data": {"x": 1}}),  # a bare event
    (None, None),
    (5, 5),
])
def test_unwrap_memo_shapes(memo: Any, expected: Any) -> None:
    pending = Pending("h", "s", 0)
    assert Engine.unwrap(memo, pending) == expected


def test_unwrap_error_memo_raises_step_error() -> None:
    with pytest.raises(StepError) as info:
        Engine.unwrap({"error": {"name": "E", "message": "m"}, "data": None}, Pending("h", "s", 0))
    assert (info.value.name, info.value.message, info.value.step_id) == ("E", "m", "s")


def test_step_ids_hash_like_protocol_8_1() -> None:
    engine = Engine(memos={}, target=None, immediate=True)
    assert engine.next_id("my-step-id") == ("e7d8a2f140845095749d60246ff1110c9d01d76a", 0)
    assert engine.next_id("my-step-id") == ("f47c6228c581af870aa285200cf95ec3ac59bb6a", 1)
    # A later call (a new engine) gets the same IDs from the process's hash cache.
    again = Engine(memos={}, target=None, immediate=True)
    assert [again.next_id("my-step-id")[0] for _ in range(2)] == [
        "e7d8a2f140845095749d60246ff1110c9d01d76a", "f47c6228c581af870aa285200cf95ec3ac59bb6a"]


def test_lookup_builds_no_pending_and_counts_repeats() -> None:
    memo = {"e7d8a2f140845095749d60246ff1110c9d01d76a": {"data": 1}}
    engine = Engine(memos=memo, target=None, immediate=True)
    assert engine.lookup("my-step-id") == ({"data": 1}, "e7d8a2f140845095749d60246ff1110c9d01d76a", 0)
    value, pending = engine.memo("my-step-id")
    assert value is MISSING and (pending.hashed, pending.user_id, pending.index) == (
        "f47c6228c581af870aa285200cf95ec3ac59bb6a", "my-step-id", 1)


def test_importing_the_package_loads_nothing_heavy() -> None:
    """Cold start: OpenSSL (hashlib/hmac), JCS, httpx, asyncio, pydantic and msgspec load only when used."""
    import os
    import subprocess
    import sys

    heavy = ("hashlib", "hmac", "_hashlib", "rfc8785", "httpx", "asyncio", "pydantic", "msgspec")
    code = f"import sys, inngest_serverless; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_signing_still_signs_after_lazy_imports() -> None:
    from inngest_serverless.core import signing

    header = signing.sign(b'{"a":1}', "signkey-test-12345678", 1700000000)
    assert signing.verify(b'{"a": 1}', header, ("signkey-test-12345678",), now=1700000001).key == "signkey-test-12345678"


def test_replayed_outputs_keep_their_types_across_handlers() -> None:
    """The per-call output-type shortcut (same handler as the step before) never mixes types up."""
    from inngest_serverless import ContextSync, Handler, Inngest, TriggerEvent
    from tests.support.core_driver import call_body, h, post

    client = Inngest(app_id="hot", is_production=False)

    def point(i: int) -> Point:
        return Point(i)

    def model(i: int) -> Model:
        return Model(y=i)

    def plain(i: int) -> dict[str, int]:
        return {"x": i}

    order = [point, point, model, plain, point, model, model]

    @client.create_function(fn_id="mix", trigger=TriggerEvent(event="t/e"))
    def mix(ctx: ContextSync) -> Any:
        return [type(ctx.step.run(f"s{i}", fn, i)).__name__ for i, fn in enumerate(order)]

    memo = {h(f"s{i}"): {"data": {"y": i} if fn is model else {"x": i}} for i, fn in enumerate(order)}
    resp = post(Handler(client), "mix", call_body(memo))
    assert resp.status == 200
    assert resp.json() == ["Point", "Point", "Model", "dict", "Point", "Model", "Model"]


# -- a warm process replays known steps through Engine.first: the same answers as a cold one ----


def _cold_then_warm(handler: Any, fn: str, body: dict[str, Any]) -> tuple[Any, Any]:
    """The call's reply with the process's step-ID caches empty, then again with them filled."""
    from inngest_serverless.core import replay
    from tests.support.core_driver import post

    replay._HASHES.clear()
    replay._RAW_IDS.clear()
    cold = post(handler, fn, body)
    assert replay._RAW_IDS, "the cold call hashed its step IDs"
    warm = post(handler, fn, body)
    return (cold.status, cold.json(), cold.headers.get("x-inngest-no-retry")), (
        warm.status, warm.json(), warm.headers.get("x-inngest-no-retry"))


def test_known_steps_replay_the_same_as_unknown_ones_whatever_step_kinds_share_an_id() -> None:
    from inngest_serverless import ContextSync, Handler, Inngest, TriggerEvent
    from inngest_serverless.core.errors import StepError
    from tests.support.core_driver import call_body, h

    client = Inngest(app_id="hot", is_production=False)

    @client.create_function(fn_id="mix", trigger=TriggerEvent(event="t/e"))
    def mix(ctx: ContextSync) -> Any:
        out: list[Any] = []
        ctx.step.sleep("a", 1000)  # "a" first as a sleep: the step.run below is "a:1"
        out.append(ctx.step.run("a", lambda: "never"))
        out.append(ctx.step.run("b", lambda: "never"))  # "b" first as a run: the sleep below is "b:1"
        ctx.step.sleep("b", 1000)
        out.append(ctx.step.run("point", lambda: Point(0)))
        try:
            ctx.step.run("fails", lambda: "never")
        except StepError as exc:
            out.append(f"caught {exc.message}")
        out.append(ctx.step.run("b", lambda: "fresh"))  # "b:2": new, runs now
        return out

    memo = {h("a"): {"data": None}, h("a:1"): {"data": "a1"}, h("b"): {"data": "b0"}, h("b:1"): {"data": None},
            h("point"): {"data": {"x": 7}}, h("fails"): {"error": {"name": "E", "message": "boom"}}}
    cold, warm = _cold_then_warm(Handler(client), "mix", call_body(memo))
    assert cold == warm
    status, ops, _ = warm
    assert status == 206 and ops[0]["id"] == h("b:2") and ops[0]["data"] == "fresh"


def test_a_known_step_is_counted_against_the_step_limit_and_the_determinism_check() -> None:
    from inngest_serverless import ContextSync, Handler, Inngest, TriggerEvent
    from tests.support.core_driver import call_body, h

    client = Inngest(app_id="hot", is_production=False)

    @client.create_function(fn_id="many", trigger=TriggerEvent(event="t/e"))
    def many(ctx: ContextSync) -> int:
        return sum(ctx.step.run(f"s{i}", lambda: 1) for i in range(1001))

    @client.create_function(fn_id="renamed", trigger=TriggerEvent(event="t/e"))
    def renamed(ctx: ContextSync) -> int:
        return ctx.step.run("x", lambda: 1) + ctx.step.run("z", lambda: 1)

    handler = Handler(client)
    cold, warm = _cold_then_warm(handler, "many", call_body({h(f"s{i}"): {"data": 1} for i in range(1000)}))
    assert cold == warm
    assert warm[0] == 400 and "step 's1000' would be step 1001" in warm[1]["message"] and warm[2] == "true"

    cold, warm = _cold_then_warm(handler, "renamed", call_body({h("x"): {"data": 1}, h("y"): {"data": 1}}))
    assert cold == warm
    assert warm[0] == 400 and warm[1]["name"] == "NonDeterminismError" and h("y") in warm[1]["message"]


def test_an_unhashable_step_id_is_refused_clearly() -> None:
    from inngest_serverless import ContextSync, Handler, Inngest, TriggerEvent
    from tests.support.core_driver import call_body, post

    client = Inngest(app_id="hot", is_production=False)

    @client.create_function(fn_id="bad", trigger=TriggerEvent(event="t/e"))
    def bad(ctx: ContextSync) -> Any:
        return ctx.step.run(["not", "a", "string"], lambda: 1)  # type: ignore[arg-type]

    resp = post(Handler(client), "bad", call_body({}))
    assert resp.status == 400 and "a step ID must be a non-empty string" in resp.json()["message"]
