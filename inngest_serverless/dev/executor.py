"""The executor: the parts of the embedded server wired together, and the worker loop that works
the queue. Data flows one way through the parts, each built from the collaborators it uses:

* repositories, the only holders of SQL: ``store.py`` (the database, its transactions and a
  key/value table), ``queue.py`` (due items and their leases), ``runs.py`` (runs, memoized steps,
  history), ``registry.py`` (apps and functions), ``pause_store.py`` (waits), ``event_log.py``
  (received events);
* ``clock.py`` (the time), ``ids.py`` (ULIDs on that time), ``calls.py`` (the transport to apps);
* ``ingest.py``: events in, and what they start, resume or cancel;
* ``scheduling.py``: runs created under rate limit, idempotency, singleton, priority, concurrency
  and throttle (``flow.py`` evaluates their keys); ``buffers.py``: debounce and batches;
* ``runner.py``: one queue item's call to the app, retries, and its reply's opcodes applied
  through the table in ``opcodes.py``; ``discovery.py``: the call that follows a finished step;
* ``pauses.py``: waits for events, invokes and signals, and their timeouts;
  ``checkpoints.py``: steps stored in the middle of a call;
* ``lifecycle.py``: the end of runs (completion, failure, cancellation, timeouts) and the events
  it sends; ``cron_ticks.py``: cron triggers;
* ``http_api.py`` / ``server.py``: the HTTP API and ``DevServer``, outside this wiring (the
  dashboard shares only ``http_base.py`` with the API).

Two ways to drive it: ``start()`` runs worker threads (the dev server), or the caller works the
queue in its own thread with no threads started: ``prepare()`` once, then ``run_due()`` whenever
the clock has moved, with ``next_due()`` telling when there will be work again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from . import calls, console, expressions
from .buffers import Buffers
from .checkpoints import Checkpoints
from .clock import SystemClock, TimeSource
from .cron_ticks import CronTicks
from .discovery import Discovery
from .event_log import EventLog
from .functions import SyncRefused
from .ids import Ulids
from .ingest import EventError, Ingest
from .lifecycle import Lifecycle
from .opcodes import OpTable
from .options import Options
from .pause_store import PauseStore
from .pauses import Pauses
from .queue import CALLS_SDK, Item, Kind, Queue
from .registry import Registry
from .runner import StepRunner, backoff
from .runs import Runs, Status
from .scheduling import Scheduler
from .store import Store

__all__ = ["EventError", "Executor", "Options"]

log = logging.getLogger("inngest_serverless.dev")

LOCAL_ATTEMPTS = 3  # tries of a timer, cron tick or buffer flush whose handling raised


class Executor:
    """The executor on ``store``. ``clock`` tells it the time (a ``SystemClock`` by default; a
    ``VirtualClock`` in tests) and ``transport`` makes its calls to apps (HTTP by default)."""

    def __init__(
        self,
        store: Store,
        options: Options | None = None,
        *,
        clock: TimeSource | None = None,
        transport: calls.Transport | None = None,
    ) -> None:
        self.store = store
        self.options = options = options or Options()
        self.clock = clock = clock or SystemClock()
        self.transport: calls.Transport = transport or calls.request
        self.ids = ids = Ulids(clock)
        # Repositories.
        self.queue = queue = Queue(store, clock)
        self.runs = runs = Runs(store, clock)
        self.registry = registry = Registry(store, clock)
        self.events = EventLog(store)
        pause_rows = PauseStore(store)
        # Parts, each from what it uses. Ending a run sends events, which ingestion (built last)
        # takes in: the one late-bound edge.
        self.lifecycle = lifecycle = Lifecycle(store, clock, runs, queue, pause_rows, self._emit)
        discovery = Discovery(runs, queue, clock)
        self.buffers = buffers = Buffers(store, clock, ids, queue, registry.function, options.debounce_buffer)
        self.scheduler = scheduler = Scheduler(store, clock, ids, runs, queue, pause_rows, buffers, lifecycle)
        self.pauses = pauses = Pauses(store, clock, runs, queue, pause_rows, registry.function, discovery, lifecycle)
        in_flight: set[str] = set()
        self.checkpoints = Checkpoints(store, clock, runs, queue, in_flight)
        table = OpTable(clock, runs, queue, discovery, pauses)
        self.runner = StepRunner(
            store=store,
            clock=clock,
            ids=ids,
            runs=runs,
            queue=queue,
            function=registry.function,
            lifecycle=lifecycle,
            discovery=discovery,
            ops=table,
            options=options,
            transport=self.transport,
            in_flight=in_flight,
            emit=self._emit,
        )
        self.ingest = ingest = Ingest(store, clock, ids, self.events, registry, scheduler, buffers, pauses, lifecycle)
        self.crons = CronTicks(clock, queue, registry, ingest, scheduler)
        # What each kind of local (not an SDK call) queue item does.
        self._local: dict[str, Callable[[Item], None]] = {
            Kind.PAUSE_TIMEOUT: pauses.pause_timeout,
            Kind.START_TIMEOUT: lifecycle.timeout,
            Kind.FINISH_TIMEOUT: lifecycle.timeout,
            Kind.CRON: self.crons.fire,
            Kind.DEBOUNCE: lambda item: scheduler.release(buffers.debounce_fire(item)),
            Kind.BATCH: lambda item: scheduler.release(buffers.batch_fire(item)),
        }
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def _emit(self, events: list[dict[str, Any]]) -> None:
        self.ingest.send(events, internal=True)

    # ------------------------------------------------------------------ driving it

    def prepare(self) -> None:
        """Ready the store for work: ids after the stored ones, leases of a previous process
        recovered, every cron's next tick queued. ``start()`` calls it; a caller that drives the
        executor with ``run_due()`` calls it once first."""
        for last in (self.runs.last_id(), self.events.last_id()):
            if last:
                self.ids.not_before(last)
        self.queue.recover()
        self.crons.sync()

    def start(self) -> None:
        self.prepare()
        for index in range(self.options.workers):
            thread = threading.Thread(target=self._work, name=f"executor-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        self.queue.notify(len(self._threads))
        deadline = time.monotonic() + 5  # a worker stuck in an app call is a daemon: let it go
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    def run_due(self, now: float | None = None) -> int:
        """Process, in the calling thread, every queue item due at ``now`` (the clock's time by
        default), including those that fall due at once as a result; returns how many.

        Items due later (a sleep, a retry's backoff, a throttled start) stay queued: move the
        clock to ``next_due()`` and call again. A ``now`` past the clock works up to it without
        moving the clock, and what that work queues or records is timed by the clock (a wait's
        timeout counts from the clock's time): to let time pass, move the clock instead.
        """
        count = 0
        while True:
            at = self.clock.now() if now is None else max(now, self.clock.now())
            item = self.queue.claim(at)
            if item is None:
                return count
            self._handle(item)
            count += 1

    def next_due(self) -> float | None:
        """When the earliest queued item is due (None when nothing is queued)."""
        return self.queue.earliest()

    def _work(self) -> None:
        while not self._stopping.is_set():
            generation = self.queue.generation
            try:
                item = self.queue.claim()
                if item is None:
                    self.queue.wait(generation, self.options.max_wait)
                    continue
            except Exception:
                if self._stopping.is_set():
                    return  # the store closed under a stopping worker
                log.exception("queue claim failed")
                time.sleep(0.1)
                continue
            self._handle(item)

    def _handle(self, item: Item) -> None:
        """Process one leased item; an exception becomes a bounded outcome, never a lost item."""
        try:
            with expressions.clock_of(self.clock.now):
                self._process(item)
        except Exception as exc:
            if self._stopping.is_set():
                return  # its lease is recovered on the next start
            log.exception("queue item %s (%s) failed", item.id, item.kind)
            self._process_failed(item, exc)
        finally:
            with contextlib.suppress(Exception):
                self.queue.release(item)

    def _process(self, item: Item) -> None:
        if item.kind in CALLS_SDK:
            self.runner.execute(item)
        else:
            # Local work: one transaction, so a crash leaves the item to redo.
            with self.store.tx():
                self._local.get(item.kind, self.queue.delete)(item)

    def _process_failed(self, item: Item, exc: Exception) -> None:
        """Handling an item raised (the store refused a reply's data, a bug): a bounded outcome.

        The failure counts as an attempt of the item, retried with the usual backoff; when the
        attempts run out the item is dropped and its run fails, saying why. Retrying at once,
        forever, would run the app's step bodies again and again while the run stayed Running.
        """
        attempts = int(item.payload.get("max_attempts") or 1) if item.kind in CALLS_SDK else LOCAL_ATTEMPTS
        try:
            if item.attempt + 1 < attempts:
                at = self.clock.now() + backoff(item.attempt, self.options.retry_interval)
                self.queue.reschedule(item, at, item.attempt + 1)
                return
            self.queue.delete(item)
        except Exception:
            log.exception("queue item %s could not be rescheduled or dropped", item.id)
            return  # still leased: the next start recovers it
        if not item.run_id:
            return
        error = {"name": "InngestErrExecutor", "message": f"the executor failed handling this run: {exc!r}"[:1000]}
        try:
            self.lifecycle.finalize(item.run_id, Status.FAILED, error=error)
        except Exception:  # even the end of the run cannot be stored with its events: end it alone
            log.exception("run %s could not be finalized with its events", item.run_id)
            with contextlib.suppress(Exception):
                self.lifecycle.end_alone(item.run_id, error)

    # ------------------------------------------------------------------ what the HTTP API, CLI and tests call

    def register(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply a ``POST /fn/register`` body; SyncRefused for a payload the server would refuse."""
        try:
            result = self.registry.register(payload)
        except SyncRefused as exc:
            console.sync_refused(payload, str(exc))
            fields = {str(k).lower(): v for k, v in payload.items()}
            self.registry.record_sync(str(fields.get("url") or ""), f"sync refused: {exc}")
            raise
        self.crons.sync()
        return result

    def send(self, events: list[Any], *, internal: bool = False, seed: str | None = None) -> list[str]:
        """Ingest events; returns their internal ids. EventError for a bad one (earlier ones stay sent)."""
        with expressions.clock_of(self.clock.now):
            return self.ingest.send(events, internal=internal, seed=seed)

    def cancel(self, run_id: str, reason: str = "cancelled") -> bool:
        """Cancel a live run. False when it had already ended."""
        return self.lifecycle.cancel(run_id, reason)
