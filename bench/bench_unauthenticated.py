"""What a request with a wrong signature costs (docs/reliability.md, finding 14).

A call body of valid JSON (about 14 MB, under the 16 MB default limit), signed with
a key the app does not hold and a current timestamp, sent to a cloud-mode handler:

* CPU time of ``Handler.handle`` answering it (``time.process_time``);
* peak memory allocated meanwhile (``tracemalloc``);
* how late a 10 ms ``asyncio.sleep`` wakes while ``handle_async`` answers three at once.

    python bench/bench_unauthenticated.py            # the figures of the doc
    python bench/bench_unauthenticated.py --smoke    # a 1 MB body, for CI
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import tracemalloc
from typing import Any

from inngest_serverless import ContextSync, Handler, Inngest, Request, TriggerEvent
from inngest_serverless.core import signing

KEY = "signkey-prod-" + "3e" * 32
WRONG_KEY = "signkey-prod-" + "4f" * 32


def handler() -> Handler:
    client = Inngest(app_id="app", is_production=True, signing_key=KEY, api_base_url="http://127.0.0.1:9")

    @client.create_function(fn_id="fn", trigger=TriggerEvent(event="e"))
    def fn(ctx: ContextSync) -> str:
        return "ok"

    return Handler(client)


def body(items: int) -> bytes:
    item = {"k": "v" * 10, "n": [1, 2.5, True, None], "z": {"b": 1, "a": 2}}
    return json.dumps({"event": {"name": "e", "data": {"items": [item] * items}}, "ctx": {"run_id": "r"}}).encode()


def measure(smoke: bool) -> dict[str, Any]:
    raw = body(14_000 if smoke else 200_000)
    h = handler()
    request = Request.build("POST", "http://app.test/api/inngest?fnId=app-fn",
                            {"X-Inngest-Signature": signing.sign(raw, WRONG_KEY)}, raw)
    start = time.process_time()
    status = h.handle(request).status
    cpu = time.process_time() - start
    tracemalloc.start()
    h.handle(request)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    async def lateness() -> float:
        async def tick() -> float:
            start = time.monotonic()
            await asyncio.sleep(0.01)
            return time.monotonic() - start

        ticker = asyncio.ensure_future(tick())
        await asyncio.sleep(0)
        await asyncio.gather(*(h.handle_async(request) for _ in range(3)))
        return await ticker

    return {"body_mb": len(raw) / 1e6, "status": status, "cpu_s": cpu, "peak_mb": peak / 1e6,
            "sleep_10ms_took_s": asyncio.run(lateness())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a 1 MB body (for CI)")
    res = measure(parser.parse_args().smoke)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in res.items()}))


if __name__ == "__main__":
    main()
