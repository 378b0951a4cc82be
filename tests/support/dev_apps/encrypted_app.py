"""An app whose client encrypts step outputs, results and sent event data (tests/support/middleware_examples.py),
served through the WSGI adapter for the embedded executor.

Usage: APP_FERNET_KEY=... python -m tests.support.dev_apps.encrypted_app PORT EXECUTOR_URL
"""

from __future__ import annotations

import os
import sys
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import inngest_serverless
from inngest_serverless.adapters.wsgi import wsgi_adapter
from tests.support.middleware_examples import encryption_middleware


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    port, executor = int(sys.argv[1]), sys.argv[2]
    client = inngest_serverless.Inngest(
        app_id="enc", is_production=False, api_base_url=executor, event_api_base_url=executor, event_key="k",
        middleware=[encryption_middleware(os.environ["APP_FERNET_KEY"].encode())],
    )

    @client.create_function(fn_id="checkout", trigger=inngest_serverless.TriggerEvent(event="enc/start"))
    def checkout(ctx: inngest_serverless.ContextSync) -> dict[str, Any]:
        card = ctx.step.run("read-card", lambda: dict(ctx.event.data["encrypted"]))
        charged = ctx.step.run("charge", lambda: {"last4": card["card"][-4:], "amount": ctx.event.data["n"] * 100})
        ctx.step.send_event("send-receipt", {"name": "enc/receipt",
                                             "data": {"encrypted": {"card": card["card"], "amount": charged["amount"]}}})
        return {"charged": charged["last4"], "steps": 3}

    @client.create_function(fn_id="receipt", trigger=inngest_serverless.TriggerEvent(event="enc/receipt"))
    def receipt(ctx: inngest_serverless.ContextSync) -> str:
        return ctx.step.run("format", lambda: f"{ctx.event.data['encrypted']['card']}: {ctx.event.data['encrypted']['amount']}")

    server = make_server("127.0.0.1", port, wsgi_adapter(client), handler_class=_QuietHandler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
