"""The end of runs: completing, failing and cancelling them (timeouts included), and the system
events an ending sends (``inngest/function.finished``, ``.failed``, ``.cancelled``), which resume an
invoking parent and start ``on_failure`` handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inngest_serverless.core.wire import InternalEvent

from .clock import TimeSource
from .pause_store import PauseStore
from .queue import Item, Kind, Queue
from .runs import Run, Runs, Status
from .store import Store

# A run started by one of these ends without lifecycle events of its own: an on_failure handler's
# failure must not start another handler.
_NO_LIFECYCLE_EVENTS = frozenset({InternalEvent.FUNCTION_FAILED, InternalEvent.FUNCTION_FINISHED})

Emit = Callable[[list[dict[str, Any]]], object]
"""Sends the executor's own events (to event ingestion)."""


class Lifecycle:
    def __init__(self, store: Store, clock: TimeSource, runs: Runs, queue: Queue, pauses: PauseStore, emit: Emit) -> None:
        self.store = store
        self.clock = clock
        self.runs = runs
        self.queue = queue
        self.pauses = pauses
        self.emit = emit

    def cancel(self, run_id: str, reason: str = "cancelled") -> bool:
        """Cancel a live run (API, CLI, cancel-on events, timeouts). False when it had already ended."""
        return self.finalize(run_id, Status.CANCELLED, reason=reason)

    def finalize(self, run_id: str, status: str, *, output: Any = None, error: Any = None, reason: str | None = None) -> bool:
        """End a Running run with ``status``: its queue items and waits go, its events are sent."""
        now = self.clock.now()
        with self.store.tx():
            if not self.runs.end(run_id, status, now, output=output, error=error):
                return False
            self.queue.delete_run(run_id)
            self.pauses.delete_run(run_id)
            run = self.runs.get(run_id)
            assert run is not None
            if run.meta.get("singleton"):
                self.store.kv_delete(f"singleton:{run.meta['singleton']}", run_id)
            detail: dict[str, Any] = {}
            if output is not None:
                detail["output"] = output
            if error is not None:
                detail["error"] = error
            if reason:
                detail["reason"] = reason
            self.runs.log(run_id, status, started=now, ended=now, detail=detail or None)
            # In the same transaction, so a crash cannot lose the events that resume an invoking
            # parent or start an on_failure handler.
            self._finished_events(run, status, output, error)
        self.queue.notify()
        return True

    def end_alone(self, run_id: str, error: dict[str, Any]) -> None:
        """Fail a run with nothing else: for when even its ending, with its events, could not be stored."""
        self.runs.end(run_id, Status.FAILED, self.clock.now(), error=error)

    def timeout(self, item: Item) -> None:
        """A start or finish timeout fell due: cancel the run if it is still within its reach."""
        self.queue.delete(item)
        run = self.runs.get(item.run_id or "")
        if run is None or run.status != Status.RUNNING:
            return
        if item.kind == Kind.START_TIMEOUT and run.started_at is not None:
            return
        self.cancel(run.id, reason="timeout")

    def invoke_failed(self, event: dict[str, Any], message: str) -> None:
        """Answer an invoke that started no run: its parent gets ``message`` as the invoke's error."""
        correlation = ((event.get("data") or {}).get("_inngest") or {}).get("correlation_id")
        if correlation:
            finished = {
                "function_id": "",
                "run_id": "",
                "correlation_id": correlation,
                "error": {"name": "Error", "message": message},
            }
            self.emit([{"name": InternalEvent.FUNCTION_FINISHED, "data": finished}])

    def _finished_events(self, run: Run, status: str, output: Any, error: Any) -> None:
        first = run.events[0] if run.events else {}
        if first.get("name") in _NO_LIFECYCLE_EVENTS:
            return
        data: dict[str, Any] = {
            "function_id": run.fn_slug,
            "run_id": run.id,
            "event": first,
            "events": run.events,
            "_inngest": {"status": status},
        }
        if output is not None:
            data["result"] = output
        if error is not None:
            data["error"] = error
        if run.meta.get("correlation_id"):
            data["correlation_id"] = run.meta["correlation_id"]
        events: list[dict[str, Any]] = [{"name": InternalEvent.FUNCTION_FINISHED, "data": data}]
        if status == Status.FAILED:
            events.append({"name": InternalEvent.FUNCTION_FAILED, "id": run.id, "data": data})
        elif status == Status.CANCELLED:
            events.append({"name": InternalEvent.FUNCTION_CANCELLED, "id": run.id, "data": data})
        self.emit(events)
