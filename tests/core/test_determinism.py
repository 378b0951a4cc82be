"""Code changed under a running run.

When a discovery call meets new work while memoized steps of the run were never
reached, the code no longer matches the run's history: the call fails with
``NonDeterminismError`` (400, ``X-Inngest-No-Retry: true``) naming the new step and
the first unreached one, instead of running the new step. Parallel groups, whose
branches finish out of order, and targeted calls are not affected.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from inngest_serverless import ContextSync, Handler, Inngest, TriggerEvent
from inngest_serverless.core.context import Context
from tests.support.core_driver import call_body, h, post, run_to_completion


def define(client: Inngest, *step_ids: str) -> list[str]:
    """A function ``fn`` running ``step_ids`` in order; returns the log of bodies that ran."""
    ran: list[str] = []

    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
    def fn(ctx: ContextSync) -> list[Any]:
        return [ctx.step.run(s, lambda s=s: ran.append(s) or s) for s in step_ids]

    return ran


def memos(*step_ids: str) -> dict[str, Any]:
    return {h(s): {"data": s} for s in step_ids}


def assert_non_determinism(resp: Any, *fragments: str) -> str:
    assert resp.status == 400, resp.read()
    assert resp.headers["x-inngest-no-retry"] == "true"
    body = resp.json()
    assert body["name"] == "NonDeterminismError"
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    return str(body["message"])


def test_renamed_step_fails_naming_both_steps_and_does_not_run(client: Inngest) -> None:
    ran = define(client, "charge-card", "email")  # was "charge", "email"
    resp = post(Handler(client), "fn", call_body(memos("charge")))
    assert_non_determinism(resp, "'charge-card' is new", h("charge"), "step 1 of 1")
    assert ran == []


def test_step_inserted_before_finished_steps_fails(client: Inngest) -> None:
    ran = define(client, "audit", "a", "b")
    resp = post(Handler(client), "fn", call_body(memos("a", "b")))
    assert_non_determinism(resp, "'audit' is new", "2 step(s)", h("a"), "and 1 more")
    assert ran == []


def test_step_removed_from_the_middle_fails_naming_it_by_its_place_in_the_stack(client: Inngest) -> None:
    ran = define(client, "a", "c", "d")  # "b" was removed; a, b, c had finished
    resp = post(Handler(client), "fn", call_body(memos("a", "b", "c")))
    # c is reached (memoized), d is new, b is not reached: finished as step 2 of 3.
    assert_non_determinism(resp, "'d' is new", h("b"), "step 2 of 3")
    assert ran == []


def test_the_first_unreached_step_is_the_earliest_in_the_stack(client: Inngest) -> None:
    define(client, "new")
    body = call_body(memos("x", "y"))
    body["ctx"]["stack"]["stack"] = [h("y"), h("x")]
    message = assert_non_determinism(post(Handler(client), "fn", body), h("y"), "step 1 of 2")
    assert h("x") not in message


def test_step_appended_after_finished_steps_runs(client: Inngest) -> None:
    ran = define(client, "a", "b", "c")
    resp = post(Handler(client), "fn", call_body(memos("a", "b")))
    assert resp.status == 206 and resp.json()[0]["id"] == h("c")
    assert ran == ["c"]


def test_reordered_steps_reuse_their_results_and_do_not_fail(client: Inngest) -> None:
    ran = define(client, "b", "a")
    resp = post(Handler(client), "fn", call_body(memos("a", "b")))
    assert (resp.status, resp.json(), ran) == (200, ["b", "a"], [])


def test_planned_new_step_is_checked_too(client: Inngest) -> None:
    define(client, "renamed")
    resp = post(Handler(client), "fn", call_body(memos("old"), disable=True))
    assert_non_determinism(resp, "'renamed' is new")


def test_non_run_steps_are_checked(client: Inngest) -> None:
    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
    def fn(ctx: ContextSync) -> None:
        ctx.step.sleep("nap-renamed", 1000)

    assert_non_determinism(post(Handler(client), "fn", call_body({h("nap"): None})), "'nap-renamed' is new")


def test_user_code_cannot_swallow_the_failure(client: Inngest) -> None:
    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
    def fn(ctx: ContextSync) -> str:
        try:
            ctx.step.run("renamed", lambda: 1)
        except Exception:
            return "swallowed"
        return "ran"

    assert_non_determinism(post(Handler(client), "fn", call_body(memos("old"))), "'renamed' is new")


def test_async_functions_are_checked(client: Inngest) -> None:
    ran: list[str] = []

    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
    async def fn(ctx: Context) -> Any:
        return await ctx.step.run("renamed", lambda: ran.append("renamed"))

    assert_non_determinism(post(Handler(client), "fn", call_body(memos("old"))), "'renamed' is new")
    assert ran == []


def test_keys_that_are_not_step_hashes_are_ignored(client: Inngest) -> None:
    ran = define(client, "a", "b")
    steps = {**memos("a"), "step": {"data": 1}, "not-a-hash": None}
    resp = post(Handler(client), "fn", call_body(steps))
    assert resp.status == 206 and ran == ["b"]


# -- parallel groups: branches finish out of order --------------------------------------------


def define_parallel(client: Inngest, second_branch: str = "p2") -> None:
    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
    def fn(ctx: ContextSync) -> Any:
        def first() -> Any:
            return [ctx.step.run("p1a", lambda: "1a"), ctx.step.run("p1b", lambda: "1b")]

        return ctx.step.parallel((first, lambda: ctx.step.run(second_branch, lambda: "2")))


def test_parallel_branches_finishing_out_of_order_are_not_flagged(client: Inngest) -> None:
    define_parallel(client)
    body = call_body({h("p2"): {"data": "2"}, h("p1a"): {"data": "1a"}}, disable=True)
    body["ctx"]["stack"]["stack"] = [h("p2"), h("p1a")]  # p2 finished first
    resp = post(Handler(client), "fn", body)
    # p1b is new in branch one while p2 (branch two) is met only afterwards: not a code change.
    assert resp.status == 206, resp.read()
    assert [(op["op"], op["id"]) for op in resp.json()] == [("StepPlanned", h("p1b"))]


def test_parallel_run_completes_under_the_driver(client: Inngest) -> None:
    define_parallel(client)
    result, _ = run_to_completion(Handler(client), "fn")
    assert result == [["1a", "1b"], "2"]


def test_changed_step_inside_a_parallel_group_fails_when_the_group_ends(client: Inngest) -> None:
    define_parallel(client, second_branch="p2-renamed")
    body = call_body({h("p2"): {"data": "2"}, h("p1a"): {"data": "1a"}}, disable=True)
    assert_non_determinism(post(Handler(client), "fn", body), "'p1b' is new", h("p2"))


def test_targeted_call_ahead_of_memoized_later_branch_runs(client: Inngest) -> None:
    define_parallel(client)
    body = call_body({h("p1a"): {"data": "1a"}, h("p2"): {"data": "2"}}, disable=True)
    resp = post(Handler(client), "fn", body, step=h("p1b"))
    assert resp.status == 206 and resp.json()[0]["op"] == "StepRun" and resp.json()[0]["data"] == "1b"


# -- steps removed from the tail: nothing would run twice, so a warning ------------------------


def test_function_ending_before_finished_steps_warns(client: Inngest, caplog: pytest.LogCaptureFixture) -> None:
    define(client, "a")  # "b" was removed after it finished
    with caplog.at_level(logging.WARNING, logger="inngest_serverless"):
        resp = post(Handler(client), "fn", call_body(memos("a", "b")))
    assert (resp.status, resp.json()) == (200, ["a"])
    assert h("b") in caplog.text and "code changed" in caplog.text


def test_no_warning_when_every_finished_step_is_met(client: Inngest, caplog: pytest.LogCaptureFixture) -> None:
    define(client, "a", "b")
    with caplog.at_level(logging.WARNING, logger="inngest_serverless"):
        assert post(Handler(client), "fn", call_body(memos("a", "b"))).status == 200
    assert caplog.text == ""


def test_repeated_ids_count_as_met_and_a_colliding_raw_id_cannot_hide_a_missed_step(client: Inngest) -> None:
    """Hits are counted, not collected: with repeated IDs ("a", "a" -> raw "a:1") a literal
    step "a:1" hashes like the second "a", so counting alone could call every memo met."""
    ran = define(client, "a", "a", "a")
    assert post(Handler(client), "fn", call_body(memos("a", "a:1", "a:2"))).json() == ["a", "a:1", "a:2"]
    assert ran == []

    other = Inngest(app_id="app", is_production=False)
    ran = define(other, "a:1", "a", "a", "c")  # raws "a:1", "a", "a:1" (the same memo twice), "c"
    resp = post(Handler(other), "fn", call_body(memos("a:1", "a", "b")))
    # The collision itself is refused now (docs/reliability.md, finding 20), before 'c' is reached.
    assert (resp.status, resp.headers["x-inngest-no-retry"]) == (400, "true")
    assert "'a:1' is also the ID of step 2 named 'a'" in resp.json()["message"]
    assert ran == []


def test_stack_entries_that_are_not_strings_are_ignored_when_naming_the_missed_step(client: Inngest) -> None:
    ran = define(client, "x")
    body = call_body(memos("a"))
    body["ctx"]["stack"] = {"stack": [7, None, h("a")], "current": 1}
    assert_non_determinism(post(Handler(client), "fn", body), "'x' is new", h("a"), "step 1 of 1")
    assert ran == []
