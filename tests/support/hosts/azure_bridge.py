"""Serve an Azure Functions Python (v2 model) app over HTTP, as the Python worker runs it.

The .NET Functions host cannot run here, so this plays its part only: it
turns an HTTP request into the worker's ``http`` datum and writes the
``http`` datum of the reply back. Everything in between is the real library
code the worker runs:

* indexing: with azure-functions-runtime (2.x, Python >= 3.13) its
  ``loader.index_function_app`` and ``functions.Registry.add_indexed_function``;
  with azure-functions 1.x, what the 1.x worker does: import function_app.py,
  find the one ``FunctionRegister``, ``get_functions()``;
* routing: each function's raw bindings (the JSON the host receives):
  ``route`` under ``extensions.http.routePrefix`` (default ``api``) and ``methods``;
* request and reply: the library's ``HttpRequestConverter.decode`` and
  ``HttpResponseConverter.encode`` (looked up through the runtime's binding
  registry on 2.x).

Usage: python azure_bridge.py --app-dir DIR --port P   (binds 127.0.0.1)
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import os
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# The worker's protobuf enum numbers the 2.x registry compares bindings against
# (BindingInfo.Direction in=0/out=1/inout=2, BindingInfo.DataType undefined=0).
PROTOS = types.SimpleNamespace(BindingInfo=types.SimpleNamespace(in_=0, out=1, inout=2, undefined=0))


@dataclass
class Route:
    name: str
    path: str
    methods: set[str]
    func: Callable[..., Any]
    trigger_arg: str
    is_async: bool
    decode: Callable[[Any], Any]  # http datum -> HttpRequest
    encode: Callable[[Any], Any]  # HttpResponse -> http datum


def _route_prefix(app_dir: Path) -> str:
    try:
        host = json.loads((app_dir / "host.json").read_text())
    except (OSError, ValueError):
        return "api"
    prefix = host.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    return str(prefix).strip("/")


def _http_bindings(function: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    raw = [json.loads(b) for b in function.get_raw_bindings()]
    trigger = next(b for b in raw if b["type"] == "httpTrigger")
    output = next(b for b in raw if b["type"] == "http")
    return trigger, output


def index(app_dir: Path) -> tuple[list[Route], str]:
    """The app's HTTP routes, indexed by the runtime library available in this interpreter."""
    script = app_dir / "function_app.py"
    sys.path.insert(0, str(app_dir))
    os.environ["AzureWebJobsScriptRoot"] = str(app_dir)  # noqa: SIM112 - Azure's own spelling
    prefix = _route_prefix(app_dir)
    routes: list[Route] = []
    try:
        from azure_functions_runtime.bindings.datumdef import Datum  # type: ignore[import-not-found]
        from azure_functions_runtime.bindings.meta import (  # type: ignore[import-not-found]
            get_binding,
            get_datum,
            load_binding_registry,
        )
        from azure_functions_runtime.functions import Registry  # type: ignore[import-not-found]
        from azure_functions_runtime.loader import index_function_app  # type: ignore[import-not-found]
    except ImportError:
        import azure.functions
        from azure.functions import FunctionRegister
        from azure.functions.http import HttpRequestConverter, HttpResponseConverter
        from azure.functions.meta import Datum as LibDatum

        module = importlib.import_module(script.stem)
        apps = [v for v in vars(module).values() if isinstance(v, FunctionRegister)]
        if len(apps) != 1:
            raise SystemExit(f"expected one FunctionApp in {script}, found {len(apps)}") from None
        for function in apps[0].get_functions():
            trigger, _ = _http_bindings(function)
            func = function.get_user_function()
            routes.append(Route(
                name=function.get_function_name(),
                path=f"/{prefix}/{trigger.get('route') or function.get_function_name()}".replace("//", "/"),
                methods={m.upper() for m in trigger.get("methods") or ("GET", "POST", "PUT", "DELETE", "PATCH")},
                func=func,
                trigger_arg=trigger["name"],
                is_async=inspect.iscoroutinefunction(func),
                decode=lambda value: HttpRequestConverter.decode(LibDatum(value, "http"), trigger_metadata={}),
                encode=lambda obj: HttpResponseConverter.encode(obj, expected_type=None),
            ))
        return routes, f"azure-functions {azure.functions.__version__}"

    from importlib.metadata import version

    import azure.functions

    runtime = (f"azure-functions {azure.functions.__version__} + azure-functions-runtime "
               f"{version('azure-functions-runtime')}")
    load_binding_registry()
    registry = Registry()
    for function in index_function_app(str(script)):
        info = registry.add_indexed_function(function=function, protos=PROTOS)
        trigger, _ = _http_bindings(function)
        in_type = info.input_types[trigger["name"]]
        out_type = info.return_type
        decoder = get_binding(in_type.binding_name)
        routes.append(Route(
            name=info.name,
            path=f"/{prefix}/{trigger.get('route') or info.name}".replace("//", "/"),
            methods={m.upper() for m in trigger.get("methods") or ("GET", "POST", "PUT", "DELETE", "PATCH")},
            func=info.func,
            trigger_arg=trigger["name"],
            is_async=info.is_async,
            decode=lambda value, d=decoder: d.decode(Datum(value, "http"), trigger_metadata={}),
            encode=lambda obj, t=out_type: get_datum(t.binding_name, obj, t.pytype),
        ))
    return routes, runtime


RUNTIME_PATH = "/_bridge/runtime"  # GET: which library indexed the app, for the tests to check


def make_server(routes: list[Route], port: int, runtime: str) -> ThreadingHTTPServer:
    by_path = {r.path.lower(): r for r in routes}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == RUNTIME_PATH:
                info = {"runtime": runtime, "python": sys.version.split()[0]}
                self._reply(200, {"content-type": "application/json"}, json.dumps(info).encode())
                return
            route = by_path.get(parts.path.rstrip("/").lower())
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            if route is None or self.command not in route.methods:
                # The host's route table: the function is never invoked.
                self._reply(404, {}, b"")
                return
            datum = _request_datum(self.command, f"http://{self.headers.get('host')}{self.path}",
                                   dict(self.headers.items()), parts.query, body)
            request = route.decode(datum)
            if route.is_async:
                result = asyncio.run(route.func(**{route.trigger_arg: request}))
            else:
                result = route.func(**{route.trigger_arg: request})
            out = route.encode(result)
            value = out.value
            status = int(value["status_code"].value)
            headers = {name: d.value for name, d in value["headers"].items()}
            self._reply(status, headers, value["body"].value or b"")

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = _serve

        def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def _request_datum(method: str, url: str, headers: dict[str, str], query: str, body: bytes) -> dict[str, Any]:
    """The value of the worker's ``http`` datum (as ``Datum.from_typed_data`` builds it from RpcHttp)."""
    try:
        from azure_functions_runtime.bindings.datumdef import Datum
    except ImportError:
        from azure.functions.meta import Datum
    return {
        "method": Datum(method, "string"),
        "url": Datum(url, "string"),
        "headers": {k.lower(): Datum(v, "string") for k, v in headers.items()},
        "body": Datum(body, "bytes"),
        "params": {},
        "query": {k: Datum(v, "string") for k, v in parse_qsl(query, keep_blank_values=True)},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app-dir", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    args = parser.parse_args()
    routes, runtime = index(args.app_dir.resolve())
    print(f"azure bridge: {runtime}: " + ", ".join(f"{r.name} {sorted(r.methods)} {r.path}" for r in routes),
          flush=True)
    server = make_server(routes, args.port, runtime)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
