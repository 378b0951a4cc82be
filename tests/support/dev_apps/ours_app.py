"""The scenario suite served by inngest-serverless through its WSGI adapter on a stdlib server.

Usage: python -m tests.support.dev_apps.ours_app PORT EXECUTOR_URL
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import inngest_serverless
from inngest_serverless.adapters.wsgi import wsgi_adapter
from tests.support.dev_apps import suite


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256  # the socketserver default of 5 drops connections under load


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    port, executor = int(sys.argv[1]), sys.argv[2]
    os.environ["INNGEST_DEV"] = executor
    client = inngest_serverless.Inngest(
        app_id="dev-suite",
        is_production=False,
        api_base_url=executor,
        event_api_base_url=executor,
        signing_key=os.environ.get("SUITE_SIGNING_KEY") or None,
    )
    inngest = wsgi_adapter(client, functions=suite.build(inngest_serverless, client))

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/stats":
            body = json.dumps(suite.RECORD).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return inngest(environ, start_response)

    server = make_server("127.0.0.1", port, app, server_class=_Server, handler_class=_QuietHandler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
