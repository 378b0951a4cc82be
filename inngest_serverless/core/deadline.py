"""The invocation's deadline, and the guard that keeps step bodies inside it.

A host kills an invocation at its deadline (Lambda's remaining time, a
configured timeout), and the attempt then vanishes as a timeout with nothing
reported. So a step body still running when the deadline comes near (minus a
margin kept to answer) is abandoned, and a body that could not finish is never
started: the guard raises :class:`Overrun`, and the replay engine (its only
caller) answers with a retriable :class:`~.errors.DeadlineExceeded` naming the
step, or with the steps that finished, before the host cuts the call off.

The guard knows nothing of steps or replies: it runs callables against a clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from .coroutines import is_awaitable, is_coroutine_function
from .errors import DeadlineExceeded

DEFAULT_MARGIN = 1.5
"""Seconds kept free before the deadline to answer (at most a tenth of the invocation's budget)."""


class Overrun(Exception):
    """A body was abandoned, or not started, because the deadline was too close; ``error`` says so."""

    def __init__(self, error: DeadlineExceeded) -> None:
        super().__init__(str(error))
        self.error = error


def margin_for(deadline: float, now: float, margin: float | None = None) -> float:
    if margin is not None:
        return max(0.0, margin)
    return max(0.0, min(DEFAULT_MARGIN, (deadline - now) / 10))


class Deadline:
    """One call's deadline (a ``clock()`` moment) and the bodies timed against it."""

    __slots__ = ("at", "clock", "cutoff", "longest", "margin")

    def __init__(self, at: float, *, margin: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.at = at
        self.margin = margin_for(at, clock(), margin)
        self.cutoff = at - self.margin  # no body may run past this moment
        self.longest = 0.0  # the longest body run so far: how long the next one may take

    def left(self) -> float:
        """Seconds until the cutoff (negative once past it)."""
        return self.cutoff - self.clock()

    def room_for_another(self) -> bool:
        """Could another body as long as the longest so far still finish before the cutoff?"""
        return self.clock() + self.margin + self.longest <= self.at

    def _overrun(self, name: str) -> Overrun:
        seconds = max(0.0, self.at - self.clock())
        return Overrun(DeadlineExceeded(
            f"step {name!r} was still running {seconds:.1f}s before the invocation's deadline; "
            "the SDK answered before the host could kill the invocation. Give the function more time "
            "(e.g. a longer host timeout) or split the step"))

    def _timed(self, started: float) -> None:
        self.longest = max(self.longest, self.clock() - started)

    def run_body(self, name: str, handler: Callable[..., Any], args: Sequence[Any]) -> Any:
        """``handler(*args)`` in a worker thread, abandoned (raising :class:`Overrun`) at the cutoff."""
        started = self.clock()
        if self.cutoff <= started:
            raise self._overrun(name)  # no time left: do not start what cannot finish
        import contextvars
        import threading

        box: dict[str, Any] = {}
        context = contextvars.copy_context()

        def target() -> None:
            try:
                box["value"] = context.run(call_sync, handler, args)
            except BaseException as exc:
                box["error"] = exc

        worker = threading.Thread(target=target, name=f"inngest-step-{name}", daemon=True)
        worker.start()
        worker.join(max(0.0, self.cutoff - self.clock()))
        if worker.is_alive():
            raise self._overrun(name)  # the daemon thread runs on, unheard
        self._timed(started)
        if "error" in box:
            raise box["error"]
        return box.get("value")

    async def run_body_async(self, name: str, handler: Callable[..., Any], args: Sequence[Any]) -> Any:
        """As :meth:`run_body`, on the running loop (a coroutine body is cancelled at the cutoff)."""
        import asyncio

        started = self.clock()
        try:
            if self.cutoff <= started:
                raise self._overrun(name)
            if is_coroutine_function(handler):
                work: Any = handler(*args)
            else:
                work = asyncio.to_thread(call_sync, handler, args)
            try:
                return await asyncio.wait_for(work, max(0.0, self.cutoff - self.clock()))
            except asyncio.TimeoutError:
                raise self._overrun(name) from None
        finally:
            self._timed(started)


def call_sync(handler: Callable[..., Any], args: Sequence[Any]) -> Any:
    """``handler(*args)`` from sync code: an awaitable result is run to its end on a loop of its own."""
    result = handler(*args)
    if is_awaitable(result):
        import asyncio  # deferred: only a sync function calling an async step body needs a loop

        async def wrap() -> Any:
            return await result

        return asyncio.run(wrap())
    return result
