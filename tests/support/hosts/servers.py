"""Start each host's real runtime on 127.0.0.1 serving tests/support/hosts/app.py, and call it over HTTP.

Every server is a process we start on a free port and stop by its PID (its
process group), even when a test fails.

* ``wsgi``   gunicorn (a real WSGI server) with ``wsgi_adapter``
* ``asgi``   uvicorn with ``asgi_adapter``
* ``gcf``    the functions-framework CLI with ``gcf_adapter``
* ``vercel`` vercel-runtime's production bridge (``vc_init`` in IPC mode, Python 3.12 venv)
* ``azure311`` / ``azure313`` azure-functions 1.x / 2.x + azure-functions-runtime, via azure_bridge.py
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.support.aws_harness import free_port, stop, wait_port

REPO = Path(__file__).resolve().parents[3]
HOSTS_DIR = Path(__file__).resolve().parent
CACHE = REPO / ".cache"
VERCEL_PYTHON = CACHE / "venv-vercel312" / "bin" / "python"
AZURE313_PYTHON = CACHE / "venv-azure313" / "bin" / "python"
APP = "tests.support.hosts.app"

Call = Callable[[str, str, Mapping[str, str], bytes], "tuple[int, dict[str, str], bytes]"]


@dataclass
class Host:
    """A running host: ``url`` is the Inngest endpoint it serves."""

    name: str
    url: str
    # The host's own route table only lets GET/PUT/POST reach the function (Azure).
    filters_methods: bool = False

    def runtime(self) -> dict[str, str]:
        """The Azure bridge's report of which library indexed the app (and on which Python)."""
        status, _, body = http("GET", self.url.split("/api/")[0] + "/_bridge/runtime", {}, b"")
        assert status == 200, body
        info: dict[str, str] = json.loads(body)
        return info

    def call(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        return http(method, url, headers, body)


def http(method: str, url: str, headers: Mapping[str, str], body: bytes,
         timeout: float = 60.0) -> tuple[int, dict[str, str], bytes]:
    """One plain HTTP request; any status comes back as a tuple (never raises for 4xx/5xx)."""
    data = body if body or method in ("POST", "PUT") else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def _env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNGEST_")}
    env.update({"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **extra})
    return env


@contextlib.contextmanager
def _process(argv: list[str], port: int, env: Mapping[str, str], cwd: Path = REPO) -> Iterator[None]:
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(argv, cwd=cwd, env=_env(env), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            try:
                wait_port(port, proc)
            except (RuntimeError, TimeoutError) as exc:
                raise RuntimeError(f"{argv[0]} did not start: {exc}\n{_tail(log)}") from None
            yield
        finally:
            stop(proc)


def _tail(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-3000:]


@contextlib.contextmanager
def wsgi(env: Mapping[str, str], app: str = APP) -> Iterator[Host]:
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
            "--threads", "4", "--log-level", "warning", f"{app}:wsgi"]
    with _process(argv, port, env):
        yield Host("wsgi", f"http://127.0.0.1:{port}/api/inngest")


@contextlib.contextmanager
def asgi(env: Mapping[str, str], app: str = APP) -> Iterator[Host]:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--lifespan", "on", f"{app}:asgi"]
    with _process(argv, port, env):
        yield Host("asgi", f"http://127.0.0.1:{port}/api/inngest")


@contextlib.contextmanager
def gcf(env: Mapping[str, str], source: Path = HOSTS_DIR / "app.py", target: str = "gcf",
        python: Path | None = None) -> Iterator[Host]:
    """functions-framework's CLI; with ``python``, that interpreter's ``-m functions_framework`` run
    from the source's folder (a built function whose packages ``env``'s PYTHONPATH names)."""
    port = free_port()
    cli = [str(python), "-m", "functions_framework"] if python else [str(Path(sys.executable).with_name("functions-framework"))]
    argv = [*cli, f"--target={target}", f"--source={source}", "--host=127.0.0.1", f"--port={port}"]
    with _process(argv, port, env, cwd=source.parent if python else REPO):
        # functions-framework serves the function on every path; use the conventional one.
        yield Host("gcf", f"http://127.0.0.1:{port}/api/inngest")


@contextlib.contextmanager
def azure(env: Mapping[str, str], python: Path | str = sys.executable,
          app_dir: Path = HOSTS_DIR / "azure_app", name: str = "azure311") -> Iterator[Host]:
    port = free_port()
    argv = [str(python), str(HOSTS_DIR / "azure_bridge.py"), "--app-dir", str(app_dir), "--port", str(port)]
    with _process(argv, port, env):
        yield Host(name, f"http://127.0.0.1:{port}/api/inngest", filters_methods=True)


@contextlib.contextmanager
def vercel(env: Mapping[str, str], entry: Path = HOSTS_DIR / "app.py", variable: str = "handler",
           module: str = "app", path: str = "/api/inngest", command: list[str] | None = None,
           cwd: Path | None = None) -> Iterator[Host]:
    """vc_init in IPC mode: we play the platform's IPC socket and read the announced port.

    By default vc_init runs from the 3.12 venv on ``entry``; ``command``/``cwd`` run something
    else that ends in vc_init, such as a built function's trampoline.
    """
    with tempfile.TemporaryDirectory() as tmp:
        sock_path = os.path.join(tmp, "ipc.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(sock_path)
        listener.listen(1)
        listener.settimeout(60)
        messages: list[dict[str, object]] = []
        port_ready = threading.Event()
        port_box: list[int] = []

        def read_ipc() -> None:
            with contextlib.suppress(OSError):
                conn, _ = listener.accept()
                with conn:
                    buf = b""
                    while chunk := conn.recv(65536):
                        buf += chunk
                        while b"\0" in buf:
                            raw, buf = buf.split(b"\0", 1)
                            msg = json.loads(raw)
                            messages.append(msg)
                            payload = msg.get("payload") or {}
                            if msg.get("type") == "server-started" and isinstance(payload, dict):
                                port_box.append(int(payload["httpPort"]))
                                port_ready.set()

        reader = threading.Thread(target=read_ipc, daemon=True)
        reader.start()
        vc_env = {
            "VERCEL_IPC_PATH": sock_path,
            "__VC_HANDLER_ENTRYPOINT": entry.name,
            "__VC_HANDLER_ENTRYPOINT_ABS": str(entry),
            "__VC_HANDLER_MODULE_NAME": module,
            "__VC_HANDLER_VARIABLE_NAME": variable,
            **env,
        }
        with tempfile.TemporaryFile() as log:
            argv = command or [str(VERCEL_PYTHON), "-m", "vercel_runtime.vc_init"]
            proc = subprocess.Popen(argv, cwd=cwd or entry.parent, env=_env(vc_env), stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                if not port_ready.wait(60):
                    raise RuntimeError(f"vc_init never announced a port\n{_tail(log)}")
                yield Host("vercel", f"http://127.0.0.1:{port_box[0]}{path}")
            finally:
                stop(proc)
                listener.close()
                reader.join(5)


def module_file(app: str) -> Path:
    """The source file of app module ``app`` (dotted, under the repository)."""
    return REPO.joinpath(*app.split(".")).with_suffix(".py")


def start(name: str, env: Mapping[str, str], app: str = APP) -> contextlib.AbstractContextManager[Host]:
    """Start host ``name`` (one of HOSTS) serving app module ``app``; skips the test when its runtime
    is not installed. The module names its entries as tests/support/hosts/app.py does: ``wsgi``, ``asgi``,
    ``gcf``, ``handler`` (Vercel) and ``client`` (the Azure app imports it: TEST_HOST_APP)."""
    import pytest

    if name == "azure313" and not AZURE313_PYTHON.exists():
        pytest.skip("no Python 3.13 venv with azure-functions 2.x: run scripts/install-hosts.d/30-hosts.sh")
    if name == "vercel" and not VERCEL_PYTHON.exists():
        pytest.skip("no Python 3.12 venv with vercel-runtime: run scripts/install-hosts.d/30-hosts.sh")
    starts: dict[str, Callable[[], contextlib.AbstractContextManager[Host]]] = {
        "wsgi": lambda: wsgi(env, app),
        "asgi": lambda: asgi(env, app),
        "gcf": lambda: gcf(env, source=module_file(app)),
        "azure311": lambda: azure({**env, "TEST_HOST_APP": app}),
        "azure313": lambda: azure({**env, "TEST_HOST_APP": app}, python=AZURE313_PYTHON, name="azure313"),
        "vercel": lambda: vercel(env, entry=module_file(app)),
    }
    return starts[name]()
