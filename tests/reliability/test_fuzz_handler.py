"""Property-based fuzzing of ``Handler.handle`` and ``Handler.handle_async``.

Every drawn request (see tests/support/fuzz_strategies.py) goes to the handler in dev mode,
dev mode holding a key, cloud mode with a primary and a fallback key, and cloud mode
with keep-alive streaming forced; the reply must keep the promises of
:func:`tests.support.fuzz_targets.check_reply`, and no log record of the SDK, at any level,
may show a key or its hash.

CI runs the ``fuzz-ci`` profile (100 examples per test). For a longer run:
``INNGEST_FUZZ_EXAMPLES=1000 python -m pytest tests/reliability/test_fuzz_handler.py -q -s``
(the count of requests tried is printed at the end of the module with ``-s``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from inngest_serverless import Handler, Request, Response
from tests.support.fuzz_strategies import requests
from tests.support.fuzz_targets import (
    EXAMPLES,
    KEY,
    LogSecrets,
    build_client,
    check_reply,
    event_loop,
    log_secrets,
    loopback_api,
)

MODES = ("dev", "dev-key", "cloud", "cloud-streamed")
settings.register_profile(
    "fuzz-ci", max_examples=100, deadline=None, derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile(
    "fuzz-long", parent=settings.get_profile("fuzz-ci"), max_examples=max(EXAMPLES, 1),
)
PROFILE = settings.get_profile("fuzz-long" if EXAMPLES else "fuzz-ci")
tried: dict[str, int] = {}


@pytest.fixture(scope="module")
def handlers() -> Iterator[dict[str, Handler]]:
    with loopback_api() as api:
        handlers = {mode: Handler(build_client(mode, api.url), framework="fuzz") for mode in MODES[:3]}
        # Keep-alive streaming forced: every call answers 201 and a wrapped reply.
        handlers["cloud-streamed"] = Handler(build_client("cloud", api.url), framework="fuzz", streaming="force")
        yield handlers
    if EXAMPLES:
        print(f"\nfuzz: requests tried per entry point and mode: {tried} (total {sum(tried.values())})")


@pytest.fixture(scope="module")
def watcher() -> Iterator[LogSecrets]:
    with log_secrets() as watching:
        yield watching


def test_the_log_watcher_sees_a_secret(watcher: LogSecrets) -> None:
    logging.getLogger("inngest_serverless.anything").debug("key is %s", KEY)
    assert watcher.leaks
    watcher.leaks.clear()


def _count(name: str) -> None:
    tried[name] = tried.get(name, 0) + 1


@pytest.mark.parametrize("mode", MODES)
def test_handle_keeps_its_promises_on_any_request(handlers: dict[str, Handler], watcher: LogSecrets, mode: str) -> None:
    handler = handlers[mode]

    @PROFILE
    @given(request=requests())
    def run(request: Request) -> None:
        _count(f"handle/{mode}")
        check_reply(handler, request, handler.handle(request))
        assert not watcher.leaks, watcher.leaks[:1]

    run()


async def answer(handler: Handler, request: Request) -> Response:
    response = await handler.handle_async(request)
    if response.stream is not None:
        # A streamed reply's chunks wait on the call, which runs on this loop: read them from a thread.
        await asyncio.to_thread(response.read)
    return response


@pytest.mark.parametrize("mode", MODES)
def test_handle_async_keeps_its_promises_on_any_request(
    handlers: dict[str, Handler], watcher: LogSecrets, mode: str
) -> None:
    handler = handlers[mode]

    @PROFILE
    @given(request=requests())
    def run(request: Request) -> None:
        _count(f"handle_async/{mode}")
        check_reply(handler, request, loop.run_until_complete(answer(handler, request)))
        assert not watcher.leaks, watcher.leaks[:1]

    with event_loop() as loop:
        run()
