"""Self-hosted Inngest (``inngest start``) calling our SDK in cloud mode behind the Lambda adapter.

The app (tests/real_server/lambda_app.py) runs in Lambda's real Python runtime (the Runtime
Interface Emulator with awslambdaric) behind a local Function URL (function_url.py). The server
runs on PostgreSQL + Redis, as a self-hosted set-up that outgrew one machine does, and on its
default SQLite.

Keys: the server takes its signing key as bare even-length hex (``--signing-key <hex>``; a
``signkey-test-`` prefix makes the length odd and is refused) and signs with those hex characters
as the HMAC key; the SDK holds ``signkey-test-<hex>`` and strips the prefix before signing. The
Bearer token the SDK sends the server (prefix + sha256 of the hex-decoded key) is accepted, and
so is the plain hex.

Syncing: the server syncs the apps given by ``--sdk-url`` with a signed PUT, which a cloud-mode
SDK verifies. (GraphQL ``createApp``, the UI's "add app", pings unsigned in v1.43.0 even under
``inngest start``; our SDK refuses that, as it must, and the server's poll loop syncs the app
with a signed PUT a few seconds later.) A deploy hook's plain PUT needs
``INNGEST_ENABLE_UNAUTHED_SYNC=true`` and a serve origin in cloud mode.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from inngest_serverless.core import signing
from inngest_serverless.core.wire import Header
from tests.real_server import harness
from tests.real_server import shop as names
from tests.real_server.function_url import FunctionUrl, lambda_function_url
from tests.real_server.self_hosted import (
    HANDLER,
    NEW_KEY_HEX,
    OLD_KEY_HEX,
    assert_order_flow_output,
    deployed,
    run_order_flow,
    same_endpoint,
    sdk_env,
    sdk_key,
)


def wait_for_put(front: FunctionUrl, status: int, timeout: float = 30.0) -> list[int]:
    """The statuses of the PUTs the app answered, once one answered ``status``: the server shows the
    app as synced while the PUT that made it sync is still being answered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        puts = [c.status for c in front.calls if c.method == "PUT"]
        if status in puts:
            return puts
        time.sleep(0.05)
    return [c.status for c in front.calls if c.method == "PUT"]


@pytest.fixture
def pg_redis_app(pg: harness.Service, redis_server: harness.Service,
                 request: pytest.FixtureRequest) -> Iterator[tuple[harness.InngestServer, FunctionUrl]]:
    with deployed(pg=pg, redis_server=redis_server, database=f"db_{request.node.name[:40].lower()}") as pair:
        yield pair


def test_the_server_syncs_the_app_with_a_signed_call(pg_redis_app: tuple[harness.InngestServer, FunctionUrl]) -> None:
    _, front = pg_redis_app
    # The server's PUT reached the SDK signed (cloud mode verified it), and the SDK registered.
    assert wait_for_put(front, 200)[:1] == [200], front.calls


def test_a_multi_step_run_completes_on_postgres_and_redis(
        pg_redis_app: tuple[harness.InngestServer, FunctionUrl]) -> None:
    server, front = pg_redis_app
    assert_order_flow_output(run_order_flow(server))
    statuses = [c.status for c in front.function_calls("order-flow")]
    # Every call was signed (cloud mode refuses the others) and answered; the flaky step failed once.
    assert statuses and set(statuses) <= {200, 206}, statuses
    assert not [c for c in front.calls if c.status == 401], front.calls


def test_a_call_with_a_wrong_signature_is_refused(pg_redis_app: tuple[harness.InngestServer, FunctionUrl]) -> None:
    _, front = pg_redis_app
    body = json.dumps({"event": {"name": names.ORDER, "data": {"order_id": "x", "qty": 1}}, "events": [],
                       "steps": {}, "ctx": {"run_id": "01ABC", "attempt": 0}}).encode()
    url = f"{front.url}?fnId={names.APP_ID}-order-flow&stepId=step"
    for signature in (signing.sign(body, sdk_key(NEW_KEY_HEX)), "t=1&s=00", None):
        headers = {"content-type": "application/json"}
        if signature:
            headers[Header.SIGNATURE] = signature
        status, reply = harness.request("POST", url, body, headers=headers)
        assert status == 401, (signature, status, reply)
        assert isinstance(reply, dict) and "signature" in json.dumps(reply).lower(), reply
    assert [c.status for c in front.calls[-3:]] == [401, 401, 401]


def test_the_servers_unsigned_add_app_is_refused_then_its_poll_syncs_signed(
        inngest_start: harness.InngestServer) -> None:
    # GraphQL createApp (the UI's "add app") pings without a signature in v1.43.0 even under
    # `inngest start`; a cloud-mode SDK must refuse an unsigned sync, and the server reports it.
    # Its poll loop (every 5 s) then pings the app that reported an error again, signed this time.
    with lambda_function_url(HANDLER, sdk_env(inngest_start.url)) as front:
        with pytest.raises(AssertionError, match="unauthorized"):
            inngest_start.create_app(front.url)
        app = inngest_start.wait_for_app(names.APP_ID, functions=names.FUNCTIONS, timeout=60)
        assert same_endpoint(app["url"], front.url) and not app["error"], app
    puts = wait_for_put(front, 200)
    assert puts[0] == 401 and puts[-1] == 200, front.calls


def test_a_deploy_hooks_put_syncs_when_unauthenticated_sync_is_allowed(inngest_start: harness.InngestServer) -> None:
    env = {**sdk_env(inngest_start.url), "INNGEST_ENABLE_UNAUTHED_SYNC": "true"}
    with lambda_function_url(HANDLER, env) as front:
        status, body = inngest_start.sync_by_put(front.url, timeout=60)
        assert status == 200, (status, body)
        app = inngest_start.wait_for_app(names.APP_ID, functions=names.FUNCTIONS)
        assert same_endpoint(app["url"], front.url), app


@pytest.mark.parametrize(("server_key", "primary", "fallback"), [
    (NEW_KEY_HEX, OLD_KEY_HEX, NEW_KEY_HEX),  # the server moved to the new key first
    (OLD_KEY_HEX, NEW_KEY_HEX, OLD_KEY_HEX),  # the app moved first; the server still has the old one
], ids=["server-rotated-first", "app-rotated-first"])
def test_runs_complete_while_the_signing_key_rotates(pg: harness.Service, redis_server: harness.Service,
                                                     server_key: str, primary: str, fallback: str) -> None:
    # The server signs with the key the SDK holds as its fallback; the SDK's register call is
    # refused with its primary key's Bearer and retried with the fallback's.
    with deployed(pg=pg, redis_server=redis_server, database=f"rotation_{server_key[:6]}", server_key=server_key,
                  primary=primary, fallback=fallback) as (server, front):
        assert_order_flow_output(run_order_flow(server))
        assert not [c for c in front.calls if c.status == 401], front.calls


def test_a_multi_step_run_completes_on_the_default_sqlite() -> None:
    with deployed(pg=None, redis_server=None) as (server, _):
        assert (server.workdir / ".inngest" / "main.db").is_file()
        assert_order_flow_output(run_order_flow(server, order_id="o-sqlite"), order_id="o-sqlite")
