"""Pauses (EXECUTOR.md §3.2, §5.1, §9.2): the waits a run reports (WaitForEvent, InvokeFunction,
WaitForSignal), and what resumes them from outside: matching events, invoke results, cancel-on
entries, signals, timeouts; plus async checkpoints."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from inngest_serverless.core.wire import InternalEvent, Limit, Opcode

from . import expressions, payloads
from .ids import stable_uuid
from .queue import Item, Kind
from .runs import Run, Status
from .steps import INVOKE_TIMEOUT_ERROR, FailEarly, op_name, opcode
from .store import dumps
from .timefmt import MAX_SLEEP_SECONDS, YEAR_SECONDS, DurationError, wake_time

if TYPE_CHECKING:
    from .functions import FunctionConfig
    from .steps import StepRunner


class Pauses:
    def __init__(self, runner: StepRunner) -> None:
        self.runner = runner
        self.ex = runner.ex
        self.store = runner.store
        self.runs = runner.runs
        self.queue = runner.queue
        self.clock = runner.clock

    # ------------------------------------------------------------------ creating pauses (§3.2)

    def _create(
        self, run: Run, op_id: str, kind: str, event: str, expr: str | None, expires: float, data: dict[str, Any]
    ) -> None:
        pause_id = stable_uuid("pause", run.id, op_id)
        self.store.run_sql(
            "INSERT OR REPLACE INTO pauses(id, run_id, step_id, kind, event, expr, expires, data) VALUES(?,?,?,?,?,?,?,?)",
            pause_id,
            run.id,
            op_id,
            kind,
            event,
            expr,
            expires,
            dumps(data),
        )
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
        return event

    def wait_for_signal(self, run: Run, op: dict[str, Any], now: float) -> None:
        opts = op.get("opts") or {}
        signal = str(opts.get("signal") or "")
        holder = self.store.one("SELECT id, run_id FROM pauses WHERE kind='signal' AND event=?", signal)
        if holder is not None and holder["run_id"] != run.id:
            if str(opts.get("conflict") or "").lower() != "replace":
                raise FailEarly(f"another run is already waiting for signal {signal!r}")
            self.store.run_sql("DELETE FROM pauses WHERE id=?", holder["id"])
        expires = self._expiry(opts.get("timeout"), now, YEAR_SECONDS)
        self._create(run, str(op["id"]), "signal", signal, None, expires, {})
        self.runs.log(run.id, "WaitForSignal", step_id=str(op["id"]), name=op_name(op), started=now, detail={"signal": signal})

    # ------------------------------------------------------------------ async checkpoints (§9.2)

    def checkpoint(self, run_id: str, body: dict[str, Any]) -> tuple[int, str | None]:
        """Store steps an SDK finished mid-request. (status, error); no discovery is queued."""
        run = self.runs.get(run_id)
        if run is None or run.status != Status.RUNNING:
            return 400, f"run {run_id} is not running"
        ops = body.get("steps")
        if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
            return 400, "steps must be a list of opcodes"
        request = body.get("request_id")
        if isinstance(request, str) and request and request not in self.runner.calls_in_flight:
            # An orphan: a call the executor no longer waits for (it was killed and restarted, or
            # the call timed out) and that another call has replaced. Storing its steps would let
            # it run its next body after that call stored the same step; refused, the SDK ends
            # the orphan before its next body (core/checkpoint.py: a failed post ends the call).
            return 409, f"call {request} is no longer in flight for run {run_id}; its steps were not stored"
        allowed = (Opcode.STEP_RUN, Opcode.STEP_PLANNED)
        for op in ops:
            if opcode(op) not in allowed:
                return 400, f"cannot checkpoint opcode {op.get('op')!r}"
            if payloads.encoded_size(op.get("data")) > Limit.STEP_OUTPUT:
                return 413, "step output is over the 4 MiB limit"
        now = self.clock.now()
        with self.store.tx():
            for op in ops:
                if opcode(op) == Opcode.STEP_RUN:
                    op_id = str(op.get("id") or "")
                    value = {"data": op.get("data")}
                    if self.runs.save_step(run.id, op_id, value):
                        self.runs.log(
                            run.id,
                            "StepRun",
                            step_id=op_id,
                            name=op_name(op),
                            started=now,
                            ended=now,
                            attempt=0,
                            detail={**value, "checkpointed": True},
                        )
            try:
                job = base64.b64decode(str(body.get("qi_id") or "")).decode().rsplit("::", 1)[0]
            except ValueError:
                job = ""
            if job.startswith("item-") and job[5:].isdigit():
                self.store.run_sql("UPDATE queue SET attempt=0 WHERE id=?", int(job[5:]))
            elif job:
                self.store.run_sql("UPDATE queue SET attempt=0 WHERE job_id=?", job)
        return 200, None

    # ------------------------------------------------------------------ pauses (§3.2 waits, §5.1 cancel-on)

    def match_pauses(self, event: dict[str, Any], internal_id: str) -> None:
        now = self.clock.now()
        rows = self.store.all(
            "SELECT * FROM pauses WHERE event=? AND kind IN ('wait','invoke','cancel') AND expires>?",
            event["name"],
            now,
        )
        for row in rows:
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
                    self.ex.cancel(run.id, reason=f"cancelled by event {event['name']}")
            else:
                self.resume(row["id"], event)

    def resume(self, pause_id: str, value: Any) -> bool:
        """Consume a pause: memoize ``value`` under its step and rediscover. False if already consumed."""
        with self.store.tx() as conn:
            row = conn.execute("SELECT * FROM pauses WHERE id=?", (pause_id,)).fetchone()
            if row is None:
                return False
            conn.execute("DELETE FROM pauses WHERE id=?", (pause_id,))
            run = self.runs.get(row["run_id"])
            fn = self.ex.function(run.fn_uuid) if run else None
            if run is None or fn is None or run.status != Status.RUNNING:
                return False
            step_id = row["step_id"]
            self.queue.delete_job(f"{run.id}:{step_id}-timeout")
            self.runs.save_step(run.id, step_id, value)
            self.runs.log_end(run.id, step_id, {"result": value})
            self.runner.discover(run, fn, step_id, suffix="-event")
        return True

    def signal(self, name: str, data: Any) -> str | None:
        """Resume the run waiting for signal ``name``; returns its run id, or None if nobody waits."""
        row = self.store.one(
            "SELECT id, run_id FROM pauses WHERE kind='signal' AND event=? AND expires>?", name, self.clock.now()
        )
        if row is None or not self.resume(row["id"], {"data": {"signal": name, "data": data}}):
            return None
        return str(row["run_id"])

    def pause_timeout(self, item: Item) -> None:
        self.queue.delete(item)
        with self.store.tx() as conn:
            row = conn.execute("SELECT * FROM pauses WHERE id=?", (item.payload["pause"],)).fetchone()
            if row is None:
                return
            conn.execute("DELETE FROM pauses WHERE id=?", (row["id"],))
            run = self.runs.get(row["run_id"])
            fn = self.ex.function(run.fn_uuid) if run else None
            if run is None or fn is None or run.status != Status.RUNNING:
                return
            value = {"error": INVOKE_TIMEOUT_ERROR} if row["kind"] == "invoke" else None
            self.runs.save_step(run.id, row["step_id"], value)
            self.runs.log_end(run.id, row["step_id"], {"timeout": True})
            self.runner.discover(run, fn, row["step_id"], suffix="-timeout")
