"""``serve(app, client, functions)`` for FastAPI, with the official SDK's signature (``inngest.fast_api``).

It adds a ``GET``/``POST``/``PUT`` route (``/api/inngest`` unless ``serve_path``, left out of the
OpenAPI schema) answered by this package's ASGI adapter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .adapters import _host
from .adapters.asgi import ASGIAdapter

if TYPE_CHECKING:
    import fastapi

    from .core.client import Inngest
    from .core.function import Function

FRAMEWORK = "fast_api"

__all__ = ["serve"]


def serve(
    app: fastapi.FastAPI,
    client: Inngest,
    functions: list[Function[Any]],
    *,
    enable_unauthed_sync: bool | None = None,
    public_path: str | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
    streaming: object = None,
) -> None:
    """Serve ``functions`` from ``app`` (arguments as in :func:`inngest_serverless.flask.serve`);
    ``streaming``: ``"auto"``, ``"force"`` or ``"off"`` (or the official SDK's ``Streaming``)."""
    from starlette.routing import Route

    handler = _host.framework_handler(client, FRAMEWORK, functions, enable_unauthed_sync=enable_unauthed_sync,
                                      public_path=public_path, serve_origin=serve_origin, streaming=streaming)
    adapter = ASGIAdapter(handler, max_body=_host.max_body_bytes(client))
    # An object, not a function: Starlette hands it the raw ASGI scope, receive and send.
    app.router.routes.append(Route(_host.route_path(serve_path), adapter, methods=["GET", "POST", "PUT"],
                                   include_in_schema=False))
