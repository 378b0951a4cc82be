"""The events table: every event the executor received, kept as its body under its internal id."""

from __future__ import annotations

import sqlite3
from typing import Any

from .store import Store, dumps


class EventLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, internal_id: str, event: dict[str, Any], received_at: float) -> bool:
        """Store ``event``; False when that internal id was stored already (a client's retry)."""
        inserted = self.store.run_sql(
            "INSERT OR IGNORE INTO events(internal_id, name, body, received_at) VALUES(?,?,?,?)",
            internal_id,
            event["name"],
            dumps(event),
            received_at,
        )
        return inserted == 1

    def get(self, internal_id: str) -> sqlite3.Row | None:
        return self.store.one("SELECT * FROM events WHERE internal_id=?", internal_id)

    def last_id(self) -> str | None:
        row = self.store.one("SELECT MAX(internal_id) FROM events")
        return None if row is None or not row[0] else str(row[0])

    def page(
        self, *, name: str | None = None, excluded: tuple[str, ...] = (), before: str | None = None, limit: int = 50
    ) -> list[sqlite3.Row]:
        """Events newest first: named ``name`` (else none of ``excluded``), received before ``before``."""
        sql, args = "SELECT * FROM events WHERE 1=1", []
        if name:
            sql += " AND name=?"
            args.append(name)
        elif excluded:
            sql += f" AND name NOT IN ({','.join('?' * len(excluded))})"
            args.extend(excluded)
        if before:
            sql += " AND internal_id<?"
            args.append(before)
        return self.store.all(sql + " ORDER BY internal_id DESC LIMIT ?", *args, limit)
