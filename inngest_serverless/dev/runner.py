"""The step runner: one queue item's call to the app, and what its reply does to the run.

A reply is an error (retried with backoff, or the run fails), the function's output (the run
completes), or opcodes, applied in one transaction through the opcode table (``opcodes.py``).
The call goes through the executor's transport (``calls.Transport``).
"""

from __future__ import annotations

import base64
import contextlib
import random
from collections.abc import Callable
from typing import Any

from inngest_serverless.core.call_body import CallBody, CallContext
from inngest_serverless.core.wire import DISCOVERY_STEP_ID, Header, Limit, Opcode, Query

from . import calls, payloads
from .clock import TimeSource
from .discovery import Discovery
from .functions import FunctionConfig
from .ids import Ulids
from .lifecycle import Emit, Lifecycle
from .opcodes import OpTable, Turn, fetch, parse_output
from .ops import FailEarly, op_name, opcode
from .options import Options
from .queue import Item, Kind, Queue
from .runs import Run, Runs, Status
from .store import Store
from .timefmt import retry_after

BACKOFF_TABLE = (15, 30, 60, 120, 300, 600, 1200, 2400, 3600, 7200)
_PRIORITY_OPS = frozenset({Opcode.WAIT_FOR_EVENT})  # applied before the reply's other ops
MAX_OPS = 1000  # opcodes in one reply


def backoff(attempt: int, retry_interval: float | None) -> float:
    """Seconds before retry number ``attempt + 1``: the fixed interval when set, else the table plus jitter."""
    if retry_interval is not None:
        return retry_interval
    return BACKOFF_TABLE[min(attempt, len(BACKOFF_TABLE) - 1)] + random.uniform(0, 30)


def standard_error(reply: calls.Reply) -> dict[str, Any]:
    """The error a failed call stores and reports: the transport's, a non-SDK status, or the SDK's own."""
    if reply.error is not None:
        return {"error": reply.error, "name": "Error", "message": reply.error}
    if not reply.from_sdk and not 200 <= reply.status < 300:
        message = f"Your server returned HTTP {reply.status} before the SDK responded."
        return {"error": f"invalid status code: {reply.status}", "name": "Error", "message": message}
    try:
        body = payloads.loads(reply.body) if reply.body else None
    except ValueError:
        body = reply.body.decode("utf-8", "replace")
    if isinstance(body, dict):
        for key in ("error", "body"):
            inner = body.get(key)
            if isinstance(inner, str):
                with contextlib.suppress(ValueError):
                    inner = payloads.loads(inner.encode())
            if isinstance(inner, dict):
                body = inner
                break
    # What the server's call error reads when the body does not say: a no-retry reply's error
    # is "NonRetriableError" (httpdriver replaces the status code error with it).
    fallback = "NonRetriableError" if reply.no_retry else f"invalid status code: {reply.status}"
    error: dict[str, Any] = {"name": "Error", "message": fallback}
    if isinstance(body, dict):
        for key in ("name", "message", "stack", "error", "cause"):
            if body.get(key) not in (None, ""):
                error[key] = body[key]
    elif body:
        error["message"] = str(body)
    error.setdefault("error", fallback)
    return error


class StepRunner:
    def __init__(
        self,
        store: Store,
        clock: TimeSource,
        ids: Ulids,
        runs: Runs,
        queue: Queue,
        function: Callable[[str], FunctionConfig | None],
        lifecycle: Lifecycle,
        discovery: Discovery,
        ops: OpTable,
        options: Options,
        transport: calls.Transport,
        in_flight: set[str],
        emit: Emit,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids
        self.runs = runs
        self.queue = queue
        self.function = function
        self.lifecycle = lifecycle
        self.discovery = discovery
        self.ops = ops
        self.options = options
        self.transport = transport
        # Request ids of the calls this process is making now: a checkpoint names its call's id,
        # and one from a call made before a restart (or given up on) is refused (checkpoints.py).
        self.in_flight = in_flight
        self.emit = emit

    def execute(self, item: Item) -> None:
        run = self.runs.get(item.run_id or "")
        if run is None or run.status != Status.RUNNING:
            self.queue.delete(item)
            return
        fn = self.function(run.fn_uuid)
        if fn is None:
            self.lifecycle.finalize(run.id, Status.FAILED, error={"name": "Error", "message": "function is no longer registered"})
            return
        edge = item.payload.get("edge") or {}
        if item.kind == Kind.SLEEP and not item.payload.get("woke"):
            with self.store.tx():
                self.runs.save_step(run.id, edge["outgoing"], None)
                self.runs.log_end(run.id, edge["outgoing"])
                if not self.discovery.advance_pending(run, edge["outgoing"]):
                    self.queue.delete(item)
                    return
                item.payload["woke"] = True
                self.queue.save_payload(item)
        now = self.clock.now()
        if self.runs.step_count(run.id) >= Limit.STEPS_PER_RUN:
            message = f"The function run exceeded the step limit of {Limit.STEPS_PER_RUN} steps."
            self.lifecycle.finalize(run.id, Status.FAILED, error={"name": "InngestErrFunctionOverflowed", "message": message})
            return
        if "finish" in fn.timeouts and run.started_at and now > run.started_at + fn.timeouts["finish"]:
            self.lifecycle.cancel(run.id, reason="timeout")
            return
        if run.started_at is None:
            with self.store.tx():
                self.runs.update(run, started_at=now)
                if "finish" in fn.timeouts:
                    self.queue.push(Kind.FINISH_TIMEOUT, run_id=run.id, at=now + fn.timeouts["finish"], payload={})
        reply = self._call(item, run, fn, edge)
        ops: list[dict[str, Any]] | None = None
        fetched: dict[str, Any] = {}
        bad_ops: str | None = None
        if reply.error is None and reply.from_sdk and reply.status == 206:
            try:
                ops = self._ops(reply)
            except ValueError as exc:
                bad_ops = str(exc)
            else:
                fetched = {
                    str(op.get("id")): fetch(op, self.options.fetch_timeout)
                    for op in ops
                    if opcode(op) in (Opcode.GATEWAY, Opcode.AI_GATEWAY)
                }
        # The reply is handled in one transaction: a crash before the commit redoes the call.
        with self.store.tx():
            current = self.runs.get(run.id)
            if current is None or current.status != Status.RUNNING:
                self.queue.delete(item)  # cancelled while the app was working: its result has nowhere to go
                return
            run = current
            if reply.error is not None or not reply.from_sdk or not 200 <= reply.status < 300:
                self._retry_or_fail(item, run, standard_error(reply), reply, kind="FunctionError")
            elif bad_ops is not None:
                self._retry_or_fail(item, run, {"name": "Error", "message": bad_ops}, reply, kind="FunctionError")
            elif ops is not None:
                self._apply(item, run, fn, ops, reply, fetched)
            else:
                output = parse_output(reply.body)
                now = self.clock.now()
                self.runs.log(
                    run.id,
                    "FunctionReturned",
                    started=now - reply.seconds,
                    ended=now,
                    attempt=item.attempt,
                    detail={"output": output},
                )
                self.queue.delete(item)
                self.lifecycle.finalize(run.id, Status.COMPLETED, output=output)

    def _call(self, item: Item, run: Run, fn: FunctionConfig, edge: dict[str, Any]) -> calls.Reply:
        stack, steps = self.runs.steps(run.id)
        outgoing = edge.get("outgoing") or ""
        current = stack.index(outgoing) + 1 if outgoing in stack else 0
        step_id = edge.get("gen") or DISCOVERY_STEP_ID
        job_id = item.job_id or f"item-{item.id}"
        request_id = self.ids.new()
        ctx = CallContext(
            run_id=run.id,
            attempt=item.attempt,
            max_attempts=item.payload.get("max_attempts", fn.max_attempts),
            fn_id=fn.uuid,
            env="",
            step_id=DISCOVERY_STEP_ID,
            stack=stack,
            stack_current=current,
            qi_id=base64.b64encode(f"{job_id}::dev".encode()).decode(),
            request_id=request_id,
            job_id=job_id,
            disable_immediate_execution=run.force_plan,
        )
        body = CallBody(event=run.events[0], events=run.events, steps=steps, ctx=ctx, version=run.version)
        encoded = calls.canonical(body.to_wire())  # once: these bytes are measured, signed and sent
        if len(encoded) > Limit.MAX_REQUEST_BODY:  # too large: the app fetches events and steps from the API
            body.events, body.steps, body.use_api = [], {}, True
            ctx.use_api = True
            encoded = calls.canonical(body.to_wire())
        headers = {
            Header.RUN_ID: run.id,
            Header.STEP_ID: step_id,
            Header.REQ_VERSION: str(run.version),
            Header.REQUEST_ID: request_id,
            Header.JOB_ID: job_id,
        }
        url = calls.with_query(fn.url, **{Query.STEP_ID: step_id})
        self.in_flight.add(request_id)
        try:
            return calls.call_app(url, encoded, headers, self.options.signing_key, self.options.call_timeout, self.transport)
        finally:
            self.in_flight.discard(request_id)

    def _ops(self, reply: calls.Reply) -> list[dict[str, Any]]:
        try:
            value = payloads.loads(reply.body) if reply.body else None
        except ValueError:
            raise ValueError("the SDK answered 206 with a body that is not JSON") from None
        if value is None:
            raise ValueError("no response data")
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(op, dict) for op in value):
            raise ValueError("the SDK answered 206 with a body that is not a list of opcodes")
        if len(reply.body) > Limit.STEP_OUTPUT:  # only then can one op's output be over the limit
            for op in value:
                output = op["data"] if "data" in op else op.get("error")
                if payloads.encoded_size(output) > Limit.STEP_OUTPUT:
                    # As the server's opcode validation words it (the call failed; it is retried).
                    raise ValueError(
                        f"error validating generator opcode {op.get('id')}: step output size is greater than the limit"
                    )
        return value or [{"op": Opcode.NONE.value}]

    def _retry_or_fail(
        self,
        item: Item,
        run: Run,
        error: dict[str, Any],
        reply: calls.Reply | None,
        *,
        kind: str,
        step: dict[str, Any] | None = None,
    ) -> bool:
        """Retry the same item with backoff, or (attempts spent / no-retry) fail. True when retried."""
        now = self.clock.now()
        max_attempts = int(item.payload.get("max_attempts") or 1)
        no_retry = bool(reply and reply.no_retry)
        started = now - (reply.seconds if reply else 0.0)
        step_id = step.get("id") if step else None
        name = op_name(step) if step else None
        if not no_retry and item.attempt + 1 < max_attempts:
            at = retry_after(reply.headers.get(Header.RETRY_AFTER) if reply else None, now)
            if at is None:
                at = now + backoff(item.attempt, self.options.retry_interval)
            self.runs.log(
                run.id,
                kind,
                step_id=step_id,
                name=name,
                started=started,
                ended=now,
                attempt=item.attempt,
                detail={"error": error, "retry_at": at},
            )
            self.queue.reschedule(item, at, item.attempt + 1)
            return True
        if step is None:
            self.runs.log(run.id, kind, started=started, ended=now, attempt=item.attempt, detail={"error": error})
            self.queue.delete(item)
            # The server keeps the failed reply's body as the run's output (and function.finished's result).
            body = parse_output(reply.body) if reply is not None and reply.from_sdk else None
            self.lifecycle.finalize(run.id, Status.FAILED, output=body, error=error)
        return False

    def _apply(
        self,
        item: Item,
        run: Run,
        fn: FunctionConfig,
        ops: list[dict[str, Any]],
        reply: calls.Reply,
        fetched: dict[str, Any],
    ) -> None:
        """Apply a reply's opcodes: retry a failed step first, then the rest in one transaction."""
        if len(ops) > MAX_OPS:
            self.queue.delete(item)
            overflow = {"name": "InngestErrFunctionOverflowed", "message": f"more than {MAX_OPS} opcodes in one response"}
            self.lifecycle.finalize(run.id, Status.FAILED, error=overflow)
            return
        for op in ops:
            if opcode(op) == Opcode.STEP_ERROR:
                raw_error = op.get("error")
                error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {"name": "Error", "message": "step error"}
                if reply.no_retry:
                    error = {**error, "noRetry": True}
                if not error.get("noRetry") and self._retry_or_fail(item, run, error, reply, kind="StepError", step=op):
                    return
                op["op"] = Opcode.STEP_FAILED.value
        now = self.clock.now()
        try:
            with self.store.tx():
                current = self.runs.get(run.id)
                if current is None or current.status != Status.RUNNING:
                    self.queue.delete(item)
                    return
                run = current
                if run.version == -1:
                    try:
                        version = int(reply.headers.get(Header.REQ_VERSION, "0"))
                    except ValueError:
                        version = 0
                    self.runs.update(run, version=version)
                real = [op for op in ops if opcode(op) != Opcode.NONE]
                if len(real) > 1:
                    pending = run.pending
                    if run.version >= 2 and any(opcode(op) == Opcode.STEP_PLANNED for op in real):
                        pending = sorted({*run.pending, *(str(op["id"]) for op in real)})
                    race = any(str((op.get("opts") or {}).get("parallelMode", "")).lower() == "race" for op in real)
                    meta = {**run.meta, "race": race} if race or run.meta.get("race") else run.meta
                    self.runs.update(run, force_plan=True, pending=pending, meta=meta)
                self.queue.delete(item)
                turn = Turn(item, run, fn, reply, now, len(real), fetched)
                for op in sorted(ops, key=lambda op: 0 if opcode(op) in _PRIORITY_OPS else 1):
                    self.ops.apply(turn, op)
        except FailEarly as exc:
            self.lifecycle.finalize(run.id, Status.FAILED, error={"name": "Error", "message": str(exc)})
            return
        for event in turn.invocations:
            self.emit([event])
        if turn.complete is not None:
            self.lifecycle.finalize(run.id, Status.COMPLETED, output=turn.complete[0])
