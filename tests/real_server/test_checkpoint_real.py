"""Checkpointing (core/checkpoint.py) against the real server's ``/v1/checkpoint/{runID}/async``.

A checkpointed function runs its consecutive steps in one invocation and posts each finished
step to the server; the server must store them so that the run completes with the same output,
having called the app fewer times than for the same function without checkpointing. Under
``inngest dev`` (dev mode, WSGI in this process) and ``inngest start`` (cloud mode, Lambda's
runtime behind a Function URL, PostgreSQL + Redis).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.real_server import harness
from tests.real_server import shop as names
from tests.real_server.function_url import FunctionUrl
from tests.real_server.self_hosted import assert_order_flow_output, deployed, dev_app, run_order_flow


def _steps(server: harness.InngestServer, run_id: str) -> set[tuple[str, str]]:
    return {(s["name"], s["stepID"]) for s in server.step_spans(run_id) if s["stepOp"] == "RUN"
            and s["status"] == "COMPLETED"}


def _compare(server: harness.InngestServer, front: FunctionUrl) -> tuple[int, int]:
    """Run ten-steps with and without checkpointing; the invocations each took."""
    plain = server.trigger(names.TEN, {}, timeout=120)
    checkpointed = server.trigger(names.TEN + names.CHECKPOINTED, {}, timeout=120)
    assert plain["status"] == checkpointed["status"] == harness.COMPLETED, (plain, checkpointed)
    assert plain["output"] == checkpointed["output"] == names.TEN_OUTPUT, (plain, checkpointed)
    # The server stored every posted step under the same step ID as the plain run's.
    assert _steps(server, str(checkpointed["id"])) == _steps(server, str(plain["id"])), server.log()[-3000:]
    assert len(_steps(server, str(plain["id"]))) == 10
    return len(front.function_calls("ten-steps")), len(front.function_calls("ten-steps-checkpointed"))


def test_a_checkpointed_run_completes_in_fewer_invocations_under_inngest_dev() -> None:
    with harness.inngest_dev() as server, dev_app(server) as front:
        plain, checkpointed = _compare(server, front)
        # One invocation per step plus the last without it; with it, the steps share invocations.
        assert plain >= 11, front.calls
        assert checkpointed < plain, (checkpointed, plain)
        assert_order_flow_output(run_order_flow(server, names.ORDER + names.CHECKPOINTED, "o-dev"), "o-dev")


@pytest.fixture
def pg_redis_app(pg: harness.Service,
                 redis_server: harness.Service) -> Iterator[tuple[harness.InngestServer, FunctionUrl]]:
    with deployed(pg=pg, redis_server=redis_server, database="checkpoint") as pair:
        yield pair


def test_a_checkpointed_run_completes_in_fewer_invocations_under_inngest_start(
        pg_redis_app: tuple[harness.InngestServer, FunctionUrl]) -> None:
    server, front = pg_redis_app
    plain, checkpointed = _compare(server, front)
    assert plain >= 11, front.calls
    assert checkpointed < plain, (checkpointed, plain)
    assert_order_flow_output(run_order_flow(server, names.ORDER + names.CHECKPOINTED, "o-start"), "o-start")
