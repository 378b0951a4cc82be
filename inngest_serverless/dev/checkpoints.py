"""Checkpoints: steps an SDK finished and posted in the middle of a call, stored before the call ends.

A checkpoint names the call it came from. Only a call this process is making now may store
steps: one from a call made before a restart (or given up on) is an orphan, refused.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from inngest_serverless.core.wire import Limit, Opcode

from . import payloads
from .clock import TimeSource
from .ops import op_name, opcode
from .queue import Queue
from .runs import Runs, Status
from .store import Store

# The checkpoint API's path (core.wire.Path.CHECKPOINT_ASYNC), and the server's other name for it.
PATH = re.compile(r"^/v1/(?:checkpoint|http/runs)/([^/]+)/async$")


class Checkpoints:
    def __init__(self, store: Store, clock: TimeSource, runs: Runs, queue: Queue, in_flight: set[str]) -> None:
        self.store = store
        self.clock = clock
        self.runs = runs
        self.queue = queue
        # Request ids of the calls this process is making now (the step runner adds and removes them).
        self.in_flight = in_flight

    def checkpoint(self, run_id: str, body: Any) -> tuple[int, str | None]:
        """Store steps an SDK finished mid-request (``body``: the request's JSON, as posted to ``PATH``).
        (status, error); no discovery is queued."""
        if not isinstance(body, dict):
            return 400, "checkpoint body must be a JSON object"
        run = self.runs.get(run_id)
        if run is None or run.status != Status.RUNNING:
            return 400, f"run {run_id} is not running"
        ops = body.get("steps")
        if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
            return 400, "steps must be a list of opcodes"
        request = body.get("request_id")
        if isinstance(request, str) and request and request not in self.in_flight:
            # An orphan: a call the executor no longer waits for (it was killed and restarted, or
            # the call timed out) and that another call has replaced. Storing its steps would let
            # it run its next body after that call stored the same step; refused, the SDK ends
            # the orphan before its next body (core/batching.py: a failed post ends the call).
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
            self.queue.reset_attempts(job)
        return 200, None
