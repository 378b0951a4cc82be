"""The deadline guard and the checkpoint batcher, each on its own: plain callables, no engine.

The guard answers "did the body finish before the cutoff?" and nothing else; what a
late step means for the reply is the replay engine's business (tests/core/test_deadline.py
covers that end to end).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from inngest_serverless import Checkpoint, Inngest
from inngest_serverless.core.batching import Batcher
from inngest_serverless.core.deadline import DEFAULT_MARGIN, Deadline, Overrun
from inngest_serverless.core.errors import DeadlineExceeded
from inngest_serverless.core.inngest_api import CheckpointPoster
from tests.support.fake_api import FakeApi, fake_api


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_margin_is_a_tenth_of_the_time_left_at_most_the_default() -> None:
    clock = Clock()
    assert Deadline(clock.now + 100, clock=clock).margin == DEFAULT_MARGIN
    assert Deadline(clock.now + 5, clock=clock).margin == pytest.approx(0.5)
    assert Deadline(clock.now + 5, margin=2.0, clock=clock).cutoff == clock.now + 3


def test_a_body_that_cannot_start_in_time_never_runs() -> None:
    clock = Clock()
    deadline = Deadline(clock.now + 1, margin=2.0, clock=clock)
    ran: list[int] = []
    with pytest.raises(Overrun) as caught:
        deadline.run_body("late", lambda: ran.append(1), ())
    assert ran == []
    assert isinstance(caught.value.error, DeadlineExceeded) and "'late'" in str(caught.value.error)


def test_a_body_that_finishes_returns_its_value_and_its_error() -> None:
    deadline = Deadline(time.monotonic() + 60, margin=1.0)
    assert deadline.run_body("add", lambda a, b: a + b, (2, 3)) == 5
    with pytest.raises(KeyError):
        deadline.run_body("boom", lambda: {}["missing"], ())

    async def double(x: int) -> int:
        return 2 * x

    assert deadline.run_body("coroutine", double, (4,)) == 8  # an async body of a sync function
    assert asyncio.run(deadline.run_body_async("coroutine", double, (5,))) == 10


def test_a_body_still_running_at_the_cutoff_is_abandoned() -> None:
    release = threading.Event()
    deadline = Deadline(time.monotonic() + 0.5, margin=0.3)
    try:
        with pytest.raises(Overrun):
            deadline.run_body("stuck", release.wait, ())
    finally:
        release.set()

    async def stuck() -> None:
        await asyncio.sleep(3600)

    with pytest.raises(Overrun):
        asyncio.run(Deadline(time.monotonic() + 0.5, margin=0.3).run_body_async("stuck", stuck, ()))


def test_room_for_another_step_counts_the_longest_body_so_far() -> None:
    clock = Clock()
    deadline = Deadline(clock.now + 10, margin=1.0, clock=clock)

    def slow() -> None:
        clock.now += 4  # the body "takes" four seconds of the hand-moved clock

    deadline.run_body("slow", slow, ())
    assert deadline.longest == 4
    assert deadline.room_for_another()  # now 4 s in: 4 + 1 (margin) + 4 (the longest body) <= 10
    clock.now += 1.5
    assert not deadline.room_for_another()  # 5.5 + 1 + 4 > 10


# -- the batcher, posting to a loopback checkpoint API ---------------------------------------


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with fake_api() as server:
        yield server


def _batcher(api: FakeApi, config: Checkpoint, clock: Clock, deadline: Deadline | None = None) -> Batcher:
    client = Inngest(app_id="a", is_production=False, api_base_url=api.url)
    poster = CheckpointPoster(client.config, "run-1", fn_id="fn-uuid", qi_id=None, request_id="req-1",
                              generation_id=None)
    return Batcher(config, poster, deadline, clock=clock)


def _op(n: int) -> dict[str, object]:
    return {"op": "StepRun", "id": f"h{n}", "data": n}


def test_held_ops_are_posted_once_a_batch_is_full(api: FakeApi) -> None:
    api.on("POST", "/v1/checkpoint/run-1/async", (200, {}))
    batch = _batcher(api, Checkpoint(batch_steps=2), Clock())
    batch.hold(_op(1))
    assert batch.before_step() is None and api.requests == []  # one held: not due yet
    batch.hold(_op(2))
    assert batch.before_step() is None and batch.held == []
    [posted] = api.requests
    body = posted.json()
    assert [s["id"] for s in body["steps"]] == ["h1", "h2"]
    assert body["run_id"] == "run-1" and body["fn_id"] == "fn-uuid" and body["qi_id"] == ""
    assert body["request_id"] == "req-1" and "generation_id" not in body
    batch.close()


def test_an_old_enough_batch_is_posted_before_it_is_full(api: FakeApi) -> None:
    api.on("POST", "/v1/checkpoint/run-1/async", (200, {}))
    clock = Clock()
    batch = _batcher(api, Checkpoint(batch_steps=10, batch_interval=2000), clock)
    batch.hold(_op(1))
    assert batch.before_step() is None and len(batch.held) == 1
    clock.now += 2
    assert batch.before_step() is None and batch.held == [] and len(api.requests) == 1
    batch.close()


def test_a_failed_post_hands_the_held_ops_back_for_the_reply(api: FakeApi) -> None:
    api.on("POST", "/v1/checkpoint/run-1/async", (500, {"error": "down"}))
    batch = _batcher(api, Checkpoint(), Clock())
    batch.hold(_op(1))
    assert batch.before_step() == [_op(1)] and batch.held == []
    batch.hold(_op(2))
    ops, headers = batch.before_report([_op(3)], {"x": "y"})
    assert ops == [_op(2)] and headers == {}  # the held op, not the new one: the server calls again
    batch.hold(_op(4))
    assert batch.settle() == [_op(4)]
    batch.close()


def test_no_room_for_another_step_ends_the_call_with_what_finished(api: FakeApi) -> None:
    clock = Clock()
    deadline = Deadline(clock.now + 10, margin=1.0, clock=clock)
    batch = _batcher(api, Checkpoint(batch_steps=5), clock, deadline)
    batch.hold(_op(1))
    assert batch.before_step() is None
    clock.now += 9.5
    assert batch.before_step() == [_op(1)]
    assert api.requests == []  # nothing posted: the ops go in the reply
    batch.close()
