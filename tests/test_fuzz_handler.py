"""Property-based fuzzing of ``Handler.handle`` and ``Handler.handle_async`` (issue 5).

Every drawn request (see tests/fuzz_strategies.py) goes to the handler in dev mode,
dev mode holding a key, and cloud mode with a primary and a fallback key; the reply
must keep the promises of :func:`tests.fuzz_targets.check_reply`.

CI runs the ``ci`` profile (a few hundred examples per test). For a longer run:
``INNGEST_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz_handler.py -q -s``
(the count of requests tried is printed at the end of the module with ``-s``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from inngest_serverless import Handler, Request
from tests.fuzz_strategies import requests
from tests.fuzz_targets import EXAMPLES, build_client, check_reply, event_loop, loopback_api

MODES = ("dev", "dev-key", "cloud")
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
        yield {mode: Handler(build_client(mode, api.url), framework="fuzz") for mode in MODES}
    if EXAMPLES:
        print(f"\nfuzz: requests tried per entry point and mode: {tried} (total {sum(tried.values())})")


def _count(name: str) -> None:
    tried[name] = tried.get(name, 0) + 1


@pytest.mark.parametrize("mode", MODES)
def test_handle_keeps_its_promises_on_any_request(handlers: dict[str, Handler], mode: str) -> None:
    handler = handlers[mode]

    @PROFILE
    @given(request=requests())
    def run(request: Request) -> None:
        _count(f"handle/{mode}")
        check_reply(handler, request, handler.handle(request))

    run()


@pytest.mark.parametrize("mode", MODES)
def test_handle_async_keeps_its_promises_on_any_request(
    handlers: dict[str, Handler], mode: str
) -> None:
    handler = handlers[mode]

    @PROFILE
    @given(request=requests())
    def run(request: Request) -> None:
        _count(f"handle_async/{mode}")
        check_reply(handler, request, loop.run_until_complete(handler.handle_async(request)))

    with event_loop() as loop:
        run()
