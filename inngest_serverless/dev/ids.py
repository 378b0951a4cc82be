"""Identifiers the executor mints: ULIDs for runs and events, stable UUIDs for apps and functions."""

from __future__ import annotations

import os
import threading
import time
import uuid

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0


def ulid(at_ms: int | None = None) -> str:
    """A monotonic ULID: later calls in this process always sort after earlier ones."""
    global _last_ms, _last_rand
    with _lock:
        ms = int(time.time() * 1000) if at_ms is None else at_ms
        if ms <= _last_ms:
            ms = _last_ms
            rand = _last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # leave room to increment
        _last_ms, _last_rand = ms, rand
    value = (ms << 80) | (rand & ((1 << 80) - 1))
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


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
