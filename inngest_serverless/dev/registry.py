"""Registered apps and functions: ``POST /fn/register`` bodies validated and applied to the store."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

from .clock import TimeSource
from .functions import FunctionConfig, SyncRefused
from .ids import stable_uuid
from .store import Store, dumps


class Registry:
    """The functions the executor knows, cached in memory and kept in SQLite."""

    def __init__(self, store: Store, clock: TimeSource) -> None:
        self.store = store
        self.clock = clock
        self._functions: dict[str, FunctionConfig] = {}
        self.load()

    def load(self) -> None:
        functions = {}
        for row in self.store.all("SELECT uuid, app, version, config FROM functions"):
            fn = FunctionConfig.from_config(row["uuid"], row["app"], row["version"], json.loads(row["config"]))
            functions[fn.uuid] = fn
        self._functions = functions

    def functions(self) -> list[FunctionConfig]:
        return list(self._functions.values())

    def function(self, uuid: str) -> FunctionConfig | None:
        return self._functions.get(uuid)

    def by_id(self, fn_id: str) -> FunctionConfig | None:
        for fn in self._functions.values():
            if fn_id in (fn.uuid, fn.slug):
                return fn
        return None

    def register(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply a ``POST /fn/register`` body; SyncRefused for a payload the server would refuse."""
        fields = {str(k).lower(): v for k, v in payload.items()}
        app = str(fields.get("appname") or "")
        if not app:
            raise SyncRefused("App ID required")
        url = str(fields.get("url") or "")
        for name in ("sdk", "framework"):
            if fields.get(name) is not None and not isinstance(fields[name], str):
                raise SyncRefused(f"{name} must be a string")
        configs = fields.get("functions") or []
        if not isinstance(configs, list):
            raise SyncRefused("functions must be a list")
        checksum = hashlib.sha256(dumps(payload).encode()).hexdigest()
        app_id = stable_uuid("app", app)
        existing_app = self.store.one("SELECT checksum, error FROM apps WHERE name=?", app)
        if existing_app is not None and existing_app["checksum"] == checksum and not existing_app["error"]:
            return {"ok": True, "app_id": app_id, "sync_id": stable_uuid("sync", checksum)}
        parsed = []
        for config in configs:
            if not isinstance(config, dict) or not config.get("id") or not isinstance(config["id"], str):
                raise SyncRefused("every function needs an id (a string)")
            row = self.store.one("SELECT uuid, app, version FROM functions WHERE slug=?", config["id"])
            if row is not None and row["app"] != app and self._url_of(row["app"]) != url:
                # SDKs prefix ids with the app id, so app "shop" + "orders-sync" and app "shop-orders" +
                # "sync" both send "shop-orders-sync": one app must not take over another's function.
                raise SyncRefused(
                    f"function id {config['id']!r} is already registered by app {row['app']!r}; "
                    "rename the function or the app, or remove the other app first"
                )
            uuid = row["uuid"] if row is not None else stable_uuid(str(config.get("name") or config["id"]), url)
            version = (row["version"] + 1) if row is not None else 1
            try:
                fn = FunctionConfig.from_config(uuid, app, version, config)
                fn.validate()
            except SyncRefused:
                raise
            except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a value of the wrong shape
                raise SyncRefused(f"function {str(config['id'])[:100]!r} has an invalid config: {exc}"[:300]) from None
            parsed.append(fn)
        with self.store.tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO apps(name, url, sdk, framework, checksum, error, updated_at) VALUES(?,?,?,?,?,NULL,?)",
                (app, url, fields.get("sdk"), fields.get("framework"), checksum, self.clock.now()),
            )
            keep = [fn.uuid for fn in parsed]
            marks = ",".join("?" * len(keep)) or "''"
            conn.execute(f"DELETE FROM functions WHERE app=? AND uuid NOT IN ({marks})", (app, *keep))
            for fn in parsed:
                conn.execute(
                    "INSERT OR REPLACE INTO functions(uuid, slug, app, name, version, config) VALUES(?,?,?,?,?,?)",
                    (fn.uuid, fn.slug, app, fn.name, fn.version, dumps(fn.config)),
                )
        self.load()
        self.record_sync(url, None)
        return {"ok": True, "modified": True, "app_id": app_id, "sync_id": stable_uuid("sync", checksum)}

    def record_sync(self, url: str, error: str | None) -> None:
        """Remember how the last sync of the app at ``url`` went (None: it synced), for the dashboard."""
        if url:
            self.store.run_sql(
                "INSERT OR REPLACE INTO sdk_urls(url, error, polled_at) VALUES(?,?,?)", url, error, self.clock.now()
            )

    def sync_states(self) -> list[sqlite3.Row]:
        """(url, error, polled_at) of every app URL synced or polled."""
        return self.store.all("SELECT url, error, polled_at FROM sdk_urls")

    def _url_of(self, app: str) -> str | None:
        row = self.store.one("SELECT url FROM apps WHERE name=?", app)
        return None if row is None else str(row["url"])

    def apps(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.store.all("SELECT name, url, sdk, framework, error, updated_at FROM apps")]

    def remove(self, url: str) -> bool:
        """Forget the app served at ``url`` and its functions (``DELETE /fn/remove``)."""
        with self.store.tx() as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM apps WHERE url=?", (url,)).fetchall()]
            for name in names:
                conn.execute("DELETE FROM functions WHERE app=?", (name,))
                conn.execute("DELETE FROM apps WHERE name=?", (name,))
        self.load()
        return bool(names)
