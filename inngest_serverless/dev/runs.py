"""A run's durable state: its row, memoized steps (the stack), history for the timeline."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from typing import Any

from .clock import TimeSource
from .ids import ulid_floor, ulid_ms
from .store import Store, dumps
from .timefmt import rfc3339_ms


class Status:
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    SKIPPED = "Skipped"


ENDED = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.SKIPPED})


@dataclasses.dataclass
class Run:
    id: str
    fn_uuid: str
    fn_slug: str
    status: str
    events: list[dict[str, Any]]
    event_ids: list[str]
    created_at: float
    started_at: float | None
    ended_at: float | None
    output: Any
    error: Any
    version: int
    force_plan: bool
    pending: list[str]
    meta: dict[str, Any]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Run:
        return cls(
            id=row["id"],
            fn_uuid=row["fn_uuid"],
            fn_slug=row["fn_slug"],
            status=row["status"],
            events=json.loads(row["events"]),
            event_ids=json.loads(row["event_ids"]),
            created_at=row["created_at"],
            started_at=row["started_at"],
            ended_at=row["ended_at"],
            output=None if row["output"] is None else json.loads(row["output"]),
            error=None if row["error"] is None else json.loads(row["error"]),
            version=row["version"],
            force_plan=bool(row["force_plan"]),
            pending=json.loads(row["pending"]) if row["pending"] else [],
            meta=json.loads(row["meta"]),
        )

    @property
    def score(self) -> float:
        """Queue score of this run's step items: older (and higher-priority) runs go first."""
        return self.created_at - float(self.meta.get("priority") or 0)

    def public(self) -> dict[str, Any]:
        return {
            "run_id": self.id,
            "function_id": self.fn_uuid,
            "function_slug": self.fn_slug,
            "status": self.status,
            "event_id": self.event_ids[0] if self.event_ids else None,
            "run_started_at": self.created_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "output": self.output,
            "error": self.error,
            "cron": self.meta.get("cron"),
            "batch_id": self.meta.get("batch_id"),
        }

    def v1(self) -> dict[str, Any]:
        """The run as the server's REST API answers it (``FunctionRun``: the same keys and types),
        then what only we add: ``function_slug``, ``started_at`` (Unix seconds) and ``error``."""
        body: dict[str, Any] = {
            "run_id": self.id,
            "run_started_at": rfc3339_ms(self.created_at),
            "function_id": self.fn_uuid,
            "function_version": 0,
            "environment_id": DEV_ENVIRONMENT_ID,
            "event_id": self.event_ids[0] if self.event_ids else None,
            "status": self.status,
            "ended_at": None if self.ended_at is None else rfc3339_ms(self.ended_at),
        }
        if self.output is not None:
            body["output"] = self.output
        for key in ("batch_id", "cron"):  # the server leaves them out when empty
            if self.meta.get(key):
                body[key] = self.meta[key]
        body.update(function_slug=self.fn_slug, started_at=self.started_at, error=self.error)
        return body


# An account or environment id as the dev server writes one (its endpoints do not agree on the value).
DEV_ENVIRONMENT_ID = "00000000-0000-0000-0000-000000000000"


class Runs:
    """Run rows, steps and history, on the shared store."""

    def __init__(self, store: Store, clock: TimeSource) -> None:
        self.store = store
        self.clock = clock

    def get(self, run_id: str) -> Run | None:
        row = self.store.one("SELECT * FROM runs WHERE id=?", run_id)
        return None if row is None else Run.from_row(row)

    def last_id(self) -> str | None:
        row = self.store.one("SELECT MAX(id) FROM runs")
        return None if row is None or not row[0] else str(row[0])

    def end(self, run_id: str, status: str, at: float, *, output: Any = None, error: Any = None) -> bool:
        """Move a Running run to ``status``; False when it had ended already."""
        updated = self.store.run_sql(
            "UPDATE runs SET status=?, ended_at=?, output=?, error=? WHERE id=? AND status=?",
            status,
            at,
            None if output is None else dumps(output),
            None if error is None else dumps(error),
            run_id,
            Status.RUNNING,
        )
        return updated == 1

    def ids(self, *, fn_slug: str | None = None, event_id: str | None = None) -> list[str]:
        """Ids of the runs of function ``fn_slug`` whose events include ``event_id`` (either filter
        optional), oldest first."""
        sql, args = "SELECT id FROM runs WHERE 1=1", []
        if fn_slug is not None:
            sql += " AND fn_slug=?"
            args.append(fn_slug)
        if event_id is not None:
            sql += " AND event_ids LIKE ?"
            args.append(f"%{json.dumps(event_id)}%")
        return [str(row[0]) for row in self.store.all(sql + " ORDER BY id", *args)]

    def create(self, run: Run) -> None:
        self.store.run_sql(
            "INSERT INTO runs(id, fn_uuid, fn_slug, status, events, event_ids, created_at, started_at, ended_at,"
            " output, error, version, force_plan, pending, meta) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            run.id,
            run.fn_uuid,
            run.fn_slug,
            run.status,
            dumps(run.events),
            dumps(run.event_ids),
            run.created_at,
            run.started_at,
            run.ended_at,
            None if run.output is None else dumps(run.output),
            None if run.error is None else dumps(run.error),
            run.version,
            int(run.force_plan),
            dumps(run.pending),
            dumps(run.meta),
        )

    def update(self, run: Run, **fields: Any) -> None:
        encoded = {}
        for name, value in fields.items():
            setattr(run, name, value)
            if name in ("pending", "meta"):
                value = dumps(value)
            elif name == "force_plan":
                value = int(value)
            encoded[name] = value
        assignments = ", ".join(f"{name}=?" for name in encoded)
        self.store.run_sql(f"UPDATE runs SET {assignments} WHERE id=?", *encoded.values(), run.id)

    def steps(self, run_id: str) -> tuple[list[str], dict[str, Any]]:
        """The stack (completion order) and the memoized values."""
        rows = self.store.all("SELECT step_id, value FROM steps WHERE run_id=? ORDER BY seq", run_id)
        stack = [r[0] for r in rows]
        return stack, {r[0]: None if r[1] is None else json.loads(r[1]) for r in rows}

    def step_count(self, run_id: str) -> int:
        row = self.store.one("SELECT COUNT(*) FROM steps WHERE run_id=?", run_id)
        return int(row[0]) if row else 0

    def save_step(self, run_id: str, step_id: str, value: Any) -> bool:
        """Memoize a step; the first value wins. True when this call saved it."""
        with self.store.tx() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO steps(run_id, step_id, seq, value) "
                "VALUES(?,?,(SELECT COUNT(*) FROM steps WHERE run_id=?),?)",
                (run_id, step_id, run_id, None if value is None else dumps(value)),
            )
            return cursor.rowcount == 1

    def log(
        self,
        run_id: str,
        kind: str,
        *,
        step_id: str | None = None,
        name: str | None = None,
        started: float | None = None,
        ended: float | None = None,
        attempt: int | None = None,
        detail: Any = None,
    ) -> None:
        now = self.clock.now()
        self.store.run_sql(
            "INSERT INTO history(run_id, kind, step_id, name, started, ended, attempt, detail) VALUES(?,?,?,?,?,?,?,?)",
            run_id,
            kind,
            step_id,
            name,
            now if started is None else started,
            ended,
            attempt,
            None if detail is None else dumps(detail),
        )

    def log_end(self, run_id: str, step_id: str, detail: Any = None) -> None:
        """Close the open timeline entry of a sleep, wait or invoke."""
        self.store.run_sql(
            "UPDATE history SET ended=?, detail=COALESCE(?, detail) WHERE run_id=? AND step_id=? AND ended IS NULL",
            self.clock.now(),
            None if detail is None else dumps(detail),
            run_id,
            step_id,
        )

    def history(self, run_id: str) -> list[sqlite3.Row]:
        """A run's history rows, oldest first (``detail`` still JSON text)."""
        return self.store.all("SELECT * FROM history WHERE run_id=? ORDER BY id", run_id)

    def timeline(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.history(run_id)
        return [
            {
                "kind": r["kind"],
                "step_id": r["step_id"],
                "name": r["name"],
                "started": r["started"],
                "ended": r["ended"],
                "attempt": r["attempt"],
                "detail": None if r["detail"] is None else json.loads(r["detail"]),
            }
            for r in rows
        ]

    # -- what the dashboard reads

    def row(self, run_id: str) -> sqlite3.Row | None:
        return self.store.one("SELECT * FROM runs WHERE id=?", run_id)

    def counts_by_function(self) -> list[sqlite3.Row]:
        """(function uuid, status, count) for every function and status with runs."""
        return self.store.all("SELECT fn_uuid, status, COUNT(*) FROM runs GROUP BY fn_uuid, status")

    def of_events(self, event_ids: list[str]) -> list[sqlite3.Row]:
        """(run id, function slug, status, event id) of the runs each event started. A run is created
        at or after its event, and both ids are ULIDs, so only runs newer than the oldest event are read."""
        floor = ulid_floor(min(ulid_ms(e) for e in event_ids))
        return self.store.all(
            "SELECT r.id, r.fn_slug, r.status, j.value FROM runs r, json_each(r.event_ids) j"
            f" WHERE r.id >= ? AND j.value IN ({','.join('?' * len(event_ids))}) ORDER BY r.id",
            floor,
            *event_ids,
        )

    def resumed_by(self, event_id: str) -> str | None:
        """The run whose wait an event (by its id) resumed: the wait's result names the event."""
        row = self.store.one(
            "SELECT run_id FROM history WHERE kind='WaitForEvent' AND detail LIKE ? LIMIT 1",
            f'%"id":{json.dumps(event_id)}%',
        )
        return None if row is None else str(row[0])

    def summaries(
        self,
        *,
        function: str | None,
        status: str | None,
        from_id: str | None,
        before_id: str | None,
        limit: int,
    ) -> list[sqlite3.Row]:
        """Runs newest first (id, slug, status, times, first event's name, error message), filtered
        by function slug and status, with ids in [``from_id``, ``before_id``)."""
        sql = (
            "SELECT id, fn_slug, status, created_at, started_at, ended_at, json_extract(events, '$[0].name') AS event_name,"
            " json_extract(error, '$.message') AS error_message FROM runs WHERE 1=1"
        )
        args: list[Any] = []
        for clause, value in (("fn_slug=?", function), ("status=?", status), ("id>=?", from_id), ("id<?", before_id)):
            if value is not None:
                sql += f" AND {clause}"
                args.append(value)
        return self.store.all(sql + " ORDER BY id DESC LIMIT ?", *args, limit)

    def invoked_by(self, run_id: str) -> dict[str, str]:
        """The runs ``run_id`` invoked, by correlation id (``<parent run id>.<step id>``, indexed)."""
        rows = self.store.all(
            "SELECT id, json_extract(meta, '$.correlation_id') FROM runs"
            " WHERE json_extract(meta, '$.correlation_id') >= ? AND json_extract(meta, '$.correlation_id') < ?",
            f"{run_id}.",
            f"{run_id}/",
        )
        return {str(r[1]): str(r[0]) for r in rows}

    def list(self, limit: int = 50, status: str | None = None) -> list[Run]:
        if status:
            rows = self.store.all("SELECT * FROM runs WHERE status=? ORDER BY id DESC LIMIT ?", status, limit)
        else:
            rows = self.store.all("SELECT * FROM runs ORDER BY id DESC LIMIT ?", limit)
        return [Run.from_row(r) for r in rows]
