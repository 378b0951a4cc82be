"""``serve(app, client, functions)`` for Flask, with the official SDK's signature (``inngest.flask``).

It adds a ``GET``/``POST``/``PUT`` route (``/api/inngest`` unless ``serve_path``) answered by
this package's WSGI adapter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .adapters import _host
from .adapters.wsgi import WSGIAdapter

if TYPE_CHECKING:
    import flask

    from .core.client import Inngest
    from .core.function import Function

FRAMEWORK = "flask"

__all__ = ["serve"]


def serve(
    app: flask.Flask,
    client: Inngest,
    functions: list[Function[Any]],
    *,
    enable_unauthed_sync: bool | None = None,
    public_path: str | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
) -> None:
    """Serve ``functions`` from ``app``. ``serve_path``: the route; ``public_path``: the path the
    Inngest server calls, when a proxy rewrites it; ``serve_origin``: the origin it calls."""
    import flask

    handler = _host.framework_handler(client, FRAMEWORK, functions, enable_unauthed_sync=enable_unauthed_sync,
                                      public_path=public_path, serve_origin=serve_origin)
    adapter = WSGIAdapter(handler, max_body=_host.max_body_bytes(client))

    def inngest_api() -> flask.Response:
        response = adapter.respond(flask.request.environ)
        body = response.stream if response.stream is not None else response.body
        return flask.Response(body, status=response.status, headers=response.headers)

    app.add_url_rule(_host.route_path(serve_path), endpoint="inngest_api", view_func=inngest_api,
                     methods=["GET", "POST", "PUT"])
