"""Identifiers the executor mints: ULIDs for runs and events, stable UUIDs for apps and functions."""

from __future__ import annotations

import base64
import binascii
import os
import threading
import uuid

from .clock import TimeSource

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class Ulids:
    """Monotonic ULIDs on an executor's clock: later ids always sort after earlier ones."""

    def __init__(self, clock: TimeSource) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._last_ms = 0
        self._last_rand = 0

    def new(self, at_ms: int | None = None) -> str:
        """A new ULID, at the clock's time unless ``at_ms`` is given (never before the last one)."""
        with self._lock:
            ms = int(self._clock.now() * 1000) if at_ms is None else at_ms
            if ms <= self._last_ms:
                ms = self._last_ms
                rand = self._last_rand + 1
            else:
                rand = int.from_bytes(os.urandom(10), "big") >> 1  # leave room to increment
            self._last_ms, self._last_rand = ms, rand
        return _encode(ms, rand)

    def not_before(self, value: str) -> None:
        """Mint every later ULID after ``value`` (a stored run id): a restart with the machine clock
        behind must not hand out ids that sort before the ones already stored."""
        if not is_ulid(value):
            return
        number = 0
        for char in value.upper():
            number = number * 32 + _CROCKFORD.index(char)
        ms, rand = number >> 80, number & ((1 << 80) - 1)
        with self._lock:
            if (ms, rand) > (self._last_ms, self._last_rand):
                self._last_ms, self._last_rand = ms, rand


def _encode(ms: int, rand: int) -> str:
    value = ((ms & ((1 << 48) - 1)) << 80) | (rand & ((1 << 80) - 1))
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def seeded_ulids(seed: str, count: int) -> list[str] | None:
    """ULIDs from an ``x-inngest-event-id-seed`` header (``<unix ms>,<base64 of 10 bytes>``).

    Event ``i`` adds ``i`` to the entropy's last 4 bytes, as the server does, so a client that
    sends the same batch again gets the same ids. None when the seed is malformed.
    """
    ms_text, _, entropy_text = seed.partition(",")
    try:
        ms = int(ms_text)
        entropy = base64.b64decode(entropy_text, validate=True)
    except (ValueError, binascii.Error):
        return None
    if len(entropy) != 10 or ms < 0:
        return None
    head, tail = int.from_bytes(entropy[:6], "big"), int.from_bytes(entropy[6:], "big")
    return [_encode(ms, (head << 32) | ((tail + i) & 0xFFFFFFFF)) for i in range(count)]


def ulid_ms(value: str) -> int:
    """The millisecond timestamp inside a ULID (0 for anything that is not one)."""
    number = 0
    for char in value[:10].upper():
        index = _CROCKFORD.find(char)
        if index < 0:
            return 0
        number = number * 32 + index
    return number


def is_ulid(value: str) -> bool:
    return len(value) == 26 and all(c in _CROCKFORD for c in value.upper())


def stable_uuid(*parts: str) -> str:
    """A name-based UUID, so the same app or function keeps its id across restarts."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "\x00".join(parts)))


def ulid_floor(ms: int) -> str:
    """The smallest ULID minted at millisecond ``ms``: ``id >= ulid_floor(t)`` selects ids from ``t`` on."""
    return _encode(max(ms, 0), 0)
