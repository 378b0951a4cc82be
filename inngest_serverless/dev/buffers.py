"""Events held back before a run starts: debounce (EXECUTOR.md §6.4) and batching (§6.5).

Each buffer lives in the store's key/value table, with one queue item that fires it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import console
from .queue import Item, Kind
from .timefmt import parse_duration

DEFAULT_BATCH_TIMEOUT = "60s"

if TYPE_CHECKING:
    from .executor import Executor
    from .functions import FunctionConfig


class Buffers:
    def __init__(self, executor: Executor) -> None:
        self.ex = executor

    def debounce(self, fn: FunctionConfig, event: dict[str, Any], internal_id: str) -> None:
        assert fn.debounce is not None
        now = self.ex.clock.now()
        key = self.ex.key(fn, fn.debounce.get("key"), event) or fn.uuid
        period = parse_duration(fn.debounce.get("period"))
        state_key = f"debounce:{key}"
        with self.ex.store.tx():
            state = self.ex.store.kv_get(state_key, now)
            if state is None:
                timeout = fn.debounce.get("timeout")
                deadline = now + parse_duration(timeout) if timeout else None
                state = {"fn": fn.uuid, "event": event, "event_id": internal_id, "deadline": deadline}
            elif float(event.get("ts") or 0) < float(state["event"].get("ts") or 0):
                return  # out of order: the newer stored event stays
            else:
                state.update(event=event, event_id=internal_id)
            fire = now + period + self.ex.options.debounce_buffer
            if state["deadline"] is not None:
                fire = min(fire, state["deadline"])
            self.ex.store.kv_set(state_key, state)
            job = f"debounce:{key}"
            self.ex.store.conn.execute("DELETE FROM queue WHERE job_id=? AND leased=0", (job,))
            self.ex.queue.push(Kind.DEBOUNCE, run_id=None, at=fire, job_id=job, payload={"key": state_key})

    def _pop(self, item: Item) -> tuple[Any, FunctionConfig | None]:
        """Take the debounce or batch state a fired item points at."""
        with self.ex.store.tx():
            state = self.ex.store.kv_get(item.payload["key"], self.ex.clock.now())
            self.ex.store.kv_delete(item.payload["key"])
            self.ex.queue.delete(item)
        return state, self.ex.function(state["fn"]) if state else None

    def debounce_fire(self, item: Item) -> None:
        state, fn = self._pop(item)
        if state and fn:
            event = state["event"]
            self.ex.schedule(fn, [event], [state["event_id"]], str(event["id"]), debounced=True)

    def batch_append(self, fn: FunctionConfig, event: dict[str, Any], internal_id: str) -> None:
        assert fn.batch is not None
        now = self.ex.clock.now()
        key = self.ex.key(fn, fn.batch.get("key"), event) or fn.uuid
        state_key = f"batch:{key}"
        with self.ex.store.tx():
            state = self.ex.store.kv_get(state_key, now)
            if state is None:
                state = {"fn": fn.uuid, "id": self.ex.ids.new(), "events": [], "event_ids": []}
                timeout = parse_duration(fn.batch.get("timeout") or DEFAULT_BATCH_TIMEOUT)
                self.ex.queue.push(Kind.BATCH, run_id=None, at=now + timeout, job_id=state_key, payload={"key": state_key})
            if internal_id not in state["event_ids"]:
                state["events"].append(event)
                state["event_ids"].append(internal_id)
            self.ex.store.kv_set(state_key, state)
            full = len(state["events"]) >= int(fn.batch["maxSize"])
            if full:
                self.ex.store.kv_delete(state_key)
                self.ex.queue.delete_job(state_key)
        if full:
            self._run_batch(fn, state)
        else:
            size, most = len(state["events"]), fn.batch["maxSize"]
            limit = fn.batch.get("timeout") or DEFAULT_BATCH_TIMEOUT
            why = f"held in {fn.slug}'s batch ({size} of {most}; it runs when full or {limit} after its first event)"
            console.event(event, internal_id, why)

    def batch_fire(self, item: Item) -> None:
        state, fn = self._pop(item)
        if state and fn and state["events"]:
            self._run_batch(fn, state)

    def _run_batch(self, fn: FunctionConfig, state: dict[str, Any]) -> None:
        self.ex.schedule(fn, state["events"], state["event_ids"], f"{fn.uuid}-{state['id']}", batch_id=state["id"])
