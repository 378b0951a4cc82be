"""``serve(client, functions)`` for Django, with the official SDK's signature (``inngest.django``):
a URL pattern for ``urlpatterns``, CSRF-exempt, async when any function is ``async def``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .adapters import _host
from .core.http import Request, Response

if TYPE_CHECKING:
    import django.http
    import django.urls

    from .core.client import Inngest
    from .core.function import Function

FRAMEWORK = "django"

__all__ = ["serve"]


def serve(
    client: Inngest,
    functions: list[Function[Any]],
    *,
    enable_unauthed_sync: bool | None = None,
    public_path: str | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
) -> django.urls.URLPattern:
    """``urlpatterns = [serve(client, [fn])]``; arguments as in :func:`inngest_serverless.flask.serve`."""
    import django.urls
    from django.views.decorators.csrf import csrf_exempt

    handler = _host.framework_handler(client, FRAMEWORK, functions, enable_unauthed_sync=enable_unauthed_sync,
                                      public_path=public_path, serve_origin=serve_origin)
    adapter = DjangoAdapter(handler, max_body=_host.max_body_bytes(client))
    route = _host.route_path(serve_path).lstrip("/")

    if any(f.is_async for top in functions for f in top.all()):
        async def async_view(request: django.http.HttpRequest) -> django.http.HttpResponseBase:
            return adapter.to_reply(await adapter.answer_async(adapter.to_request(request)))

        return django.urls.path(route, csrf_exempt(async_view))

    def view(request: django.http.HttpRequest) -> django.http.HttpResponseBase:
        return adapter.to_reply(adapter.answer(adapter.to_request(request)))

    return django.urls.path(route, csrf_exempt(view))


class DjangoAdapter(_host.Adapter):
    """``django.http.HttpRequest`` -> core ``Request``; core ``Response`` -> a Django response."""

    framework = FRAMEWORK

    def to_request(self, request: django.http.HttpRequest) -> Request | Response:
        deadline = self.deadline()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _host.error_response(400, "the Content-Length header is not a number")
        if length > self.max_body:  # before Django reads it into memory
            return _host.body_too_large(self.max_body)
        headers = {k.lower(): v for k, v in request.headers.items()}
        url = _host.public_url(request.scheme or "http", headers.get("host", ""), request.path,
                               request.META.get("QUERY_STRING", ""), headers)
        return Request.build(request.method or "GET", url, headers, request.body, deadline=deadline)

    @staticmethod
    def to_reply(response: Response) -> django.http.HttpResponseBase:
        import django.http

        if response.stream is not None:
            streamed = django.http.StreamingHttpResponse(response.stream, status=response.status)
            for key, value in response.headers.items():
                streamed[key] = value
            return streamed
        return django.http.HttpResponse(response.body, status=response.status, headers=response.headers)
