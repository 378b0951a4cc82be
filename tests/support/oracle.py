"""The tests' one oracle executor: how the Inngest server plays a run's opcodes.

Written from the protocol, independently of the package (it imports nothing of
``inngest_serverless``, and keeps its own literal wire names), so the SDK's own
replay and its embedded executor are checked against something they do not share.

:class:`Memos` is a run's server-side state and :data:`OPCODES` is how each
opcode of a 206 changes it: memoised steps (the first save of an ID stands, as
a repeated save does not overwrite it), planned steps queued for a call
targeted by ``stepId``, planning forced after a parallel group until its
planned steps have run (``disable_immediate_execution``), retries counted by ``ctx.attempt`` until
``ctx.max_attempts`` or ``x-inngest-no-retry``. :func:`play` is the one call loop;
the transports around it (tests/support/sim_executor.py over any host,
tests/support/differential/executor.py against two SDKs in lockstep,
tests/support/checkpoint_driver.py and tests/support/core_driver.py against a
Handler) only build the call body from the memos and send it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TARGET_ANY = "step"  # the stepId of a call that runs whatever comes next


class ProtocolError(AssertionError):
    """The app answered something the executor would not accept."""


Resolver = Callable[[dict[str, Any]], Any]  # an op the server resolves itself (wait, invoke) -> its memo


@dataclass
class Memos:
    """A run's state as the server keeps it between calls."""

    steps: dict[str, Any] = field(default_factory=dict)  # hashed ID -> memo, in the order they were saved
    planned: list[str] = field(default_factory=list)  # planned steps not run yet, targeted in order
    attempt: int = 0  # ctx.attempt: attempts of the current step (or function) so far
    max_attempts: int = 5
    disable: bool = False  # after a parallel group the server asks for plans until its planned steps have run

    @property
    def stack(self) -> list[str]:
        return list(self.steps)

    @property
    def target(self) -> str:
        return self.planned[0] if self.planned else TARGET_ANY

    def save(self, step_id: str, memo: Any) -> None:
        self.steps.setdefault(step_id, memo)
        if step_id in self.planned:
            self.planned.remove(step_id)

    def retries(self, no_retry: bool) -> bool:
        """An attempt failed: True (and one attempt later) when the server calls again."""
        if no_retry or self.attempt + 1 >= self.max_attempts:
            return False
        self.attempt += 1
        return True

    def apply(self, ops: list[dict[str, Any]], *, no_retry: bool = False, resolve: Resolver | None = None) -> bool:
        """Store a 206's ops as the server does; True when the same call is to be retried."""
        if len(ops) > 1:
            self.disable = True
        retry = False
        for op in ops:
            kind, sid = op.get("op"), op.get("id")
            if not isinstance(sid, str):
                raise ProtocolError(f"op without an id: {op!r}")
            play_op = OPCODES.get(str(kind))
            if play_op is not None:
                retry = play_op(self, op, no_retry) or retry
            elif resolve is not None:
                self.save(sid, resolve(op))
            else:
                raise ProtocolError(f"the oracle has no resolver for {kind!r}")
        if not retry:
            self.attempt = 0  # ctx.attempt counts attempts of the current step
        if not self.planned:
            self.disable = False  # the group is done: the next discovery runs steps at once again (version 2)
        return retry


def _step_run(memos: Memos, op: dict[str, Any], no_retry: bool) -> bool:
    memos.save(op["id"], {"data": op.get("data")})
    return False


def _step_error(memos: Memos, op: dict[str, Any], no_retry: bool) -> bool:
    if memos.retries(no_retry):
        return True
    memos.save(op["id"], {"error": op.get("error")})  # out of attempts: the server records the failure
    return False


def _step_failed(memos: Memos, op: dict[str, Any], no_retry: bool) -> bool:
    memos.save(op["id"], {"error": op.get("error")})
    return False


def _step_planned(memos: Memos, op: dict[str, Any], no_retry: bool) -> bool:
    if op["id"] not in memos.planned and op["id"] not in memos.steps:
        memos.planned.append(op["id"])
    return False


def _sleep(memos: Memos, op: dict[str, Any], no_retry: bool) -> bool:
    memos.save(op["id"], None)  # the server wakes the run with a null memo
    return False


# The one table of opcodes the oracle plays itself; the rest need a resolver.
OPCODES: dict[str, Callable[[Memos, dict[str, Any], bool], bool]] = {
    "StepRun": _step_run,
    "StepError": _step_error,
    "StepFailed": _step_failed,
    "StepPlanned": _step_planned,
    "Sleep": _sleep,
}


@dataclass
class Answer:
    """One call's reply as the server reads it."""

    status: int
    body: Any  # parsed JSON
    no_retry: bool = False


@dataclass
class Run:
    status: str  # "completed" | "failed"
    output: Any  # the function's result, or its error object
    ops: list[list[dict[str, Any]]] = field(default_factory=list)  # every 206 op list, in order
    calls: int = 0


Send = Callable[[Memos], Answer]  # one call built from the memos (target, attempt, stack, disable)


def play(send: Send, memos: Memos | None = None, *, resolve: Resolver | None = None, limit: int = 40,
         name: str = "run") -> Run:
    """Call until the run ends, as the executor does; returns how it ended."""
    memos = Memos() if memos is None else memos
    run = Run("running", None)
    for _ in range(limit):
        answer = send(memos)
        run.calls += 1
        if answer.status == 200:
            run.status, run.output = "completed", answer.body
            return run
        if answer.status != 206:  # a function-level error
            if not memos.retries(answer.no_retry):
                run.status, run.output = "failed", answer.body
                return run
            continue
        ops = answer.body
        if not isinstance(ops, list):
            raise ProtocolError(f"206 body is not an op list: {ops!r}")
        run.ops.append(ops)
        memos.apply(ops, no_retry=answer.no_retry, resolve=resolve)
    raise ProtocolError(f"{name} did not end within {limit} calls")
