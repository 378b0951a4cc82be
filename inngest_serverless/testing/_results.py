"""What a test reads of a run: its status, output, error and step timeline, on the virtual clock."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, TypeGuard

# Timeline kinds that are one attempt (or the wait) of a step, as the executor records them.
STEP_KINDS = frozenset(
    {"StepRun", "StepError", "StepFailed", "Sleep", "WaitForEvent", "WaitForSignal", "InvokeFunction", "Gateway", "AIGateway"}
)


def to_datetime(seconds: float | None) -> datetime.datetime | None:
    return None if seconds is None else datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


def _wrapped(value: Any) -> TypeGuard[dict[str, Any]]:
    """An invoked function's ``{"data"}`` / ``{"error"}`` (an event, the other resumed value, has a name)."""
    return isinstance(value, dict) and bool(value) and set(value) <= {"data", "error"}


@dataclass(frozen=True)
class StepRecord:
    """One entry of a run's timeline: a step's attempt, a sleep, a wait, or the run's own events.

    ``kind`` is the executor's: ``StepRun`` (a step finished), ``StepError`` (an attempt failed and
    is retried), ``StepFailed`` (its last attempt failed), ``Sleep``, ``WaitForEvent``,
    ``WaitForSignal``, ``InvokeFunction``, ``Gateway``; and for the run, ``Scheduled``,
    ``FunctionError``, ``FunctionReturned`` and its final status. ``name`` is the step ID the
    function wrote (``"charge"``), ``step_id`` its hashed form on the wire.
    """

    kind: str
    name: str | None
    step_id: str | None
    attempt: int | None
    started: datetime.datetime
    ended: datetime.datetime | None
    detail: Any = None

    @property
    def output(self) -> Any:
        """The step's value (``StepRun``), or what ended a wait (the event, the invoked result)."""
        detail = self.detail if isinstance(self.detail, dict) else {}
        if "data" in detail:
            return detail["data"]
        result = detail.get("result")
        return result.get("data") if _wrapped(result) else result

    @property
    def error(self) -> Any:
        """The attempt's error (``StepError``, ``StepFailed``), or the error an invoked function ended with."""
        detail = self.detail if isinstance(self.detail, dict) else {}
        result = detail.get("result")
        return result.get("error") if _wrapped(result) else detail.get("error")

    @property
    def timed_out(self) -> bool:
        """A wait (for an event, a signal or an invoked function) that ended by its timeout."""
        return isinstance(self.detail, dict) and bool(self.detail.get("timeout"))


@dataclass(frozen=True)
class RunResult:
    """A run as it stood when it was read: ``status`` is ``Running``, ``Completed``, ``Failed``,
    ``Cancelled`` or ``Skipped``; times are on the engine's virtual clock (UTC)."""

    run_id: str
    function_id: str
    status: str
    output: Any
    error: Any
    events: list[dict[str, Any]]
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    ended_at: datetime.datetime | None
    timeline: list[StepRecord] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        return self.status == "Completed"

    @property
    def failed(self) -> bool:
        return self.status == "Failed"

    @property
    def cancelled(self) -> bool:
        return self.status == "Cancelled"

    @property
    def running(self) -> bool:
        return self.status == "Running"

    @property
    def event(self) -> dict[str, Any]:
        """The event that started the run (the first of a batch)."""
        return self.events[0] if self.events else {}

    @property
    def steps(self) -> list[StepRecord]:
        """The timeline's step entries (attempts, sleeps, waits, invokes), in order."""
        return [r for r in self.timeline if r.kind in STEP_KINDS]

    def step(self, name: str) -> StepRecord:
        """The last entry of step ``name`` (its result, or its last failed attempt); KeyError if none."""
        for record in reversed(self.timeline):
            if record.name == name and record.kind in STEP_KINDS:
                return record
        raise KeyError(f"run {self.run_id} has no step {name!r}; it has {sorted({r.name for r in self.steps if r.name})}")

    def attempts(self, name: str) -> int:
        """How many times step ``name``'s body ran (each failed attempt and the last one)."""
        return sum(1 for r in self.timeline if r.name == name and r.kind in ("StepRun", "StepError", "StepFailed"))

    @property
    def duration(self) -> datetime.timedelta | None:
        """From the run's creation to its end, on the virtual clock."""
        return None if self.ended_at is None else self.ended_at - self.created_at
