"""The executor's clocks: seconds since the epoch that never run backwards.

Each ``Executor`` holds one clock and hands it to the parts that need the time (the queue, run
history, the registry, ULIDs); nothing in the executor reads the machine clock otherwise. Two
kinds exist:

* ``SystemClock`` (also ``Clock``), the dev server's: queue items, sleeps, waits, retries and
  timeouts are due at wall-clock times, stored in SQLite so that they survive a restart. Reading
  them from ``time.time()`` directly made a clock stepped back an hour hold every sleeping and
  retrying run back by that hour. This clock advances with the monotonic clock and follows the
  wall clock only forwards: stepped back, it keeps its pace; stepped forward (or catching up
  after NTP), it jumps with it, which only makes due work run sooner.
* ``VirtualClock``, for tests: it stands still until told to move (``advance``, ``set``), so a
  30-day sleep is due after one ``advance`` and no wall time.

Request signatures are the exception: they carry the machine's time, because the app checks
them against its own clock (``calls.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class TimeSource(Protocol):
    """What the executor needs of a clock."""

    def now(self) -> float:
        """Seconds since the epoch, never less than a value returned before."""
        ...


class SystemClock:
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


Clock = SystemClock


class VirtualClock:
    """A clock that moves only when told to: ``advance(seconds)`` or ``set(t)``, never backwards."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move ``seconds`` (>= 0) forward; returns the new time."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, t: float) -> float:
        """Move to ``t``; a time in the past is refused (ValueError). Returns the new time."""
        with self._lock:
            if t < self._now:
                raise ValueError(f"a clock cannot go back (from {self._now} to {t})")
            self._now = float(t)
            return self._now
