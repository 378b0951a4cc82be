"""Cron schedules are read in UTC unless a ``TZ=`` prefix names a zone, whatever the machine's zone."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from inngest_serverless.dev.cron import next_fire

NOON_UTC = dt.datetime(2026, 3, 14, 12, 0, tzinfo=dt.timezone.utc).timestamp()


@pytest.fixture(params=["America/New_York", "Asia/Kathmandu", "UTC"])
def machine_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield str(request.param)
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_a_schedule_without_prefix_is_utc(machine_zone: str) -> None:
    fire = dt.datetime.fromtimestamp(next_fire("30 9 * * *", NOON_UTC), dt.timezone.utc)
    assert (fire.day, fire.hour, fire.minute) == (15, 9, 30)


@pytest.mark.parametrize("prefix", ["TZ", "CRON_TZ"])
def test_a_prefix_names_the_zone(machine_zone: str, prefix: str) -> None:
    fire = dt.datetime.fromtimestamp(next_fire(f"{prefix}=Asia/Kathmandu 30 9 * * *", NOON_UTC), ZoneInfo("Asia/Kathmandu"))
    assert (fire.day, fire.hour, fire.minute) == (15, 9, 30)  # 17:45 there at noon UTC, so the next day
