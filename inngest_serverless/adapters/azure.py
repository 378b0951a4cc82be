"""Azure Functions (Python v2 programming model): one HTTP route on your ``FunctionApp``.

``function_app.py``::

    import azure.functions as func
    from inngest_serverless.adapters.azure import azure_adapter

    app = func.FunctionApp()
    azure_adapter(app, client)               # GET/PUT/POST /api/inngest, anonymous

The route is anonymous: Inngest's request signatures are the authentication,
a function key would only stop the Inngest server. Works with
``azure-functions`` 1.x and 2.x. The classic ``HttpResponse`` holds bytes, so
a streamed core response is joined here.

Deadline: ``timeout=`` (seconds), else ``functionTimeout`` from ``host.json``
(found in ``AzureWebJobsScriptRoot`` or the working directory), capped at the
230 s Azure gives any HTTP request to answer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..core.http import Request, Response
from . import _host

if TYPE_CHECKING:
    import azure.functions as azf

    from ..core.client import Inngest
    from ..core.function import Function

__all__ = ["HTTP_TIMEOUT_SECONDS", "AzureAdapter", "azure_adapter", "host_json_timeout"]

# Azure's load balancer gives an HTTP-triggered function 230 s to answer, whatever functionTimeout says.
HTTP_TIMEOUT_SECONDS = 230.0
SCRIPT_ROOT_ENV = "AzureWebJobsScriptRoot"
METHODS = ("GET", "PUT", "POST")


def azure_adapter(
    app: azf.FunctionApp,
    client: Inngest,
    *,
    route: str = "inngest",
    name: str = "inngest",
    methods: Sequence[str] = METHODS,
    functions: list[Function[Any]] | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
    timeout: float | None = None,
) -> Callable[[azf.HttpRequest], azf.HttpResponse]:
    """Register the Inngest endpoint on ``app`` (``/api/<route>`` with the default routePrefix)."""
    adapter = AzureAdapter.for_client(client, functions=functions, serve_origin=serve_origin, serve_path=serve_path,
                                      timeout=timeout)
    return adapter.register(app, route=route, name=name, methods=methods)


class AzureAdapter(_host.Adapter):
    """``func.HttpRequest`` -> core ``Request``; core ``Response`` -> ``func.HttpResponse``."""

    framework = "azure_functions"
    host_streams = False  # the classic HttpResponse holds bytes: a keep-alive stream would only be joined

    def __init__(self, handler: _host.CoreHandler, *, timeout: float | None = None, max_body: int | None = None) -> None:
        super().__init__(handler, timeout=timeout, max_body=max_body)
        configured = timeout or host_json_timeout()
        self.timeout = min(configured, HTTP_TIMEOUT_SECONDS) if configured else HTTP_TIMEOUT_SECONDS

    def __call__(self, req: azf.HttpRequest) -> azf.HttpResponse:
        return self.to_reply(self.answer(self.to_request(req)))

    def register(
        self, app: azf.FunctionApp, *, route: str = "inngest", name: str = "inngest", methods: Sequence[str] = METHODS
    ) -> Callable[[azf.HttpRequest], azf.HttpResponse]:
        """Register this adapter as an anonymous HTTP function on ``app``; returns the plain function."""
        import azure.functions as azf

        def inngest(req: azf.HttpRequest) -> azf.HttpResponse:
            return self(req)

        # The worker's indexer reads these with typing.get_type_hints: they must be real classes.
        inngest.__annotations__ = {"req": azf.HttpRequest, "return": azf.HttpResponse}
        inngest.__name__ = inngest.__qualname__ = name
        app.function_name(name=name)(
            app.route(route=route, methods=list(methods), auth_level=azf.AuthLevel.ANONYMOUS)(inngest)
        )
        return inngest

    def to_request(self, req: azf.HttpRequest) -> Request | Response:
        """func.HttpRequest -> core Request (or a 413 Response when the body is too large)."""
        deadline = self.deadline()
        body = req.get_body() or b""
        if len(body) > self.max_body:
            return _host.body_too_large(self.max_body)
        headers = {k.lower(): v for k, v in req.headers.items()}
        try:
            url = _forwarded(req.url, headers)
        except ValueError:  # urlsplit refuses e.g. an unbalanced IPv6 host: core answers for it
            url = req.url
        return Request.build(req.method, url, headers, body, deadline=deadline)

    @staticmethod
    def to_reply(response: Response) -> azf.HttpResponse:
        """core Response -> func.HttpResponse (the body joined: the classic model cannot stream)."""
        import azure.functions as azf

        body = response.read()
        headers = dict(_host.header_pairs(response, length=None))
        return azf.HttpResponse(body, status_code=response.status, headers=headers)


def _forwarded(url: str, headers: dict[str, str]) -> str:
    """Apply X-Forwarded-Proto/-Host (Front Door, App Gateway) to the URL the host reports."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    return _host.public_url(parts.scheme or "https", parts.netloc, unquote(parts.path), parts.query, headers)


def host_json_timeout(root: str | None = None) -> float | None:
    """``functionTimeout`` of the app's host.json in seconds (None when absent, unlimited or unreadable)."""
    import json  # read once, when the adapter is built
    from pathlib import Path

    base = Path(root or os.environ.get(SCRIPT_ROOT_ENV) or os.getcwd())
    try:
        value = json.loads((base / "host.json").read_text()).get("functionTimeout")
    except (OSError, ValueError, AttributeError):
        return None
    return parse_timespan(value) if isinstance(value, str) else None


def parse_timespan(value: str) -> float | None:
    """A .NET TimeSpan as host.json writes it: ``hh:mm:ss`` or ``d.hh:mm:ss``; ``-1`` means unlimited."""
    days = 0
    text = value.strip()
    if "." in text.split(":")[0]:
        day_text, text = text.split(".", 1)
        days = int(day_text) if day_text.isdigit() else 0
    parts = text.split(":")
    if len(parts) != 3:
        return None
    try:
        hours, minutes, seconds = int(parts[0]), int(parts[1]), float(parts[2])
    except ValueError:
        return None
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    return total if total > 0 else None
