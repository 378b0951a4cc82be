"""Every adapter of ours in its host's real runtime, serving a given app module over loopback HTTP.

``serve(adapter, app, env)`` yields the app's endpoint URL (``Served``), for the real Inngest server
to call:

* ``lambda``            awslambdaric in the Runtime Interface Emulator behind a Function URL front
                        door (function_url.py), the module's ``lambda_handler``
* ``lambda-streaming``  our streaming Runtime API loop in the emulator, the Function URL in
                        RESPONSE_STREAM mode, the module's ``client``
* ``gcf`` ``azure`` ``azure313`` ``vercel`` ``asgi`` ``wsgi``   tests/support/hosts/servers.py
                        (functions-framework, the Azure worker path with azure-functions 1.x on
                        Python 3.11 and with 2.x + azure-functions-runtime on 3.13,
                        vercel-runtime's vc_init, uvicorn, gunicorn), the module's ``gcf`` /
                        ``client`` / ``handler`` / ``asgi`` / ``wsgi``
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from tests.real_server.function_url import Call, lambda_function_url
from tests.support.hosts import servers

ADAPTERS = ("lambda", "lambda-streaming", "gcf", "azure", "azure313", "vercel", "asgi", "wsgi")
_HOSTS = {"azure": "azure311"}  # servers.py's name for the host


@dataclass
class Served:
    url: str  # the app's endpoint
    # The calls the Lambda front door passed on, with the status the function answered (201: it
    # streamed); None for hosts whose replies we do not see.
    calls: list[Call] | None = None


@contextlib.contextmanager
def serve(adapter: str, app: str, env: Mapping[str, str]) -> Iterator[Served]:
    """Serve app module ``app`` (dotted) through ``adapter``."""
    if adapter in ("lambda", "lambda-streaming"):
        streaming = adapter == "lambda-streaming"
        entry = f"{app}.client" if streaming else f"{app}.lambda_handler"
        with lambda_function_url(entry, env, streaming=streaming) as front:
            yield Served(front.url, front.calls)
    else:
        with servers.start(_HOSTS.get(adapter, adapter), env, app) as host:
            yield Served(host.url)
