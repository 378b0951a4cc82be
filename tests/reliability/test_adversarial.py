"""What an adversarial pass over core and the adapters found (docs/reliability.md, findings 14-21),
each kept as named tests that failed before the fix."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
from typing import Any

import pytest

from inngest_serverless import ContextSync, Handler, Inngest, Request, TriggerEvent
from inngest_serverless.core import serialize, signing
from tests.support.core_driver import URL, call_body, h, post, run_to_completion

KEY = "signkey-prod-" + "3e" * 32
OTHER_KEY = "signkey-prod-" + "4f" * 32
CALL_URL = f"{URL}?fnId=app-fn&stepId=step"


def cloud_handler(api_url: str = "http://127.0.0.1:9", **client_args: Any) -> Handler:
    client = Inngest(app_id="app", is_production=True, signing_key=KEY, api_base_url=api_url, **client_args)

    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
    def fn(ctx: ContextSync) -> str:
        return "ok"

    return Handler(client)


def large_call_body(items: int = 20_000) -> bytes:
    """A valid call body of about 1 MB, in JCS form (as the server sends calls)."""
    event = {"data": {"items": [{"k": "v", "n": i} for i in range(items)]}, "id": "e1", "name": "test/event", "ts": 1}
    body = {"ctx": {"attempt": 0, "run_id": "01RUN", "stack": {"current": 0, "stack": []}},
            "event": event, "events": [event], "steps": {}, "version": 2}
    return signing.canonical(json.dumps(body).encode())


# -- 14. an unauthenticated request is cheap -------------------------------------------------------


def test_a_wrong_signature_on_a_large_body_is_refused_without_parsing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    body = large_call_body()
    assert len(body) > signing.JCS_FALLBACK_MAX_BYTES
    parsed: list[int] = []
    real = serialize.loads_request
    monkeypatch.setattr(serialize, "loads_request", lambda raw: parsed.append(len(raw)) or real(raw))
    bad = Request.build("POST", CALL_URL, {"X-Inngest-Signature": signing.sign(body, OTHER_KEY)}, body)
    assert cloud_handler().handle(bad).status == 401
    assert parsed == [], "a request with a wrong signature was parsed"
    # The same body signed with the app's key is parsed once and served.
    good = Request.build("POST", CALL_URL, {"X-Inngest-Signature": signing.sign(body, KEY)}, body)
    resp = cloud_handler().handle(good)
    assert (resp.status, resp.json(), parsed) == (200, "ok", [len(body)])


def test_a_small_body_signed_over_its_jcs_form_still_verifies() -> None:
    # What a sync PUT looks like: Go's json.Marshal escapes '&', the signature covers the JCS form.
    raw = b'{"url":"http://app.test/api/inngest?a=1\\u0026b=2"}'
    sig = signing.sign(signing.canonical(raw), KEY)
    assert signing.verify(raw, sig, (KEY, None)).key == KEY


def test_handle_async_verifies_a_large_body_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    body = large_call_body()
    threads: list[int] = []
    real = signing.verify

    def spy(*args: Any, **kwargs: Any) -> signing.Verified:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(signing, "verify", spy)
    handler = cloud_handler()

    async def main() -> tuple[int, list[int]]:
        requests = [Request.build("POST", CALL_URL, {"X-Inngest-Signature": signing.sign(body, key)}, body)
                    for key in (OTHER_KEY, KEY)]
        replies = await asyncio.gather(*(handler.handle_async(r) for r in requests))
        return threading.get_ident(), [r.status for r in replies]

    loop_thread, statuses = asyncio.run(main())
    assert statuses == [401, 200]
    assert len(threads) == 2 and loop_thread not in threads


# -- 16. guessable signing keys are refused at configuration ------------------------------------


@pytest.mark.parametrize("key", ["signkey-prod-", "signkey-test-ab", "signkey-prod-" + "ab" * 15 + "a", " ",
                                 "signkey-prod-" + "ab" * 32 + "\n", "signkey-prod-" + "ab" * 16 + " " + "ab" * 16])
@pytest.mark.parametrize("argument", ["signing_key", "signing_key_fallback"])
@pytest.mark.parametrize("production", [True, False])
def test_a_guessable_or_broken_signing_key_is_refused_at_configuration(key: str, argument: str,
                                                                       production: bool) -> None:
    from inngest_serverless.core.errors import ConfigError

    keys = {"signing_key": KEY, argument: key}
    with pytest.raises(ConfigError, match=argument) as info:
        Inngest(app_id="app", is_production=production, **keys)
    secret = signing.normalize_key(key).strip()
    assert not secret or secret not in str(info.value), "the error message shows the key"


def test_a_blank_signing_key_in_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from inngest_serverless.core.errors import ConfigError

    monkeypatch.setenv("INNGEST_SIGNING_KEY", "   ")
    with pytest.raises(ConfigError, match="whitespace"):
        Inngest(app_id="app", is_production=True)
    monkeypatch.setenv("INNGEST_SIGNING_KEY", "")
    with pytest.raises(ConfigError, match="needs a signing key"):
        Inngest(app_id="app", is_production=True)


def test_a_key_of_32_characters_is_accepted() -> None:
    assert Inngest(app_id="app", is_production=True, signing_key="signkey-prod-" + "ab" * 16).config.signing_key


def test_a_guessable_key_read_from_aws_is_not_used() -> None:
    from inngest_serverless.adapters.aws_lambda import AwsKeySource, KeySourceError

    class Fixed(AwsKeySource):
        def fetch(self) -> dict[str, str]:
            return {"signing_key": "signkey-prod-"}

    client = cloud_handler().client
    with pytest.raises(KeySourceError, match="too short"):
        Fixed(secret="inngest-keys").apply(client)
    assert client.config.signing_key == KEY


# -- 15. an unsigned PUT cannot point the app's registration at another host ------------------------


def test_an_unsigned_put_in_cloud_mode_is_refused_and_registers_nothing() -> None:
    from tests.support.fake_api import fake_api

    with fake_api() as api:
        api.on("POST", "/fn/register", (200, {"ok": True, "modified": False}))
        handler = cloud_handler(api.url)
        for _ in range(50):
            resp = handler.handle(Request.build("PUT", "http://evil.example/api/inngest", {"host": "evil.example"}))
            assert (resp.status, resp.headers["x-inngest-no-retry"]) == (401, "true")
        assert "INNGEST_ENABLE_UNAUTHED_SYNC" in resp.json()["message"]
        wrong = signing.sign(b"", OTHER_KEY)
        resp = handler.handle(Request.build("PUT", "http://evil.example/api/inngest", {"X-Inngest-Signature": wrong}))
        assert resp.status == 401
        assert api.requests == []
        # A signed PUT (the dashboard's) syncs the URL it was sent to.
        body = b'{"url":"http://app.test/api/inngest"}'
        signed = {"X-Inngest-Signature": signing.sign(body, KEY)}
        assert handler.handle(Request.build("PUT", URL, signed, body)).status == 200
        assert [r.json()["url"] for r in api.requests] == [URL]


def test_allowed_unsigned_syncs_register_only_the_serve_origin_and_are_rate_limited(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.fake_api import fake_api

    monkeypatch.setenv("INNGEST_ENABLE_UNAUTHED_SYNC", "true")
    with fake_api() as api:
        api.on("POST", "/fn/register", (200, {"ok": True, "modified": False}))
        without_origin = cloud_handler(api.url)
        resp = without_origin.handle(Request.build("PUT", "http://evil.example/api/inngest"))
        assert resp.status == 401 and "INNGEST_SERVE_ORIGIN" in resp.json()["message"]
        assert api.requests == []

        handler = cloud_handler(api.url, serve_origin="https://shop.example.com")
        replies = [handler.handle(Request.build("PUT", "http://evil.example/api/inngest", {"host": "evil.example"}))
                   for _ in range(50)]
        assert [r.status for r in replies] == [200] + [429] * 49
        assert int(replies[1].headers["retry-after"]) > 0 and replies[1].headers["x-inngest-no-retry"] == "false"
        assert [r.json()["url"] for r in api.requests] == ["https://shop.example.com/api/inngest"]
        fn_urls = {s["runtime"]["url"].split("?")[0] for f in api.requests[0].json()["functions"] for s in f["steps"].values()}
        assert fn_urls == {"https://shop.example.com/api/inngest"}


def test_dev_mode_still_syncs_an_unsigned_put_from_the_url_it_came_to() -> None:
    from tests.support.fake_api import fake_api

    with fake_api() as api:
        api.on("POST", "/fn/register", (200, {"ok": True, "modified": False}))
        client = Inngest(app_id="app", is_production=False, api_base_url=api.url)

        @client.create_function(fn_id="fn", trigger=TriggerEvent(event="test/event"))
        def fn(ctx: ContextSync) -> str:
            return "ok"

        assert Handler(client).handle(Request.build("PUT", "http://127.0.0.1:3000/api/inngest")).status == 200
        assert api.requests[0].json()["url"] == "http://127.0.0.1:3000/api/inngest"


# -- helpers for the step-level findings ----------------------------------------------------------


def dev_app() -> Inngest:
    return Inngest(app_id="app", is_production=False)


def define(client: Inngest, fn_id: str = "fn") -> Any:
    return client.create_function(fn_id=fn_id, trigger=TriggerEvent(event="test/event"))


def first_call(client: Inngest, body: dict[str, Any] | None = None, fn_id: str = "fn") -> Any:
    return post(Handler(client), fn_id, body if body is not None else call_body())


def assert_fails_for_good(resp: Any, *fragments: str) -> dict[str, Any]:
    assert (resp.status, resp.headers["x-inngest-no-retry"]) == (400, "true"), resp.read()
    body: dict[str, Any] = resp.json()
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    return body


# -- 17. a caught step interrupt is not lost --------------------------------------------------------


def test_a_bare_except_around_step_run_does_not_run_every_body_in_one_call() -> None:
    client = dev_app()
    ran: list[int] = []

    def body(i: int) -> int:
        ran.append(i)
        return i * 10

    @define(client)
    def fn(ctx: ContextSync) -> list[int]:
        out = []
        for i in range(3):
            try:  # noqa: SIM105 - the finding: user code that catches everything, written as users write it
                out.append(ctx.step.run(f"s{i}", body, i))
            except:  # noqa: E722
                pass
        return out

    resp = first_call(client)
    assert resp.status == 206 and [op["name"] for op in resp.json()] == ["s0"] and ran == [0]
    ran.clear()
    result, _ = run_to_completion(Handler(client), "fn")
    assert result == [0, 10, 20] and ran == [0, 1, 2]


def test_a_caught_interrupt_wins_over_what_the_function_does_next() -> None:
    client = dev_app()
    after: list[str] = []

    @define(client)
    def fn(ctx: ContextSync) -> str:
        try:
            ctx.step.sleep("nap", 1000)
        except BaseException:
            with contextlib.suppress(BaseException):
                ctx.step.run("work", lambda: after.append("work"))  # meets the same interrupt again
            raise ValueError("something else") from None
        return "done"

    resp = first_call(client)
    assert resp.status == 206 and [op["op"] for op in resp.json()] == ["Sleep"] and after == []


def test_a_caught_interrupt_in_an_async_function_is_not_lost() -> None:
    client = dev_app()
    ran: list[str] = []

    @define(client)
    async def fn(ctx: Any) -> str:
        for name in ("a", "b"):
            with contextlib.suppress(BaseException):
                await ctx.step.run(name, lambda n=name: ran.append(n) or n)
        return "done"

    resp = asyncio.run(Handler(client).handle_async(
        Request.build("POST", f"{URL}?fnId=app-fn&stepId=step", {}, json.dumps(call_body()).encode())))
    assert resp.status == 206 and [op["name"] for op in resp.json()] == ["a"] and ran == ["a"]


def test_a_parallel_branch_that_catches_its_end_plans_nothing_more() -> None:
    client = dev_app()

    @define(client)
    def fn(ctx: ContextSync) -> Any:
        def branch(i: int) -> Any:
            def run() -> Any:
                with contextlib.suppress(BaseException):
                    ctx.step.run(f"p{i}", lambda: i)
                return ctx.step.run(f"p{i}-next", lambda: i)  # sequential after p{i}: must not be planned now
            return run

        return ctx.step.parallel((branch(0), branch(1)))

    resp = first_call(client)
    assert resp.status == 206
    assert sorted(op["name"] for op in resp.json()) == ["p0", "p1"]


# -- 18. SystemExit, GeneratorExit, KeyboardInterrupt and CancelledError from user code ---------------


@pytest.mark.parametrize("exc", [SystemExit(3), SystemExit(), GeneratorExit()])
def test_system_exit_and_generator_exit_from_a_function_fail_the_attempt(exc: BaseException) -> None:
    client = dev_app()

    @define(client)
    def fn(ctx: ContextSync) -> str:
        raise exc

    resp = first_call(client)  # did not raise out of Handler.handle
    assert (resp.status, resp.headers["x-inngest-no-retry"]) == (500, "false")
    assert resp.json()["name"] == type(exc).__name__ and type(exc).__name__ in resp.json()["message"]


def test_system_exit_from_a_step_body_is_a_step_error_that_is_retried() -> None:
    client = dev_app()

    @define(client)
    def fn(ctx: ContextSync) -> str:
        return ctx.step.run("exit", lambda: sys.exit(2))  # type: ignore[func-returns-value]

    resp = first_call(client)
    assert resp.status == 206
    (op,) = resp.json()
    assert (op["op"], op["error"]["name"]) == ("StepError", "SystemExit")


def test_keyboard_interrupt_propagates() -> None:
    """The host's SIGINT (or a developer's Ctrl-C): the process is being stopped, so it is not a
    function error to retry; Handler.handle lets it through (the one exception it raises)."""
    client = dev_app()

    @define(client)
    def fn(ctx: ContextSync) -> str:
        return ctx.step.run("work", lambda: (_ for _ in ()).throw(KeyboardInterrupt()))

    with pytest.raises(KeyboardInterrupt):
        first_call(client)


def test_a_cancelled_error_raised_by_user_code_fails_the_attempt() -> None:
    client = dev_app()

    @define(client)
    async def fn(ctx: Any) -> str:
        raise asyncio.CancelledError("the function's own")

    request = Request.build("POST", CALL_URL, {}, json.dumps(call_body()).encode())
    if sys.version_info >= (3, 11):
        resp = asyncio.run(Handler(client).handle_async(request))
        assert (resp.status, resp.json()["name"]) == (500, "CancelledError")
    else:  # 3.10 cannot tell a user's CancelledError from a real cancellation: it propagates
        with pytest.raises(asyncio.CancelledError):
            asyncio.run(Handler(client).handle_async(request))
    resp = Handler(client).handle(request)  # the sync entry point runs the coroutine in its own loop
    assert (resp.status, resp.json()["name"]) == (500, "CancelledError")


def test_a_real_cancellation_of_handle_async_propagates() -> None:
    client = dev_app()
    started = asyncio.Event()

    @define(client)
    async def fn(ctx: Any) -> str:
        started.set()
        await asyncio.sleep(3600)
        return "never"

    async def main() -> None:
        request = Request.build("POST", CALL_URL, {}, json.dumps(call_body()).encode())
        task = asyncio.ensure_future(Handler(client).handle_async(request))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()

    asyncio.run(main())


# -- 19. input that can never succeed fails once, for good ------------------------------------------


def deep(levels: int = 5000) -> Any:
    value: Any = []
    for _ in range(levels):
        value = [value]
    return value


def test_a_step_output_nested_too_deeply_fails_the_step_for_good() -> None:
    client = dev_app()
    ran: list[int] = []

    @define(client)
    def fn(ctx: ContextSync) -> Any:
        return ctx.step.run("deep", lambda: ran.append(1) or deep())

    resp = first_call(client)
    assert (resp.status, resp.headers["x-inngest-no-retry"]) == (206, "true"), resp.read()
    (op,) = resp.json()
    assert op["op"] == "StepFailed" and "nested too deeply" in op["error"]["message"] and ran == [1]


def test_a_return_value_nested_too_deeply_fails_the_run() -> None:
    client = dev_app()

    @define(client)
    def fn(ctx: ContextSync) -> Any:
        return deep()

    assert_fails_for_good(first_call(client), "return value is not JSON", "nested too deeply")


def _step_with(call: Any) -> Inngest:
    client = dev_app()

    @define(client)
    def fn(ctx: ContextSync) -> Any:
        return call(ctx)

    return client


BAD_STEP_CALLS = {
    "negative sleep": (lambda ctx: ctx.step.sleep("nap", -5), "must not be negative"),
    "NaN sleep": (lambda ctx: ctx.step.sleep("nap", float("nan")), "finite"),
    "infinite timeout": (lambda ctx: ctx.step.wait_for_event("w", event="e", timeout=float("inf")), "finite"),
    "text timeout": (lambda ctx: ctx.step.wait_for_event("w", event="e", timeout="1h"), "timeout"),
    "parallel of numbers": (lambda ctx: ctx.step.parallel((1, 2)), "item 0 (int) is not callable"),
    "parallel of a number": (lambda ctx: ctx.step.parallel(5), "sequence of callables"),
    "lone surrogate step ID": (lambda ctx: ctx.step.run("\ud800", lambda: 1), "lone surrogate"),
    "invoke data nested too deeply": (
        lambda ctx: ctx.step.invoke_by_id("i", function_id="other", data={"x": deep()}), "nested too deeply"),
}


@pytest.mark.parametrize("name", list(BAD_STEP_CALLS))
def test_a_step_called_with_arguments_it_refuses_fails_the_run_for_good(name: str) -> None:
    call, fragment = BAD_STEP_CALLS[name]
    assert_fails_for_good(first_call(_step_with(call)), fragment)


@pytest.mark.parametrize("retry_after", [float("inf"), float("nan"), "soon", "5000", None])
def test_a_retry_after_error_with_no_usable_time_fails_for_good(retry_after: Any) -> None:
    from inngest_serverless import RetryAfterError

    def raise_it(ctx: ContextSync) -> Any:
        raise RetryAfterError("later", retry_after)

    assert_fails_for_good(first_call(_step_with(raise_it)), "RetryAfterError('later') cannot be retried")

    def in_step(ctx: ContextSync) -> Any:
        return ctx.step.run("s", lambda: raise_it(ctx))

    resp = first_call(_step_with(in_step))
    assert (resp.status, resp.headers["x-inngest-no-retry"]) == (206, "true")
    assert resp.json()[0]["op"] == "StepFailed" and "retry-after" not in resp.headers


def test_a_retry_after_error_with_a_usable_time_is_still_retried() -> None:
    from inngest_serverless import RetryAfterError

    resp = first_call(_step_with(lambda ctx: (_ for _ in ()).throw(RetryAfterError("later", 30_000))))
    assert (resp.status, resp.headers["x-inngest-no-retry"], resp.headers["retry-after"]) == (500, "false", "30")


def test_a_run_id_with_a_lone_surrogate_is_refused_before_any_api_call() -> None:
    from tests.support.fake_api import fake_api

    with fake_api() as api:
        client = Inngest(app_id="app", is_production=False, api_base_url=api.url)

        @define(client)
        def fn(ctx: ContextSync) -> str:
            return "ok"

        raw = json.dumps(call_body(run_id="\ud800", use_api=True)).encode()  # JSON escapes it as \ud800
        resp = Handler(client).handle(Request.build("POST", CALL_URL, {}, raw))
        assert (resp.status, resp.json()["code"], resp.headers["x-inngest-no-retry"]) == (400, "malformed_body", "true")
        assert api.requests == []


@pytest.mark.parametrize("method", ["PUT", "GET", "POST"])
def test_a_url_with_a_lone_surrogate_is_refused(method: str) -> None:
    from tests.support.fake_api import fake_api

    with fake_api() as api:
        api.on("POST", "/fn/register", (200, {"ok": True, "modified": False}))
        client = Inngest(app_id="app", is_production=False, api_base_url=api.url)

        @define(client)
        def fn(ctx: ContextSync) -> str:
            return "ok"

        resp = Handler(client).handle(Request.build(method, "http://app.test/api/\ud800?fnId=app-fn", {}, b"{}"))
        assert (resp.status, resp.json()["code"], resp.headers["x-inngest-no-retry"]) == (400, "malformed_url", "true")
        assert api.requests == []


# -- 20. nested steps and colliding step IDs ------------------------------------------------------------


def test_step_run_inside_step_run_fails_clearly() -> None:
    client = dev_app()
    ran: list[str] = []

    @define(client)
    def fn(ctx: ContextSync) -> Any:
        def outer() -> Any:
            ran.append("outer")
            return ctx.step.run("inner", lambda: ran.append("inner") or 1)

        return ctx.step.run("outer", outer)

    body = assert_fails_for_good(first_call(client), "step 'inner' was called inside the body of step 'outer'")
    assert body["name"] == "NonRetriableError" and ran == ["outer"]


def test_a_nested_step_in_a_targeted_call_fails_clearly_too() -> None:
    client = dev_app()

    @define(client)
    async def fn(ctx: Any) -> Any:
        async def outer() -> Any:
            return await ctx.step.run("inner", lambda: 1)

        return await ctx.step.run("outer", outer)

    planned = post(Handler(client), "fn", call_body(disable=True))
    assert [(op["op"], op["name"]) for op in planned.json()] == [("StepPlanned", "outer")]
    targeted = post(Handler(client), "fn", call_body(disable=True), step=h("outer"))
    assert_fails_for_good(targeted, "called inside the body of step 'outer'")


def test_steps_awaited_side_by_side_are_not_taken_for_nested_ones() -> None:
    client = dev_app()

    @define(client)
    async def fn(ctx: Any) -> Any:
        async def slow(n: int) -> int:
            await asyncio.sleep(0.01)
            return n

        return await asyncio.gather(ctx.step.run("a", slow, 1), ctx.step.run("b", slow, 2))

    resp = asyncio.run(Handler(client).handle_async(Request.build("POST", CALL_URL, {},
                                                                  json.dumps(call_body()).encode())))
    assert resp.status == 206 and "inside the body" not in resp.read().decode()


def collision_app(order: tuple[str, ...]) -> tuple[Inngest, list[str]]:
    client = dev_app()
    ran: list[str] = []

    @define(client)
    def fn(ctx: ContextSync) -> list[Any]:
        return [ctx.step.run(name, lambda n=name: ran.append(n) or len(ran)) for name in order]

    return client, ran


@pytest.mark.parametrize("order", [("a", "a", "a:1"), ("a:1", "a", "a")])
def test_a_step_id_that_collides_with_a_numbered_repeat_fails_clearly(order: tuple[str, ...]) -> None:
    for _warm in range(2):  # the second time, this process knows every raw ID's hash (StepSync.run's fast path)
        client, ran = collision_app(order)

        handler = Handler(client)
        steps: dict[str, Any] = {}
        for _ in range(len(order) + 1):
            resp = post(handler, "fn", call_body(steps))
            if resp.status != 206:
                break
            (op,) = resp.json()
            steps[op["id"]] = {"data": op["data"]}
        assert_fails_for_good(resp, "'a:1' is also the ID of step 2 named 'a'")
        assert len(ran) == len(steps)  # each body that ran reported its own result; none was skipped


# -- 21. transports ----------------------------------------------------------------------------------


def _raw_exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` on a fresh connection left open, and read the reply. A server that waits
    for the end of the stream never answers: the timeout fails the test."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply.partition(b"\r\n\r\n")[2]) < _length(reply):
            data = sock.recv(65536)
            if not data:
                break
            reply += data
        return reply


def _length(reply: bytes) -> int:
    for line in reply.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def dev_wsgi_app() -> Any:
    from inngest_serverless.adapters.wsgi import wsgi_adapter

    client = dev_app()

    @define(client)
    def fn(ctx: ContextSync) -> str:
        return "ok"

    return wsgi_adapter(client)


def test_wsgi_a_negative_content_length_is_a_400_not_a_read_to_the_end() -> None:
    from inngest_serverless.adapters.wsgi import LocalServer

    with LocalServer(dev_wsgi_app()) as server:
        port = int(server.url.rsplit(":", 1)[1])
        reply = _raw_exchange(port, b"POST /api/inngest?fnId=app-fn HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n{}")
    assert reply.split(b" ", 2)[1] == b"400" and b"negative" in reply


def test_wsgi_a_path_that_is_not_latin_1_does_not_raise() -> None:
    import io

    app = dev_wsgi_app()
    got: dict[str, Any] = {}
    environ = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/api/\u0100\ud800", "QUERY_STRING": "",
               "SERVER_NAME": "a", "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b"")}
    body = b"".join(app(environ, lambda status, headers, exc_info=None: got.update(status=status)))
    assert got["status"].startswith("200") and b"function_count" in body


@pytest.fixture
def vercel_server() -> Any:
    from http.server import ThreadingHTTPServer

    from inngest_serverless.adapters.vercel import VercelAdapter

    client = dev_app()

    @define(client)
    def fn(ctx: ContextSync) -> str:
        return "ok"

    adapter = VercelAdapter(Handler(client, framework="vercel"), max_body=1 << 20)
    server = ThreadingHTTPServer(("127.0.0.1", 0), adapter.handler_class())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.mark.parametrize("size_line", [b"-5", b"-1", b"zz", b"0x5", b"+5"])
def test_vercel_a_malformed_chunk_size_is_a_400(vercel_server: int, size_line: bytes) -> None:
    head = (b"POST /api/inngest?fnId=app-fn HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + size_line + b"\r\n")
    reply = _raw_exchange(vercel_server, head)  # with -1, read to the end of the stream, which never comes
    assert reply.split(b" ", 2)[1] == b"400" and b"chunk size" in reply


def test_vercel_a_well_formed_chunked_body_is_still_read() -> None:
    import io

    from inngest_serverless.adapters.vercel import _read_chunked

    assert _read_chunked(io.BytesIO(b"4\r\n{\"a\"\r\n3;ext=1\r\n:1}\r\n0\r\n\r\n"), 100) == b'{"a":1}'
    assert _read_chunked(io.BytesIO(b"10\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n"), 8) is None


class _Context:
    def __init__(self, remaining: Any) -> None:
        self.remaining = remaining

    def get_remaining_time_in_millis(self) -> Any:
        if isinstance(self.remaining, BaseException):
            raise self.remaining
        return self.remaining


@pytest.mark.parametrize("remaining", [RuntimeError("no deadline here"), 10**400, float("inf"), float("nan"),
                                       "soon", None, -5])
def test_lambda_a_context_whose_remaining_time_is_unusable_does_not_raise(remaining: Any) -> None:
    from inngest_serverless.adapters.aws_lambda import lambda_adapter
    from tests.support import aws_harness as aws

    client = dev_app()

    @define(client)
    def fn(ctx: ContextSync) -> str:
        return ctx.step.run("s", lambda: "ok")

    event = aws.build_event("http-api", "POST", "https://abc.lambda-url.us-east-1.on.aws/api/inngest?fnId=app-fn",
                            {"content-type": "application/json"}, json.dumps(call_body()).encode())
    status, _, body = aws.read_reply(lambda_adapter(client)(event, _Context(remaining)))
    assert status == 206 and json.loads(body)[0]["op"] == "StepRun"
