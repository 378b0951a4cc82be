"""The app the dashboard's browser tests drive: a shop whose functions cover what the run page
shows (outputs, a failed attempt and its retry, a retry due later, a sleep, a wait, an invoke,
a run that fails once per order so that its rerun succeeds), served on wsgiref.

Usage: python -m tests.dashboard.app PORT EXECUTOR_URL   (prints ``ready``)
"""

from __future__ import annotations

import datetime
import sys
from typing import Any

import inngest_serverless as sdk
from inngest_serverless.adapters.wsgi import LocalServer, wsgi_adapter

FAILED_ORDERS: set[str] = set()


def build(client: sdk.Inngest) -> list[Any]:
    @client.create_function(
        fn_id="order-flow",
        name="Order flow",
        trigger=sdk.TriggerEvent(event="shop/order.placed"),
        retries=2,
        concurrency=sdk.Concurrency(limit=5, key="event.data.customer"),
        throttle=sdk.Throttle(limit=20, period=datetime.timedelta(seconds=10)),
    )
    def order_flow(ctx: sdk.ContextSync) -> dict[str, Any]:
        order = ctx.step.run("reserve stock", lambda: {"order": ctx.event.data.get("order"), "total": 42.5})

        def charge() -> dict[str, Any]:
            if ctx.attempt == 0:
                raise RuntimeError("card processor timed out")
            return {"charged": order["total"], "note": ctx.event.data.get("note")}

        receipt = ctx.step.run("charge card", charge)
        return {"order": order["order"], "receipt": receipt}

    @client.create_function(fn_id="retry-later", trigger=sdk.TriggerEvent(event="shop/retry-later"))
    def retry_later(ctx: sdk.ContextSync) -> None:
        def call_bank() -> None:
            raise sdk.RetryAfterError("the bank is closed", datetime.timedelta(hours=1))

        ctx.step.run("call bank", call_bank)

    @client.create_function(fn_id="napper", trigger=sdk.TriggerEvent(event="shop/nap"))
    def napper(ctx: sdk.ContextSync) -> str:
        ctx.step.sleep("nap", datetime.timedelta(hours=1))
        return "rested"

    @client.create_function(fn_id="waiter", trigger=sdk.TriggerEvent(event="shop/wait"))
    def waiter(ctx: sdk.ContextSync) -> Any:
        got = ctx.step.wait_for_event("wait for go", event="shop/go", timeout=datetime.timedelta(hours=2))
        return None if got is None else got.data

    @client.create_function(fn_id="flaky-once", trigger=sdk.TriggerEvent(event="shop/flaky"), retries=0)
    def flaky_once(ctx: sdk.ContextSync) -> str:
        order = str(ctx.event.data.get("order"))

        def ship() -> str:
            if order not in FAILED_ORDERS:  # the first run of each order fails for good; a rerun ships
                FAILED_ORDERS.add(order)
                raise ValueError(f"warehouse offline for {order}")
            return f"shipped {order}"

        return ctx.step.run("ship", ship)

    @client.create_function(fn_id="child", trigger=sdk.TriggerEvent(event="shop/child.never"))
    def child(ctx: sdk.ContextSync) -> dict[str, Any]:
        return {"doubled": int(ctx.event.data.get("n") or 0) * 2}

    @client.create_function(fn_id="parent", trigger=sdk.TriggerEvent(event="shop/invoke"))
    def parent(ctx: sdk.ContextSync) -> Any:
        return ctx.step.invoke("call child", function=child, data={"n": 21})

    return [order_flow, retry_later, napper, waiter, flaky_once, child, parent]


def main() -> None:
    port, executor = int(sys.argv[1]), sys.argv[2]
    client = sdk.Inngest(app_id="shop", is_production=False, api_base_url=executor, event_api_base_url=executor)
    server = LocalServer(wsgi_adapter(client, functions=build(client)), port=port)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
