"""Checkpointing's op batching: finished steps held, then posted while the function goes on.

Without checkpointing every ``step.run`` costs one invocation: the SDK runs the
step, answers ``206`` with its op, and the server calls again. With it,
consecutive ``step.run``s execute in one invocation: each finished step's op is
posted to the server's checkpoint API and the function keeps going. The
invocation ends as usual on a sleep, a wait, an invoke, a failing step, a
parallel group, or the function's end.

A finished op is held until the SDK knows what comes next (posted right before
the next step starts, or before the invocation ends), so that:

* when the deadline is too close to start another step (or the function's
  ``max_runtime`` has passed), the held ops go back in the ``206`` and the
  server calls again: no work is lost to a host timeout;
* when a post fails, the held ops go back in the ``206`` (the plain protocol),
  and the invocation ends there.

The :class:`Batcher` only answers the replay engine's questions (hold this op;
may the next step start; what does the reply carry); it never raises the reply.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checkpoint import Checkpoint
    from .deadline import Deadline
    from .inngest_api import CheckpointPoster

POST_TIMEOUT = 10.0
"""Seconds a post may take at most (less when the deadline is closer)."""


class Batcher:
    """The finished ops one checkpointing call holds, and when they are posted."""

    def __init__(self, config: Checkpoint, poster: CheckpointPoster, deadline: Deadline | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.poster = poster
        self.deadline = deadline
        self.clock = clock
        runtime = config.max_runtime_seconds()
        self.runtime_end = clock() + runtime if runtime else None
        self.interval = config.interval_seconds()
        self.held: list[dict[str, Any]] = []
        self.held_since: float | None = None

    def take(self) -> list[dict[str, Any]]:
        """The held ops, no longer held (they go in the reply)."""
        ops, self.held, self.held_since = self.held, [], None
        return ops

    def _flush(self) -> bool:
        """Post the held ops; False (ops kept) when the post failed or there is no time for it."""
        if not self.held:
            return True
        timeout = POST_TIMEOUT if self.deadline is None else min(POST_TIMEOUT, self.deadline.left())
        if timeout <= 0 or not self.poster.post(self.held, timeout):
            return False
        self.take()
        return True

    def hold(self, op: dict[str, Any]) -> None:
        """A step.run finished: hold its op; the function goes on."""
        if not self.held:
            self.held_since = self.clock()
        self.held.append(op)

    def before_step(self) -> list[dict[str, Any]] | None:
        """A new step.run is about to start: the ops the call must end with now, or None to go on
        (after posting what is due)."""
        if not self.held:
            return None
        if (self.deadline is not None and not self.deadline.room_for_another()) or (
                self.runtime_end is not None and self.clock() >= self.runtime_end):
            # Another step might not finish in time: hand back what finished; the server calls again.
            return self.take()
        due = len(self.held) >= self.config.batch_steps or (
            self.interval is not None and self.held_since is not None
            and self.clock() - self.held_since >= self.interval)
        if due and not self._flush():
            return self.take()
        return None

    def before_report(self, ops: list[dict[str, Any]],
                      headers: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """The call ends with ``ops``: post held ops first, or report them instead."""
        if self.held and not self._flush():
            return self.take(), {}
        return ops, headers

    def settle(self) -> list[dict[str, Any]] | None:
        """The function returned or raised: None when nothing is held any more, else the ops to report."""
        if self.held and not self._flush():
            return self.take()
        return None

    def close(self) -> None:
        self.poster.close()
