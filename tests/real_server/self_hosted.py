"""Deploying shop.py's functions against the real server, for the self-hosted and checkpoint tests.

* ``deployed(...)``: the app in Lambda's real runtime behind its Function URL (cloud mode),
  synced by ``inngest start`` (signed) on PostgreSQL + Redis or its default SQLite;
* ``dev_app(server)``: the same functions in dev mode on a WSGI server in this process, synced
  by ``inngest dev``; it counts the calls per function as the Function URL does;
* ``run_order_flow``: start the multi-step run and approve it once it waits.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from inngest_serverless import Inngest
from inngest_serverless.adapters.wsgi import LocalServer, wsgi_adapter
from tests.real_server import harness
from tests.real_server import shop as names
from tests.real_server.function_url import Call, FunctionUrl, lambda_function_url
from tests.support.aws_harness import free_port

HANDLER = "tests.real_server.lambda_app.handler"
OLD_KEY_HEX = harness.SIGNING_KEY_HEX
NEW_KEY_HEX = "1d3f5b7a9c0e2d4f6a8b0c1e3f5a7b9d2c4e6f8a0b1d3e5f7a9c2b4d6e8f0a1c"


def sdk_key(hex_key: str) -> str:
    return f"signkey-test-{hex_key}"


def sdk_env(server_url: str, *, signing_key: str = sdk_key(OLD_KEY_HEX), fallback: str | None = None,
            event_key: str = harness.EVENT_KEY) -> dict[str, str]:
    """Cloud mode, keys and URLs pointed at the server: what a deployed function's configuration holds."""
    env = {"INNGEST_DEV": "0", "INNGEST_SIGNING_KEY": signing_key, "INNGEST_EVENT_KEY": event_key,
           "INNGEST_API_BASE_URL": server_url, "INNGEST_EVENT_API_BASE_URL": server_url}
    if fallback:
        env["INNGEST_SIGNING_KEY_FALLBACK"] = fallback
    return env


def same_endpoint(registered: str, served: str) -> bool:
    """The server writes loopback hosts as ``localhost``; compare port and path."""
    a, b = urlsplit(registered), urlsplit(served)
    return (a.port, a.path) == (b.port, b.path)


@contextlib.contextmanager
def deployed(*, pg: harness.Service | None, redis_server: harness.Service | None, database: str = "",
             server_key: str = OLD_KEY_HEX, primary: str = OLD_KEY_HEX,
             fallback: str | None = None) -> Iterator[tuple[harness.InngestServer, FunctionUrl]]:
    """The app deployed behind its Function URL and ``inngest start`` syncing it (signed) at start.

    On PostgreSQL + Redis when given, else the server's default SQLite."""
    port = free_port()  # the app must know the server's URL before the server is told the app's
    postgres_uri = harness.create_database(pg, database) if pg is not None else None
    redis_uri = redis_server.uri if redis_server is not None else None
    env = sdk_env(f"http://127.0.0.1:{port}", signing_key=sdk_key(primary),
                  fallback=sdk_key(fallback) if fallback else None)
    with lambda_function_url(HANDLER, env) as front, \
            harness.inngest_start(port=port, signing_key_hex=server_key, sdk_urls=[front.url],
                                  postgres_uri=postgres_uri, redis_uri=redis_uri) as server:
        app = server.wait_for_app(names.APP_ID, functions=names.FUNCTIONS, timeout=60)
        assert same_endpoint(app["url"], front.url) and not app["error"], app
        yield server, front


def run_order_flow(server: harness.InngestServer, event: str = names.ORDER,
                   order_id: str = "o-1") -> dict[str, Any]:
    """Start the multi-step run, approve it once it waits, and return the finished run."""
    event_id = server.send_one(event, {"order_id": order_id, "qty": 4})
    run_id = str(server.wait_for_runs(event_id, timeout=60)[0]["id"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = server.run(run_id)
        if run and run["status"] in harness.FINISHED:
            return run
        # A wait matches events received after it began; sending until the run moves on is
        # the simplest way to be after it without reading the server's pauses.
        server.send_one(names.APPROVED, {"order_id": order_id, "by": "ops"})
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish: {server.run(run_id)}\n{server.log()[-3000:]}")


def assert_order_flow_output(run: dict[str, Any], order_id: str = "o-1") -> None:
    assert run["status"] == harness.COMPLETED, run
    assert run["output"] == {"order_id": order_id, **names.ORDER_OUTPUT}, run


@contextlib.contextmanager
def dev_app(server: harness.InngestServer) -> Iterator[FunctionUrl]:
    """shop.py's functions in dev mode on a WSGI server here, synced by ``server`` (``inngest dev``)."""
    client = Inngest(app_id=names.APP_ID, is_production=False, api_base_url=server.url,
                     event_api_base_url=server.url)
    names.add_functions(client)
    app = wsgi_adapter(client)
    calls: list[Call] = []

    def counting(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        began = time.perf_counter()
        status: list[int] = []

        def recording_start(line: str, headers: Any, *exc: Any) -> Any:
            status.append(int(line.split()[0]))
            return start_response(line, headers, *exc)

        body = list(app(environ, recording_start))
        calls.append(Call(environ["REQUEST_METHOD"], parse_qs(environ.get("QUERY_STRING", "")),
                          status[0] if status else 0, time.perf_counter() - began))
        return body

    with LocalServer(counting).start() as local:
        front = FunctionUrl(local.url + local.path, calls)
        synced = server.create_app(front.url)
        assert not synced["error"], synced
        server.wait_for_app(names.APP_ID, functions=names.FUNCTIONS)
        yield front
