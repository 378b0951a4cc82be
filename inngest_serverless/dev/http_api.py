"""The executor's HTTP API on one port: event API, registration, state for ``use_api``, runs, signals."""

from __future__ import annotations

import json
import logging
import re
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from inngest_serverless.core.wire import CONTENT_TYPE_JSON, Header, Path, ServerKind

from . import console, dashboard, payloads
from .checkpoints import PATH as _CHECKPOINT
from .functions import SyncRefused
from .http_base import RUN_STATE, HTTPError, authorized, run_state
from .ids import is_ulid
from .ingest import EventError
from .runs import DEV_ENVIRONMENT_ID
from .timefmt import rfc3339_ms

if TYPE_CHECKING:
    from .executor import Executor

log = logging.getLogger("inngest_serverless.dev")

MAX_BODY = 16 * 1024 * 1024
# What a client that hangs up mid-request raises in its handler thread (reset, broken pipe, timeout).
_GONE = (ConnectionError, TimeoutError)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, a kept-alive client (the dashboard's
    # page polling, a bench) waits ~40 ms for a delayed ACK before the body is sent.
    disable_nagle_algorithm = True
    server: APIServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the CLI prints what matters
        log.debug("%s - %s", self.address_string(), format % args)

    def _reply(self, status: int, body: Any, raw: bool = False) -> None:
        data = b"" if body is None else (body if raw else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE_JSON)
        self.send_header("Content-Length", str(len(data)))
        self.send_header(Header.SERVER_KIND, ServerKind.DEV)
        if status >= 400:
            # The request body may be unread (too large, bad length): never reuse this connection.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise HTTPError(400, "invalid Content-Length") from None
        if length < 0:  # read(-1) would wait for the client to close the connection
            raise HTTPError(400, "invalid Content-Length")
        if length > MAX_BODY:
            raise HTTPError(413, "request body is too large")
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return payloads.loads(raw)
        except ValueError as exc:
            raise HTTPError(400, f"request body is not valid JSON: {exc}"[:200]) from None

    def _authorize(self) -> None:
        if not authorized(self.server.executor.options.signing_key, self.headers.get("Authorization") or ""):
            raise HTTPError(401, "Authentication failed")

    def _dispatch(self, method: str) -> None:
        try:
            parsed = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parsed.query))
            if dashboard.owns(parsed.path):  # the web dashboard: its page, files and JSON
                dashboard.serve(self, method, parsed.path, query)
                return
            status, body = self.server.route(self, method, parsed.path, query)
            self._reply(status, body)
        except HTTPError as exc:
            self._reply(exc.status, {"error": exc.message, "data": None, "status": exc.status})  # the server's publicerr
        except _GONE as exc:
            self.close_connection = True  # the client hung up (timed out, or was stopped): no one to answer
            log.debug("request %s %s: the client went away (%s)", method, self.path, exc)
        except Exception:
            log.exception("request %s %s failed", method, self.path)
            self._reply(500, {"error": "internal error in the executor", "status": 500})

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def __getattr__(self, name: str) -> Any:
        # http.server answers a method it finds no do_* for with its own 501 page, a 5xx for a
        # request that can never succeed: every other method reaches the router, which says 405.
        if name.startswith("do_"):
            return lambda: self._dispatch(name[3:])
        raise AttributeError(name)


_RUN = re.compile(r"^/v[01]/runs/([^/]+)$")
_DEV_RUN = re.compile(r"^/dev/runs/([^/]+)$")
_APP_FUNCTIONS = re.compile(r"^/v1/apps/([^/]+)/functions$")
_EVENT = re.compile(r"^/v1/events/([^/]+)$")
_EVENT_RUNS = re.compile(r"^/v1/events/([^/]+)/runs$")


class APIServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the socketserver default of 5 drops connections under load
    allow_reuse_address = True

    def __init__(self, executor: Executor, host: str, port: int) -> None:
        super().__init__((host, port), _Handler)
        self.executor = executor

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone mid-reply is routine (a health check that timed out, an app stopped while it
        synced): a debug line, not socketserver's traceback on the console."""
        error = sys.exc_info()[1]
        if isinstance(error, _GONE):
            log.debug("client %s went away: %s", client_address, error)
        else:
            log.exception("request from %s failed", client_address)

    def route(self, handler: _Handler, method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        ex = self.executor
        if path.startswith(Path.EVENTS) and method == "POST":
            return self._events(handler, path[len(Path.EVENTS) :])
        if path == Path.REGISTER and method == "POST":
            payload = self._register_payload(handler)
            try:
                return 200, ex.register(payload)
            except SyncRefused as exc:
                raise HTTPError(400, str(exc)) from None
        if path == "/health":
            return 200, {"status": 200, "message": "OK"}
        if path.startswith("/invoke/") and method == "POST":
            body = handler._body() or {}
            if not isinstance(body, dict) or not isinstance(body.get("data") or {}, dict):
                raise HTTPError(400, "invoke body must be an event object, its data an object")
            data = dict(body.get("data") or {})
            data["_inngest"] = {"fn_id": urllib.parse.unquote(path[len("/invoke/") :])}
            ids = ex.send([{"name": "inngest/function.invoked", "data": data, "user": body.get("user") or {}}], internal=True)
            return 200, {"id": ids[0], "status": 200}
        match = RUN_STATE.match(path)
        if match and method == "GET":
            handler._authorize()
            if not is_ulid(match.group(1)):
                raise HTTPError(400, f"invalid run ID: {match.group(1)}")
            return 200, run_state(ex.runs, match.group(1), match.group(2))
        if path == "/v1/signals" and method == "POST":
            handler._authorize()
            body = handler._body() or {}
            if not isinstance(body, dict) or not isinstance(body.get("signal"), str):
                raise HTTPError(400, "signal body must be an object with a string signal")
            run_id = ex.pauses.signal(body["signal"], body.get("data"))
            if run_id is None:
                raise HTTPError(404, "No signal found")
            return 200, _wrap({"run_id": run_id}, ex.clock.now())
        match = _CHECKPOINT.match(path)
        if match and method == "POST":
            handler._authorize()
            status, error = ex.checkpoints.checkpoint(match.group(1), handler._body())
            if error:
                raise HTTPError(status, error)
            return 200, None
        if path == "/v1/events" and method == "GET":
            return 200, _wrap(self._events_list(query), ex.clock.now())
        match = _EVENT.match(path)
        if match and method == "GET":
            row = ex.events.get(match.group(1))
            if row is None:
                raise HTTPError(404, "event not found")
            return 200, _wrap(_event_json(row), ex.clock.now())
        match = _EVENT_RUNS.match(path)
        if match and method == "GET":
            # As on the server, a run belongs to its first event: a batch is listed under one event only.
            runs = (ex.runs.get(run_id) for run_id in ex.runs.ids(event_id=match.group(1)))
            return 200, _wrap([r.v1() for r in runs if r and r.event_ids[:1] == [match.group(1)]], ex.clock.now())
        match = _RUN.match(path) or _DEV_RUN.match(path)
        if match:
            run_id = match.group(1)
            run = ex.runs.get(run_id)
            if run is None:
                raise HTTPError(404, "A function run with the given ID could not be found")
            if method == "DELETE":
                handler._authorize()
                ex.cancel(run_id)
                return 200, None
            if method == "GET":
                if path.startswith("/dev/"):
                    return 200, {**run.public(), "timeline": ex.runs.timeline(run_id)}
                return 200, _wrap(run.v1(), ex.clock.now())
        if path == "/dev/runs" and method == "GET":
            try:
                limit = max(1, min(int(query.get("limit") or 50), 1000))
            except ValueError:
                raise HTTPError(400, "limit must be a number") from None
            return 200, [r.public() for r in ex.runs.list(limit, query.get("status"))]
        if path == "/fn/remove" and method == "DELETE":
            handler._authorize()
            if not ex.registry.remove(query.get("url", "")):
                raise HTTPError(404, "no app is registered at that url")
            return 200, {"ok": True}
        match = _APP_FUNCTIONS.match(path)
        if match and method == "GET":
            app = urllib.parse.unquote(match.group(1))
            fns = [
                {"id": f.uuid, "slug": f.slug, "name": f.name, "config": f.config}
                for f in ex.registry.functions()
                if f.app == app
            ]
            if not fns and app not in {a["name"] for a in ex.registry.apps()}:
                raise HTTPError(404, f"app {app} not found")
            return 200, _wrap({"app": app, "functions": fns}, ex.clock.now())
        if path == "/dev" and method == "GET":
            return 200, {
                "apps": ex.registry.apps(),
                "functions": [{"id": f.uuid, "slug": f.slug, "name": f.name, "app": f.app} for f in ex.registry.functions()],
            }
        raise HTTPError(404 if method in ("GET", "POST", "PUT", "DELETE") else 405, f"no route for {method} {path}")

    @staticmethod
    def _register_payload(handler: _Handler) -> dict[str, Any]:
        """The body of a sync this executor accepts; HTTPError, said on the console too, if not."""
        try:
            handler._authorize()
        except HTTPError as exc:
            console.sync_refused(None, f"{exc.message}: the app signs with another signing key, or none")
            raise
        expected = handler.headers.get(Header.EXPECTED_SERVER_KIND)
        if expected and expected != ServerKind.DEV:
            console.sync_refused(None, f"the app expects a {expected} server: run it in dev mode (INNGEST_DEV=1)")
            raise HTTPError(400, f"Expected server kind {expected}, got {ServerKind.DEV}")
        try:
            payload = handler._body()
        except HTTPError as exc:
            console.sync_refused(None, exc.message)
            raise
        if not isinstance(payload, dict):
            console.sync_refused(None, "its body is not a JSON object")
            raise HTTPError(400, "register body must be a JSON object")
        return payload

    def _events(self, handler: _Handler, key: str) -> tuple[int, Any]:
        ex = self.executor
        key = urllib.parse.unquote(key).strip("/")
        if not key:
            raise HTTPError(401, "Event key is required")
        if ex.options.event_keys and key not in ex.options.event_keys:
            raise HTTPError(401, "Event key not found")
        body = handler._body()
        events = body if isinstance(body, list) else [body]
        try:
            ids = ex.send(events, seed=handler.headers.get(Header.EVENT_ID_SEED))
        except EventError as exc:
            sent = exc.args[1] if len(exc.args) > 1 else []
            return 400, {"ids": sent, "status": 400, "error": exc.args[0]}
        return 200, {"ids": ids, "status": 200}

    def _events_list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        try:
            limit = max(1, min(int(query.get("limit") or 20), 51))
        except ValueError:
            raise HTTPError(400, "limit must be a number") from None
        rows = self.executor.events.page(name=query.get("name") or None, before=query.get("cursor") or None, limit=limit)
        return [_event_json(row) for row in rows]


def _event_json(row: Any) -> dict[str, Any]:
    """An event as the server's REST API answers it (its ``Event`` keys: one local account and environment)."""
    event = json.loads(row["body"])
    return {
        "internal_id": row["internal_id"],
        "account_id": DEV_ENVIRONMENT_ID,
        "environment_id": DEV_ENVIRONMENT_ID,
        "source": "",
        "source_id": None,
        "received_at": rfc3339_ms(row["received_at"]),
        **event,
    }


def _wrap(data: Any, at: float) -> dict[str, Any]:
    # The server's /v1 envelope; nothing here is cached, so it is good until the moment it was read.
    now = rfc3339_ms(at)
    return {"data": data, "metadata": {"fetched_at": now, "cached_until": now}}
