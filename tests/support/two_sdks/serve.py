"""Serve one app module of tests/support/two_sdks/apps/ under one SDK, on its own framework's server.

Usage: python -m tests.support.two_sdks.serve PORT EXECUTOR_URL, with TWO_SDKS_SDK (official or ours) and
TWO_SDKS_MODULE; each line of the ``two_sdks`` logger is appended to the file TWO_SDKS_LOG. Prints
``ready`` once the server listens; stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import types
from typing import Any

from tests.support.two_sdks.sdks import APPS, source


def load(module: str, sdk: str) -> types.ModuleType:
    name = f"two_sdks_app_{module}"
    loaded = types.ModuleType(name)
    loaded.__file__ = str(APPS / f"{module}.py")
    sys.modules[name] = loaded  # Django finds its URLconf by module name
    exec(compile(source(module, sdk), loaded.__file__, "exec"), loaded.__dict__)
    return loaded


def _capture_log(path: str) -> None:
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("two_sdks")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _configure_django(urlconf: str) -> None:
    from django.conf import settings

    settings.configure(DEBUG=False, ALLOWED_HOSTS=["127.0.0.1"], ROOT_URLCONF=urlconf, SECRET_KEY="two-sdks-test",
                       MIDDLEWARE=[])
    import django

    django.setup()


def serve(app: Any, module: types.ModuleType, port: int) -> None:
    kind = type(app).__module__.split(".")[0] if app is not None else "django"
    if kind == "flask":
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = make_server("127.0.0.1", port, app, threaded=True)
        print("ready", flush=True)
        server.serve_forever()
    elif kind == "fastapi":
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
        userver = uvicorn.Server(config)
        threading.Thread(target=_ready_when, args=(lambda: userver.started,), daemon=True).start()
        userver.run()
    elif kind == "tornado":
        async def main() -> None:
            app.listen(port, address="127.0.0.1")
            print("ready", flush=True)
            await asyncio.Event().wait()

        asyncio.run(main())
    else:
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
        from wsgiref.simple_server import make_server as wsgi_server

        from django.core.handlers.wsgi import WSGIHandler

        class Server(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        dserver = wsgi_server("127.0.0.1", port, WSGIHandler(), server_class=Server, handler_class=Quiet)
        print("ready", flush=True)
        dserver.serve_forever()


def _ready_when(started: Any) -> None:
    import time

    while not started():
        time.sleep(0.02)
    print("ready", flush=True)


def main() -> None:
    port, os.environ["INNGEST_DEV"] = int(sys.argv[1]), sys.argv[2]
    sdk, module = os.environ["TWO_SDKS_SDK"], os.environ["TWO_SDKS_MODULE"]
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    _capture_log(os.environ["TWO_SDKS_LOG"])
    if module.startswith("django"):
        _configure_django(f"two_sdks_app_{module}")
    loaded = load(module, sdk)
    serve(getattr(loaded, "app", None), loaded, port)


if __name__ == "__main__":
    main()
