"""Fixtures for tests against the real Inngest server (harness.py has the processes and client).

* ``inngest_dev``    a fresh ``inngest dev`` per test (``--tick 50 --retry-interval 1``)
* ``pg``             PostgreSQL, one per module (each server gets a database of its own)
* ``redis_server``   Redis, one per test (it starts in milliseconds; nothing is shared)
* ``inngest_start``  a fresh ``inngest start`` per test on its default SQLite
* ``inngest_start_distributed``  the same on PostgreSQL + Redis

Every process is stopped by PID when its fixture ends, whether the test passed or not.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.real_server import harness

_db_numbers = itertools.count(1)


@pytest.fixture
def inngest_dev() -> Iterator[harness.InngestServer]:
    with harness.inngest_dev() as server:
        yield server


@pytest.fixture
def inngest_start() -> Iterator[harness.InngestServer]:
    with harness.inngest_start() as server:
        yield server


@pytest.fixture(scope="module")
def pg() -> Iterator[harness.Service]:
    with harness.postgres() as service:
        yield service


@pytest.fixture
def redis_server() -> Iterator[harness.Service]:
    with harness.redis() as service:
        yield service


@pytest.fixture
def inngest_start_distributed(pg: harness.Service, redis_server: harness.Service) -> Iterator[harness.InngestServer]:
    postgres_uri = harness.create_database(pg, f"inngest_{next(_db_numbers)}")
    with harness.inngest_start(postgres_uri=postgres_uri, redis_uri=redis_server.uri) as server:
        yield server
