"""Cron schedules: 5-field expressions with an optional ``TZ=``/``CRON_TZ=`` prefix (UTC without one)."""

from __future__ import annotations

import datetime as dt


def next_fire(expression: str, after: float) -> float:
    """Unix seconds of the first tick strictly after ``after``; ValueError for a bad expression."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        from croniter import croniter  # type: ignore[import-untyped]  # lazy: only cron functions need it
    except ImportError:
        raise ValueError("cron triggers need croniter: pip install 'inngest-serverless[dev]'") from None

    text = expression.strip()
    # Without a prefix the server reads schedules in UTC, whatever the machine's zone.
    zone: dt.tzinfo = dt.timezone.utc
    if text.startswith(("TZ=", "CRON_TZ=")):
        prefix, _, text = text.partition(" ")
        try:
            zone = ZoneInfo(prefix.split("=", 1)[1])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone in {expression!r}") from exc
    text = text.strip()
    if len(text.split()) != 5 and not text.startswith("@"):
        raise ValueError("a cron expression needs 5 fields: minute hour day-of-month month day-of-week")
    if not croniter.is_valid(text):
        raise ValueError(f"not a cron expression: {text!r}")
    start = dt.datetime.fromtimestamp(after, zone)
    fire: dt.datetime = croniter(text, start).get_next(dt.datetime)
    return fire.timestamp()
