"""Cron triggers at work: each cron of each registered function keeps one queue item, due at its
next tick, which starts a run with an ``inngest/scheduled.timer`` event and queues the tick after."""

from __future__ import annotations

import hashlib

from inngest_serverless.core.wire import InternalEvent

from .clock import TimeSource
from .cron import next_fire
from .functions import FunctionConfig
from .ingest import Ingest
from .queue import Item, Kind, Queue
from .registry import Registry
from .scheduling import Scheduler
from .timefmt import rfc3339


class CronTicks:
    def __init__(self, clock: TimeSource, queue: Queue, registry: Registry, ingest: Ingest, scheduler: Scheduler) -> None:
        self.clock = clock
        self.queue = queue
        self.registry = registry
        self.ingest = ingest
        self.scheduler = scheduler

    def sync(self) -> None:
        """Queue the next tick of every cron (a tick already queued stays as it is)."""
        now = self.clock.now()
        for fn in self.registry.functions():
            for expression in fn.crons:
                self._push(fn, expression, now)

    def _push(self, fn: FunctionConfig, expression: str, after: float) -> None:
        try:
            tick = next_fire(expression, after)
        except ValueError:
            return
        self.queue.push(
            Kind.CRON,
            run_id=None,
            at=tick,
            job_id=f"cron:{fn.uuid}:{fn.version}:{expression}:{tick}",
            payload={"fn": fn.uuid, "version": fn.version, "cron": expression, "tick": tick},
        )

    def fire(self, item: Item) -> None:
        self.queue.delete(item)
        fn = self.registry.function(item.payload["fn"])
        expression = item.payload["cron"]
        if fn is None or fn.version != item.payload["version"] or expression not in fn.crons:
            return  # the function changed: its new version runs its own loop
        tick = float(item.payload["tick"])
        scheduled = rfc3339(tick)
        fire_at = self.clock.now()  # this item fires at the tick (or late, after downtime: no catch-up)
        jitter = fn.cron_jitter.get(expression, 0.0)
        if jitter:  # deterministic per tick, between 1 s and the jitter
            seed = int(hashlib.sha256(f"{fn.uuid}:{expression}:{tick}".encode()).hexdigest()[:8], 16)
            fire_at += 1.0 + (seed / 0xFFFFFFFF) * max(jitter - 1.0, 0.0)
        event = {
            "name": InternalEvent.SCHEDULED_TIMER,
            "id": scheduled,
            "ts": int(fire_at * 1000),
            "data": {"cron": expression, "scheduledAt": scheduled, "fireAt": rfc3339(fire_at)},
            "user": {},
        }
        internal_id, _ = self.ingest.store_event(event)
        self.scheduler.schedule(fn, [event], [internal_id], scheduled, cron=expression, at=fire_at)
        self._push(fn, expression, tick + 0.001)
