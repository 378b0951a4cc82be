"""Calling the app for a run and interpreting its reply: opcodes, retries, pauses (EXECUTOR.md §1.4-§3)."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from inngest_serverless.core.wire import DISCOVERY_STEP_ID, Header, Limit, Opcode, Query

from . import calls, payloads
from .queue import Item, Kind
from .runs import Run, Status
from .store import dumps
from .timefmt import MAX_SLEEP_SECONDS, DurationError, retry_after, wake_time

if TYPE_CHECKING:
    from .executor import Executor
    from .functions import FunctionConfig

log = logging.getLogger("inngest_serverless.dev")

_OPCODES = {op.value.lower(): op for op in Opcode}
_PRIORITY_OPS = frozenset({Opcode.WAIT_FOR_EVENT})
INVOKE_TIMEOUT_ERROR = {
    "error": "InngestInvokeTimeoutError: Timed out waiting for invoked function to complete",
    "name": "InngestInvokeTimeoutError",
    "message": "Timed out waiting for invoked function to complete",
}


class FailEarly(Exception):
    """An op the server refuses outright: the run fails with no retry."""


def opcode(op: dict[str, Any]) -> Opcode | None:
    return _OPCODES.get(str(op.get("op", "")).lower())


def op_name(op: dict[str, Any]) -> str:
    return str(op.get("displayName") or op.get("name") or op.get("id") or "")


def standard_error(reply: calls.Reply) -> dict[str, Any]:
    """The error a failed call stores and reports (§2.6, §2.7)."""
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


def parse_output(body: bytes) -> Any:
    """A function result as the server stores it (§1.6)."""
    if not body:
        return None
    try:
        value = payloads.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
    if isinstance(value, str) and value.startswith(("{", "[")):
        try:
            return payloads.loads(value.encode())
        except ValueError:
            return value
    return value


def _gateway_body(value: Any) -> bytes:
    """A step.fetch body as the server sends it: JSON text as-is, anything else JSON-encoded."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return json.dumps(value).encode()
        return value.encode()
    return json.dumps(value).encode()


class StepRunner:
    def __init__(self, executor: Executor) -> None:
        self.ex = executor
        self.store = executor.store
        self.runs = executor.runs
        self.queue = executor.queue
        self.clock = executor.clock
        self.ids = executor.ids
        # Request ids of the calls this process is making now. A checkpoint names its call's id:
        # one from a call made before a restart (or given up on) is refused (pauses.checkpoint).
        self.calls_in_flight: set[str] = set()

    # ------------------------------------------------------------------ one SDK call (§1.4)

    def execute(self, item: Item) -> None:
        ex = self.ex
        run = self.runs.get(item.run_id or "")
        if run is None or run.status != Status.RUNNING:
            self.queue.delete(item)
            return
        fn = ex.function(run.fn_uuid)
        if fn is None:
            ex.finalize(run.id, Status.FAILED, error={"name": "Error", "message": "function is no longer registered"})
            return
        edge = item.payload.get("edge") or {}
        if item.kind == Kind.SLEEP and not item.payload.get("woke"):
            with self.store.tx():
                self.runs.save_step(run.id, edge["outgoing"], None)
                self.runs.log_end(run.id, edge["outgoing"])
                if not self._advance_pending(run, edge["outgoing"]):
                    self.queue.delete(item)
                    return
                item.payload["woke"] = True
                self.store.run_sql("UPDATE queue SET payload=? WHERE id=?", dumps(item.payload), item.id)
        now = self.clock.now()
        if self.runs.step_count(run.id) >= Limit.STEPS_PER_RUN:
            message = f"The function run exceeded the step limit of {Limit.STEPS_PER_RUN} steps."
            ex.finalize(run.id, Status.FAILED, error={"name": "InngestErrFunctionOverflowed", "message": message})
            return
        if "finish" in fn.timeouts and run.started_at and now > run.started_at + fn.timeouts["finish"]:
            ex.cancel(run.id, reason="timeout")
            return
        if run.started_at is None:
            with self.store.tx():
                self.runs.update(run, started_at=now)
                if "finish" in fn.timeouts:
                    self.queue.push(Kind.FINISH_TIMEOUT, run_id=run.id, at=now + fn.timeouts["finish"], payload={})
        reply = self._call(item, run, fn, edge)
        ops: list[dict[str, Any]] | None = None
        side_results: dict[str, Any] = {}
        bad_ops: str | None = None
        if reply.error is None and reply.from_sdk and reply.status == 206:
            try:
                ops = self._ops(reply)
            except ValueError as exc:
                bad_ops = str(exc)
            else:
                side_results = {
                    str(op.get("id")): self._gateway(op) for op in ops if opcode(op) in (Opcode.GATEWAY, Opcode.AI_GATEWAY)
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
                self._handle_ops(item, run, fn, ops, reply, side_results)
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
                ex.finalize(run.id, Status.COMPLETED, output=output)

    def _call(self, item: Item, run: Run, fn: FunctionConfig, edge: dict[str, Any]) -> calls.Reply:
        stack, steps = self.runs.steps(run.id)
        outgoing = edge.get("outgoing") or ""
        current = stack.index(outgoing) + 1 if outgoing in stack else 0
        step_id = edge.get("gen") or DISCOVERY_STEP_ID
        job_id = item.job_id or f"item-{item.id}"
        request_id = self.ids.new()
        ctx: dict[str, Any] = {
            "fn_id": fn.uuid,
            "run_id": run.id,
            "env": "",
            "step_id": DISCOVERY_STEP_ID,
            "attempt": item.attempt,
            "max_attempts": item.payload.get("max_attempts", fn.max_attempts),
            "stack": {"stack": stack, "current": current},
            "qi_id": base64.b64encode(f"{job_id}::dev".encode()).decode(),
            "request_id": request_id,
            "job_id": job_id,
            "disable_immediate_execution": run.force_plan,
            "use_api": False,
        }
        body: dict[str, Any] = {
            "event": run.events[0],
            "events": run.events,
            "steps": steps,
            "ctx": ctx,
            "version": run.version,
            "use_api": False,
        }
        if len(calls.canonical(body)) > Limit.MAX_REQUEST_BODY:
            body.update(events=[], steps={}, use_api=True)
            ctx["use_api"] = True
        headers = {
            Header.RUN_ID: run.id,
            Header.STEP_ID: step_id,
            Header.REQ_VERSION: str(run.version),
            Header.REQUEST_ID: request_id,
            Header.JOB_ID: job_id,
        }
        url = calls.with_query(fn.url, **{Query.STEP_ID: step_id})
        self.calls_in_flight.add(request_id)
        try:
            return calls.call_app(
                url, body, headers, self.ex.options.signing_key, self.ex.options.call_timeout, self.ex.transport
            )
        finally:
            self.calls_in_flight.discard(request_id)

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

    # ------------------------------------------------------------------ retries (§2)

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
                at = now + self.ex.backoff(item.attempt)
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
            self.ex.finalize(run.id, Status.FAILED, output=body, error=error)
        return False

    # ------------------------------------------------------------------ opcodes (§3)

    def _handle_ops(
        self,
        item: Item,
        run: Run,
        fn: FunctionConfig,
        ops: list[dict[str, Any]],
        reply: calls.Reply,
        side_results: dict[str, Any],
    ) -> None:
        ex = self.ex
        if len(ops) > 1000:
            self.queue.delete(item)
            ex.finalize(
                run.id,
                Status.FAILED,
                error={"name": "InngestErrFunctionOverflowed", "message": "more than 1000 opcodes in one response"},
            )
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
        outgoing = (item.payload.get("edge") or {}).get("outgoing") or ""
        invocations: list[dict[str, Any]] = []
        complete: tuple[Any] | None = None
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
                ordered = sorted(ops, key=lambda op: 0 if opcode(op) in _PRIORITY_OPS else 1)
                for op in ordered:
                    code = opcode(op)
                    op_id = str(op.get("id") or "")
                    started = now - reply.seconds
                    if code in (Opcode.STEP_RUN, Opcode.STEP_FAILED):
                        failed = code == Opcode.STEP_FAILED
                        value = {"error": op.get("error")} if failed else {"data": op.get("data")}
                        self.runs.save_step(run.id, op_id, value)
                        self.runs.log(
                            run.id,
                            code.value,
                            step_id=op_id,
                            name=op_name(op),
                            started=started,
                            ended=now,
                            attempt=item.attempt,
                            detail=value,
                        )
                        if failed:
                            self.discover(run, fn, op_id, kind=Kind.EDGE_ERROR, suffix="-failure")
                        else:
                            self.discover(run, fn, op_id)
                    elif code == Opcode.STEP_PLANNED:
                        edge = {"gen": op_id, "gen_name": op_name(op), "outgoing": outgoing, "incoming": "step"}
                        self.queue.push(
                            Kind.EDGE,
                            run_id=run.id,
                            at=now - 0.001,
                            score=run.score,
                            job_id=f"{run.id}:{op_id}-plan",
                            payload=ex.item_payload(fn, run, edge),
                        )
                    elif code == Opcode.SLEEP:
                        self._sleep(run, fn, op, now)
                    elif code == Opcode.WAIT_FOR_EVENT:
                        self.ex.pauses.wait_for_event(run, op, now)
                    elif code == Opcode.INVOKE_FUNCTION:
                        invocations.append(self.ex.pauses.invoke(run, fn, op, now))
                    elif code == Opcode.WAIT_FOR_SIGNAL:
                        self.ex.pauses.wait_for_signal(run, op, now)
                    elif code in (Opcode.GATEWAY, Opcode.AI_GATEWAY):
                        value = side_results[op_id]
                        self.runs.save_step(run.id, op_id, value)
                        self.runs.log(
                            run.id,
                            str(code.value),
                            step_id=op_id,
                            name=op_name(op),
                            started=started,
                            ended=self.clock.now(),
                            attempt=item.attempt,
                            detail=value,
                        )
                        self.discover(run, fn, op_id)
                    elif code == Opcode.RUN_COMPLETE:
                        complete = (op.get("data"),)
                    elif code == Opcode.DISCOVERY_REQUEST:
                        self.discover(run, fn, op_id, suffix="-discovery")
                    elif code == Opcode.NONE and not real:
                        # "Re-drive" from the last finished step. The server's job-id dedupe drops it
                        # when this very call was that step's discovery (a branch still pending).
                        stack, _ = self.runs.steps(run.id)
                        last = stack[-1] if stack else ""
                        if outgoing != last or item.kind == Kind.START:
                            self._push_discovery(run, fn, last, f"{run.id}:{last}-redrive")
        except FailEarly as exc:
            ex.finalize(run.id, Status.FAILED, error={"name": "Error", "message": str(exc)})
            return
        for event in invocations:
            ex.send([event], internal=True)
        if complete is not None:
            ex.finalize(run.id, Status.COMPLETED, output=complete[0])

    def _advance_pending(self, run: Run, step_id: str) -> bool:
        """Drop a finished step from the parallel group; True when the run may rediscover now."""
        if step_id in run.pending:
            pending = [p for p in run.pending if p != step_id]
            self.runs.update(run, pending=pending)
        if run.pending:
            return bool(run.meta.get("race"))  # race mode: rediscover after every branch (§3.1)
        if run.meta.get("race"):
            self.runs.update(run, meta={k: v for k, v in run.meta.items() if k != "race"})
        if run.version >= 2 and run.force_plan:
            self.runs.update(run, force_plan=False)
        return True

    def discover(self, run: Run, fn: FunctionConfig, step_id: str, *, kind: str = Kind.EDGE, suffix: str = "") -> None:
        """Queue the discovery call that follows a finished step, unless parallel siblings are pending."""
        if self._advance_pending(run, step_id):
            self._push_discovery(run, fn, step_id, f"{run.id}:{step_id}{suffix}", kind=kind)

    def _push_discovery(self, run: Run, fn: FunctionConfig, outgoing: str, job_id: str, kind: str = Kind.EDGE) -> None:
        edge = {"outgoing": outgoing, "incoming": "step"}
        self.queue.push(
            kind, run_id=run.id, at=self.clock.now(), score=run.score, job_id=job_id, payload=self.ex.item_payload(fn, run, edge)
        )

    def _sleep(self, run: Run, fn: FunctionConfig, op: dict[str, Any], now: float) -> None:
        opts = op.get("opts") or {}
        spec = opts.get("duration") or op.get("name") or ""
        try:
            wake = wake_time(spec, now)
        except DurationError as exc:
            raise FailEarly(f"invalid sleep duration: {exc}") from None
        if wake - now > MAX_SLEEP_SECONDS:
            raise FailEarly("InngestErrTimeoutTooLong: a sleep may last at most 366 days")
        op_id = str(op["id"])
        edge = {"outgoing": op_id, "incoming": "step"}
        self.queue.push(
            Kind.SLEEP,
            run_id=run.id,
            at=wake,
            score=run.score,
            job_id=f"{run.id}:{op_id}-sleep",
            payload=self.ex.item_payload(fn, run, edge),
        )
        self.runs.log(run.id, "Sleep", step_id=op_id, name=op_name(op), started=now, detail={"until": wake})

    def _gateway(self, op: dict[str, Any]) -> dict[str, Any]:
        """step.fetch / step.ai: the executor makes the HTTP request itself (§3.2)."""
        opts = op.get("opts") or {}
        url = str(opts.get("url") or "")
        ai = opcode(op) == Opcode.AI_GATEWAY
        headers = {str(k): str(v) for k, v in (opts.get("headers") or {}).items()}
        body_value = opts.get("body")
        if ai:
            body: bytes | None = json.dumps(body_value).encode()
            headers.setdefault("Content-Type", "application/json")
            if opts.get("auth_key"):
                headers["Authorization"] = f"Bearer {opts['auth_key']}"
            method = "POST"
        else:
            method = str(opts.get("method") or "POST").upper()
            body = None if body_value is None else _gateway_body(body_value)
        # What the executor fetches becomes a step output: the 4 MiB step limit bounds it as it
        # streams in (decoded), and fetch_timeout bounds the whole exchange.
        reply = calls.request(method, url, body, headers, timeout=self.ex.options.fetch_timeout, max_body=Limit.STEP_OUTPUT)
        text = reply.body.decode("utf-8", "replace")
        if reply.error is not None:
            name = "AIGatewayError" if ai else "GatewayError"
            message = reply.error.replace("Unable to reach SDK URL", f"step.fetch of {url[:200]} failed")
            return {"error": {"name": name, "message": message}}
        if ai:
            if reply.status > 299:
                return {"error": {"name": "AIGatewayError", "message": f"status {reply.status}", "data": text}}
            return {"data": parse_output(reply.body)}
        return {"data": {"url": url, "headers": reply.headers, "body": text, "status_code": reply.status}}
