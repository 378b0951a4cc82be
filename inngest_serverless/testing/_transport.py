"""The engine's two in-process links, where a deployment has HTTP.

* ``AppTransport``: the executor's calls to the app. Each is a ``core.http.Request`` handed to the
  same ``Handler.handle`` the adapters call (signature checked when the app has a signing key),
  and its ``Response`` becomes the executor's ``Reply``. Calls to a mocked function of another
  app are answered by the mocks; any other URL (a ``step.fetch``) goes out over HTTP as usual.
* ``ApiTransport``: the app's calls to the Inngest API (events it sends, large run state, the
  steps a checkpointing function posts), given to the client as httpx clients on an
  ``httpx.MockTransport``: no socket, no thread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from inngest_serverless.core.http import Request
from inngest_serverless.core.wire import Path
from inngest_serverless.dev import calls
from inngest_serverless.dev.calls import Reply

from ._mocks import MOCK_APP_URL, Mocks

if TYPE_CHECKING:
    import httpx

    from inngest_serverless.core.handler import Handler
    from inngest_serverless.dev.executor import Executor

# The API origin the engine gives the client. Nothing listens there: every call the client makes
# through its httpx clients (checkpoint posts included) is answered in process; the discard port
# refuses at once anything that would go around them.
API_ORIGIN = "http://127.0.0.1:9"
# How far from the machine's clock an event's ts may be and still count as stamped by the SDK "now".
_SDK_STAMP_WINDOW_MS = 5 * 60 * 1000


class AppTransport:
    """The executor's transport: the app's handler, the mocked functions, else real HTTP."""

    def __init__(self, handler: Handler, app_url: str, mocks: Mocks) -> None:
        self.handler = handler
        self.app_url = app_url
        self.mocks = mocks

    def __call__(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        timeout: float,
        max_body: int | None = None,
    ) -> Reply:
        if url.startswith(MOCK_APP_URL):
            status, reply_headers, data = self.mocks.invoke_reply(url, body)
            return Reply(status, reply_headers, data)
        if not url.startswith(self.app_url):
            return calls.request(method, url, body, headers, timeout, max_body)
        response = self.handler.handle(Request.build(method, url, headers, body))
        data = response.read()
        reply_headers = {k.lower(): v for k, v in response.headers.items()}
        if max_body is not None and len(data) > max_body:
            return Reply(response.status, reply_headers, b"", error=calls.too_large(max_body))
        # The call took no time on the virtual clock: the timeline's step times are the clock's.
        return Reply(response.status, reply_headers, data)

    request = __call__


class ApiTransport:
    """The Inngest API as the client sees it, answered by the executor in process."""

    def __init__(self, executor: Executor, now_ms: Callable[[], int]) -> None:
        self.executor = executor
        self.now_ms = now_ms
        self.sent: list[dict[str, Any]] = []

    def clients(self) -> tuple[httpx.Client, httpx.AsyncClient]:
        import httpx

        transport = httpx.MockTransport(self.handle)
        return httpx.Client(transport=transport), httpx.AsyncClient(transport=transport)

    def handle(self, request: httpx.Request) -> httpx.Response:
        import httpx

        path = unquote(request.url.path)
        try:
            status, body = self._route(request.method, path, request.read(), request.headers.get("authorization", ""))
        except ValueError as exc:
            status, body = 400, {"error": str(exc), "status": 400}
        return httpx.Response(status, content=json.dumps(body).encode(), headers={"content-type": "application/json"})

    def _route(self, method: str, path: str, raw: bytes, authorization: str) -> tuple[int, Any]:
        from inngest_serverless.dev import payloads
        from inngest_serverless.dev.checkpoints import PATH as CHECKPOINT
        from inngest_serverless.dev.executor import EventError
        from inngest_serverless.dev.http_base import RUN_STATE, HTTPError, authorized, run_state

        ex = self.executor
        if method == "POST" and path.startswith(Path.EVENTS):
            body = json.loads(raw or b"null")
            events = body if isinstance(body, list) else [body]
            events = [self._restamp(e) for e in events]
            try:
                # No id seed: ids minted on the virtual clock sort after the runs they may cancel.
                ids = ex.send(events)
            except EventError as exc:
                sent = exc.args[1] if len(exc.args) > 1 else []
                self._record(events, sent)
                return 400, {"ids": sent, "status": 400, "error": exc.args[0]}
            self._record(events, ids)
            return 200, {"ids": ids, "status": 200}
        match = RUN_STATE.match(path)
        if match and method == "GET":
            try:
                return 200, run_state(ex.runs, match.group(1), match.group(2))
            except HTTPError as exc:
                return exc.status, {"error": exc.message}
        match = CHECKPOINT.match(path)
        if match and method == "POST":
            # As the executor's HTTP API answers it: the key checked, then the steps stored at once.
            if not authorized(ex.options.signing_key, authorization):
                return 401, {"error": "Authentication failed", "status": 401}
            status, error = ex.checkpoints.checkpoint(match.group(1), payloads.loads(raw) if raw else None)
            return (200, None) if error is None else (status, {"error": error, "status": status})
        return 404, {"error": f"no route for {method} {path} in the test engine"}

    def _restamp(self, event: Any) -> Any:
        """An event the SDK stamped with the machine's time gets the virtual clock's instead."""
        stamp = event.get("ts") if isinstance(event, dict) else None
        if isinstance(stamp, int) and abs(stamp - int(time.time() * 1000)) < _SDK_STAMP_WINDOW_MS:
            return {**event, "ts": self.now_ms()}
        return event

    def _record(self, events: list[Any], ids: list[str]) -> None:
        # After a refused event, only the events before it have IDs.
        for event, event_id in zip(events, ids, strict=False):
            if isinstance(event, dict):
                self.sent.append({**event, "id": event.get("id") or event_id})
