"""The pytest plugin of inngest-serverless: the ``inngest_engine`` fixture.

pytest loads it in every run through the ``pytest11`` entry point, so it lives outside the
package and imports nothing of it until a test asks for the fixture: a run that does not use it
pays for this one small module and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from inngest_serverless.testing import TestEngine


@pytest.fixture
def inngest_engine() -> Iterator[Any]:
    """A factory of ``TestEngine``s (``inngest_engine(client, start=...)``), each closed after the test."""
    opened: list[TestEngine] = []

    def factory(app: Any, **options: Any) -> TestEngine:
        from inngest_serverless.testing import TestEngine

        engine = TestEngine(app, **options)
        opened.append(engine)
        return engine

    yield factory
    for engine in reversed(opened):
        engine.close()
