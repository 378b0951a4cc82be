"""Keep-alive streaming: 201 at once, spaces while the call runs, then the real reply."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from inngest_serverless import ContextSync, Handler, Inngest, Request, Response, TriggerEvent
from inngest_serverless.core import signing
from inngest_serverless.core.context import Context
from inngest_serverless.core.errors import ConfigError
from inngest_serverless.core.streaming import Policy, parse_mode, resolve_mode, wrap
from tests.support.core_driver import URL, call_body, h

KEY = "signkey-test-7468697320697320612074657374206b6579"


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Holds a step body until the test opens it (opened at teardown in any case)."""
    event = threading.Event()
    yield event
    event.set()


def signed_app(gate: threading.Event) -> Inngest:
    return app(gate, is_production=True, signing_key=KEY)


def app(gate: threading.Event, **client_options: Any) -> Inngest:
    client = Inngest(app_id="st", **{"is_production": False, **client_options})

    @client.create_function(fn_id="gated", trigger=TriggerEvent(event="t/gated"))
    def gated(ctx: ContextSync) -> Any:
        return ctx.step.run("gated", lambda: gate.wait(30) and "opened")

    @client.create_function(fn_id="quick", trigger=TriggerEvent(event="t/quick"))
    def quick(ctx: ContextSync) -> Any:
        return "fast"

    @client.create_function(fn_id="text", trigger=TriggerEvent(event="t/text"))
    def text(ctx: ContextSync) -> Any:
        return '{"looks": "like json"}'

    @client.create_function(fn_id="broken", trigger=TriggerEvent(event="t/broken"))
    def broken(ctx: ContextSync) -> Any:
        raise RuntimeError("broken on purpose")

    @client.create_function(fn_id="async-gated", trigger=TriggerEvent(event="t/ag"))
    async def async_gated(ctx: Context) -> Any:
        async def body() -> str:
            await asyncio.to_thread(gate.wait, 30)
            return "opened"

        return await ctx.step.run("async gated", body)

    return client


def post(handler: Handler, fn: str, *, key: str | None = None, bad_signature: bool = False) -> Request:
    raw = json.dumps(call_body()).encode()
    headers = {}
    if key:
        headers["X-Inngest-Signature"] = signing.sign(signing.canonical(raw), key)
    if bad_signature:
        headers["X-Inngest-Signature"] = "t=1&s=00"
    return Request.build("POST", f"{URL}?fnId=st-{fn}&stepId=step", headers, raw)


def unwrap(response: Response) -> tuple[bytes, dict[str, Any]]:
    """(the keep-alive bytes, the wrapper) of a streamed reply."""
    assert response.status == 201 and response.stream is not None
    chunks = list(response.stream)
    assert chunks and all(c == b" " for c in chunks[:-1])
    return b"".join(chunks[:-1]), json.loads(chunks[-1])


def open_soon(gate: threading.Event, stream: Iterator[bytes]) -> list[bytes]:
    """Read the first chunk (the stream is live), then let the step finish and read the rest."""
    first = next(stream)
    gate.set()
    return [first, *stream]


def test_force_streams_from_the_first_byte_and_ends_with_the_wrapper(gate: threading.Event) -> None:
    handler = Handler(app(gate), streaming="force", keepalive_interval=0.05)
    response = handler.handle(post(handler, "gated"))
    assert response.status == 201
    assert response.headers["x-inngest-sdk"].startswith("inngest-serverless:v")
    assert response.headers["content-type"] == "application/json"
    assert response.stream is not None
    chunks = open_soon(gate, response.stream)
    assert chunks[0] == b" "
    wrapper = json.loads(b"".join(chunks))  # leading spaces are legal JSON whitespace
    assert wrapper["status"] == 206
    assert wrapper["headers"]["x-inngest-sdk"].startswith("inngest-serverless:v")
    ops = json.loads(wrapper["body"])
    assert [(op["op"], op["id"], op["data"]) for op in ops] == [("StepRun", h("gated"), "opened")]


def test_auto_answers_quick_calls_plainly_on_a_flushing_host(gate: threading.Event) -> None:
    handler = Handler(app(gate), framework="asgi", keepalive_interval=5.0)
    response = handler.handle(post(handler, "quick"))
    assert response.status == 200 and response.stream is None and response.json() == "fast"


def test_auto_streams_a_call_that_outlasts_one_interval_on_a_flushing_host(gate: threading.Event) -> None:
    handler = Handler(app(gate), framework="wsgi", keepalive_interval=0.05)
    response = handler.handle(post(handler, "gated"))  # returns once the interval passed: the step is held
    assert response.status == 201 and response.stream is not None
    wrapper = json.loads(b"".join(open_soon(gate, response.stream)))
    assert wrapper["status"] == 206 and json.loads(wrapper["body"])[0]["data"] == "opened"


def test_auto_never_streams_on_a_host_that_buffers(gate: threading.Event) -> None:
    handler = Handler(app(gate), framework="aws_lambda", keepalive_interval=0.01)
    threading.Timer(0.2, gate.set).start()
    response = handler.handle(post(handler, "gated"))
    assert response.status == 206 and response.stream is None


def test_an_adapter_can_declare_that_its_host_flushes(gate: threading.Event) -> None:
    handler = Handler(app(gate), framework="google_cloud_functions", host_streams=True, keepalive_interval=0.01)
    response = handler.handle(post(handler, "gated"))
    assert response.status == 201 and response.stream is not None
    open_soon(gate, response.stream)


def test_off_never_streams(gate: threading.Event) -> None:
    handler = Handler(app(gate), framework="asgi", streaming="off", keepalive_interval=0.01)
    threading.Timer(0.2, gate.set).start()
    response = handler.handle(post(handler, "gated"))
    assert response.status == 206 and response.stream is None


def test_a_string_result_stays_a_string_through_the_wrapper(gate: threading.Event) -> None:
    handler = Handler(app(gate), streaming="force", keepalive_interval=0.05)
    _, wrapper = unwrap(handler.handle(post(handler, "text")))
    assert wrapper["status"] == 200
    assert json.loads(wrapper["body"]) == '{"looks": "like json"}'


def test_a_function_error_is_carried_in_the_wrapper_with_its_retry_header(gate: threading.Event) -> None:
    handler = Handler(app(gate), streaming="force", keepalive_interval=0.05)
    _, wrapper = unwrap(handler.handle(post(handler, "broken")))
    assert wrapper["status"] == 500
    assert wrapper["headers"]["x-inngest-no-retry"] == "false"
    assert json.loads(wrapper["body"])["message"] == "broken on purpose"


def test_requests_that_fail_before_running_are_never_streamed(gate: threading.Event) -> None:
    handler = Handler(signed_app(gate), streaming="force")
    response = handler.handle(post(handler, "quick", bad_signature=True))
    assert response.status == 401 and response.stream is None
    introspection = handler.handle(Request.build("GET", URL))
    assert introspection.status == 200 and introspection.stream is None


def test_a_signed_call_is_streamed_and_answered(gate: threading.Event) -> None:
    handler = Handler(signed_app(gate), streaming="force", keepalive_interval=0.05)
    _, wrapper = unwrap(handler.handle(post(handler, "quick", key=KEY)))
    assert wrapper["status"] == 200 and json.loads(wrapper["body"]) == "fast"


def test_handle_async_streams_while_the_task_runs_on_the_loop(gate: threading.Event) -> None:
    handler = Handler(app(gate), streaming="force", keepalive_interval=0.05)

    async def scenario() -> list[bytes]:
        response = await handler.handle_async(post(handler, "async-gated"))
        assert response.status == 201 and response.stream is not None
        stream = response.stream
        first = await asyncio.to_thread(next, stream)
        gate.set()
        return [first, *await asyncio.to_thread(list, stream)]

    wrapper = json.loads(b"".join(asyncio.run(scenario())))
    assert wrapper["status"] == 206 and json.loads(wrapper["body"])[0]["data"] == "opened"


def test_handle_async_answers_quick_calls_plainly_in_auto(gate: threading.Event) -> None:
    handler = Handler(app(gate), framework="asgi", keepalive_interval=5.0)
    response = asyncio.run(handler.handle_async(post(handler, "quick")))
    assert response.status == 200 and response.stream is None


def test_the_client_option_sets_the_mode_and_the_handler_option_wins(gate: threading.Event) -> None:
    client = app(gate, streaming="force")
    assert Handler(client).streaming == "force"
    assert Handler(client, streaming="off").streaming == "off"


@pytest.mark.parametrize(("env", "mode"), [("disable", "off"), ("off", "off"), ("force", "force"),
                                           ("allow", "force"), ("auto", "auto"), ("nonsense", "auto")])
def test_inngest_streaming_sets_the_default(env: str, mode: str) -> None:
    assert resolve_mode(None, None, environ={"INNGEST_STREAMING": env}) == mode


def test_an_explicit_mode_wins_over_the_environment() -> None:
    assert resolve_mode("off", environ={"INNGEST_STREAMING": "force"}) == "off"


def test_a_bad_mode_fails_at_definition() -> None:
    with pytest.raises(ConfigError):
        Inngest(app_id="st", is_production=False, streaming="sometimes")
    with pytest.raises(ValueError):
        parse_mode("sometimes")


def test_policies() -> None:
    assert Policy.decide("force", host_streams=False).grace == 0.0
    assert Policy.decide("auto", host_streams=True, interval=2.0).grace == 2.0
    assert not Policy.decide("auto", host_streams=False).enabled
    assert not Policy.decide("off", host_streams=True).enabled


def test_the_wrapper_keeps_status_headers_and_body() -> None:
    wrapped = json.loads(wrap(Response(206, {"x-inngest-no-retry": "false"}, b'[{"op":"Sleep"}]')))
    assert wrapped == {"status": 206, "body": '[{"op":"Sleep"}]', "headers": {"x-inngest-no-retry": "false"}}
