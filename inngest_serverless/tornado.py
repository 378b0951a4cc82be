"""``serve(app, client, functions)`` for Tornado, with the official SDK's signature (``inngest.tornado``).

It adds a handler (``/api/inngest`` unless ``serve_path``) that runs calls on Tornado's event
loop (``def`` functions in a worker thread).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .adapters import _host
from .core.http import Request, Response

if TYPE_CHECKING:
    import tornado.httputil
    import tornado.web

    from .core.client import Inngest
    from .core.function import Function

FRAMEWORK = "tornado"

__all__ = ["serve"]


def serve(
    app: tornado.web.Application,
    client: Inngest,
    functions: list[Function[Any]],
    *,
    enable_unauthed_sync: bool | None = None,
    public_path: str | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
) -> None:
    """Serve ``functions`` from ``app``; arguments as in :func:`inngest_serverless.flask.serve`."""
    import tornado.web

    handler = _host.framework_handler(client, FRAMEWORK, functions, enable_unauthed_sync=enable_unauthed_sync,
                                      public_path=public_path, serve_origin=serve_origin)
    adapter = TornadoAdapter(handler, max_body=_host.max_body_bytes(client))

    class InngestHandler(tornado.web.RequestHandler):
        def check_xsrf_cookie(self) -> None:
            """Calls come from the Inngest server, signed; there is no cookie to check."""

        async def _serve(self) -> None:
            await adapter.send(self, await adapter.answer_async(adapter.to_request(self.request)))

        async def get(self) -> None:
            await self._serve()

        async def post(self) -> None:
            await self._serve()

        async def put(self) -> None:
            await self._serve()

    app.add_handlers(r".*", [(_host.route_path(serve_path), InngestHandler)])


class TornadoAdapter(_host.Adapter):
    """Tornado's ``HTTPServerRequest`` -> core ``Request``; core ``Response`` written by the handler."""

    framework = FRAMEWORK

    def to_request(self, req: tornado.httputil.HTTPServerRequest) -> Request | Response:
        deadline = self.deadline()
        if len(req.body) > self.max_body:
            return _host.body_too_large(self.max_body)
        headers = {k.lower(): v for k, v in req.headers.get_all()}
        url = _host.public_url(req.protocol, req.host, req.path, req.query, headers)
        return Request.build(req.method or "GET", url, headers, req.body, deadline=deadline)

    @staticmethod
    async def send(handler: tornado.web.RequestHandler, response: Response) -> None:
        handler.set_status(response.status)
        for key, value in response.headers.items():
            handler.set_header(key, value)
        if response.stream is not None:
            for chunk in response.stream:  # keep-alive bytes, then the reply: flushed as they come
                handler.write(chunk)
                await handler.flush()
        else:
            handler.write(response.body)
