"""The app behind the idle-timeout proxy in tests/adapters/test_streaming_proxy.py, served by uvicorn (ASGI) or wsgiref (WSGI).

``?streaming=off`` in the URL picks a handler that never streams; any other
call goes to one in the default ``auto`` mode.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from typing import Any

from inngest_serverless import ContextSync, Handler, Inngest, TriggerEvent
from inngest_serverless.adapters.asgi import ASGIAdapter
from inngest_serverless.adapters.wsgi import WSGIAdapter

STEP_SECONDS = float(os.environ.get("STREAMING_TEST_STEP_SECONDS", "2.0"))
INTERVAL = float(os.environ.get("STREAMING_TEST_INTERVAL", "0.2"))

client = Inngest(app_id="px", is_production=False)


@client.create_function(fn_id="slow", trigger=TriggerEvent(event="t/slow"))
def slow(ctx: ContextSync) -> Any:
    return ctx.step.run("slow step", lambda: time.sleep(STEP_SECONDS) or "done")


def _handler(framework: str, streaming: str) -> Handler:
    return Handler(client, framework=framework, streaming=streaming, keepalive_interval=INTERVAL)


_asgi = {mode: ASGIAdapter(_handler("asgi", mode)) for mode in ("auto", "off")}
_wsgi = {mode: WSGIAdapter(_handler("wsgi", mode)) for mode in ("auto", "off")}


def _mode(query: bytes | str) -> str:
    text = query.decode("latin-1") if isinstance(query, bytes) else query
    return "off" if "streaming=off" in text else "auto"


async def asgi(scope: Any, receive: Any, send: Any) -> None:
    await _asgi[_mode(scope.get("query_string", b""))](scope, receive, send)


def wsgi(environ: Any, start_response: Any) -> Iterable[bytes]:
    return _wsgi[_mode(environ.get("QUERY_STRING", ""))](environ, start_response)


if __name__ == "__main__":  # python -m tests.support.streaming_proxy_app PORT: wsgiref, a thread per request
    from inngest_serverless.adapters.wsgi import LocalServer

    LocalServer(wsgi, port=int(sys.argv[1])).serve_forever()
