"""The executor: events in, runs scheduled under flow control, queue items worked, runs finalized.

EXECUTOR.md (the Inngest server's semantics) is the specification; section numbers below refer
to it. What calls the app and interprets its opcodes lives in ``steps.py``.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from typing import Any

from inngest_serverless.core.wire import FAILURE_HANDLER_SUFFIX, InternalEvent

from . import expressions
from .buffers import Buffers
from .cron import next_fire
from .durations import YEAR_SECONDS, parse_duration, rfc3339
from .functions import Function
from .ids import stable_uuid, ulid
from .pauses import Pauses
from .queue import CALLS_SDK, Item, Kind, Queue, gcra
from .registry import Registry
from .runs import Run, Runs, Status
from .store import Store, dumps

log = logging.getLogger("inngest_serverless.dev")

BACKOFF_TABLE = (15, 30, 60, 120, 300, 600, 1200, 2400, 3600, 7200)
IDEMPOTENCY_SECONDS = 86400.0
MAX_EVENT_BYTES = 3 * 1024 * 1024
MAX_EVENTS_PER_REQUEST = 5000
_TS_MIN_MS = 315532800000  # 1980-01-01
_TS_MAX_MS = 4102444800000  # 2100-01-01
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
    poll_interval: float = 5.0
    max_wait: float = 1.0
    debounce_buffer: float = 0.05


class Executor:
    def __init__(self, store: Store, options: Options | None = None) -> None:
        self.store = store
        self.options = options or Options()
        self.queue = Queue(store)
        self.runs = Runs(store)
        self.registry = Registry(store)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        from .steps import StepRunner  # the op interpreter needs the executor to exist

        self.steps = StepRunner(self)
        self.buffers = Buffers(self)
        self.pauses = Pauses(self.steps)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.queue.recover()
        self._sync_crons()
        for index in range(self.options.workers):
            thread = threading.Thread(target=self._work, name=f"executor-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        self.queue.notify(len(self._threads))
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def _work(self) -> None:
        while not self._stopping.is_set():
            generation = self.queue.generation
            try:
                item = self.queue.claim()
            except Exception:
                log.exception("queue claim failed")
                time.sleep(0.1)
                continue
            if item is None:
                self.queue.wait(generation, self.options.max_wait)
                continue
            try:
                self._process(item)
            except Exception:
                log.exception("queue item %s (%s) failed; retrying", item.id, item.kind)
                self.queue.reschedule(item, time.time() + 1.0, item.attempt)
            finally:
                self.queue.release(item)

    def _process(self, item: Item) -> None:
        if item.kind in CALLS_SDK:
            self.steps.execute(item)
            return
        # Everything else is local work: one transaction, so a crash leaves the item to redo.
        with self.store.tx():
            self._process_local(item)

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

    def functions(self) -> list[Function]:
        return self.registry.functions()

    def function(self, uuid: str) -> Function | None:
        return self.registry.function(uuid)

    def function_by_id(self, fn_id: str) -> Function | None:
        return self.registry.by_id(fn_id)

    def register(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply a ``POST /fn/register`` body; ConfigError for a payload the server would refuse."""
        result = self.registry.register(payload)
        self._sync_crons()
        return result

    def apps(self) -> list[dict[str, Any]]:
        return self.registry.apps()

    # ------------------------------------------------------------------ events (§1.1, §1.2)

    def send(self, events: list[Any], *, internal: bool = False) -> list[str]:
        """Ingest events; returns their internal ids. EventError for a bad one (earlier ones stay sent)."""
        if len(events) > MAX_EVENTS_PER_REQUEST:
            raise EventError(f"Cannot have more than {MAX_EVENTS_PER_REQUEST} events in a batch")
        ids: list[str] = []
        for raw in events:
            try:
                event = self._normalize(raw, internal)
            except EventError as exc:
                exc.args = (str(exc), ids)
                raise
            # Stored and dispatched in one transaction: an acknowledged event has its runs.
            with self.store.tx():
                internal_id = self._store_event(event)
                self._dispatch(event, internal_id)
            ids.append(internal_id)
        return ids

    def _store_event(self, event: dict[str, Any]) -> str:
        internal_id = ulid()
        if not event.get("id"):
            event["id"] = internal_id
        self.store.run_sql(
            "INSERT INTO events(internal_id, name, body, received_at) VALUES(?,?,?,?)",
            internal_id,
            event["name"],
            dumps(event),
            time.time(),
        )
        return internal_id

    def _normalize(self, raw: Any, internal: bool) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise EventError("Request body must contain an event object or an array of event objects")
        if len(dumps(raw).encode()) > MAX_EVENT_BYTES:
            raise EventError("Event is over the max size")
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise EventError("event name is empty")
        if not internal and name.lower().startswith("inngest/"):
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
        event["ts"] = int(ts) if ts else int(time.time() * 1000)
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
                self._invoke_failed(event, f"could not find function with ID: {target}")
            else:
                self.schedule(fn, [event], [internal_id], str(event["id"]))
        else:
            for fn in self.functions():
                for expression in fn.triggered_by(event["name"]):
                    if expressions.matches(expression, event_vars):
                        self._trigger(fn, event, internal_id)
                        break
        self.pauses.match_pauses(event, internal_id)

    def _trigger(self, fn: Function, event: dict[str, Any], internal_id: str) -> None:
        if fn.batch and expressions.matches(fn.batch.get("if"), {"event": expressions.event_map(event)}):
            self.buffers.batch_append(fn, event, internal_id)
        else:
            self.schedule(fn, [event], [internal_id], str(event["id"]))

    def _invoke_failed(self, event: dict[str, Any], message: str) -> None:
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

    # ------------------------------------------------------------------ scheduling (§1.3, §6)

    def key(self, fn: Function, expression: Any, event: dict[str, Any]) -> str | None:
        """``<fn uuid>`` or ``<fn uuid>-<evaluated key>``; None when the key expression is false."""
        if not expression:
            return fn.uuid
        value = expressions.key_value(str(expression), {"event": expressions.event_map(event)})
        return None if value is None else f"{fn.uuid}-{value}"

    def schedule(
        self,
        fn: Function,
        events: list[dict[str, Any]],
        event_ids: list[str],
        idempotency: str,
        *,
        debounced: bool = False,
        batch_id: str | None = None,
        cron: str | None = None,
        at: float | None = None,
    ) -> str | None:
        """Create a run (or hand the event to debounce), honouring flow control. Returns the run id."""
        now = time.time()
        first = events[0]
        event_vars = {"event": expressions.event_map(first)}
        invoked = first["name"] == InternalEvent.FUNCTION_INVOKED
        if fn.rate_limit and not debounced and batch_id is None:
            key = self.key(fn, fn.rate_limit.get("key"), first)
            if key is not None and not self._rate_admit(fn, key, now):
                log.info("run of %s rate limited", fn.slug)
                if invoked:
                    self._invoke_failed(first, "invoked function is rate limited")
                return None
        if fn.debounce and not debounced:
            self.buffers.debounce(fn, first, event_ids[0])
            return None
        idem_key = f"idem:{fn.uuid}:{idempotency}"
        run_id = ulid()
        existing = self.store.kv_claim(idem_key, run_id, now + IDEMPOTENCY_SECONDS, now)
        if existing is not None:
            return str(existing).lstrip("-")
        singleton_key = None
        if fn.singleton:
            singleton_key = self.key(fn, fn.singleton.get("key"), first)
        if singleton_key is not None:
            holder = self.store.kv_get(f"singleton:{singleton_key}", now)
            holder_run = self.runs.get(holder) if holder else None
            if holder_run is not None and holder_run.status == Status.RUNNING:
                if str(fn.singleton.get("mode", "skip") if fn.singleton else "skip").lower() == "cancel":
                    self.cancel(holder_run.id)
                else:
                    self._record_skipped(fn, run_id, events, event_ids, now, "singleton")
                    return run_id
        priority = 0
        if fn.priority:
            value = expressions.evaluate(fn.priority, event_vars) if fn.priority else None
            if isinstance(value, int) and not isinstance(value, bool):
                priority = max(-43200, min(43200, value))
        ckeys = []
        for limit in fn.concurrency:
            scope = {"env": "env", "account": "account"}.get(limit.scope, fn.uuid)
            if limit.key:
                value = expressions.key_value(limit.key, event_vars)
                if value is None:
                    continue
                ckeys.append([f"{scope}:{limit.key}:{value}", limit.limit])
            else:
                ckeys.append([scope, limit.limit])
        meta: dict[str, Any] = {"idempotency": idempotency, "ckeys": ckeys, "priority": priority}
        correlation = ((first.get("data") or {}).get("_inngest") or {}).get("correlation_id") if invoked else None
        if correlation:
            meta["correlation_id"] = correlation
        if batch_id:
            meta["batch_id"] = batch_id
        if cron:
            meta["cron"] = cron
        if singleton_key:
            meta["singleton"] = singleton_key
        run = Run(
            id=run_id,
            fn_uuid=fn.uuid,
            fn_slug=fn.slug,
            status=Status.RUNNING,
            events=[self._call_event(e) for e in events],
            event_ids=list(event_ids),
            created_at=now,
            started_at=None,
            ended_at=None,
            output=None,
            error=None,
            version=-1,
            force_plan=False,
            pending=[],
            meta=meta,
        )
        start_at = at if at is not None else now if batch_id else max(now, float(first.get("ts") or 0) / 1000.0)
        with self.store.tx():
            self.runs.create(run)
            if singleton_key:
                self.store.kv_set(f"singleton:{singleton_key}", run_id)
            if batch_id is None:
                self._create_cancel_pauses(fn, run, now)
                if "start" in fn.timeouts:
                    self.queue.push(Kind.START_TIMEOUT, run_id=run_id, at=now + fn.timeouts["start"], payload={})
            self.queue.push(
                Kind.START,
                run_id=run_id,
                at=start_at,
                score=run.score,
                job_id=f"{fn.uuid}:{idempotency}",
                payload=self.item_payload(fn, run, {"outgoing": "", "incoming": "$trigger"}),
            )
            self.runs.log(run_id, "Scheduled", detail={"event": first["name"]})
        return run_id

    @staticmethod
    def _call_event(event: dict[str, Any]) -> dict[str, Any]:
        out = dict(event)
        out["user"] = out.get("user") or {}
        return out

    def item_payload(self, fn: Function, run: Run, edge: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {"edge": edge, "max_attempts": fn.max_attempts, "ckeys": run.meta.get("ckeys")}
        if fn.throttle and edge.get("incoming") == "$trigger":
            key = self.key(fn, fn.throttle.get("key"), run.events[0]) or fn.uuid
            limit = int(fn.throttle.get("limit") or 1) or 1
            payload["throttle"] = {
                "key": key,
                "limit": limit,
                "period": parse_duration(fn.throttle.get("period")),
                "burst": limit + int(fn.throttle.get("burst") or 0) - 1,
            }
        return payload

    def _record_skipped(
        self, fn: Function, run_id: str, events: list[dict[str, Any]], event_ids: list[str], now: float, why: str
    ) -> None:
        run = Run(
            run_id,
            fn.uuid,
            fn.slug,
            Status.SKIPPED,
            events,
            event_ids,
            now,
            None,
            now,
            None,
            None,
            -1,
            False,
            [],
            {"skip_reason": why},
        )
        self.runs.create(run)
        self.runs.log(run_id, "Skipped", detail={"reason": why})

    def _rate_admit(self, fn: Function, key: str, now: float) -> bool:
        assert fn.rate_limit is not None
        limit = int(fn.rate_limit.get("limit") or 1)
        period = parse_duration(fn.rate_limit.get("period"))
        with self.store.tx():
            state_key = f"ratelimit:{key}"
            admitted, tat, _ = gcra(self.store.kv_get(state_key, now), now, limit, period, limit // 10)
            if admitted:
                self.store.kv_set(state_key, tat, tat + period)
            return admitted

    def _create_cancel_pauses(self, fn: Function, run: Run, now: float) -> None:
        for entry in fn.cancel:
            event_name = str(entry.get("event") or "")
            if not event_name:
                continue
            timeout = parse_duration(entry.get("timeout")) if entry.get("timeout") else 365 * 86400.0
            expression = entry.get("if") or None
            pause_id = stable_uuid("cancel", run.id, event_name, expression or "")
            self.store.run_sql(
                "INSERT OR IGNORE INTO pauses(id, run_id, step_id, kind, event, expr, expires, data) VALUES(?,?,?,?,?,?,?,?)",
                pause_id,
                run.id,
                None,
                "cancel",
                event_name,
                expression,
                now + timeout,
                "{}",
            )

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
        now = time.time()
        for fn in self.functions():
            for expression in fn.crons:
                self._push_cron(fn, expression, now)

    def _push_cron(self, fn: Function, expression: str, after: float) -> None:
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
        event = {
            "name": InternalEvent.SCHEDULED_TIMER,
            "id": scheduled,
            "ts": int(time.time() * 1000),
            "data": {"cron": expression, "scheduledAt": scheduled, "fireAt": rfc3339(time.time())},
            "user": {},
        }
        internal_id = self._store_event(event)
        self.schedule(fn, [event], [internal_id], scheduled, cron=expression, at=time.time())
        self._push_cron(fn, expression, tick + 0.001)

    # ------------------------------------------------------------------ ending runs (§4, §5)

    def cancel(self, run_id: str, reason: str = "cancelled") -> bool:
        """Cancel a live run (API, CLI, cancel-on events, timeouts). False when it had already ended."""
        return self.finalize(run_id, Status.CANCELLED, reason=reason)

    def finalize(self, run_id: str, status: str, *, output: Any = None, error: Any = None, reason: str | None = None) -> bool:
        now = time.time()
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


def failure_handler_id(fn_slug: str) -> str:
    """The id SDKs give a function's on_failure handler."""
    return fn_slug + FAILURE_HANDLER_SUFFIX


__all__ = ["YEAR_SECONDS", "EventError", "Executor", "Options", "failure_handler_id"]
