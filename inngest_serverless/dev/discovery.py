"""What follows a finished step: the call that discovers the run's next step, queued at once,
unless parallel siblings are still pending."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .clock import TimeSource
from .flow import item_payload
from .queue import Kind, Queue
from .runs import Run, Runs

if TYPE_CHECKING:
    from .functions import FunctionConfig


class Discovery:
    def __init__(self, runs: Runs, queue: Queue, clock: TimeSource) -> None:
        self.runs = runs
        self.queue = queue
        self.clock = clock

    def advance_pending(self, run: Run, step_id: str) -> bool:
        """Drop a finished step from the parallel group; True when the run may rediscover now."""
        if step_id in run.pending:
            pending = [p for p in run.pending if p != step_id]
            self.runs.update(run, pending=pending)
        if run.pending:
            return bool(run.meta.get("race"))  # race mode: rediscover after every branch finishes
        if run.meta.get("race"):
            self.runs.update(run, meta={k: v for k, v in run.meta.items() if k != "race"})
        if run.version >= 2 and run.force_plan:
            self.runs.update(run, force_plan=False)
        return True

    def after(self, run: Run, fn: FunctionConfig, step_id: str, *, kind: str = Kind.EDGE, suffix: str = "") -> None:
        """Queue the discovery call that follows a finished step, unless parallel siblings are pending."""
        if self.advance_pending(run, step_id):
            self.push(run, fn, step_id, f"{run.id}:{step_id}{suffix}", kind=kind)

    def push(self, run: Run, fn: FunctionConfig, outgoing: str, job_id: str, kind: str = Kind.EDGE) -> None:
        edge = {"outgoing": outgoing, "incoming": "step"}
        self.queue.push(
            kind, run_id=run.id, at=self.clock.now(), score=run.score, job_id=job_id, payload=item_payload(fn, run, edge)
        )
