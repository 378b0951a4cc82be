"""Events held back before a run starts: debounce (the last event of a quiet period starts one run)
and batching (events gathered until the batch is full or its timeout passes).

Each buffer lives in the store's key/value table, with one queue item that fires it. A buffer
that fires hands back what to start (``Held``); the scheduler starts it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from . import console
from .clock import TimeSource
from .flow import flow_key
from .functions import FunctionConfig
from .ids import Ulids
from .queue import Item, Kind, Queue
from .store import Store
from .timefmt import parse_duration

DEFAULT_BATCH_TIMEOUT = "60s"


@dataclasses.dataclass
class Held:
    """Events a buffer released: one run of ``fn`` to start."""

    fn: FunctionConfig
    events: list[dict[str, Any]]
    event_ids: list[str]
    idempotency: str
    batch_id: str | None = None  # None: a debounced event


class Buffers:
    def __init__(
        self,
        store: Store,
        clock: TimeSource,
        ids: Ulids,
        queue: Queue,
        function: Callable[[str], FunctionConfig | None],
        debounce_buffer: float,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids
        self.queue = queue
        self.function = function
        self.debounce_buffer = debounce_buffer

    def debounce(self, fn: FunctionConfig, event: dict[str, Any], internal_id: str) -> None:
        assert fn.debounce is not None
        now = self.clock.now()
        key = flow_key(fn, fn.debounce.get("key"), event) or fn.uuid
        period = parse_duration(fn.debounce.get("period"))
        state_key = f"debounce:{key}"
        with self.store.tx():
            state = self.store.kv_get(state_key, now)
            if state is None:
                timeout = fn.debounce.get("timeout")
                deadline = now + parse_duration(timeout) if timeout else None
                state = {"fn": fn.uuid, "event": event, "event_id": internal_id, "deadline": deadline}
            elif float(event.get("ts") or 0) < float(state["event"].get("ts") or 0):
                return  # out of order: the newer stored event stays
            else:
                state.update(event=event, event_id=internal_id)
            fire = now + period + self.debounce_buffer
            if state["deadline"] is not None:
                fire = min(fire, state["deadline"])
            self.store.kv_set(state_key, state)
            job = f"debounce:{key}"
            self.queue.delete_job(job, leased_too=False)
            self.queue.push(Kind.DEBOUNCE, run_id=None, at=fire, job_id=job, payload={"key": state_key})

    def _pop(self, item: Item) -> tuple[Any, FunctionConfig | None]:
        """Take the debounce or batch state a fired item points at."""
        with self.store.tx():
            state = self.store.kv_get(item.payload["key"], self.clock.now())
            self.store.kv_delete(item.payload["key"])
            self.queue.delete(item)
        return state, self.function(state["fn"]) if state else None

    def debounce_fire(self, item: Item) -> Held | None:
        state, fn = self._pop(item)
        if not (state and fn):
            return None
        event = state["event"]
        return Held(fn, [event], [state["event_id"]], str(event["id"]))

    def batch_append(self, fn: FunctionConfig, event: dict[str, Any], internal_id: str) -> Held | None:
        """Add an event to its batch; the batch when this event filled it."""
        assert fn.batch is not None
        now = self.clock.now()
        key = flow_key(fn, fn.batch.get("key"), event) or fn.uuid
        state_key = f"batch:{key}"
        with self.store.tx():
            state = self.store.kv_get(state_key, now)
            if state is None:
                state = {"fn": fn.uuid, "id": self.ids.new(), "events": [], "event_ids": []}
                timeout = parse_duration(fn.batch.get("timeout") or DEFAULT_BATCH_TIMEOUT)
                self.queue.push(Kind.BATCH, run_id=None, at=now + timeout, job_id=state_key, payload={"key": state_key})
            if internal_id not in state["event_ids"]:
                state["events"].append(event)
                state["event_ids"].append(internal_id)
            self.store.kv_set(state_key, state)
            full = len(state["events"]) >= int(fn.batch["maxSize"])
            if full:
                self.store.kv_delete(state_key)
                self.queue.delete_job(state_key)
        if full:
            return self._batch(fn, state)
        size, most = len(state["events"]), fn.batch["maxSize"]
        limit = fn.batch.get("timeout") or DEFAULT_BATCH_TIMEOUT
        why = f"held in {fn.slug}'s batch ({size} of {most}; it runs when full or {limit} after its first event)"
        console.event(event, internal_id, why)
        return None

    def batch_fire(self, item: Item) -> Held | None:
        state, fn = self._pop(item)
        if state and fn and state["events"]:
            return self._batch(fn, state)
        return None

    @staticmethod
    def _batch(fn: FunctionConfig, state: dict[str, Any]) -> Held:
        return Held(fn, state["events"], state["event_ids"], f"{fn.uuid}-{state['id']}", batch_id=state["id"])
