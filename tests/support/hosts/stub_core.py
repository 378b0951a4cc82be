"""Stand-ins for core's handler, to test what an adapter alone does (core has its own tests).

* :class:`Recorder` keeps every :class:`Request` it gets and answers a fixed reply.
* :class:`GatedStream` answers a streamed reply whose second chunk waits for a
  file to appear (the "gate"). A test reads the first chunk over HTTP, then
  creates the file: if the host buffered the stream, the first chunk would
  never arrive before the gate opens and the reply says ``gate_opened: false``.
  A file, not an event, so the host may run in another process.

The ``*_entry`` names at the bottom are what the host runtimes load.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from inngest_serverless import Request, Response

GATE_QUERY = "gate"
GATE_WAIT_SECONDS = 30.0


@dataclass
class Recorder:
    response: Response = field(
        default_factory=lambda: Response(200, {"content-type": "application/json"}, b'{"ok":true}')
    )
    requests: list[Request] = field(default_factory=list)

    def handle(self, request: Request) -> Response:
        self.requests.append(request)
        return self.response

    async def handle_async(self, request: Request) -> Response:
        return self.handle(request)


class GatedStream:
    """Streams ``b" "`` then, once the gate file exists, a JSON report of what the adapter passed in."""

    def handle(self, request: Request) -> Response:
        gate = Path(request.query.get(GATE_QUERY, "/nonexistent/gate"))
        report = {
            "method": request.method,
            "url": request.url,
            "body_length": len(request.body),
            "remaining": None if request.deadline is None else request.deadline - time.monotonic(),
        }

        def chunks() -> Iterator[bytes]:
            yield b" "
            waited_until = time.monotonic() + GATE_WAIT_SECONDS
            while not gate.exists() and time.monotonic() < waited_until:
                time.sleep(0.01)
            yield json.dumps({**report, "gate_opened": gate.exists()}).encode()

        return Response(201, {"content-type": "application/json", "x-inngest-sdk": "stub:v0"}, stream=chunks())

    async def handle_async(self, request: Request) -> Response:
        return self.handle(request)


def read_gated(url: str, gate: Path, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, object]]:
    """POST to a GatedStream behind ``url``: read the first byte, open the gate, read the report."""
    import http.client
    from urllib.parse import urlencode, urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=GATE_WAIT_SECONDS * 2)
    try:
        target = f"{parts.path}?{parts.query + '&' if parts.query else ''}{urlencode({GATE_QUERY: str(gate)})}"
        conn.request("POST", target, body=b"0123456789", headers=headers or {})
        resp = conn.getresponse()
        first = resp.read(1)
        gate.touch()
        report = json.loads(resp.read())
        return resp.status, first, report
    finally:
        conn.close()


def _entries() -> tuple[object, object, object, object]:
    from inngest_serverless.adapters.gcp import GcfAdapter
    from inngest_serverless.adapters.vercel import VercelAdapter, VercelASGIAdapter, VercelWSGIAdapter

    core = GatedStream()
    return GcfAdapter(core).function(), VercelAdapter(core).handler_class(), VercelWSGIAdapter(core), VercelASGIAdapter(core)


# functions-framework --target=gcf_entry; vc_init variable "handler", "app" (WSGI) or "asgi_app"
gcf_entry, handler, app, asgi_app = _entries()
