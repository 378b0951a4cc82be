"""Pauses: the waits a run reports (WaitForEvent, InvokeFunction, WaitForSignal), and what
resumes them from outside: matching events, invoke results, cancel-on entries, signals, timeouts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from inngest_serverless.core.wire import InternalEvent

from . import expressions
from .clock import TimeSource
from .discovery import Discovery
from .functions import FunctionConfig
from .ids import stable_uuid
from .lifecycle import Lifecycle
from .ops import INVOKE_TIMEOUT_ERROR, FailEarly, op_name
from .pause_store import PauseStore
from .queue import Item, Kind, Queue
from .runs import Run, Runs, Status
from .store import Store
from .timefmt import MAX_SLEEP_SECONDS, YEAR_SECONDS, DurationError, wake_time


class Pauses:
    def __init__(
        self,
        store: Store,
        clock: TimeSource,
        runs: Runs,
        queue: Queue,
        rows: PauseStore,
        function: Callable[[str], FunctionConfig | None],
        discovery: Discovery,
        lifecycle: Lifecycle,
    ) -> None:
        self.store = store
        self.clock = clock
        self.runs = runs
        self.queue = queue
        self.rows = rows
        self.function = function
        self.discovery = discovery
        self.lifecycle = lifecycle

    # ------------------------------------------------------------------ creating pauses

    def _create(
        self, run: Run, op_id: str, kind: str, event: str, expr: str | None, expires: float, data: dict[str, Any]
    ) -> None:
        pause_id = stable_uuid("pause", run.id, op_id)
        self.rows.put(pause_id, run.id, op_id, kind, event, expr, expires, data)
        self.queue.push(
            Kind.PAUSE_TIMEOUT,
            run_id=run.id,
            at=expires,
            job_id=f"{run.id}:{op_id}-timeout",
            payload={"pause": pause_id, "step": op_id},
        )

    def _expiry(self, timeout: Any, now: float, default: float | None) -> float:
        if not timeout:
            return now if default is None else now + default
        try:
            expires = wake_time(timeout, now)
        except DurationError as exc:
            raise FailEarly(f"invalid timeout: {exc}") from None
        if default is None and expires - now > MAX_SLEEP_SECONDS:
            raise FailEarly("InngestErrTimeoutTooLong: a wait may last at most 366 days")
        return expires

    def wait_for_event(self, run: Run, op: dict[str, Any], now: float) -> None:
        opts = op.get("opts") or {}
        event = str(opts.get("event") or op.get("name") or "")
        expr = opts.get("if") or None
        if expr:
            try:
                expressions.validate(expr)
            except expressions.ExpressionError as exc:
                raise FailEarly(str(exc)) from None
        expires = self._expiry(opts.get("timeout"), now, None)
        self._create(run, str(op["id"]), "wait", event, expr, expires, {})
        self.runs.log(
            run.id, "WaitForEvent", step_id=str(op["id"]), name=op_name(op), started=now, detail={"event": event, "if": expr}
        )

    def invoke(self, run: Run, fn: FunctionConfig, op: dict[str, Any], now: float) -> dict[str, Any]:
        opts = op.get("opts") or {}
        op_id = str(op["id"])
        correlation = f"{run.id}.{op_id}"
        expires = self._expiry(opts.get("timeout"), now, YEAR_SECONDS)
        self._create(run, op_id, "invoke", InternalEvent.FUNCTION_FINISHED, None, expires, {"correlation": correlation})
        target = str(opts.get("function_id") or "")
        self.runs.log(run.id, "InvokeFunction", step_id=op_id, name=op_name(op), started=now, detail={"function_id": target})
        payload = opts.get("payload") or {}
        data = dict(payload.get("data") or {})
        data["_inngest"] = {
            "fn_id": target,
            "correlation_id": correlation,
            "source_app_id": fn.app,
            "source_fn_id": fn.uuid,
            "source_fn_v": fn.version,
            "expire": int(expires * 1000),
            "name": op_name(op),
        }
        event = {"name": InternalEvent.FUNCTION_INVOKED, "data": data, "user": payload.get("user") or {}}
        if payload.get("id"):
            event["id"] = payload["id"]
        if payload.get("ts"):
            event["ts"] = payload["ts"]
        if payload.get("v"):
            event["v"] = payload["v"]
        return event

    def wait_for_signal(self, run: Run, op: dict[str, Any], now: float) -> None:
        opts = op.get("opts") or {}
        signal = str(opts.get("signal") or "")
        holder = self.rows.signal_waiter(signal)
        if holder is not None and holder["run_id"] != run.id:
            if str(opts.get("conflict") or "").lower() != "replace":
                raise FailEarly(f"another run is already waiting for signal {signal!r}")
            self.rows.delete(holder["id"])
        expires = self._expiry(opts.get("timeout"), now, YEAR_SECONDS)
        self._create(run, str(op["id"]), "signal", signal, None, expires, {})
        self.runs.log(run.id, "WaitForSignal", step_id=str(op["id"]), name=op_name(op), started=now, detail={"signal": signal})

    # ------------------------------------------------------------------ pauses

    def match_pauses(self, event: dict[str, Any], internal_id: str) -> None:
        now = self.clock.now()
        for row in self.rows.matching(event["name"], now):
            run = self.runs.get(row["run_id"])
            if run is None or run.status != Status.RUNNING:
                continue
            if internal_id in run.event_ids:
                continue  # never the run's own triggering event
            data = json.loads(row["data"])
            if row["kind"] == "invoke":
                event_data = event.get("data") or {}
                if event_data.get("correlation_id") != data.get("correlation"):
                    continue
                # Error first: a failed run's finished event carries its reply body as result too.
                if "error" in event_data:
                    value: Any = {"error": event_data["error"]}
                elif "result" in event_data:
                    value = {"data": event_data["result"]}
                else:
                    value = event
                self.resume(row["id"], value)
                continue
            variables = {"event": expressions.event_map(run.events[0]), "async": expressions.event_map(event)}
            if not expressions.matches(row["expr"], variables):
                continue
            if row["kind"] == "cancel":
                if internal_id > run.id:
                    self.lifecycle.cancel(run.id, reason=f"cancelled by event {event['name']}")
            else:
                self.resume(row["id"], event)

    def resume(self, pause_id: str, value: Any) -> bool:
        """Consume a pause: memoize ``value`` under its step and rediscover. False if already consumed."""
        with self.store.tx():
            row = self.rows.take(pause_id)
            if row is None:
                return False
            run = self.runs.get(row["run_id"])
            fn = self.function(run.fn_uuid) if run else None
            if run is None or fn is None or run.status != Status.RUNNING:
                return False
            step_id = row["step_id"]
            self.queue.delete_job(f"{run.id}:{step_id}-timeout")
            self.runs.save_step(run.id, step_id, value)
            self.runs.log_end(run.id, step_id, {"result": value})
            self.discovery.after(run, fn, step_id, suffix="-event")
        return True

    def signal(self, name: str, data: Any) -> str | None:
        """Resume the run waiting for signal ``name``; returns its run id, or None if nobody waits."""
        row = self.rows.signal_waiter(name, self.clock.now())
        if row is None or not self.resume(row["id"], {"data": {"signal": name, "data": data}}):
            return None
        return str(row["run_id"])

    def pause_timeout(self, item: Item) -> None:
        self.queue.delete(item)
        with self.store.tx():
            row = self.rows.take(item.payload["pause"])
            if row is None:
                return
            run = self.runs.get(row["run_id"])
            fn = self.function(run.fn_uuid) if run else None
            if run is None or fn is None or run.status != Status.RUNNING:
                return
            value = {"error": INVOKE_TIMEOUT_ERROR} if row["kind"] == "invoke" else None
            self.runs.save_step(run.id, row["step_id"], value)
            self.runs.log_end(run.id, row["step_id"], {"timeout": True})
            self.discovery.after(run, fn, row["step_id"], suffix="-timeout")
