"""Calls: replay, every opcode the step API produces, statuses and headers."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
from typing import Any

import pydantic
import pytest

from inngest_serverless import (
    ContextSync,
    Handler,
    Inngest,
    NonRetriableError,
    RetryAfterError,
    StepError,
    TriggerEvent,
)
from inngest_serverless.core.context import Context
from tests.support.core_driver import call_body, h, post, run_to_completion


@pytest.fixture
def client() -> Inngest:
    return Inngest(app_id="app", is_production=False, event_key="ek")


def make(client: Inngest, fn_id: str = "fn") -> Any:
    return client.create_function(fn_id=fn_id, trigger=TriggerEvent(event="test/event"))


def test_discovery_executes_a_lone_new_step_immediately(client: Inngest) -> None:
    calls = []

    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.run("first step", lambda: calls.append(1) or "one")

    resp = post(Handler(client), "fn", call_body())
    assert resp.status == 206
    assert resp.json() == [{
        "op": "StepRun", "id": h("first step"), "name": "first step", "displayName": "first step",
        "userland": {"id": "first step"}, "data": "one", "opts": None,
    }]
    assert calls == [1]


def test_memoized_step_is_not_run_again_and_result_returns_200(client: Inngest) -> None:
    calls = []

    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return {"got": ctx.step.run("first step", lambda: calls.append(1))}

    resp = post(Handler(client), "fn", call_body({h("first step"): {"data": "memo"}}))
    assert (resp.status, resp.json(), calls) == (200, {"got": "memo"}, [])
    assert resp.headers["x-inngest-sdk"].startswith("inngest-serverless:v")
    assert resp.headers["x-inngest-req-version"] == "2"


def test_disable_immediate_execution_plans_instead(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.run("a", lambda: 1)

    resp = post(Handler(client), "fn", call_body(disable=True))
    assert resp.json() == [{"op": "StepPlanned", "id": h("a"), "name": "a", "displayName": "a",
                            "opts": None, "data": None, "userland": {"id": "a"}}]


def test_force_step_plan_header_plans(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.run("a", lambda: 1)

    resp = post(Handler(client), "fn", call_body(), headers={"X-Inngest-Force-Step-Plan": "true"})
    assert resp.json()[0]["op"] == "StepPlanned"


def test_targeted_call_runs_only_the_target(client: Inngest) -> None:
    ran = []

    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.parallel((lambda: ctx.step.run("a", lambda: ran.append("a")),
                                  lambda: ctx.step.run("b", lambda: ran.append("b") or "B")))

    resp = post(Handler(client), "fn", call_body(disable=True), step=h("b"))
    assert resp.status == 206
    assert [(o["op"], o["id"], o.get("data")) for o in resp.json()] == [("StepRun", h("b"), "B")]
    assert ran == ["b"]


def test_parallel_reports_every_new_step_planned_and_other_ops_as_is(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.parallel((
            lambda: ctx.step.run("a", lambda: 1),
            lambda: ctx.step.sleep("nap", datetime.timedelta(minutes=5)),
            lambda: ctx.step.run("b", lambda: 2),
        ))

    ops = post(Handler(client), "fn", call_body()).json()
    assert [(o["op"], o["name"]) for o in ops] == [("StepPlanned", "a"), ("Sleep", "nap"), ("StepPlanned", "b")]
    assert ops[1]["opts"] == {"duration": "5m"}


def test_run_to_completion_with_parallel_and_repeated_ids(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        total = 0
        for i in range(3):
            total += ctx.step.run("add", lambda i=i: i)
        x, y = ctx.step.parallel((lambda: ctx.step.run("x", lambda: "X"), lambda: ctx.step.run("y", lambda: "Y")))
        ctx.step.sleep("rest", 1000)
        return [total, x, y]

    result, seen = run_to_completion(Handler(client), "fn")
    assert result == [3, "X", "Y"]
    ids = [op["id"] for ops in seen for op in ops if op["op"] == "StepRun"]
    assert ids[:3] == [h("add"), h("add:1"), h("add:2")]


def test_step_error_then_step_failed_on_last_attempt(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.run("boom", lambda: 1 / 0)

    handler = Handler(client)
    first = post(handler, "fn", call_body(attempt=0, max_attempts=3))
    assert first.status == 206 and first.headers["x-inngest-no-retry"] == "false"
    op = first.json()[0]
    assert op["op"] == "StepError" and op["error"]["name"] == "ZeroDivisionError"
    assert "division by zero" in op["error"]["message"]
    last = post(handler, "fn", call_body(attempt=2, max_attempts=3))
    assert last.json()[0]["op"] == "StepFailed"


def test_step_error_without_max_attempts_is_retriable(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.run("boom", lambda: 1 / 0)

    assert post(Handler(client), "fn", call_body(attempt=9, max_attempts=None)).json()[0]["op"] == "StepError"


def test_non_retriable_error_in_step_fails_the_step_for_good(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.run("boom", lambda: (_ for _ in ()).throw(NonRetriableError("nope")))

    resp = post(Handler(client), "fn", call_body())
    assert resp.json()[0]["op"] == "StepFailed"
    assert resp.headers["x-inngest-no-retry"] == "true"


def test_retry_after_in_step_sets_header(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        def body() -> None:
            raise RetryAfterError("later", datetime.timedelta(seconds=30))
        return ctx.step.run("boom", body)

    resp = post(Handler(client), "fn", call_body())
    assert resp.json()[0]["op"] == "StepError"
    assert resp.headers["retry-after"] == "30"


def test_memoized_error_raises_step_error_that_user_can_catch(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        try:
            ctx.step.run("boom", lambda: 1)
        except StepError as exc:
            return {"caught": exc.message, "name": exc.name}
        return "not reached"

    memo = {h("boom"): {"error": {"name": "ValueError", "message": "bad"}}}
    resp = post(Handler(client), "fn", call_body(memo))
    assert resp.json() == {"caught": "bad", "name": "ValueError"}


def test_uncaught_step_error_fails_function_without_retry(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.run("boom", lambda: 1)

    resp = post(Handler(client), "fn", call_body({h("boom"): {"error": {"name": "E", "message": "bad"}}}))
    assert resp.status == 400 and resp.headers["x-inngest-no-retry"] == "true"
    assert resp.json()["message"] == "bad"


@pytest.mark.parametrize(
    ("exc", "status", "no_retry", "name"),
    [(ValueError("v"), 500, "false", "ValueError"), (NonRetriableError("n"), 400, "true", "NonRetriableError"),
     # A bare Exception goes by the wire's generic name, as a Go errors.New does (docs/compatibility.md).
     (Exception("e"), 500, "false", "Error")],
)
def test_function_errors(client: Inngest, exc: Exception, status: int, no_retry: str, name: str) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        raise exc

    resp = post(Handler(client), "fn", call_body())
    assert (resp.status, resp.headers["x-inngest-no-retry"]) == (status, no_retry)
    assert (resp.json()["name"], resp.json()["message"]) == (name, str(exc))


def test_function_retry_after_error(client: Inngest) -> None:
    when = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)

    @make(client)
    def fn(ctx: ContextSync) -> Any:
        raise RetryAfterError("later", when)

    resp = post(Handler(client), "fn", call_body())
    assert resp.status == 500 and resp.headers["x-inngest-no-retry"] == "false"
    assert resp.headers["retry-after"] == "2030-01-02T03:04:05Z"


def test_sleep_until_wait_invoke_signal_fetch_ops(client: Inngest) -> None:
    @make(client, "other")
    def other(ctx: ContextSync) -> Any:
        return 1

    @make(client)
    def fn(ctx: ContextSync) -> Any:
        ctx.step.sleep_until("until", datetime.datetime(2031, 5, 6, tzinfo=datetime.timezone.utc))
        ev = ctx.step.wait_for_event("wait", event="x/y", timeout=datetime.timedelta(days=3),
                                     if_exp="event.data.n == async.data.n")
        got = ctx.step.invoke("inv", function=other, data={"q": 1}, timeout=datetime.timedelta(hours=1), v="2024-06-01.1")
        sig = ctx.step.wait_for_signal("sig", signal="s-1", timeout=60_000)
        fetched = ctx.step.fetch("get", "https://example.com/x", method="post", body="hi")
        return [ev.data if ev else None, got, sig, fetched]

    handler = Handler(client)
    memos: dict[str, Any] = {}
    expected = [
        ("until", "Sleep", {"duration": "2031-05-06T00:00:00Z"}, None),
        ("wait", "WaitForEvent", {"event": "x/y", "timeout": "3d", "if": "event.data.n == async.data.n"},
         {"name": "x/y", "data": {"n": 1}, "id": "e2", "ts": 5}),
        ("inv", "InvokeFunction", {"function_id": "app-other", "payload": {"data": {"q": 1}, "v": "2024-06-01.1"},
                                   "timeout": "1h"},
         {"data": 42}),
        ("sig", "WaitForSignal", {"signal": "s-1", "timeout": "1m", "conflict": "fail"},
         {"data": {"signal": "s-1", "data": {"ok": True}}}),
        ("get", "Gateway", {"url": "https://example.com/x", "method": "POST", "body": "hi"},
         {"data": {"status_code": 200, "body": "yo"}}),
    ]
    for name, op, opts, memo in expected:
        resp = post(handler, "fn", call_body(memos))
        assert resp.status == 206
        [got] = resp.json()
        assert (got["op"], got["id"], got["name"], got["opts"]) == (op, h(name), name, opts)
        assert "data" in got and got["data"] is None  # present and null, as the Go SDK sends it (docs/compatibility.md)
        memos[h(name)] = memo
    final = post(handler, "fn", call_body(memos))
    assert final.json() == [{"n": 1}, 42, {"signal": "s-1", "data": {"ok": True}}, {"status_code": 200, "body": "yo"}]


def test_wait_for_event_timeout_returns_none(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return {"ev": ctx.step.wait_for_event("wait", event="x/y", timeout=1000)}

    assert post(Handler(client), "fn", call_body({h("wait"): None})).json() == {"ev": None}


def test_invoke_error_memo_raises_step_error(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        try:
            ctx.step.invoke_by_id("inv", function_id="other", app_id="x")
        except StepError as exc:
            return exc.message
        return None

    resp = post(Handler(client), "fn", call_body({h("inv"): {"error": {"name": "Error", "message": "sub failed"}}}))
    assert resp.json() == "sub failed"


@dataclasses.dataclass
class Order:
    id: int
    items: list[str]


class Receipt(pydantic.BaseModel):
    total: float


def test_typed_outputs_round_trip(client: Inngest) -> None:
    def make_order() -> Order:
        return Order(7, ["a"])

    def make_receipt() -> Receipt:
        return Receipt(total=9.5)

    @make(client)
    def fn(ctx: ContextSync) -> Any:
        order = ctx.step.run("order", make_order)
        receipt = ctx.step.run("receipt", make_receipt)
        assert isinstance(order, Order) and isinstance(receipt, Receipt)
        return {"order": order, "receipt": receipt}

    result, seen = run_to_completion(Handler(client), "fn")
    assert seen[0][0]["data"] == {"id": 7, "items": ["a"]}
    assert result == {"order": {"id": 7, "items": ["a"]}, "receipt": {"total": 9.5}}


def test_async_function_uses_same_engine(client: Inngest) -> None:
    @make(client)
    async def fn(ctx: Context) -> Any:
        async def fetch() -> int:
            await asyncio.sleep(0)
            return 5

        a = await ctx.step.run("a", fetch)
        b = await ctx.step.run("b", lambda: a + 1)
        pair = await ctx.step.parallel((lambda: ctx.step.run("p", lambda: "P"), lambda: ctx.step.run("q", fetch)))
        await ctx.step.sleep("z", 1000)
        return [a, b, *pair]

    handler = Handler(client)
    result, _ = run_to_completion(handler, "fn")
    assert result == [5, 6, "P", 5]
    # the async entry point too, for an async host
    import json

    from inngest_serverless import Request
    from tests.support.core_driver import URL
    resp = asyncio.run(handler.handle_async(Request.build(
        "POST", f"{URL}?fnId=app-fn&stepId=step", {}, json.dumps(call_body()))))
    assert resp.status == 206 and resp.json()[0]["data"] == 5


def test_sync_function_under_async_entry_point(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.run("a", lambda: "sync")

    import json

    from inngest_serverless import Request
    from tests.support.core_driver import URL
    resp = asyncio.run(Handler(client).handle_async(Request.build(
        "POST", f"{URL}?fnId=app-fn", {}, json.dumps(call_body()))))
    assert resp.json()[0]["data"] == "sync"


def test_user_except_exception_does_not_swallow_step_interrupt(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        try:
            ctx.step.sleep("nap", 1000)
        except Exception:
            return "swallowed"
        return "after"

    assert post(Handler(client), "fn", call_body()).json()[0]["op"] == "Sleep"


def test_step_output_that_is_not_json_fails_step(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.run("bad", lambda: object())

    op = post(Handler(client), "fn", call_body()).json()[0]
    assert op["op"] == "StepFailed" and "not JSON" in op["error"]["message"]


def test_send_event_step_is_reported_with_its_type(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.send_event("send", {"name": "x/y", "data": {}})

    resp = post(Handler(client), "fn", call_body({h("send"): {"data": ["id1"]}}))
    assert resp.json() == ["id1"]


def test_bare_function_id_is_accepted(client: Inngest) -> None:
    @make(client)
    def fn(ctx: ContextSync) -> Any:
        return "ok"

    import json

    from inngest_serverless import Request
    from tests.support.core_driver import URL
    resp = Handler(client).handle(Request.build("POST", f"{URL}?fnId=fn&stepId=step", {}, json.dumps(call_body())))
    assert resp.json() == "ok"


def test_large_state_is_fetched_from_the_api() -> None:
    from tests.support.fake_api import fake_api

    with fake_api() as api:
        client = Inngest(app_id="app", signing_key="signkey-test-" + "aa" * 32, signing_key_fallback="signkey-test-" + "bb" * 32,
                         api_base_url=api.url, is_production=False)

        @make(client)
        def fn(ctx: ContextSync) -> Any:
            return [ctx.event.data, len(ctx.events), ctx.step.run("a", lambda: "new")]

        def batch(rec: Any) -> tuple[int, Any]:
            from inngest_serverless.core import signing
            if rec.headers["authorization"] != "Bearer " + signing.bearer("signkey-test-" + "bb" * 32):
                return 401, {"error": "bad key"}
            return 200, [{"name": "test/event", "data": {"big": True}}, {"name": "test/event", "data": {}}]

        api.on("GET", "/v0/runs/01RUN/batch", batch)
        api.on("GET", "/v0/runs/01RUN/actions", (200, {h("a"): {"data": "memo"}}))
        resp = post(Handler(client), "fn", call_body(events=[], use_api=True))
        assert resp.json() == [{"big": True}, 2, "memo"]
        auths = [r.headers["authorization"] for r in api.requests]
        assert auths[0].startswith("Bearer signkey-test-") and len(auths) == 3  # one 401 retried with fallback


def test_large_state_fetch_failure_is_retriable() -> None:
    from tests.support.fake_api import fake_api

    with fake_api() as api:
        client = Inngest(app_id="app", api_base_url=api.url, is_production=False)

        @make(client)
        def fn(ctx: ContextSync) -> Any:
            return 1

        api.on("GET", "/v0/runs/01RUN/batch", (503, {}))
        resp = post(Handler(client), "fn", call_body(use_api=True))
        assert resp.status == 500 and resp.headers["x-inngest-no-retry"] == "false"
