"""The opcode table: what each opcode of an app's reply does to its run, one small handler per opcode.

The step runner (``runner.py``) applies a reply's ops in one transaction through ``OpTable.apply``;
a handler may raise ``FailEarly`` for an op the server refuses outright, which fails the run.
step.fetch and step.ai requests are made before that transaction (``fetch``), over HTTP.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from inngest_serverless.core.wire import Limit, Opcode

from . import calls, payloads
from .clock import TimeSource
from .discovery import Discovery
from .flow import item_payload
from .functions import FunctionConfig
from .ops import FailEarly, op_name, opcode
from .pauses import Pauses
from .queue import Item, Kind, Queue
from .runs import Run, Runs
from .timefmt import MAX_SLEEP_SECONDS, DurationError, wake_time


@dataclasses.dataclass
class Turn:
    """One reply being applied to its run: what the handlers read, and what they leave to do after."""

    item: Item
    run: Run
    fn: FunctionConfig
    reply: calls.Reply
    now: float
    real: int  # ops other than None in the reply
    fetched: dict[str, Any]  # step.fetch / step.ai results by op id, fetched before the transaction
    invocations: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # events to send after
    complete: tuple[Any] | None = None  # (the function's output,) once RunComplete is seen

    @property
    def outgoing(self) -> str:
        return str((self.item.payload.get("edge") or {}).get("outgoing") or "")

    @property
    def started(self) -> float:
        return self.now - self.reply.seconds


Handler = Callable[[Turn, dict[str, Any]], None]


class OpTable:
    def __init__(self, clock: TimeSource, runs: Runs, queue: Queue, discovery: Discovery, pauses: Pauses) -> None:
        self.clock = clock
        self.runs = runs
        self.queue = queue
        self.discovery = discovery
        self.pauses = pauses
        self.handlers: dict[Opcode, Handler] = {
            Opcode.STEP_RUN: self.step_run,
            Opcode.STEP_FAILED: self.step_failed,
            Opcode.STEP_PLANNED: self.step_planned,
            Opcode.SLEEP: self.sleep,
            Opcode.WAIT_FOR_EVENT: self.wait_for_event,
            Opcode.INVOKE_FUNCTION: self.invoke,
            Opcode.WAIT_FOR_SIGNAL: self.wait_for_signal,
            Opcode.GATEWAY: self.fetched,
            Opcode.AI_GATEWAY: self.fetched,
            Opcode.RUN_COMPLETE: self.run_complete,
            Opcode.DISCOVERY_REQUEST: self.discovery_request,
            Opcode.NONE: self.none,
        }

    def apply(self, turn: Turn, op: dict[str, Any]) -> None:
        code = opcode(op)
        handler = self.handlers.get(code) if code is not None else None
        if handler is not None:
            handler(turn, op)

    def _memoize(self, turn: Turn, op: dict[str, Any], kind: str, value: dict[str, Any], ended: float) -> str:
        op_id = str(op.get("id") or "")
        self.runs.save_step(turn.run.id, op_id, value)
        self.runs.log(
            turn.run.id,
            kind,
            step_id=op_id,
            name=op_name(op),
            started=turn.started,
            ended=ended,
            attempt=turn.item.attempt,
            detail=value,
        )
        return op_id

    def step_run(self, turn: Turn, op: dict[str, Any]) -> None:
        op_id = self._memoize(turn, op, Opcode.STEP_RUN.value, {"data": op.get("data")}, turn.now)
        self.discovery.after(turn.run, turn.fn, op_id)

    def step_failed(self, turn: Turn, op: dict[str, Any]) -> None:
        op_id = self._memoize(turn, op, Opcode.STEP_FAILED.value, {"error": op.get("error")}, turn.now)
        self.discovery.after(turn.run, turn.fn, op_id, kind=Kind.EDGE_ERROR, suffix="-failure")

    def step_planned(self, turn: Turn, op: dict[str, Any]) -> None:
        op_id = str(op.get("id") or "")
        edge = {"gen": op_id, "gen_name": op_name(op), "outgoing": turn.outgoing, "incoming": "step"}
        self.queue.push(
            Kind.EDGE,
            run_id=turn.run.id,
            at=turn.now - 0.001,
            score=turn.run.score,
            job_id=f"{turn.run.id}:{op_id}-plan",
            payload=item_payload(turn.fn, turn.run, edge),
        )

    def sleep(self, turn: Turn, op: dict[str, Any]) -> None:
        run, now = turn.run, turn.now
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
            payload=item_payload(turn.fn, run, edge),
        )
        self.runs.log(run.id, "Sleep", step_id=op_id, name=op_name(op), started=now, detail={"until": wake})

    def wait_for_event(self, turn: Turn, op: dict[str, Any]) -> None:
        self.pauses.wait_for_event(turn.run, op, turn.now)

    def invoke(self, turn: Turn, op: dict[str, Any]) -> None:
        turn.invocations.append(self.pauses.invoke(turn.run, turn.fn, op, turn.now))

    def wait_for_signal(self, turn: Turn, op: dict[str, Any]) -> None:
        self.pauses.wait_for_signal(turn.run, op, turn.now)

    def fetched(self, turn: Turn, op: dict[str, Any]) -> None:
        code = opcode(op)
        assert code is not None
        value = turn.fetched[str(op.get("id") or "")]
        op_id = self._memoize(turn, op, str(code.value), value, self.clock.now())
        self.discovery.after(turn.run, turn.fn, op_id)

    def run_complete(self, turn: Turn, op: dict[str, Any]) -> None:
        turn.complete = (op.get("data"),)

    def discovery_request(self, turn: Turn, op: dict[str, Any]) -> None:
        self.discovery.after(turn.run, turn.fn, str(op.get("id") or ""), suffix="-discovery")

    def none(self, turn: Turn, op: dict[str, Any]) -> None:
        if turn.real:
            return
        # "Re-drive" from the last finished step. The server's job-id dedupe drops it when this
        # very call was that step's discovery (a branch still pending).
        stack, _ = self.runs.steps(turn.run.id)
        last = stack[-1] if stack else ""
        if turn.outgoing != last or turn.item.kind == Kind.START:
            self.discovery.push(turn.run, turn.fn, last, f"{turn.run.id}:{last}-redrive")


def _gateway_body(value: Any) -> bytes:
    """A step.fetch body as the server sends it: JSON text as-is, anything else JSON-encoded."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return json.dumps(value).encode()
        return value.encode()
    return json.dumps(value).encode()


def parse_output(body: bytes) -> Any:
    """A function result as the server stores it: JSON (a JSON document in a string decoded too), else text."""
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


def fetch(op: dict[str, Any], timeout: float) -> dict[str, Any]:
    """step.fetch / step.ai: the executor makes the HTTP request itself; the step's value."""
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
    # streams in (decoded), and the timeout bounds the whole exchange.
    reply = calls.request(method, url, body, headers, timeout=timeout, max_body=Limit.STEP_OUTPUT)
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
