"""SQLite state of the executor: apps, functions, events, runs, memoized steps, queue, pauses.

One connection guarded by one re-entrant lock; every state change of a run happens inside
one transaction, so a crash (even SIGKILL) leaves either the old or the new state on disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from typing import IO, Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS apps(
  name TEXT PRIMARY KEY, url TEXT NOT NULL, sdk TEXT, framework TEXT, checksum TEXT,
  error TEXT, updated_at REAL);
CREATE TABLE IF NOT EXISTS sdk_urls(url TEXT PRIMARY KEY, error TEXT, polled_at REAL);
CREATE TABLE IF NOT EXISTS functions(
  uuid TEXT PRIMARY KEY, slug TEXT UNIQUE NOT NULL, app TEXT NOT NULL, name TEXT,
  version INTEGER NOT NULL, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events(
  internal_id TEXT PRIMARY KEY, name TEXT NOT NULL, body TEXT NOT NULL, received_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS events_name ON events(name);
CREATE TABLE IF NOT EXISTS runs(
  id TEXT PRIMARY KEY, fn_uuid TEXT NOT NULL, fn_slug TEXT NOT NULL, status TEXT NOT NULL,
  events TEXT NOT NULL, event_ids TEXT NOT NULL, created_at REAL NOT NULL, started_at REAL,
  ended_at REAL, output TEXT, error TEXT, version INTEGER NOT NULL DEFAULT -1,
  force_plan INTEGER NOT NULL DEFAULT 0, pending TEXT, meta TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
-- The dashboard's lists (newest first within a status or a function), its runs-by-status counts,
-- and an invoke's child run (found by the correlation id its parent gave it).
CREATE INDEX IF NOT EXISTS runs_status_id ON runs(status, id);
CREATE INDEX IF NOT EXISTS runs_fn_id ON runs(fn_slug, id);
CREATE INDEX IF NOT EXISTS runs_fn_status ON runs(fn_uuid, status);
CREATE INDEX IF NOT EXISTS runs_correlation ON runs(json_extract(meta, '$.correlation_id'))
  WHERE json_extract(meta, '$.correlation_id') IS NOT NULL;
CREATE TABLE IF NOT EXISTS steps(
  run_id TEXT NOT NULL, step_id TEXT NOT NULL, seq INTEGER NOT NULL, value TEXT,
  PRIMARY KEY(run_id, step_id));
CREATE TABLE IF NOT EXISTS history(
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, kind TEXT NOT NULL, step_id TEXT,
  name TEXT, started REAL NOT NULL, ended REAL, attempt INTEGER, detail TEXT);
CREATE INDEX IF NOT EXISTS history_run ON history(run_id);
CREATE TABLE IF NOT EXISTS queue(
  id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT UNIQUE, run_id TEXT, kind TEXT NOT NULL,
  at REAL NOT NULL, score REAL NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,
  payload TEXT NOT NULL, leased INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS queue_due ON queue(leased, at);
CREATE INDEX IF NOT EXISTS queue_run ON queue(run_id);
CREATE TABLE IF NOT EXISTS pauses(
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL, step_id TEXT, kind TEXT NOT NULL, event TEXT,
  expr TEXT, expires REAL NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS pauses_event ON pauses(event);
CREATE INDEX IF NOT EXISTS pauses_run ON pauses(run_id);
CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL);
"""


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class StoreError(sqlite3.DatabaseError):
    """A database the executor must not start on (in use, damaged, locked): one line, after the path
    (the CLI prints ``error: cannot open the database <path>: <this>``)."""


def _hold_lock(path: str) -> IO[bytes] | None:
    """Take ``<db>.lock`` for the life of the process; StoreError if another executor holds it.

    Two executors on one file would both lease the same queue items and run step bodies twice.
    The lock is the kernel's (``flock``): a killed executor's lock goes with its process, so a
    restart after SIGKILL never finds a stale one.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no flock; one executor per file is up to the user
        return None
    handle = open(path + ".lock", "ab")  # noqa: SIM115 - held open for as long as the store
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise StoreError(f"another executor is using it (it holds {path}.lock); stop it, or pass another --db") from None
    return handle


class Store:
    """The executor's database. ``path`` is a file or ``:memory:``."""

    def __init__(self, path: str) -> None:
        self._lock_file: IO[bytes] | None = None
        if path != ":memory:":
            parent = os.path.dirname(os.path.abspath(path))
            os.makedirs(parent, exist_ok=True)
            self._lock_file = _hold_lock(path)
        self.path = path
        self.lock = threading.RLock()
        self._depth = 0
        try:
            # A short busy timeout: a file another program holds a write lock on fails the start
            # in seconds, with one line, rather than later, in a worker.
            self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=2.0)
            self.conn.row_factory = sqlite3.Row
            if path != ":memory:":
                self._check()
                self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(SCHEMA)
            self.conn.execute("BEGIN IMMEDIATE")  # can it write? (a schema already there needs no write)
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._release()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(str(exc)) from None

    def _check(self) -> None:
        """Refuse a damaged file at start, before any event is acknowledged into it."""
        rows = [str(r[0]) for r in self.conn.execute("PRAGMA quick_check(3)").fetchall()]
        if rows != ["ok"]:
            found = "; ".join(" ".join(r.split()) for r in rows)[:300]
            raise StoreError(f"it is damaged ({found}); move it away to start afresh")

    def _release(self) -> None:
        with contextlib.suppress(Exception):
            if hasattr(self, "conn"):
                self.conn.close()
        if self._lock_file is not None:
            self._lock_file.close()  # closing the file drops the flock
            self._lock_file = None

    def close(self) -> None:
        with self.lock:
            self._release()

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One atomic transaction; a nested call is a savepoint that an exception rolls back alone."""
        with self.lock:
            depth = self._depth
            self.conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT sp{depth}")
            self._depth += 1
            try:
                yield self.conn
            except BaseException:
                self._depth -= 1
                if depth == 0:
                    self.conn.execute("ROLLBACK")
                else:
                    self.conn.execute(f"ROLLBACK TO sp{depth}")
                    self.conn.execute(f"RELEASE sp{depth}")
                raise
            self._depth -= 1
            self.conn.execute("COMMIT" if depth == 0 else f"RELEASE sp{depth}")

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self.lock:
            row: sqlite3.Row | None = self.conn.execute(sql, args).fetchone()
            return row

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self.lock:
            return list(self.conn.execute(sql, args).fetchall())

    def run_sql(self, sql: str, *args: Any) -> int:
        with self.tx() as conn:
            return conn.execute(sql, args).rowcount

    def change_token(self) -> str:
        """A token that changes whenever a run, event, app or function changes: every state change
        of a run writes a history row, every event and run a row, every sync the apps table (and a
        sync's problem the sdk_urls table, not its time). Each part is an O(1) lookup or a tiny
        table, so polling for it costs next to nothing."""
        row = self.one(
            "SELECT (SELECT MAX(id) FROM history), (SELECT MAX(rowid) FROM events), (SELECT MAX(rowid) FROM runs),"
            " (SELECT COUNT(*) || '.' || IFNULL(MAX(updated_at), 0) FROM apps),"
            " (SELECT COUNT(*) || '.' || IFNULL(SUM(version), 0) FROM functions),"
            " (SELECT COUNT(*) || '.' || TOTAL(LENGTH(error)) || '.' || TOTAL(error IS NULL) FROM sdk_urls)"
        )
        return "-".join(str(value) for value in (row or ()))

    # -- key/value: idempotency keys, GCRA state, singleton holders, debounce/batch buffers --

    def kv_get(self, key: str, now: float) -> Any:
        row = self.one("SELECT value, expires FROM kv WHERE key=?", key)
        if row is None or (row["expires"] is not None and row["expires"] <= now):
            return None
        return json.loads(row["value"])

    def kv_set(self, key: str, value: Any, expires: float | None = None) -> None:
        self.run_sql("INSERT OR REPLACE INTO kv(key, value, expires) VALUES(?,?,?)", key, dumps(value), expires)

    def kv_claim(self, key: str, value: Any, expires: float, now: float) -> Any:
        """Set ``key`` unless a live value exists; return the existing value, or None if claimed."""
        with self.tx():
            existing = self.kv_get(key, now)
            if existing is not None:
                return existing
            self.kv_set(key, value, expires)
            return None

    def kv_delete(self, key: str, value: Any = None) -> None:
        """Delete ``key`` (only while it holds ``value``, when one is given)."""
        if value is None:
            self.run_sql("DELETE FROM kv WHERE key=?", key)
        else:
            self.run_sql("DELETE FROM kv WHERE key=? AND value=?", key, dumps(value))
