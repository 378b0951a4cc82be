"""``inngest-serverless demo`` (or ``python -m inngest_serverless.demo``): a durable order flow, end to
end, on this machine in a few seconds.

It starts the executor on a free loopback port (state in memory), serves an example app
as an AWS Lambda handler (``lambda_adapter``) behind a local stand-in for a Lambda Function
URL, sends the order event, sends the payment event the flow waits for, and prints the run's
timeline. Exit status 0 when the run completed; as soon as it fails, its timeline and error,
and 1. It lives outside ``dev/`` because it is an app as well as an executor: the executor
never imports an adapter.
"""

from __future__ import annotations

import base64
import datetime
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .dev import console
from .dev.server import DevServer
from .dev.timeline import error_text, paint, run_timeline

ORDER_EVENT = "shop/order.placed"
PAYMENT_EVENT = "shop/payment.received"


class _LambdaURL(BaseHTTPRequestHandler):
    """Serves a Lambda handler over HTTP the way a Lambda Function URL does (payload 2.0 events)."""

    protocol_version = "HTTP/1.1"
    handler: Any = None
    timeout_seconds = 30.0

    def log_message(self, *args: Any) -> None:
        pass

    def _invoke(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "requestContext": {
                "domainName": self.headers.get("Host", ""),
                "http": {"method": self.command, "path": path, "sourceIp": self.client_address[0]},
            },
            "body": base64.b64encode(body).decode(),
            "isBase64Encoded": True,
        }
        reply = type(self).handler(event, _Context(self.timeout_seconds))
        data = reply.get("body") or ""
        out = base64.b64decode(data) if reply.get("isBase64Encoded") else str(data).encode()
        self.send_response(int(reply.get("statusCode", 200)))
        for key, value in (reply.get("headers") or {}).items():
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = _invoke


class _Context:
    """The part of a Lambda context the adapter reads: the time left."""

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the socketserver default of 5 drops connections under load


def reserve_stock(order_id: str) -> dict[str, Any]:
    """The first step's body: what a real app would ask its warehouse."""
    return {"id": order_id, "total": 42.5}


def build_app(executor_url: str) -> Any:
    """The example app as a Lambda handler: reserve stock, sleep, wait for payment, charge (fails
    once, then succeeds)."""
    import inngest_serverless as sdk
    from inngest_serverless.adapters.aws_lambda import lambda_adapter

    client = sdk.Inngest(app_id="demo-shop", is_production=False, api_base_url=executor_url, event_api_base_url=executor_url)
    charges = {"attempts": 0}

    def charge(order: dict[str, Any], payment: dict[str, Any]) -> dict[str, Any]:
        charges["attempts"] += 1
        if charges["attempts"] == 1:
            raise RuntimeError("card processor timed out")
        return {"charged": order["total"], "card": payment["card"]}

    @client.create_function(fn_id="order-flow", trigger=sdk.TriggerEvent(event=ORDER_EVENT), retries=2)
    def order_flow(ctx: sdk.ContextSync) -> dict[str, Any]:
        order = ctx.step.run("reserve stock", lambda: reserve_stock(ctx.event.data["order_id"]))
        ctx.step.sleep("let the warehouse pack", datetime.timedelta(seconds=1))
        paid = ctx.step.wait_for_event(
            "wait for payment",
            event=PAYMENT_EVENT,
            if_exp="async.data.order_id == event.data.order_id",
            timeout=datetime.timedelta(minutes=5),
        )
        if paid is None:
            return {"order": order["id"], "status": "payment timed out"}
        receipt = ctx.step.run("charge card", charge, order, paid.data)
        return {"order": order["id"], "status": "shipped", "receipt": receipt}

    return lambda_adapter(client, functions=[order_flow])


def _post(url: str, body: Any) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _wait(predicate: Any, timeout: float) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return None


def main(colour: bool | None = None, out: Any = None, keep: bool = False) -> int:
    """Run the flow; print its timeline. As soon as the run fails (or its app cannot sync), print why
    and return 1 rather than wait for a step it will never reach. With ``keep``, the executor and
    the app stay up afterwards, until Ctrl-C or SIGTERM, to look at the run in the dashboard."""
    out = out or sys.stdout
    colour = out.isatty() if colour is None else colour

    def say(text: str) -> None:
        print(paint(">", "36", colour), text, file=out, flush=True)

    def show(run: dict[str, Any]) -> None:
        print(file=out)
        print(run_timeline(run, colour), file=out)
        print(file=out)

    server = DevServer(port=0, db=":memory:", retry_interval=0.5, poll_interval=3600, workers=8)
    lines = console.print_to(out)  # the executor's own reports: a refused sync, an event no run took
    server.start()
    bridge = type("DemoLambdaURL", (_LambdaURL,), {"handler": staticmethod(build_app(server.url))})
    app = _Server(("127.0.0.1", 0), bridge)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    app_url = f"http://127.0.0.1:{app.server_address[1]}/api/inngest"
    try:
        say(f"executor on {server.url}; the app is a Lambda handler, served at {app_url}")
        if keep:
            from .dev.dashboard import home_url

            say(f"dashboard {home_url(server.url)}")
        server.sdk_urls.append(app_url)
        server.ping_apps()
        if not _wait(lambda: _get(f"{server.url}/dev")["functions"], 10):
            say("the app did not register")
            return 1
        order = {"order_id": "ord_1001"}
        event_id = _post(f"{server.url}/e/demo", {"name": ORDER_EVENT, "data": order})["ids"][0]
        say(f"sent {ORDER_EVENT} {json.dumps(order)}")

        def run() -> dict[str, Any] | None:
            runs = _get(f"{server.url}/v1/events/{event_id}/runs")["data"]
            return _get(f"{server.url}/dev/runs/{runs[0]['run_id']}") if runs else None

        def waiting_or_ended(run: dict[str, Any] | None) -> dict[str, Any] | None:
            if run and (run["status"] != "Running" or any(e["kind"] == "WaitForEvent" for e in run["timeline"])):
                return run
            return None

        reached = _wait(lambda: waiting_or_ended(run()), 15)
        if not reached:
            say("the run did not reach its wait for payment in 15 s")
            return 1
        if reached["status"] == "Running":
            _post(f"{server.url}/e/demo", {"name": PAYMENT_EVENT, "data": {**order, "card": "visa-4242"}})
            say(f"sent {PAYMENT_EVENT} (the event the flow waits for)")
            reached = _wait(lambda: (r := run()) and r["status"] != "Running" and r, 30)
            if not reached:
                say("the run did not finish in 30 s")
                return 1
        show(reached)
        if keep:
            from .dev.dashboard import run_url

            say(f"the run in the dashboard: {run_url(server.url, reached['run_id'])}")
        if reached["status"] != "Completed":
            say(f"the run {reached['status'].lower()}: {error_text(reached.get('error'))}")
            return 1
        say(f"result: {json.dumps(reached['output'])}")
        return 0
    finally:
        if keep:
            say("the executor and the app keep running; Ctrl-C stops them")
            _wait_for_stop()
        console.log.removeHandler(lines)
        app.shutdown()
        app.server_close()
        server.stop()


def _wait_for_stop() -> None:
    import signal

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(3600):
        pass


if __name__ == "__main__":
    from .cli import main as cli  # through the command, which first checks for the dev extra

    raise SystemExit(cli(["demo"]))
