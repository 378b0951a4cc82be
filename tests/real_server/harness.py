"""The real Inngest server (and the PostgreSQL and Redis it can run on) as processes for tests.

Everything here is a process we start on free 127.0.0.1 ports, from an empty temporary
directory, and stop by PID (its process group), even when a test fails:

* ``inngest_dev(...)``   ``inngest dev`` (no keys; the SDK under test runs in dev mode)
* ``inngest_start(...)`` ``inngest start`` (self-hosted: signing key + event key; SQLite in its
  temp dir by default, or ``postgres_uri=`` / ``redis_uri=``)
* ``postgres()``         a PostgreSQL cluster made by initdb in a temp dir (run as the
                         ``postgres`` user when we are root: postgres refuses to run as root)
* ``redis()``            redis-server without persistence

The binaries come from ``scripts/install-hosts.d/40-inngest-server.sh`` (the server, built
from its Go module) and Debian's packages (PostgreSQL, Redis). A missing one FAILS the test
with a message naming that script: it is never a reason to skip.

``InngestServer`` is the client side: send events, sync an app, read runs through GraphQL
(``/v0/gql``; the REST run endpoints are cached in-process for seconds), wait for runs.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.aws_harness import free_port, stop, wait_port

REPO = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = "scripts/install-hosts.d/40-inngest-server.sh"


def _pinned_version() -> str:
    """The server version the install scripts build, from the one place it is written."""
    lib = REPO / "scripts" / "lib" / "inngest-module.sh"
    found = re.search(r'^INNGEST_VERSION="([^"]+)"', lib.read_text(), re.M)
    if found is None:
        raise RuntimeError(f"{lib} no longer sets INNGEST_VERSION")
    return found.group(1)


VERSION = _pinned_version()
BIN_DIR = REPO / ".cache" / "inngest" / VERSION

# A run's status as the GraphQL API spells it (pkg/coreapi/gql.schema.graphql, FunctionRunStatus).
COMPLETED, FAILED, CANCELLED, RUNNING, QUEUED, SKIPPED = (
    "COMPLETED", "FAILED", "CANCELLED", "RUNNING", "QUEUED", "SKIPPED")
FINISHED = frozenset({COMPLETED, FAILED, CANCELLED, SKIPPED})

# The signing key and event key the self-hosted tests use. The server takes the key as bare
# even-length hex; an SDK holds it as ``signkey-<env>-<hex>`` (the prefix is stripped before use).
SIGNING_KEY_HEX = "8f2b5e4a1c9d7f3e6b0a2d4c8e1f5a7b9c3d6e0f2a4b8c1d5e7f9a3b6c0d2e4f"
EVENT_KEY = "test-event-key"


class MissingTool(AssertionError):
    """A binary the install scripts provide is not there (a failure, never a skip)."""


def _fail_missing(what: str, how: str) -> MissingTool:
    return MissingTool(f"{what} is missing: run {how} (./scripts/test runs it)")


def inngest_binary() -> Path:
    path = BIN_DIR / "inngest"
    if not os.access(path, os.X_OK):
        raise _fail_missing(f"the Inngest server {VERSION} ({path})", INSTALL_SCRIPT)
    return path


def conformance_go_binary() -> Path:
    """The Go reference app of Inngest's SDK conformance suite, built from the same module."""
    path = BIN_DIR / "conformance-go"
    if not os.access(path, os.X_OK):
        raise _fail_missing(f"the conformance Go reference app ({path})", INSTALL_SCRIPT)
    return path


def _tool(name: str, *, postgres: bool = False) -> str:
    found = shutil.which(name)
    if not found and postgres:
        # Debian keeps PostgreSQL's server programs off PATH, under /usr/lib/postgresql/<major>/bin.
        candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                            key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
        found = candidates[-1] if candidates else None
    if not found:
        raise _fail_missing(name, INSTALL_SCRIPT)
    return found


def clean_env(extra: Mapping[str, str] | None = None, *, home: Path | None = None) -> dict[str, str]:
    """The environment for a server: ours without INNGEST_* (they act as flags), telemetry off."""
    # DEBUG (any value) would also start the server's debug API on a fixed port (7777).
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNGEST_") and k != "DEBUG"}
    env["DO_NOT_TRACK"] = "1"
    if home is not None:
        env["HOME"] = str(home)  # the CLI writes ~/.config/inngest; keep it in the temp dir
    env.update(extra or {})
    return env


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


# -- HTTP ----------------------------------------------------------------------

def request(method: str, url: str, body: Any = None, *, headers: Mapping[str, str] | None = None,
            timeout: float = 30.0) -> tuple[int, Any]:
    """One JSON request; returns (status, decoded body or raw text). Never raises for 4xx/5xx."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    hdrs = {"content-type": "application/json", **dict(headers or {})}
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


# -- the Inngest server ----------------------------------------------------------

@dataclass
class InngestServer:
    """A running ``inngest dev`` / ``inngest start``; ``url`` is its API (and event API) origin."""

    mode: str  # "dev" | "start"
    port: int
    workdir: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    event_key: str | None = None
    signing_key_hex: str | None = None
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def signing_key(self) -> str | None:
        """The key as our SDK holds it (``signkey-test-<hex>``), or None for ``inngest dev``."""
        return f"signkey-test-{self.signing_key_hex}" if self.signing_key_hex else None

    def sdk_env(self) -> dict[str, str]:
        """INNGEST_* settings that point an app of ours at this server (cloud mode for ``start``)."""
        env = {"INNGEST_BASE_URL": self.url, "INNGEST_API_BASE_URL": self.url,
               "INNGEST_EVENT_API_BASE_URL": self.url}
        if self.mode == "dev":
            env["INNGEST_DEV"] = self.url
        else:
            env["INNGEST_DEV"] = "0"
            env["INNGEST_SIGNING_KEY"] = self.signing_key or ""
            env["INNGEST_EVENT_KEY"] = self.event_key or ""
        return env

    def log(self) -> str:
        return _tail(self.log_path, 20_000)

    # events ----------------------------------------------------------------

    def send(self, events: Mapping[str, Any] | Sequence[Mapping[str, Any]], *, key: str | None = None) -> list[str]:
        """POST /e/{key} with one event or a list; returns the event IDs."""
        status, body = request("POST", f"{self.url}/e/{key or self.event_key or 'test'}", events)
        if status != 200 or not isinstance(body, dict):
            raise AssertionError(f"sending events failed: {status} {body}")
        return [str(i) for i in body["ids"]]

    def send_one(self, name: str, data: Mapping[str, Any] | None = None, **fields: Any) -> str:
        return self.send({"name": name, "data": dict(data or {}), **fields})[0]

    # apps ------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        """The signing key as a Bearer token (plain or hashed), as the server's API wants it. v1.43.0
        serves GraphQL without asking for it, even under ``inngest start``; sent in case it ever does."""
        return {"authorization": f"Bearer {self.signing_key_hex}"} if self.signing_key_hex else {}

    def gql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        status, body = request("POST", f"{self.url}/v0/gql", {"query": query, "variables": dict(variables or {})},
                               headers=self.auth_headers())
        if status != 200 or not isinstance(body, dict) or body.get("errors"):
            raise AssertionError(f"GraphQL failed: {status} {body}")
        data: dict[str, Any] = body["data"]
        return data

    def apps(self) -> list[dict[str, Any]]:
        apps: list[dict[str, Any]] = self.gql(
            "{ apps { id name url error functionCount functions { slug name } } }")["apps"]
        return apps

    def create_app(self, app_url: str) -> dict[str, Any]:
        """Have the server sync the app at ``app_url`` (what the dev server UI's "add app" does).

        In v1.43.0 this PUT is unsigned even under ``inngest start`` (the GraphQL resolver is built
        without the signing key), so an SDK in cloud mode refuses it; ``sdk_urls=`` (``--sdk-url``)
        makes the server sync with a signed PUT, as does its poll loop (every 5 s) for an app that
        reported an error."""
        app: dict[str, Any] = self.gql("mutation($u:String!){ createApp(input:{url:$u}){ id name url error "
                                       "functionCount } }", {"u": app_url})["createApp"]
        return app

    def sync_by_put(self, app_url: str, *, timeout: float = 30.0) -> tuple[int, Any]:
        """PUT the app's endpoint, as a deploy hook does: the app registers itself with the server."""
        return request("PUT", app_url, b"", timeout=timeout)

    def wait_for_app(self, app_id: str, *, functions: int | None = None, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until app ``app_id`` is synced (with ``functions`` functions, if given)."""
        deadline = time.monotonic() + timeout
        seen: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            seen = self.apps()
            for app in seen:
                if app["name"] == app_id and (functions is None or app["functionCount"] == functions):
                    return app
            time.sleep(0.1)
        raise AssertionError(f"app {app_id!r} was not synced within {timeout}s; apps: {seen}\n{self.log()[-3000:]}")

    # runs --------------------------------------------------------------------

    def run(self, run_id: str) -> dict[str, Any] | None:
        """A run's ``id``, ``status`` and ``output`` (decoded JSON, or the raw string)."""
        run: dict[str, Any] | None = self.gql(
            "query($id:ID!){ functionRun(query:{functionRunId:$id}){ id status output functionID "
            "startedAt finishedAt } }", {"id": run_id})["functionRun"]
        if run is not None:
            run["output"] = _decode(run.get("output"))
        return run

    def runs_of_event(self, event_id: str) -> list[dict[str, Any]]:
        """The runs an event started (``id``, ``status``, ``output``); empty until they are scheduled."""
        status, body = request("POST", f"{self.url}/v0/gql", {
            "query": "query($id:ID!){ event(query:{eventId:$id}){ functionRuns { id status output "
                     "function { slug } } } }", "variables": {"id": event_id}}, headers=self.auth_headers())
        errors = body.get("errors") if isinstance(body, dict) else None
        # An event is stored a moment after /e/ answers; until then the lookup finds no row.
        if errors and all("no rows" in str(e.get("message")) for e in errors):
            return []
        if status != 200 or errors or not isinstance(body, dict):
            raise AssertionError(f"GraphQL failed: {status} {body}")
        event = body["data"]["event"]
        runs: list[dict[str, Any]] = (event or {}).get("functionRuns") or []
        for run in runs:
            run["output"] = _decode(run.get("output"))
        return runs

    def wait_for_runs(self, event_id: str, count: int = 1, *, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Wait until event ``event_id`` has started ``count`` runs; returns them (possibly unfinished)."""
        deadline = time.monotonic() + timeout
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            runs = self.runs_of_event(event_id)
            if len(runs) >= count:
                return runs
            time.sleep(0.1)
        raise AssertionError(f"event {event_id} started {len(runs)} runs, not {count}, within {timeout}s\n"
                             f"{self.log()[-3000:]}")

    def wait_run(self, run_id: str, *, timeout: float = 60.0,
                 statuses: frozenset[str] = FINISHED) -> dict[str, Any]:
        """Wait until the run's status is one of ``statuses`` (finished by default)."""
        deadline = time.monotonic() + timeout
        run: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run is not None and run.get("status") in statuses:
                return run
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} did not reach {sorted(statuses)} within {timeout}s: {run}\n"
                             f"{self.log()[-3000:]}")

    def wait_event_run(self, event_id: str, *, timeout: float = 60.0) -> dict[str, Any]:
        """The one run event ``event_id`` started, once it has finished."""
        deadline = time.monotonic() + timeout
        run = self.wait_for_runs(event_id, 1, timeout=timeout)[0]
        return self.wait_run(str(run["id"]), timeout=max(1.0, deadline - time.monotonic()))

    def trigger(self, name: str, data: Mapping[str, Any] | None = None, *, timeout: float = 60.0) -> dict[str, Any]:
        """Send one event and return the finished run it started."""
        return self.wait_event_run(self.send_one(name, data), timeout=timeout)

    def step_spans(self, run_id: str) -> list[dict[str, Any]]:
        """The run's trace, one level down: each span's ``name``, ``status``, ``stepOp``, ``stepID``."""
        trace = self.gql("query($id:String!){ runTrace(runID:$id){ childrenSpans { name status stepOp stepID } } }",
                         {"id": run_id})["runTrace"]
        spans: list[dict[str, Any]] = (trace or {}).get("childrenSpans") or []
        return spans

    def cancel(self, run_id: str) -> None:
        self.gql("mutation($id:ULID!){ cancelRun(runID:$id){ id } }", {"id": run_id})


def _decode(output: Any) -> Any:
    if isinstance(output, str):
        with contextlib.suppress(ValueError):
            return json.loads(output)
    return output


def _server_args(mode: str, port: int, ports: Mapping[str, int], *, tick: int | None, retry_interval: int | None,
                 queue_workers: int | None, poll_interval: int | None, sdk_urls: Sequence[str]) -> list[str]:
    argv = [str(inngest_binary()), mode, "--host", "127.0.0.1", "--port", str(port),
            # Every port it binds is ours to choose: the Connect gateway's three as well.
            "--connect-gateway-port", str(ports["connect_gateway"]),
            "--connect-gateway-grpc-port", str(ports["connect_gateway_grpc"]),
            "--connect-executor-grpc-port", str(ports["connect_executor_grpc"])]
    if tick is not None:
        argv += ["--tick", str(tick)]
    if retry_interval is not None:
        argv += ["--retry-interval", str(retry_interval)]
    if queue_workers is not None:
        argv += ["--queue-workers", str(queue_workers)]
    if poll_interval is not None:
        argv += ["--poll-interval", str(poll_interval)]
    for url in sdk_urls:
        argv += ["--sdk-url", url]
    return argv


@contextlib.contextmanager
def _inngest(mode: str, extra_args: Sequence[str], *, event_key: str | None, signing_key_hex: str | None,
             tick: int | None, retry_interval: int | None, queue_workers: int | None, poll_interval: int | None,
             sdk_urls: Sequence[str], env: Mapping[str, str] | None, startup_timeout: float,
             workdir: Path | None, port: int | None) -> Iterator[InngestServer]:
    port = port or free_port()
    ports = {"api": port, "connect_gateway": free_port(), "connect_gateway_grpc": free_port(),
             "connect_executor_grpc": free_port()}
    argv = _server_args(mode, port, ports, tick=tick, retry_interval=retry_interval, queue_workers=queue_workers,
                        poll_interval=poll_interval, sdk_urls=sdk_urls) + list(extra_args)
    with contextlib.ExitStack() as stack:
        # An empty directory of its own: the CLI reads inngest.json|yaml from the working directory
        # and every parent, and `start` keeps SQLite in ./.inngest by default.
        cwd = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"inngest-{mode}-")))
        log_path = cwd / "inngest.log"
        log = stack.enter_context(log_path.open("wb"))
        proc = subprocess.Popen(argv, cwd=cwd, env=clean_env(env, home=cwd), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        stack.callback(stop, proc)
        server = InngestServer(mode, port, cwd, log_path, proc, event_key=event_key,
                               signing_key_hex=signing_key_hex, ports=ports)
        _wait_healthy(server, startup_timeout)
        yield server


def _wait_healthy(server: InngestServer, timeout: float) -> None:
    """GET /health on the port we asked for (a taken port is silently moved, so ask that one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"inngest {server.mode} exited with {server.proc.returncode}:\n{server.log()[-4000:]}")
        with contextlib.suppress(OSError, ValueError):
            status, _ = request("GET", f"{server.url}/health", timeout=2)
            if status == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"inngest {server.mode} did not answer /health on {server.port} within {timeout}s:\n"
                       f"{server.log()[-4000:]}")


@contextlib.contextmanager
def inngest_dev(*, sdk_urls: Sequence[str] = (), tick: int | None = 50, retry_interval: int | None = 1,
                queue_workers: int | None = None, poll_interval: int | None = None, discovery: bool = False,
                poll: bool = False, extra_args: Sequence[str] = (), env: Mapping[str, str] | None = None,
                startup_timeout: float = 60.0, workdir: Path | None = None,
                port: int | None = None) -> Iterator[InngestServer]:
    """``inngest dev`` on free ports (``port``: the API's, when the app must know it first); no
    discovery or polling unless asked (apps come from ``sdk_urls`` or a sync). Any event key is
    accepted; ``send`` uses ``test``."""
    args = list(extra_args)
    if not discovery:
        args.append("--no-discovery")
    if not poll:
        args.append("--no-poll")
    with _inngest("dev", args, event_key="test", signing_key_hex=None, tick=tick, retry_interval=retry_interval,
                  queue_workers=queue_workers, poll_interval=poll_interval, sdk_urls=sdk_urls, env=env,
                  startup_timeout=startup_timeout, workdir=workdir, port=port) as server:
        yield server


@contextlib.contextmanager
def inngest_start(*, signing_key_hex: str = SIGNING_KEY_HEX, event_key: str = EVENT_KEY,
                  postgres_uri: str | None = None, redis_uri: str | None = None, sqlite_dir: Path | None = None,
                  sdk_urls: Sequence[str] = (), tick: int | None = 50, retry_interval: int | None = 1,
                  queue_workers: int | None = None, poll_interval: int | None = None,
                  extra_args: Sequence[str] = (), env: Mapping[str, str] | None = None,
                  startup_timeout: float = 90.0, workdir: Path | None = None,
                  port: int | None = None) -> Iterator[InngestServer]:
    """``inngest start`` (self-hosted) on free ports (``port`` as for ``inngest_dev``): SQLite in its
    temp dir unless ``postgres_uri`` / ``redis_uri`` are given. The signing key is bare hex here;
    the SDK's form is ``server.signing_key``."""
    args = ["--signing-key", signing_key_hex, "--event-key", event_key]
    if postgres_uri:
        args += ["--postgres-uri", postgres_uri]
    if redis_uri:
        args += ["--redis-uri", redis_uri]
    if sqlite_dir is not None:
        args += ["--sqlite-dir", str(sqlite_dir)]
    args += list(extra_args)
    with _inngest("start", args, event_key=event_key, signing_key_hex=signing_key_hex, tick=tick,
                  retry_interval=retry_interval, queue_workers=queue_workers, poll_interval=poll_interval,
                  sdk_urls=sdk_urls, env=env, startup_timeout=startup_timeout, workdir=workdir, port=port) as server:
        yield server


# -- PostgreSQL and Redis ------------------------------------------------------------

@dataclass
class Service:
    """A running PostgreSQL or Redis: ``uri`` is what ``inngest start`` is given."""

    name: str
    port: int
    uri: str
    workdir: Path
    proc: subprocess.Popen[bytes]

    def log(self) -> str:
        return _tail(self.workdir / f"{self.name}.log")


def _postgres_user() -> tuple[int, int] | None:
    """The uid/gid to run PostgreSQL as: postgres refuses to run as root, so as root use ``postgres``."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise _fail_missing("the postgres system user (postgres will not run as root)", INSTALL_SCRIPT) from None
    return entry.pw_uid, entry.pw_gid


def _as_user(ids: tuple[int, int] | None) -> dict[str, Any]:
    if ids is None:
        return {}
    return {"user": ids[0], "group": ids[1], "extra_groups": []}


@contextlib.contextmanager
def _private_tmp(prefix: str, owner: tuple[int, int] | None) -> Iterator[Path]:
    # Under /tmp rather than pytest's tmp_path: that one is 0700 root, which the postgres user cannot enter.
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        if owner is not None:
            os.chown(path, *owner)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def postgres(*, settings: Mapping[str, str] | None = None, startup_timeout: float = 60.0) -> Iterator[Service]:
    """A fresh PostgreSQL cluster on a free loopback port, trust auth, socket dir in its temp dir.

    ``settings`` are extra ``-c name=value`` server settings; durability (fsync) is off by default
    because the data is thrown away after the test.
    """
    initdb, server, ready = _tool("initdb", postgres=True), _tool("postgres", postgres=True), \
        _tool("pg_isready", postgres=True)
    owner = _postgres_user()
    with _private_tmp("inngest-pg-", owner) as tmp:
        data, log_path = tmp / "data", tmp / "postgres.log"
        init = subprocess.run([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
                              cwd=tmp, env=clean_env(), capture_output=True, **_as_user(owner))
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stderr.decode(errors='replace')[-2000:]}")
        port = free_port()
        conf = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(tmp),
                "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200",
                **dict(settings or {})}
        argv = [server, "-D", str(data)] + [a for k, v in conf.items() for a in ("-c", f"{k}={v}")]
        with log_path.open("wb") as log:
            proc = subprocess.Popen(argv, cwd=tmp, env=clean_env(), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, **_as_user(owner))
            try:
                wait_port(port, proc, startup_timeout)
                deadline = time.monotonic() + startup_timeout
                while subprocess.run([ready, "-q", "-h", "127.0.0.1", "-p", str(port)], env=clean_env()).returncode:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError(f"postgres did not get ready:\n{_tail(log_path)}")
                    time.sleep(0.1)
                yield Service("postgres", port, f"postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable",
                              tmp, proc)
            finally:
                stop(proc, signal.SIGINT)  # SIGINT: "fast" shutdown, not waiting for clients


def create_database(pg: Service, name: str) -> str:
    """Create database ``name`` in ``pg`` (one per server, so runs never leak between tests); its URI."""
    created = subprocess.run([_tool("createdb", postgres=True), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres",
                              name], env=clean_env(), capture_output=True)
    if created.returncode != 0:
        raise RuntimeError(f"createdb {name} failed: {created.stderr.decode(errors='replace')[-2000:]}")
    return f"postgres://postgres@127.0.0.1:{pg.port}/{name}?sslmode=disable"


@contextlib.contextmanager
def redis(*, startup_timeout: float = 30.0) -> Iterator[Service]:
    """redis-server on a free loopback port, no RDB snapshots, no AOF."""
    binary = _tool("redis-server")
    with _private_tmp("inngest-redis-", None) as tmp:
        port = free_port()
        argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                "--dir", str(tmp), "--daemonize", "no", "--protected-mode", "no"]
        log_path = tmp / "redis.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(argv, cwd=tmp, env=clean_env(), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                wait_port(port, proc, startup_timeout)
                yield Service("redis", port, f"redis://127.0.0.1:{port}/0", tmp, proc)
            finally:
                stop(proc)
