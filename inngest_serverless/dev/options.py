"""The executor's settings (the ``inngest-serverless dev`` flags and ``DevServer``'s keywords)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Options:
    signing_key: str | None = None
    event_keys: tuple[str, ...] = ()
    workers: int = 32
    # Linear retry delay in seconds with no jitter (``inngest dev --retry-interval``); None = the table.
    retry_interval: float | None = None
    call_timeout: float = 2 * 3600.0
    fetch_timeout: float = 300.0  # a whole step.fetch exchange, slow drip included
    poll_interval: float = 5.0
    max_wait: float = 1.0
    debounce_buffer: float = 0.05
