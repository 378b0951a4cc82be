"""The run queue: due items in SQLite, claimed by worker threads under concurrency and throttle limits.

Concurrency counts items being executed (SDK calls in flight), per evaluated key, as the server's
"step" limits do; a sleeping or waiting run holds no slot. Throttle gates ``start`` items with GCRA.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any

from .clock import TimeSource
from .store import Store, dumps


class Kind:
    START = "start"
    EDGE = "edge"
    EDGE_ERROR = "edge-error"
    SLEEP = "sleep"
    PAUSE_TIMEOUT = "pause-timeout"
    START_TIMEOUT = "timeout-start"
    FINISH_TIMEOUT = "timeout-finish"
    CRON = "cron"
    DEBOUNCE = "debounce"
    BATCH = "batch"


CALLS_SDK = frozenset({Kind.START, Kind.EDGE, Kind.EDGE_ERROR, Kind.SLEEP})


@dataclasses.dataclass
class Item:
    id: int
    job_id: str | None
    run_id: str | None
    kind: str
    at: float
    attempt: int
    payload: dict[str, Any]


def gcra(tat: float | None, now: float, limit: int, period: float, burst: int) -> tuple[bool, float, float]:
    """Generic cell rate algorithm: (admitted, new tat, earliest admission time if refused)."""
    emission = period / max(limit, 1)
    dvt = emission * (burst + 1)
    base = max(tat or 0.0, now)
    allow_at = base + emission - dvt
    if allow_at <= now:
        return True, base + emission, now
    return False, tat or 0.0, allow_at


class Queue:
    def __init__(self, store: Store, clock: TimeSource) -> None:
        self.store = store
        self.clock = clock
        self.cond = threading.Condition()
        self.generation = 0
        self.inflight: dict[str, int] = {}
        self.throttle_tat: dict[str, float] = {}

    def recover(self) -> None:
        """After a restart nothing is in flight: every leased item is due again."""
        self.store.run_sql("UPDATE queue SET leased=0 WHERE leased=1")

    def push(
        self,
        kind: str,
        *,
        run_id: str | None,
        at: float,
        payload: dict[str, Any],
        job_id: str | None = None,
        score: float | None = None,
        attempt: int = 0,
    ) -> bool:
        """Enqueue one item (joins the caller's transaction); False when ``job_id`` is already queued."""
        with self.store.tx() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO queue(job_id, run_id, kind, at, score, attempt, payload) VALUES(?,?,?,?,?,?,?)",
                (job_id, run_id, kind, at, at if score is None else score, attempt, dumps(payload)),
            )
        self.notify()
        return cursor.rowcount == 1

    def notify(self, workers: int = 1) -> None:
        """Wake ``workers`` idle workers (one per new item: waking them all only makes them contend)."""
        with self.cond:
            self.generation += 1
            self.cond.notify(workers)

    def reschedule(self, item: Item, at: float, attempt: int, payload: dict[str, Any] | None = None) -> None:
        self.store.run_sql(
            "UPDATE queue SET at=?, score=MIN(score, ?), attempt=?, leased=0, payload=? WHERE id=?",
            at,
            at,
            attempt,
            dumps(item.payload if payload is None else payload),
            item.id,
        )
        self.notify()

    def delete(self, item: Item) -> None:
        self.store.run_sql("DELETE FROM queue WHERE id=?", item.id)

    def delete_job(self, job_id: str, *, leased_too: bool = True) -> None:
        """Drop the item queued under ``job_id`` (only while no worker holds it, unless ``leased_too``)."""
        if leased_too:
            self.store.run_sql("DELETE FROM queue WHERE job_id=?", job_id)
        else:
            self.store.run_sql("DELETE FROM queue WHERE job_id=? AND leased=0", job_id)

    def delete_run(self, run_id: str) -> None:
        self.store.run_sql("DELETE FROM queue WHERE run_id=?", run_id)

    def save_payload(self, item: Item) -> None:
        self.store.run_sql("UPDATE queue SET payload=? WHERE id=?", dumps(item.payload), item.id)

    def reset_attempts(self, job: str) -> None:
        """Start the attempts of the item named by a call's job id (``item-<id>`` or its job id) afresh."""
        if job.startswith("item-") and job[5:].isdigit():
            self.store.run_sql("UPDATE queue SET attempt=0 WHERE id=?", int(job[5:]))
        elif job:
            self.store.run_sql("UPDATE queue SET attempt=0 WHERE job_id=?", job)

    def _admissible(self, item: Item, now: float) -> bool:
        for key, limit in item.payload.get("ckeys") or []:
            if self.inflight.get(key, 0) >= limit:
                return False
        throttle = item.payload.get("throttle")
        if throttle and item.kind == Kind.START:
            key = throttle["key"]
            ok, tat, allow_at = gcra(self.throttle_tat.get(key), now, throttle["limit"], throttle["period"], throttle["burst"])
            if not ok:
                self.store.run_sql("UPDATE queue SET at=? WHERE id=?", allow_at, item.id)
                return False
            self.throttle_tat[key] = tat
        return True

    def claim(self, now: float | None = None) -> Item | None:
        """Lease the first admissible item due at ``now`` (the clock's time by default)."""
        if now is None:
            now = self.clock.now()
        with self.store.tx() as conn:
            rows = conn.execute(
                "SELECT id, job_id, run_id, kind, at, attempt, payload FROM queue "
                "WHERE leased=0 AND at<=? ORDER BY score, id LIMIT 512",
                (now,),
            ).fetchall()
            for row in rows:
                item = Item(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]))
                if not self._admissible(item, now):
                    continue
                conn.execute("UPDATE queue SET leased=1 WHERE id=?", (item.id,))
                for key, _ in item.payload.get("ckeys") or []:
                    self.inflight[key] = self.inflight.get(key, 0) + 1
                return item
        return None

    def release(self, item: Item) -> None:
        keys = item.payload.get("ckeys") or []
        if not keys:
            return
        with self.store.lock:
            for key, _ in keys:
                self.inflight[key] = max(0, self.inflight.get(key, 0) - 1)
        self.notify()  # a slot freed: a blocked item may go now

    def next_due(self, after: float) -> float | None:
        row = self.store.one("SELECT MIN(at) FROM queue WHERE leased=0 AND at>?", after)
        return None if row is None or row[0] is None else float(row[0])

    def earliest(self) -> float | None:
        """When the earliest item not being worked on is due (None when the queue is empty)."""
        row = self.store.one("SELECT MIN(at) FROM queue WHERE leased=0")
        return None if row is None or row[0] is None else float(row[0])

    def wait(self, generation: int, max_wait: float) -> None:
        """Sleep until something is enqueued or the next item falls due (at most ``max_wait``)."""
        now = self.clock.now()
        # Items already due but not claimed are blocked by a limit: a release will notify.
        due = self.next_due(now)
        timeout = max_wait if due is None else min(max_wait, max(due - now, 0.001))
        with self.cond:
            if self.generation == generation and timeout > 0:
                self.cond.wait(timeout)
