"""Durations and dates as the Inngest server parses them (str2duration, RFC 3339, Retry-After)."""

from __future__ import annotations

import datetime as dt
import email.utils
import re

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h|d|w)")

MAX_SLEEP_SECONDS = 366 * 86400.0
YEAR_SECONDS = 365 * 86400.0


class DurationError(ValueError):
    """A duration string the server would reject."""


def parse_duration(value: object) -> float:
    """Seconds in a str2duration string (``1d2h``, ``300ms``) or a number of milliseconds."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        raise DurationError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        return float(value) / 1000.0
    if not isinstance(value, str):
        raise DurationError(f"not a duration: {value!r}")
    text = value.strip()
    negative = text.startswith("-")
    text = text.lstrip("+-")
    if text == "0":
        return 0.0
    position, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != position:
            raise DurationError(f"not a duration: {value!r}")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(text) or position == 0:
        raise DurationError(f"not a duration: {value!r}")
    return -total if negative else total


def parse_date(value: str) -> float | None:
    """Unix seconds for an RFC 3339 / ISO / HTTP date, or None when the text is no date."""
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


def wake_time(value: object, now: float) -> float:
    """When a Sleep op (``opts.duration`` or its ``name``) or a wait timeout ends, in Unix seconds."""
    if isinstance(value, str) and len(value.strip()) >= 10:
        at = parse_date(value)
        if at is not None:
            return max(float(round(at)), now)
    return now + max(parse_duration(value), 0.0)


def retry_after(value: str | None, now: float) -> float | None:
    """The retry moment a ``Retry-After`` header asks for, clamped to 1 s .. 24 h from now.

    As the server does, seconds count from the current second (now truncated), so ``2`` means
    between 1 and 2 s from now, and a clamped moment is the current second plus the bound.
    """
    if not value:
        return None
    text = value.strip()
    second = float(int(now))
    at: float | None
    if len(text) <= 7 and text.isdigit() and int(text) > 0:
        at = second + int(text)
    else:
        at = parse_date(text)
    if at is None:
        return None
    if at - now > 86400.0:
        return second + 86400.0
    if at - now < 1.0:
        return second + 1.0
    return at


def rfc3339(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_ms(seconds: float) -> str:
    """A moment as the server's REST API writes one: UTC, milliseconds, ``Z``."""
    stamp = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
