"""Checkpointing: consecutive step.runs in one invocation, posted to the checkpoint API."""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

import pytest

from inngest_serverless import ContextSync, Handler, Inngest, TriggerEvent
from inngest_serverless.core.checkpoint import Checkpoint
from inngest_serverless.core.context import Context
from inngest_serverless.core.errors import ConfigError
from inngest_serverless.core.signing import bearer
from tests.support import checkpoint_driver
from tests.support.checkpoint_driver import FN_UUID, RUN_ID, Run, apply, call, play
from tests.support.core_driver import h
from tests.support.fake_api import FakeApi

KEY = "signkey-test-7468697320697320612074657374206b6579"

# The fake API and the run it stores (pytest finds fixtures by their own names).
api = checkpoint_driver.api
run = checkpoint_driver.run


def steps_fn(client: Inngest, n: int, ran: Counter[str], **options: Any) -> None:
    @client.create_function(fn_id="steps", trigger=TriggerEvent(event="t/steps"), **options)
    def fn(ctx: ContextSync) -> Any:
        total = 0
        for i in range(n):
            total += ctx.step.run(f"s{i}", lambda i=i: ran.update([f"s{i}"]) or i)
        return {"total": total}


def test_consecutive_steps_run_in_one_invocation_and_each_is_posted(api: FakeApi, run: Run) -> None:
    client = Inngest(app_id="ck", is_production=False, api_base_url=api.url, checkpoint=True)
    ran: Counter[str] = Counter()
    steps_fn(client, 5, ran)
    result = play(Handler(client), "steps", run)
    assert result == {"total": 10}
    assert run.invocations == 1
    assert ran == Counter({f"s{i}": 1 for i in range(5)})
    assert [op["id"] for ops in run.posts for op in ops] == [h(f"s{i}") for i in range(5)]
    assert all(op["data"] == i for i, op in enumerate(op for ops in run.posts for op in ops))


def test_the_checkpoint_request_names_the_run_and_carries_the_bearer_key(api: FakeApi, run: Run) -> None:
    client = Inngest(app_id="ck", is_production=True, signing_key=KEY, api_base_url=api.url)
    steps_fn(client, 2, Counter(), checkpoint=Checkpoint())
    assert play(Handler(client), "steps", run, key=KEY) == {"total": 1}
    posts = [r for r in api.requests if r.path.startswith("/v1/checkpoint/")]
    assert posts and posts[0].path == f"/v1/checkpoint/{RUN_ID}/async"
    assert posts[0].headers["authorization"] == f"Bearer {bearer(KEY)}"
    assert posts[0].headers["x-inngest-sdk"].startswith("inngest-serverless:v")
    body = posts[0].json()
    assert body["run_id"] == RUN_ID and body["fn_id"] == FN_UUID and body["qi_id"] == "cWktMQ=="
    assert body["steps"][0]["op"] == "StepRun" and body["steps"][0]["opts"] is None


def test_a_failed_post_falls_back_to_the_206_reply(api: FakeApi, run: Run) -> None:
    client = Inngest(app_id="ck", is_production=False, api_base_url=api.url, checkpoint=True)
    ran: Counter[str] = Counter()
    steps_fn(client, 3, ran)
    run.fail_posts = True
    status, ops = call(Handler(client), "steps", run)
    assert status == 206
    assert [(op["op"], op["id"], op["data"]) for op in ops] == [("StepRun", h("s0"), 0)]
    assert ran == Counter({"s0": 1}), "nothing runs after a failed post"
    apply(run, ops)
    assert play(Handler(client), "steps", run) == {"total": 3}
    assert ran == Counter({"s0": 1, "s1": 1, "s2": 1})


def test_an_unreachable_api_falls_back_to_the_206_reply(run: Run) -> None:
    client = Inngest(app_id="ck", is_production=False, api_base_url="http://127.0.0.1:9", checkpoint=True)
    ran: Counter[str] = Counter()
    steps_fn(client, 2, ran)
    status, ops = call(Handler(client), "steps", run)
    assert status == 206 and [op["id"] for op in ops] == [h("s0")]


def test_a_sleep_ends_the_invocation_after_the_finished_steps_are_posted(api: FakeApi, run: Run) -> None:
    client = Inngest(app_id="ck", is_production=False, api_base_url=api.url, checkpoint=True)
    ran: Counter[str] = Counter()

    @client.create_function(fn_id="nap", trigger=TriggerEvent(event="t/nap"))
    def fn(ctx: ContextSync) -> Any:
        a = ctx.step.run("a", lambda: ran.update(["a"]) or 1)
        b = ctx.step.run("b", lambda: ran.update(["b"]) or 2)
        ctx.step.sleep("nap", datetime.timedelta(seconds=5))
        c = ctx.step.run("c", lambda: ran.update(["c"]) or 3)
        return a + b + c

    handler = Handler(client)
    status, ops = call(handler, "nap", run)
    assert status == 206
    assert [(op["op"], op["id"]) for op in ops] == [("Sleep", h("nap"))], "one op: the held steps were posted"
    apply(run, ops)
    assert [op["id"] for ops in run.posts for op in ops] == [h("a"), h("b")]
    assert play(handler, "nap", run) == 6
    assert ran == Counter({"a": 1, "b": 1, "c": 1})
    assert run.invocations == 2


def test_a_failing_step_ends_the_invocation_with_its_error(api: FakeApi, run: Run) -> None:
    client = Inngest(app_id="ck", is_production=False, api_base_url=api.url, checkpoint=True)
    ran: Counter[str] = Counter()

    @client.create_function(fn_id="flaky", trigger=TriggerEvent(event="t/flaky"))
    def fn(ctx: ContextSync) -> Any:
        ctx.step.run("ok", lambda: ran.update(["ok"]) or "fine")

        def flaky() -> str:
            ran.update(["flaky"])
            if ran["flaky"] == 1:
                raise RuntimeError("first try fails")
            return "second try works"

        return ctx.step.run("flaky", flaky)

    handler = Handler(client)
    status, ops = call(handler, "flaky", run)
    assert status == 206
    assert [(op["op"], op["id"]) for op in ops] == [("StepError", h("flaky"))]
    assert ops[0]["error"]["message"] == "first try fails"
    assert h("ok") in run.steps, "the finished step was posted before the error was reported"
    apply(run, ops)
    assert play(handler, "flaky", run) == "second try works"
    assert ran == Counter({"ok": 1, "flaky": 2})


def test_batch_steps_posts_in_batches(api: FakeApi, run: Run) -> None:
    client = Inngest(app_id="ck", is_production=False, api_base_url=api.url)
    steps_fn(client, 7, Counter(), checkpoint=Checkpoint(batch_steps=3))
    assert play(Handler(client), "steps", run) == {"total": 21}
    assert [len(ops) for ops in run.posts] == [3, 3, 1]


def test_a_planned_step_is_never_checkpointed(api: FakeApi, run: Run) -> None:
    client = Inngest(app_id="ck", is_production=False, api_base_url=api.url, checkpoint=True)
    ran: Counter[str] = Counter()
    steps_fn(client, 3, ran)
    status, ops = call(Handler(client), "steps", run, step=h("s0"))
    assert status == 206 and [(op["op"], op["id"]) for op in ops] == [("StepRun", h("s0"))]
    assert run.posts == [] and ran == Counter({"s0": 1})


def test_without_the_server_function_id_the_call_runs_one_step(api: FakeApi, run: Run) -> None:
    client = Inngest(app_id="ck", is_production=False, api_base_url=api.url, checkpoint=True)
    ran: Counter[str] = Counter()
    steps_fn(client, 3, ran)
    status, ops = call(Handler(client), "steps", run, fn_uuid=None)
    assert status == 206 and [op["id"] for op in ops] == [h("s0")]
    assert run.posts == []


def test_functions_without_checkpointing_keep_one_step_per_invocation(api: FakeApi, run: Run) -> None:
    client = Inngest(app_id="ck", is_production=False, api_base_url=api.url)
    ran: Counter[str] = Counter()
    steps_fn(client, 3, ran)
    assert play(Handler(client), "steps", run) == {"total": 3}
    assert run.invocations == 4 and run.posts == []


def test_the_function_sees_the_value_a_replay_would_give(api: FakeApi, run: Run) -> None:
    client = Inngest(app_id="ck", is_production=False, api_base_url=api.url, checkpoint=True)
    seen: list[Any] = []

    @client.create_function(fn_id="shape", trigger=TriggerEvent(event="t/shape"))
    def fn(ctx: ContextSync) -> Any:
        pair = ctx.step.run("pair", lambda: (1, 2))
        seen.append(pair)
        return ctx.step.run("after", lambda: "done")

    assert play(Handler(client), "shape", run) == "done"
    assert seen == [[1, 2]], "a tuple comes back as the JSON list it is stored as"


def test_async_functions_checkpoint_too(api: FakeApi, run: Run) -> None:
    client = Inngest(app_id="ck", is_production=False, api_base_url=api.url, checkpoint=True)

    @client.create_function(fn_id="async-steps", trigger=TriggerEvent(event="t/async"))
    async def fn(ctx: Context) -> Any:
        async def double(x: int) -> int:
            return x * 2

        a = await ctx.step.run("a", double, 1)
        b = await ctx.step.run("b", double, a)
        return a + b

    assert play(Handler(client), "async-steps", run) == 6
    assert run.invocations == 1 and len(run.posts) == 2


def test_the_register_payload_carries_the_checkpoint_config() -> None:
    client = Inngest(app_id="ck", is_production=False)

    @client.create_function(fn_id="tuned", trigger=TriggerEvent(event="t/x"),
                            checkpoint=Checkpoint(batch_steps=3, batch_interval=datetime.timedelta(seconds=3),
                                                  max_runtime=datetime.timedelta(minutes=5)))
    def tuned(ctx: ContextSync) -> None:
        return None

    @client.create_function(fn_id="plain", trigger=TriggerEvent(event="t/y"))
    def plain(ctx: ContextSync) -> None:
        return None

    assert tuned.config("ck", "http://x/api")["checkpoint"] == {
        "batch_steps": 3, "batch_interval": "3s", "max_runtime": "5m"}
    assert "checkpoint" not in plain.config("ck", "http://x/api")


def test_the_client_default_applies_unless_a_function_opts_out() -> None:
    client = Inngest(app_id="ck", is_production=False, checkpoint=Checkpoint(batch_steps=2))

    @client.create_function(fn_id="on", trigger=TriggerEvent(event="t/x"))
    def on(ctx: ContextSync) -> None:
        return None

    @client.create_function(fn_id="off", trigger=TriggerEvent(event="t/y"), checkpoint=False)
    def off(ctx: ContextSync) -> None:
        return None

    assert on.config("ck", "http://x/api")["checkpoint"] == {"batch_steps": 2}
    assert "checkpoint" not in off.config("ck", "http://x/api")


@pytest.mark.parametrize("bad", [{"batch_steps": 0}, {"batch_steps": True}, {"batch_interval": -1},
                                 {"max_runtime": "5m"}])
def test_bad_checkpoint_options_fail_at_definition(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        Checkpoint(**bad)


def test_a_bad_checkpoint_value_fails_at_definition() -> None:
    with pytest.raises(ConfigError):
        Inngest(app_id="ck", is_production=False, checkpoint="yes")  # type: ignore[arg-type]


def test_a_parallel_group_ends_the_invocation_after_the_finished_steps_are_posted(api: FakeApi, run: Run) -> None:
    client = Inngest(app_id="ck", is_production=False, api_base_url=api.url, checkpoint=True)

    @client.create_function(fn_id="fan", trigger=TriggerEvent(event="t/fan"))
    def fn(ctx: ContextSync) -> Any:
        a = ctx.step.run("a", lambda: 1)
        b, c = ctx.step.parallel([lambda: ctx.step.run("b", lambda: 2), lambda: ctx.step.run("c", lambda: 3)])
        return a + b + c

    status, ops = call(Handler(client), "fan", run)
    assert status == 206
    assert [(op["op"], op["id"]) for op in ops] == [("StepPlanned", h("b")), ("StepPlanned", h("c"))]
    assert [op["id"] for ops in run.posts for op in ops] == [h("a")]
