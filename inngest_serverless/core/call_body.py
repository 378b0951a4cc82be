"""The body of a call: what the executor sends when it runs a function, as one typed model.

A call is ``POST {app}?fnId=...&stepId=...`` with a JSON body::

    {"event": {...}, "events": [{...}], "steps": {hashed ID: memo}, "version": 2,
     "use_api": false,
     "ctx": {"fn_id": server's function ID, "run_id", "env", "step_id", "attempt",
             "max_attempts", "stack": {"stack": [hashed IDs in finish order], "current"},
             "qi_id", "request_id", "job_id", "disable_immediate_execution", "use_api"}}

The handler parses it (:meth:`CallBody.parse`, which refuses a body that can
never run with a 400), checkpointing reads the ``ctx`` fields it posts back,
and an executor builds one (:meth:`CallBody.to_wire`). This module is the one
place these names are spelled.

``use_api`` (in ``ctx`` or at the top level) says the body was too large to
send: ``events`` and ``steps`` are empty and the SDK fetches them from the API.
"""

from __future__ import annotations

from typing import Any

from . import serialize
from .errors import BadRequest
from .record import Record
from .serialize import is_utf8


def _malformed(message: str) -> BadRequest:
    return BadRequest(400, "malformed_body", message)


def _int(value: Any) -> int | None:
    return value if type(value) is int else None  # not a bool


class CallContext(Record):
    """The body's ``ctx``: which run, which attempt, and how the executor wants it run."""

    # Plain classes, not dataclasses: every call parses one (core/record.py says why).
    __slots__ = ("attempt", "disable_immediate_execution", "env", "fn_id", "generation_id", "job_id",
                 "max_attempts", "qi_id", "request_id", "run_id", "stack", "stack_current", "step_id", "use_api")
    _fields = ("run_id", "attempt", "max_attempts", "fn_id", "env", "step_id", "stack", "stack_current", "qi_id",
               "request_id", "job_id", "generation_id", "disable_immediate_execution", "use_api")

    def __init__(
        self,
        run_id: str,
        attempt: int = 0,
        max_attempts: int | None = None,
        fn_id: str | None = None,
        env: str | None = None,
        step_id: str | None = None,
        stack: list[Any] | None = None,
        stack_current: int | None = None,
        qi_id: str | None = None,
        request_id: str | None = None,
        job_id: str | None = None,
        generation_id: int | None = None,
        disable_immediate_execution: bool = False,
        use_api: bool = False,
    ) -> None:
        self.run_id = run_id
        self.attempt = attempt
        self.max_attempts = max_attempts  # None: unknown (a value that is not an integer counts as unknown)
        self.fn_id = fn_id  # the function's ID as the server knows it (checkpointing posts it back)
        self.env = env
        self.step_id = step_id
        self.stack: list[Any] = [] if stack is None else stack  # hashed IDs of the finished steps, in finish order
        self.stack_current = stack_current
        self.qi_id = qi_id
        self.request_id = request_id
        self.job_id = job_id
        self.generation_id = generation_id
        self.disable_immediate_execution = disable_immediate_execution
        self.use_api = use_api

    @classmethod
    def parse(cls, ctx: dict[str, Any]) -> CallContext:
        # Once per call: plain type checks (``type(x) is int`` leaves bools out), no helper calls.
        get = ctx.get
        run_id = get("run_id")
        attempt = get("attempt", 0)
        if type(run_id) is not str or type(attempt) is not int:
            raise _malformed("'ctx.run_id' must be a string and 'ctx.attempt' an integer")
        if not is_utf8(run_id):  # it goes into API paths (use_api, checkpoints), which need UTF-8
            raise _malformed("'ctx.run_id' is not valid Unicode text")
        raw_stack = get("stack")
        stack = current = None
        if type(raw_stack) is dict:
            stack, current = raw_stack.get("stack"), raw_stack.get("current")
        max_attempts, fn_id, env, step_id = get("max_attempts"), get("fn_id"), get("env"), get("step_id")
        qi_id, request_id, job_id, generation_id = get("qi_id"), get("request_id"), get("job_id"), get("generation_id")
        return cls(
            run_id=run_id,
            attempt=attempt,
            max_attempts=max_attempts if type(max_attempts) is int else None,
            fn_id=fn_id if type(fn_id) is str else None,
            env=env if type(env) is str else None,
            step_id=step_id if type(step_id) is str else None,
            stack=stack if type(stack) is list else [],
            stack_current=current if type(current) is int else None,
            qi_id=qi_id if type(qi_id) is str else None,
            request_id=request_id if type(request_id) is str else None,
            job_id=job_id if type(job_id) is str else None,
            generation_id=generation_id if type(generation_id) is int else None,
            disable_immediate_execution=bool(get("disable_immediate_execution")),
            use_api=bool(get("use_api")),
        )

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fn_id": self.fn_id,
            "run_id": self.run_id,
            "env": self.env or "",
            "step_id": self.step_id,
            "attempt": self.attempt,
            "max_attempts": self.max_attempts,
            "stack": {"stack": self.stack, "current": self.stack_current or 0},
            "qi_id": self.qi_id,
            "request_id": self.request_id,
            "job_id": self.job_id,
            "disable_immediate_execution": self.disable_immediate_execution,
            "use_api": self.use_api,
        }
        if self.generation_id is not None:
            out["generation_id"] = self.generation_id
        return out


class CallBody(Record):
    """A call's body: the triggering event(s) as sent, the memoized steps, and its :class:`CallContext`."""

    __slots__ = ("ctx", "event", "events", "steps", "use_api", "version")
    _fields = ("event", "ctx", "events", "steps", "version", "use_api")

    def __init__(self, event: dict[str, Any], ctx: CallContext, events: list[dict[str, Any]] | None = None,
                 steps: dict[str, Any] | None = None, version: int | None = None, use_api: bool = False) -> None:
        self.event = event
        self.ctx = ctx
        self.events: list[dict[str, Any]] = [] if events is None else events  # the batch; [event] when absent
        self.steps: dict[str, Any] = {} if steps is None else steps  # hashed step ID -> memo ({"data"} / {"error"} / ...)
        self.version = version
        self.use_api = use_api  # the top-level flag (``ctx.use_api`` says the same)

    @property
    def fetch_state(self) -> bool:
        """Must the run's events and steps be fetched from the API (the body was too large)?"""
        return self.use_api or self.ctx.use_api

    @classmethod
    def parse(cls, raw: bytes | dict[str, Any]) -> CallBody:
        """The call body in ``raw`` (JSON bytes, or the decoded object); :class:`BadRequest` (400)
        for a body that can never run, whatever the attempt."""
        if isinstance(raw, (bytes, bytearray)):
            try:
                body = serialize.loads_request(bytes(raw))
            except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
                raise _malformed("call body is not valid JSON") from None
        else:
            body = raw
        if not isinstance(body, dict):
            raise _malformed("call body must be a JSON object")
        ctx = body.get("ctx")
        event = body.get("event")
        if not isinstance(ctx, dict) or not isinstance(event, dict):
            raise _malformed("call body must carry 'event' and 'ctx' objects")
        steps = body.get("steps") or {}
        events = body.get("events") or [event]
        if not isinstance(steps, dict) or not isinstance(events, list):
            raise _malformed("'steps' must be an object and 'events' an array")
        return cls(
            event=event,
            ctx=CallContext.parse(ctx),
            events=[e for e in events if isinstance(e, dict)] or [event],
            steps=steps,
            version=_int(body.get("version")),
            use_api=bool(body.get("use_api")),
        )

    def to_wire(self) -> dict[str, Any]:
        """The body as JSON-ready data, every key written (an executor's call)."""
        out: dict[str, Any] = {
            "event": self.event,
            "events": self.events,
            "steps": self.steps,
            "ctx": self.ctx.to_wire(),
        }
        if self.version is not None:
            out["version"] = self.version
        out["use_api"] = self.use_api
        return out
