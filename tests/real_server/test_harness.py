"""The harness itself: each process starts on the ports asked for, answers, and is gone afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator

import pytest

from inngest_serverless import ContextSync, Inngest, TriggerEvent
from inngest_serverless.adapters.wsgi import LocalServer, wsgi_adapter
from tests.real_server import harness


def _gone(proc: subprocess.Popen[bytes]) -> bool:
    return proc.poll() is not None


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _dev_app(server: harness.InngestServer) -> Inngest:
    client = Inngest(app_id="harness-app", is_production=False, api_base_url=server.url,
                     event_api_base_url=server.url)

    @client.create_function(fn_id="double", trigger=TriggerEvent(event="harness/double"))
    def double(ctx: ContextSync) -> dict[str, int]:
        n = ctx.step.run("double", lambda: int(ctx.event.data["n"]) * 2)
        return {"n": n}

    return client


@pytest.fixture
def dev_app_server(inngest_dev: harness.InngestServer) -> Iterator[tuple[harness.InngestServer, LocalServer]]:
    with LocalServer(wsgi_adapter(_dev_app(inngest_dev))).start() as app:
        yield inngest_dev, app


def test_inngest_dev_runs_a_function_of_ours(dev_app_server: tuple[harness.InngestServer, LocalServer]) -> None:
    server, app = dev_app_server
    synced = server.create_app(app.url + app.path)
    assert not synced["error"], synced
    server.wait_for_app("harness-app", functions=1)
    run = server.trigger("harness/double", {"n": 21})
    assert run["status"] == harness.COMPLETED, run
    assert run["output"] == {"n": 42}
    # Every port the server binds is one we chose and it listens on it.
    for name, port in server.ports.items():
        assert _listening(port), name


def test_the_server_is_stopped_with_its_context() -> None:
    with harness.inngest_dev() as server:
        proc, port = server.proc, server.port
        assert server.send_one("harness/nothing")
    assert _gone(proc)
    assert not _listening(port)


def test_inngest_start_refuses_an_unknown_event_key(inngest_start: harness.InngestServer) -> None:
    assert inngest_start.send_one("harness/x")
    with pytest.raises(AssertionError, match="401"):
        inngest_start.send({"name": "harness/x", "data": {}}, key="not-the-key")


def test_postgres_and_redis_start_and_stop(pg: harness.Service, redis_server: harness.Service) -> None:
    uri = harness.create_database(pg, "harness_check")
    assert uri.endswith("/harness_check?sslmode=disable")
    with socket.create_connection(("127.0.0.1", redis_server.port), timeout=5) as conn:
        conn.sendall(b"PING\r\n")
        assert conn.recv(16) == b"+PONG\r\n"


def test_a_missing_binary_fails_with_the_install_script_named(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: os.PathLike[str]) -> None:
    monkeypatch.setattr(harness, "BIN_DIR", tmp_path)
    with pytest.raises(harness.MissingTool, match=r"40-inngest-server\.sh"), harness.inngest_dev():
        pass
