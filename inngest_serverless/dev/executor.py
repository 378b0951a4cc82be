"""The executor: events in, runs scheduled under flow control, queue items worked, runs finalized.

EXECUTOR.md (the Inngest server's semantics) is the specification; section numbers refer to it.
This module ties the parts together and owns events, cron and the end of runs. The parts:

* ``store.py`` / ``queue.py`` / ``runs.py``: SQLite state, the queue and its workers' claims, run rows;
* ``registry.py``: registered apps and functions (``functions.py`` reads one function's config);
* ``scheduling.py``: creating runs under rate limit, singleton, priority, concurrency, throttle;
* ``buffers.py``: debounce and batching;
* ``steps.py``: calling the app and interpreting its opcodes, retries;
* ``pauses.py``: waits, invokes, signals, cancel-on events, timeouts, checkpoints;
* ``api.py`` / ``server.py``: the HTTP API and ``DevServer``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import random
import threading
import time
from typing import Any

from inngest_serverless.core.wire import InternalEvent

from . import calls, console, expressions, payloads
from .buffers import Buffers
from .clock import SystemClock, TimeSource
from .cron import next_fire
from .functions import FunctionConfig, SyncRefused
from .ids import Ulids, seeded_ulids
from .pauses import Pauses
from .queue import CALLS_SDK, Item, Kind, Queue
from .registry import Registry
from .runs import Run, Runs, Status
from .scheduling import Scheduler
from .store import Store, dumps
from .timefmt import rfc3339

log = logging.getLogger("inngest_serverless.dev")

BACKOFF_TABLE = (15, 30, 60, 120, 300, 600, 1200, 2400, 3600, 7200)
MAX_EVENT_BYTES = 3 * 1024 * 1024
MAX_EVENTS_PER_REQUEST = 5000
SEND_CHUNK = 250  # events stored per transaction
LOCAL_ATTEMPTS = 3  # tries of a timer, cron tick or buffer flush whose handling raised
_TS_MIN_MS = 315532800000  # 1980-01-01
_TS_MAX_MS = 4102444800000  # 2100-01-01
_INTERNAL_PREFIX = "inngest/"
_NO_LIFECYCLE_EVENTS = frozenset({InternalEvent.FUNCTION_FAILED, InternalEvent.FUNCTION_FINISHED})


class EventError(ValueError):
    """An event the event API refuses (400)."""


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


class Executor:
    """The executor on ``store``. ``clock`` tells it the time (a ``SystemClock`` by default; a
    ``VirtualClock`` in tests) and ``transport`` makes its calls to apps (HTTP by default).

    Two ways to drive it: ``start()`` runs worker threads (the dev server), or the caller drives
    it in its own thread, with no threads started: ``prepare()`` once, then ``run_due()`` whenever
    the clock has moved, with ``next_due()`` telling when there will be work again.
    """

    def __init__(
        self,
        store: Store,
        options: Options | None = None,
        *,
        clock: TimeSource | None = None,
        transport: calls.Transport | None = None,
    ) -> None:
        self.store = store
        self.options = options or Options()
        self.clock: TimeSource = clock or SystemClock()
        self.transport: calls.Transport = transport or calls.request
        self.ids = Ulids(self.clock)
        self.queue = Queue(store, self.clock)
        self.runs = Runs(store, self.clock)
        self.registry = Registry(store, self.clock)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        from .steps import StepRunner  # the op interpreter needs the executor to exist

        self.steps = StepRunner(self)
        self.buffers = Buffers(self)
        self.scheduler = Scheduler(self)
        self.pauses = Pauses(self.steps)

    # ------------------------------------------------------------------ lifecycle

    def prepare(self) -> None:
        """Ready the store for work: ids after the stored ones, leases of a previous process
        recovered, every cron's next tick queued. ``start()`` calls it; a caller that drives the
        executor with ``run_due()`` calls it once first."""
        for table, column in (("runs", "id"), ("events", "internal_id")):
            row = self.store.one(f"SELECT MAX({column}) FROM {table}")
            if row is not None and row[0]:
                self.ids.not_before(str(row[0]))
        self.queue.recover()
        self._sync_crons()

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
            self._process(item)
        except Exception as exc:
            if self._stopping.is_set():
                return  # its lease is recovered on the next start
            log.exception("queue item %s (%s) failed", item.id, item.kind)
            self._process_failed(item, exc)
        finally:
            with contextlib.suppress(Exception):
                self.queue.release(item)

    def run_due(self, now: float | None = None) -> int:
        """Process, in the calling thread, every queue item due at ``now`` (the clock's time by
        default), including those that fall due at once as a result; returns how many.

        Items due later (a sleep, a retry's backoff, a throttled start) stay queued: move the
        clock to ``next_due()`` and call again.
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

    def _process(self, item: Item) -> None:
        if item.kind in CALLS_SDK:
            self.steps.execute(item)
            return
        # Everything else is local work: one transaction, so a crash leaves the item to redo.
        with self.store.tx():
            self._process_local(item)

    def _process_failed(self, item: Item, exc: Exception) -> None:
        """Handling an item raised (the store refused a reply's data, a bug): a bounded outcome.

        The failure counts as an attempt of the item, retried with the usual backoff; when the
        attempts run out the item is dropped and its run fails, saying why. Retrying at once,
        forever, would run the app's step bodies again and again while the run stayed Running.
        """
        attempts = int(item.payload.get("max_attempts") or 1) if item.kind in CALLS_SDK else LOCAL_ATTEMPTS
        try:
            if item.attempt + 1 < attempts:
                self.queue.reschedule(item, self.clock.now() + self.backoff(item.attempt), item.attempt + 1)
                return
            self.queue.delete(item)
        except Exception:
            log.exception("queue item %s could not be rescheduled or dropped", item.id)
            return  # still leased: the next start recovers it
        if not item.run_id:
            return
        error = {"name": "InngestErrExecutor", "message": f"the executor failed handling this run: {exc!r}"[:1000]}
        try:
            self.finalize(item.run_id, Status.FAILED, error=error)
        except Exception:  # even the end of the run cannot be stored with its events: end it alone
            log.exception("run %s could not be finalized with its events", item.run_id)
            with contextlib.suppress(Exception):
                self._end_alone(item.run_id, error)

    def _end_alone(self, run_id: str, error: dict[str, Any]) -> None:
        self.store.run_sql(
            "UPDATE runs SET status=?, ended_at=?, error=? WHERE id=? AND status=?",
            Status.FAILED,
            self.clock.now(),
            dumps(error),
            run_id,
            Status.RUNNING,
        )

    def _process_local(self, item: Item) -> None:
        if item.kind == Kind.PAUSE_TIMEOUT:
            self.pauses.pause_timeout(item)
        elif item.kind in (Kind.START_TIMEOUT, Kind.FINISH_TIMEOUT):
            self._timeout(item)
        elif item.kind == Kind.CRON:
            self._cron(item)
        elif item.kind == Kind.DEBOUNCE:
            self.buffers.debounce_fire(item)
        elif item.kind == Kind.BATCH:
            self.buffers.batch_fire(item)
        else:
            self.queue.delete(item)

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number ``attempt + 1`` (§2.2)."""
        if self.options.retry_interval is not None:
            return self.options.retry_interval
        return BACKOFF_TABLE[min(attempt, len(BACKOFF_TABLE) - 1)] + random.uniform(0, 30)

    # ------------------------------------------------------------------ registry (§8.2)

    def functions(self) -> list[FunctionConfig]:
        return self.registry.functions()

    def function(self, uuid: str) -> FunctionConfig | None:
        return self.registry.function(uuid)

    def function_by_id(self, fn_id: str) -> FunctionConfig | None:
        return self.registry.by_id(fn_id)

    def register(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply a ``POST /fn/register`` body; SyncRefused for a payload the server would refuse."""
        try:
            result = self.registry.register(payload)
        except SyncRefused as exc:
            console.sync_refused(payload, str(exc))
            fields = {str(k).lower(): v for k, v in payload.items()}
            self.registry.record_sync(str(fields.get("url") or ""), f"sync refused: {exc}")
            raise
        self._sync_crons()
        return result

    def apps(self) -> list[dict[str, Any]]:
        return self.registry.apps()

    # ------------------------------------------------------------------ events (§1.1, §1.2)

    def send(self, events: list[Any], *, internal: bool = False, seed: str | None = None) -> list[str]:
        """Ingest events; returns their internal ids. EventError for a bad one (earlier ones stay sent).

        With ``seed`` (the ``x-inngest-event-id-seed`` header) the ids are derived from it, and an
        event whose id is already stored is a client's retry: it is acknowledged, not run again.
        """
        if len(events) > MAX_EVENTS_PER_REQUEST:
            raise EventError(f"Cannot have more than {MAX_EVENTS_PER_REQUEST} events in a batch")
        seeded = seeded_ulids(seed, len(events)) if seed else None
        valid: list[dict[str, Any]] = []
        refused: EventError | None = None
        for raw in events:
            try:
                valid.append(self._normalize(raw, internal))
            except EventError as exc:
                refused = exc  # the events before it are still sent, as the server does
                break
        ids: list[str] = []
        # Stored and dispatched in one transaction per chunk: an acknowledged event has its runs,
        # a batch does not pay a commit per event, and no transaction holds the store for long.
        for start in range(0, len(valid), SEND_CHUNK):
            with self.store.tx():
                for index in range(start, min(start + SEND_CHUNK, len(valid))):
                    event = valid[index]
                    internal_id, new = self._store_event(event, seeded[index] if seeded else None)
                    if new:
                        self._dispatch(event, internal_id)
                    ids.append(internal_id)
        if refused is not None:
            refused.args = (str(refused), ids)
            raise refused
        return ids

    def _store_event(self, event: dict[str, Any], internal_id: str | None = None) -> tuple[str, bool]:
        """Store an event under a new (or the seeded) internal id; False when that id was stored already."""
        internal_id = internal_id or self.ids.new()
        if not event.get("id"):
            event["id"] = internal_id
        inserted = self.store.run_sql(
            "INSERT OR IGNORE INTO events(internal_id, name, body, received_at) VALUES(?,?,?,?)",
            internal_id,
            event["name"],
            dumps(event),
            self.clock.now(),
        )
        return internal_id, inserted == 1

    def _normalize(self, raw: Any, internal: bool) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise EventError("Request body must contain an event object or an array of event objects")
        # The ingest limit is for clients. The executor's own events (function.finished, invoke)
        # are made of parts already bounded (events, a reply under 8 MiB), and the server does not
        # size-check them either: refusing one would leave its run unable to end.
        if not internal and payloads.encoded_size(raw) > MAX_EVENT_BYTES:
            raise EventError("Event is over the max size")
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise EventError("event name is empty")
        if not internal and name.lower().startswith(_INTERNAL_PREFIX):
            raise EventError("event name is reserved for internal use")
        data = raw.get("data")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise EventError("event data must be an object")
        data = dict(data)
        if not internal:
            data.pop("_inngest", None)
        event: dict[str, Any] = {"name": name, "data": data, "user": raw.get("user") or {}}
        ts = raw.get("ts") or 0
        if not isinstance(ts, (int, float)) or isinstance(ts, bool):
            raise EventError("event ts must be a number of milliseconds")
        if ts and not _TS_MIN_MS <= ts <= _TS_MAX_MS:
            raise EventError("event ts must lie between 1980 and 2100")
        event["ts"] = int(ts) if ts else int(self.clock.now() * 1000)
        if raw.get("id"):
            event["id"] = str(raw["id"])
        if raw.get("v"):
            event["v"] = raw["v"]
        return event

    def _dispatch(self, event: dict[str, Any], internal_id: str) -> None:
        event_vars = {"event": expressions.event_map(event)}
        if event["name"] == InternalEvent.FUNCTION_INVOKED:
            target = ((event.get("data") or {}).get("_inngest") or {}).get("fn_id", "")
            fn = self.function_by_id(str(target))
            if fn is None:
                self.invoke_failed(event, f"could not find function with ID: {target}")
            else:
                self.schedule(fn, [event], [internal_id], str(event["id"]))
        else:
            listened = False
            for fn in self.functions():
                triggers = fn.triggered_by(event["name"])
                listened = listened or bool(triggers)
                for expression in triggers:
                    if expressions.matches(expression, event_vars):
                        self._trigger(fn, event, internal_id)
                        break
                else:
                    if triggers:
                        filters = " or ".join(str(e) for e in triggers)
                        console.event(event, internal_id, f"no run of {fn.slug}: its trigger's if did not match: {filters}")
            if not listened and not event["name"].startswith(_INTERNAL_PREFIX) and not self._awaited(event["name"]):
                console.event(event, internal_id, f"no function is triggered by {event['name']}, and no run waits for it")
        self.pauses.match_pauses(event, internal_id)

    def _awaited(self, name: str) -> bool:
        """Whether some run waits for (or is cancelled by) an event of this name."""
        return self.store.one("SELECT 1 FROM pauses WHERE event=? LIMIT 1", name) is not None

    def _trigger(self, fn: FunctionConfig, event: dict[str, Any], internal_id: str) -> None:
        if fn.batch and expressions.matches(fn.batch.get("if"), {"event": expressions.event_map(event)}):
            self.buffers.batch_append(fn, event, internal_id)
        else:
            self.schedule(fn, [event], [internal_id], str(event["id"]))

    def invoke_failed(self, event: dict[str, Any], message: str) -> None:
        correlation = ((event.get("data") or {}).get("_inngest") or {}).get("correlation_id")
        if correlation:
            self.send(
                [
                    {
                        "name": InternalEvent.FUNCTION_FINISHED,
                        "data": {
                            "function_id": "",
                            "run_id": "",
                            "correlation_id": correlation,
                            "error": {"name": "Error", "message": message},
                        },
                    }
                ],
                internal=True,
            )

    # ------------------------------------------------------------------ scheduling (scheduling.py)

    def schedule(
        self, fn: FunctionConfig, events: list[dict[str, Any]], event_ids: list[str], idempotency: str, **options: Any
    ) -> str | None:
        """Create a run (or hand the event to debounce), honouring flow control. Returns the run id."""
        return self.scheduler.schedule(fn, events, event_ids, idempotency, **options)

    def key(self, fn: FunctionConfig, expression: Any, event: dict[str, Any]) -> str | None:
        return self.scheduler.key(fn, expression, event)

    def item_payload(self, fn: FunctionConfig, run: Run, edge: dict[str, Any]) -> dict[str, Any]:
        return self.scheduler.item_payload(fn, run, edge)

    # ------------------------------------------------------------------ timeouts (§6.9), cron (§7)

    def _timeout(self, item: Item) -> None:
        self.queue.delete(item)
        run = self.runs.get(item.run_id or "")
        if run is None or run.status != Status.RUNNING:
            return
        if item.kind == Kind.START_TIMEOUT and run.started_at is not None:
            return
        self.cancel(run.id, reason="timeout")

    def _sync_crons(self) -> None:
        now = self.clock.now()
        for fn in self.functions():
            for expression in fn.crons:
                self._push_cron(fn, expression, now)

    def _push_cron(self, fn: FunctionConfig, expression: str, after: float) -> None:
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

    def _cron(self, item: Item) -> None:
        self.queue.delete(item)
        fn = self.function(item.payload["fn"])
        expression = item.payload["cron"]
        if fn is None or fn.version != item.payload["version"] or expression not in fn.crons:
            return  # the function changed: its new version runs its own loop
        tick = float(item.payload["tick"])
        scheduled = rfc3339(tick)
        fire_at = self.clock.now()  # this item fires at the tick (or late, after downtime: no catch-up)
        jitter = fn.cron_jitter.get(expression, 0.0)
        if jitter:  # deterministic per tick, between 1 s and the jitter (§7)
            seed = int(hashlib.sha256(f"{fn.uuid}:{expression}:{tick}".encode()).hexdigest()[:8], 16)
            fire_at += 1.0 + (seed / 0xFFFFFFFF) * max(jitter - 1.0, 0.0)
        event = {
            "name": InternalEvent.SCHEDULED_TIMER,
            "id": scheduled,
            "ts": int(fire_at * 1000),
            "data": {"cron": expression, "scheduledAt": scheduled, "fireAt": rfc3339(fire_at)},
            "user": {},
        }
        internal_id, _ = self._store_event(event)
        self.schedule(fn, [event], [internal_id], scheduled, cron=expression, at=fire_at)
        self._push_cron(fn, expression, tick + 0.001)

    # ------------------------------------------------------------------ ending runs (§4, §5)

    def cancel(self, run_id: str, reason: str = "cancelled") -> bool:
        """Cancel a live run (API, CLI, cancel-on events, timeouts). False when it had already ended."""
        return self.finalize(run_id, Status.CANCELLED, reason=reason)

    def finalize(self, run_id: str, status: str, *, output: Any = None, error: Any = None, reason: str | None = None) -> bool:
        now = self.clock.now()
        with self.store.tx() as conn:
            updated = conn.execute(
                "UPDATE runs SET status=?, ended_at=?, output=?, error=? WHERE id=? AND status=?",
                (
                    status,
                    now,
                    None if output is None else dumps(output),
                    None if error is None else dumps(error),
                    run_id,
                    Status.RUNNING,
                ),
            ).rowcount
            if not updated:
                return False
            conn.execute("DELETE FROM queue WHERE run_id=?", (run_id,))
            conn.execute("DELETE FROM pauses WHERE run_id=?", (run_id,))
            run = self.runs.get(run_id)
            assert run is not None
            if run.meta.get("singleton"):
                conn.execute("DELETE FROM kv WHERE key=? AND value=?", (f"singleton:{run.meta['singleton']}", dumps(run_id)))
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
        self.send(events, internal=True)
