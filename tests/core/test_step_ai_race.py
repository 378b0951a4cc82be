"""ctx.step.ai.infer / wrap and parallel groups in race mode: the ops on the wire, and whole runs
through the embedded executor, which makes the model request to a provider stand-in on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from inngest_serverless import Context, ContextSync, Handler, Inngest, ParallelMode, TriggerEvent, ai
from inngest_serverless.adapters.wsgi import LocalServer, wsgi_adapter
from inngest_serverless.core.errors import ConfigError
from inngest_serverless.dev import DevServer
from tests.support.core_driver import call_body, h, post
from tests.support.dev_apps.harness import Client
from tests.support.fake_provider import FakeProvider

TRIGGER = TriggerEvent(event="test/event")


# -- wire ----------------------------------------------------------------------------------


@pytest.mark.parametrize("adapter", [
    ai.OpenAI(auth_key="sk-1", model="gpt-4o"),
    ai.Anthropic(auth_key="sk-2", model="claude-3-5-sonnet"),
    ai.Gemini(auth_key="g/3", model="gemini-1.5-flash"),
    ai.Grok(auth_key="xai-key", model="grok-2"),
    ai.DeepSeek(auth_key="ds-key", model="deepseek-chat"),
], ids=lambda a: type(a).__name__)
def test_infer_reports_an_ai_gateway_op_in_the_providers_shape(client: Inngest, adapter: ai.Adapter) -> None:
    @client.create_function(fn_id="fn", trigger=TRIGGER)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.ai.infer("ask", adapter=adapter, body={"messages": [{"role": "user", "content": "hi"}]})

    (op,) = post(Handler(client), "fn", call_body()).json()
    expected_url = {
        "OpenAI": "https://api.openai.com/v1/chat/completions",
        "Anthropic": "https://api.anthropic.com/v1/messages",
        "Gemini": "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-flash:generateContent?key=g%2F3",
        "Grok": "https://api.x.ai/v1/chat/completions",
        "DeepSeek": "https://api.deepseek.com/v1/chat/completions",
    }[type(adapter).__name__]
    assert op["op"] == "AIGateway" and op["id"] == h("ask")
    assert op["opts"] == {
        "type": "step.ai.infer", "url": expected_url, "headers": adapter.headers(), "auth_key": adapter.auth_key(),
        "format": adapter.format(), "body": {"messages": [{"role": "user", "content": "hi"}], "model": adapter.model},
    }
    assert adapter.auth_key() not in repr(adapter)
    reply = post(Handler(client), "fn", call_body({h("ask"): {"data": {"choices": []}}}))
    assert reply.status == 200 and reply.json() == {"choices": []}


def test_infer_takes_the_official_sdks_adapters_and_refuses_other_objects(client: Inngest) -> None:
    from inngest.experimental.ai import openai as official_openai

    @client.create_function(fn_id="fn", trigger=TRIGGER)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.ai.infer("ask", adapter=official_openai.Adapter(auth_key="k", model="m"), body={"messages": []})

    @client.create_function(fn_id="bad", trigger=TRIGGER)
    def bad(ctx: ContextSync) -> Any:
        return ctx.step.ai.infer("ask", adapter=object(), body={})

    (op,) = post(Handler(client), "fn", call_body()).json()
    assert (op["opts"]["format"], op["opts"]["body"]["model"]) == ("openai-chat", "m")
    resp = post(Handler(client), "bad", call_body())
    assert resp.status == 400 and "needs an adapter" in resp.json()["message"]
    with pytest.raises(ConfigError):
        from inngest_serverless.core.steps import _infer_opts

        _infer_opts(ai.OpenAI(auth_key="k", model="m"), "not a dict")


def test_wrap_runs_the_call_as_a_step_named_for_the_ui(client: Inngest) -> None:
    calls: list[str] = []

    @client.create_function(fn_id="fn", trigger=TRIGGER)
    async def fn(ctx: Context) -> Any:
        async def complete(prompt: str) -> dict[str, str]:
            calls.append(prompt)
            return {"text": prompt.upper()}

        return await ctx.step.ai.wrap("llm", complete, "hello")

    (op,) = post(Handler(client), "fn", call_body()).json()
    assert (op["op"], op["opts"], op["data"]) == ("StepRun", {"type": "step.ai.wrap"}, {"text": "HELLO"})
    done = post(Handler(client), "fn", call_body({h("llm"): {"data": {"text": "HELLO"}}}))
    assert done.json() == {"text": "HELLO"} and calls == ["hello"]


def _race_fn(client: Inngest) -> None:
    @client.create_function(fn_id="race", trigger=TRIGGER)
    def race(ctx: ContextSync) -> Any:
        def slow() -> str:
            ctx.step.run("slow-1", lambda: 1)
            return str(ctx.step.run("slow-2", lambda: "slow"))

        results = ctx.group.parallel((lambda: ctx.step.run("fast", lambda: "fast"), slow),
                                     parallel_mode=ParallelMode.RACE)
        return {"results": list(results), "after": ctx.step.run("after", lambda: "x")}


def test_race_ops_ask_for_rediscovery_and_the_first_finished_branch_wins(client: Inngest) -> None:
    _race_fn(client)
    handler = Handler(client)
    ops = post(handler, "race", call_body()).json()
    assert [(o["op"], o["name"], o["opts"]) for o in ops] == [
        ("StepPlanned", "fast", {"parallelMode": "race"}), ("StepPlanned", "slow-1", {"parallelMode": "race"})]
    # "fast" ended: the group returns at once, without planning slow-2; "after" runs.
    ops = post(handler, "race", call_body({h("fast"): {"data": "fast"}})).json()
    assert [(o["op"], o["name"], o["data"]) for o in ops] == [("StepRun", "after", "x")]
    done = post(handler, "race", call_body({h("fast"): {"data": "fast"}, h("after"): {"data": "x"},
                                            h("slow-1"): {"data": 1}}))
    assert done.json() == {"results": ["fast", None], "after": "x"}
    # WAIT (the default) plans slow-2 instead.
    ops = post(handler, "race", call_body({h("slow-1"): {"data": 1}})).json()
    assert [o["name"] for o in ops] == ["fast", "slow-2"]


def test_a_bad_parallel_mode_is_refused(client: Inngest) -> None:
    @client.create_function(fn_id="fn", trigger=TRIGGER)
    def fn(ctx: ContextSync) -> Any:
        return ctx.group.parallel((lambda: 1,), parallel_mode="sideways")  # type: ignore[arg-type]

    resp = post(Handler(client), "fn", call_body())
    assert resp.status == 400 and "parallel_mode" in resp.json()["message"]


# -- through the embedded executor ---------------------------------------------------------------


@dataclass
class Live:
    client: Inngest
    api: Client
    provider: FakeProvider
    executor: DevServer
    app_url: str


@pytest.fixture
def live() -> Iterator[Live]:
    executor = DevServer(port=0, db=":memory:", retry_interval=0.3, poll_interval=3600).start()
    provider = FakeProvider()
    client = Inngest(app_id="live", is_production=False, api_base_url=executor.url, event_api_base_url=executor.url)
    server = LocalServer(wsgi_adapter(client)).start()
    try:
        yield Live(client, Client(executor.url), provider, executor, f"{server.url}/api/inngest")
    finally:
        server.close()
        provider.close()
        executor.stop()


def test_infer_and_race_run_through_the_embedded_executor(live: Live) -> None:
    client, api, provider, executor = live.client, live.api, live.provider, live.executor
    branch_steps: list[str] = []

    @client.create_function(fn_id="ask", trigger=TriggerEvent(event="live/ask"))
    def ask(ctx: ContextSync) -> Any:
        answer = ctx.step.ai.infer("ask", adapter=ai.OpenAI(auth_key="sk-live", model="m", base_url=provider.url),
                                   body={"messages": [{"role": "user", "content": ctx.event.data["q"]}]})
        return answer["choices"][0]["message"]["content"]

    @client.create_function(fn_id="race", trigger=TriggerEvent(event="live/race"))
    def race(ctx: ContextSync) -> Any:
        def slow() -> str:
            for i in range(3):
                ctx.step.sleep(f"slow-{i}", 300)
            return str(ctx.step.run("slow-done", lambda: branch_steps.append("slow-done") or "slow"))

        results = ctx.group.parallel((lambda: ctx.step.run("fast", lambda: branch_steps.append("fast") or "fast"), slow),
                                     parallel_mode=ParallelMode.RACE)
        return list(results)

    executor.sdk_urls.append(live.app_url)
    executor.ping_apps()
    api.wait_functions(2)
    ask_run = api.wait_run(api.send("live/ask", {"q": "durable"}), "-ask")
    assert (ask_run["status"], ask_run["output"]) == ("Completed", "elbarud")
    ((headers, body),) = provider.requests
    assert headers["authorization"] == "Bearer sk-live" and body["model"] == "m"
    race_run = api.wait_run(api.send("live/race", {}), "-race")
    assert (race_run["status"], race_run["output"]) == ("Completed", ["fast", None])
    assert branch_steps == ["fast"]  # the slow branch never reached its last step

