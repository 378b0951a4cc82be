"""``DevServer``: the executor, its HTTP API and the app poller, started and stopped together."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from . import calls, console
from .clock import TimeSource
from .executor import Executor, Options
from .http_api import APIServer
from .store import Store

log = logging.getLogger("inngest_serverless.dev")

DEFAULT_PORT = 8288
DEFAULT_DB = ".inngest-serverless/dev.db"


class DevServer:
    """An Inngest-compatible executor on ``host:port`` with state in SQLite (``db`` may be ``:memory:``)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        db: str = DEFAULT_DB,
        sdk_urls: list[str] | tuple[str, ...] = (),
        options: Options | None = None,
        clock: TimeSource | None = None,
        **option_fields: Any,
    ) -> None:
        self.options = options or Options(**option_fields)
        self.store = Store(db)
        try:
            self.executor = Executor(self.store, self.options, clock=clock)
            self.api = APIServer(self.executor, host, port)
        except BaseException:
            self.store.close()  # and its lock: the port may be free on the next try
            raise
        self.sdk_urls = list(sdk_urls)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.reachability = console.AppReachability()

    @property
    def port(self) -> int:
        return int(self.api.server_address[1])

    @property
    def url(self) -> str:
        host = self.api.server_address[0]
        return f"http://{host!s}:{self.port}"

    def start(self) -> DevServer:
        self.executor.start()
        for target, name in ((self.api.serve_forever, "executor-api"), (self._poll, "executor-poller")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self.api.shutdown()
        self.api.server_close()
        self.executor.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self.store.close()

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def ping_apps(self) -> None:
        """PUT every known app URL so the app registers itself (what the real dev server does every 5 s)."""
        urls = set(self.sdk_urls)
        urls.update(app["url"] for app in self.executor.registry.apps() if app.get("url"))
        for url in sorted(urls):
            reply = calls.ping_app(url, self.options.signing_key)
            problem = _sync_problem(reply)
            self.reachability.record(url, problem)
            self.executor.registry.record_sync(url, problem[1] if problem else None)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self.ping_apps()
            except Exception:
                log.exception("polling apps failed")
            if self._stop.wait(self.options.poll_interval):
                return
        time.sleep(0)


def _sync_problem(reply: calls.Reply) -> tuple[str, str] | None:
    """Why a sync ping did not succeed, as (state, one line); None when the app answered 2xx."""
    if reply.error:
        return "unreachable", reply.error
    if 200 <= reply.status < 300:
        return None
    try:
        body = reply.json()
    except ValueError:
        body = None
    message = body.get("message") or body.get("error") if isinstance(body, dict) else None
    said = f": {' '.join(str(message).split())[:300]}" if message else ""
    return f"HTTP {reply.status}", f"it answered HTTP {reply.status}{said}"
