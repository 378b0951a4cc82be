"""The pauses table: what a run waits for (an event, an invoke's result, a signal) and the events
that cancel it, each with the time it expires."""

from __future__ import annotations

import sqlite3
from typing import Any

from .store import Store, dumps


class PauseStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def put(
        self, pause_id: str, run_id: str, step_id: str, kind: str, event: str, expr: str | None, expires: float, data: Any
    ) -> None:
        """Store a wait (replacing one of the same id)."""
        self.store.run_sql(
            "INSERT OR REPLACE INTO pauses(id, run_id, step_id, kind, event, expr, expires, data) VALUES(?,?,?,?,?,?,?,?)",
            pause_id,
            run_id,
            step_id,
            kind,
            event,
            expr,
            expires,
            dumps(data),
        )

    def put_cancel(self, pause_id: str, run_id: str, event: str, expr: str | None, expires: float) -> None:
        """Store a cancel-on entry (kept when one of the same id exists)."""
        self.store.run_sql(
            "INSERT OR IGNORE INTO pauses(id, run_id, step_id, kind, event, expr, expires, data) VALUES(?,?,?,?,?,?,?,?)",
            pause_id,
            run_id,
            None,
            "cancel",
            event,
            expr,
            expires,
            "{}",
        )

    def take(self, pause_id: str) -> sqlite3.Row | None:
        """Remove a pause and return it; None when it is gone already (consumed once only)."""
        with self.store.tx() as conn:
            row: sqlite3.Row | None = conn.execute("SELECT * FROM pauses WHERE id=?", (pause_id,)).fetchone()
            if row is not None:
                conn.execute("DELETE FROM pauses WHERE id=?", (pause_id,))
            return row

    def delete(self, pause_id: str) -> None:
        self.store.run_sql("DELETE FROM pauses WHERE id=?", pause_id)

    def delete_run(self, run_id: str) -> None:
        self.store.run_sql("DELETE FROM pauses WHERE run_id=?", run_id)

    def matching(self, event_name: str, now: float) -> list[sqlite3.Row]:
        """Live waits, invokes and cancel-on entries for events named ``event_name``."""
        return self.store.all(
            "SELECT * FROM pauses WHERE event=? AND kind IN ('wait','invoke','cancel') AND expires>?", event_name, now
        )

    def signal_waiter(self, signal: str, now: float | None = None) -> sqlite3.Row | None:
        """The wait for ``signal`` (live at ``now`` when given)."""
        if now is None:
            return self.store.one("SELECT id, run_id FROM pauses WHERE kind='signal' AND event=?", signal)
        return self.store.one("SELECT id, run_id FROM pauses WHERE kind='signal' AND event=? AND expires>?", signal, now)

    def awaited(self, event_name: str) -> bool:
        """Whether some run waits for (or is cancelled by) an event of this name."""
        return self.store.one("SELECT 1 FROM pauses WHERE event=? LIMIT 1", event_name) is not None

    def expiries(self, run_id: str) -> dict[str, float]:
        """When each open wait of a run expires, by step id."""
        rows = self.store.all("SELECT step_id, expires FROM pauses WHERE run_id=?", run_id)
        return {str(r["step_id"]): float(r["expires"]) for r in rows}
