"""Creating runs under the flow control checked at schedule time: rate limit and idempotency,
the debounce hand-off, singleton, priority, concurrency keys and throttle (the last two are
enforced when the queue hands items out, ``queue.py``)."""

from __future__ import annotations

from typing import Any

from inngest_serverless.core.wire import InternalEvent

from . import console, expressions
from .buffers import Buffers, Held
from .clock import TimeSource
from .flow import flow_key, item_payload
from .functions import FunctionConfig
from .ids import Ulids, stable_uuid
from .lifecycle import Lifecycle
from .pause_store import PauseStore
from .queue import Kind, Queue, gcra
from .runs import Run, Runs, Status
from .store import Store
from .timefmt import parse_duration

IDEMPOTENCY_SECONDS = 86400.0


class Scheduler:
    def __init__(
        self,
        store: Store,
        clock: TimeSource,
        ids: Ulids,
        runs: Runs,
        queue: Queue,
        pauses: PauseStore,
        buffers: Buffers,
        lifecycle: Lifecycle,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids
        self.runs = runs
        self.queue = queue
        self.pauses = pauses
        self.buffers = buffers
        self.lifecycle = lifecycle

    def release(self, held: Held | None) -> None:
        """Start the run a debounce or batch buffer released (if it released one)."""
        if held is None:
            return
        if held.batch_id is None:
            self.schedule(held.fn, held.events, held.event_ids, held.idempotency, debounced=True)
        else:
            self.schedule(held.fn, held.events, held.event_ids, held.idempotency, batch_id=held.batch_id)

    def schedule(
        self,
        fn: FunctionConfig,
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
        now = self.clock.now()
        first = events[0]
        event_vars = {"event": expressions.event_map(first)}
        invoked = first["name"] == InternalEvent.FUNCTION_INVOKED
        if fn.rate_limit and not debounced and batch_id is None:
            key = flow_key(fn, fn.rate_limit.get("key"), first)
            if key is not None and not self._rate_admit(fn, key, now):
                console.event(first, event_ids[0], f"no run of {fn.slug}: {self._rate_limit_reason(fn, key)}")
                if invoked:
                    self.lifecycle.invoke_failed(first, "invoked function is rate limited")
                return None
        if fn.debounce and not debounced:
            self.buffers.debounce(fn, first, event_ids[0])
            period = fn.debounce.get("period")
            console.event(first, event_ids[0], f"held by {fn.slug}'s debounce: its run starts {period} after the last such event")
            return None
        idem_key = f"idem:{fn.uuid}:{idempotency}"
        run_id = self.ids.new()
        existing = self.store.kv_claim(idem_key, run_id, now + IDEMPOTENCY_SECONDS, now)
        if existing is not None:
            earlier = str(existing).lstrip("-")
            why = f"event id {idempotency} already started run {earlier} (an event id starts one run per function per 24 h)"
            console.event(first, event_ids[0], f"no run of {fn.slug}: {why}")
            return earlier
        singleton_key = None
        if fn.singleton:
            singleton_key = flow_key(fn, fn.singleton.get("key"), first)
        if singleton_key is not None:
            holder = self.store.kv_get(f"singleton:{singleton_key}", now)
            holder_run = self.runs.get(holder) if holder else None
            if holder_run is not None and holder_run.status == Status.RUNNING:
                if str(fn.singleton.get("mode", "skip") if fn.singleton else "skip").lower() == "cancel":
                    self.lifecycle.cancel(holder_run.id)
                else:
                    self._record_skipped(fn, run_id, events, event_ids, now, "singleton")
                    why = f"skipped (run {run_id}): singleton run {holder_run.id} is still running"
                    console.event(first, event_ids[0], f"no run of {fn.slug}: {why}")
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
                payload=item_payload(fn, run, {"outgoing": "", "incoming": "$trigger"}),
            )
            self.runs.log(run_id, "Scheduled", detail={"event": first["name"]})
        return run_id

    @staticmethod
    def _call_event(event: dict[str, Any]) -> dict[str, Any]:
        out = dict(event)
        out["user"] = out.get("user") or {}
        return out

    def _record_skipped(
        self, fn: FunctionConfig, run_id: str, events: list[dict[str, Any]], event_ids: list[str], now: float, why: str
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

    @staticmethod
    def _rate_limit_reason(fn: FunctionConfig, key: str) -> str:
        assert fn.rate_limit is not None
        value = key[len(fn.uuid) + 1 :]
        if fn.config.get("idempotency"):  # read as a rate limit of 1 per 24 h on its key
            return f"idempotency key {value!r} already started a run in the last 24 h"
        keyed = f" for key {value!r}" if value else ""
        return f"rate limited to {fn.rate_limit.get('limit')} per {fn.rate_limit.get('period')}{keyed}"

    def _rate_admit(self, fn: FunctionConfig, key: str, now: float) -> bool:
        assert fn.rate_limit is not None
        limit = int(fn.rate_limit.get("limit") or 1)
        period = parse_duration(fn.rate_limit.get("period"))
        with self.store.tx():
            state_key = f"ratelimit:{key}"
            admitted, tat, _ = gcra(self.store.kv_get(state_key, now), now, limit, period, limit // 10)
            if admitted:
                self.store.kv_set(state_key, tat, tat + period)
            return admitted

    def _create_cancel_pauses(self, fn: FunctionConfig, run: Run, now: float) -> None:
        for entry in fn.cancel:
            event_name = str(entry.get("event") or "")
            if not event_name:
                continue
            timeout = parse_duration(entry.get("timeout")) if entry.get("timeout") else 365 * 86400.0
            expression = entry.get("if") or None
            pause_id = stable_uuid("cancel", run.id, event_name, expression or "")
            self.pauses.put_cancel(pause_id, run.id, event_name, expression, now + timeout)
