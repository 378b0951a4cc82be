"""Test durable functions in process, in milliseconds: ``TestEngine``.

The engine is the embedded executor (``inngest_serverless.dev``) with a virtual clock and an
in-process transport: every call goes through the app's own ``Handler``, as on a host, and every
sleep, wait timeout, retry backoff, debounce window, batch timeout, throttle or rate-limit period,
cron tick and function timeout falls due on a clock that only moves when the test moves it (or
lets ``run`` jump to the next due item). No HTTP, no ports, no threads::

    from inngest_serverless.testing import TestEngine

    def test_order_flow() -> None:
        with TestEngine(client) as engine:
            engine.mock_step("charge", value={"charged": True})
            result = engine.run(place_order, {"name": "shop/order.placed", "data": {"id": 1}})
            assert result.completed and result.output == {"ok": True}

With pytest the ``inngest_engine`` fixture makes one per test (``inngest_engine(client)``);
other runners use the engine as a context manager, or ``run`` for a one-off. docs/testing.md has
worked examples.
"""

from __future__ import annotations

import datetime
from typing import Any

from ._engine import EngineError, TestEngine
from ._mocks import Mock, MockedStepError
from ._results import RunResult, StepRecord

__all__ = ["EngineError", "Mock", "MockedStepError", "RunResult", "StepRecord", "TestEngine", "run"]


def run(app: Any, fn: Any, event: Any = None, *, start: datetime.datetime | None = None) -> RunResult:
    """Run ``fn`` of ``app`` (a client, or its functions) to its end on a fresh engine; its result."""
    with TestEngine(app, start=start) as engine:
        return engine.run(fn, event)
