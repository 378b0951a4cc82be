"""A loopback stand-in for the Inngest API: records every request, answers from a script.

Used where core makes outgoing calls (register, events, run state) so that they go
over real HTTP through httpx.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, Any]


@dataclass
class FakeApi:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    routes: dict[tuple[str, str], Callable[[Recorded], Reply]] = field(default_factory=dict)

    def on(self, method: str, path: str, reply: Callable[[Recorded], Reply] | Reply) -> None:
        self.routes[(method, path)] = reply if callable(reply) else (lambda _r, _v=reply: _v)


@contextmanager
def fake_api() -> Iterator[FakeApi]:
    api = FakeApi(url="")

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            rec = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                           self.rfile.read(length))
            api.requests.append(rec)
            route = api.routes.get((self.command, self.path.split("?")[0]))
            status, body = route(rec) if route else (404, {"error": "no route"})
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
