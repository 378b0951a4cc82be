"""The executor's clock: wall time, in seconds, that never runs backwards while the process lives.

Queue items, sleeps, waits, retries and timeouts are due at wall-clock times, stored in SQLite
so that they survive a restart. Reading those times from ``time.time()`` directly made a clock
stepped back an hour hold every sleeping and retrying run back by that hour. This clock advances
with the monotonic clock and follows the wall clock only forwards: stepped back, it keeps its
pace; stepped forward (or catching up after NTP), it jumps with it, which only makes due work
run sooner. ULIDs are minted from it and never sort backwards (``ids.py``).

Tests inject a clock of their own with ``use``; nothing reads the machine clock here otherwise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Clock:
    def __init__(self, wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._wall, self._monotonic = wall, monotonic
        self._lock = threading.Lock()
        self._offset = wall() - monotonic()

    def now(self) -> float:
        with self._lock:
            ticks, wall = self._monotonic(), self._wall()
            if wall > ticks + self._offset:  # the wall clock is ahead: follow it
                self._offset = wall - ticks
            return ticks + self._offset


_clock = Clock()


def now() -> float:
    """Seconds since the epoch, never less than a value this process returned before."""
    return _clock.now()


def use(clock: Clock) -> Clock:
    """Make ``clock`` the executor's clock (for tests); returns the one it replaces."""
    global _clock
    previous, _clock = _clock, clock
    return previous
