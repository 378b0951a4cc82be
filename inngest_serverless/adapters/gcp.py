"""Google Cloud Functions (Cloud Run functions): a functions-framework HTTP function.

``main.py``::

    from inngest_serverless.adapters.gcp import gcf_adapter
    inngest = gcf_adapter(client)          # deploy with --entry-point=inngest

The function takes the ``flask.Request`` functions-framework passes and
returns a ``flask.Response``. A streamed core response becomes a streaming
Flask response (2nd gen / Cloud Run flushes it chunk by chunk; 1st gen is
reported to buffer it).

Deadline: ``timeout=`` (seconds), else ``CLOUD_RUN_TIMEOUT_SECONDS`` (what
functions-framework gives gunicorn as its timeout). Set either to your
function's timeout so core stops starting steps before it runs out.

Serve URL: the request's host and path, with X-Forwarded-Proto/-Host. On a
``*.cloudfunctions.net`` URL the platform strips the function name from the
path; it is put back from ``K_SERVICE``. ``serve_origin``/``serve_path``
override all of this.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.http import Request, Response
from . import _host

if TYPE_CHECKING:
    import flask

    from ..core.client import Inngest
    from ..core.function import Function

__all__ = ["GcfAdapter", "gcf_adapter"]

TIMEOUT_ENV = "CLOUD_RUN_TIMEOUT_SECONDS"
SERVICE_ENV = "K_SERVICE"
CLOUDFUNCTIONS_HOST_SUFFIX = ".cloudfunctions.net"


def gcf_adapter(
    client: Inngest,
    *,
    functions: list[Function[Any]] | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
    timeout: float | None = None,
) -> Callable[[flask.Request], flask.Response]:
    """A functions-framework HTTP function serving the Inngest endpoint."""
    adapter = GcfAdapter.for_client(client, functions=functions, serve_origin=serve_origin, serve_path=serve_path,
                                    timeout=timeout)
    return adapter.function()


class GcfAdapter(_host.Adapter):
    """``flask.Request`` -> core ``Request``; core ``Response`` -> ``flask.Response``, streaming when core streams."""

    framework = "google_cloud_functions"
    # 2nd gen (Cloud Run) flushes streamed replies; 1st gen buffers them, which costs nothing but the
    # keep-alive's effect (the streamed reply is still a valid answer).
    host_streams = True

    def __call__(self, request: flask.Request) -> flask.Response:
        return self.to_reply(self.answer(self.to_request(request)))

    def function(self) -> Callable[[flask.Request], flask.Response]:
        """The adapter as a plain function: functions-framework serves nothing else."""

        def inngest(request: flask.Request) -> flask.Response:
            return self(request)

        return inngest

    def deadline(self) -> float | None:
        seconds = self.timeout or _host.timeout_from_env(TIMEOUT_ENV)
        return time.monotonic() + seconds if seconds else None

    def to_request(self, request: flask.Request) -> Request | Response:
        """flask.Request -> core Request (or a 413 Response when the body is too large)."""
        deadline = self.deadline()
        limit = self.max_body
        if request.content_length is not None and request.content_length > limit:
            return _host.body_too_large(limit)
        body = request.get_data(cache=False)
        if len(body) > limit:
            return _host.body_too_large(limit)
        headers = {k.lower(): v for k, v in request.headers.items()}
        path = request.script_root + request.path
        host = _host.first_hop(headers.get(_host.FORWARDED_HOST)) or request.host
        path = _with_function_name(host, path)
        query = request.query_string.decode("latin-1")
        url = _host.public_url(request.scheme, request.host, path, query, headers)
        return Request.build(request.method, url, headers, body, deadline=deadline)

    @staticmethod
    def to_reply(response: Response) -> flask.Response:
        """core Response -> flask.Response, streaming when core streams."""
        import flask

        stream = response.stream
        length = None if stream is not None else len(response.body)
        headers = _host.header_pairs(response, length=length)
        if stream is not None:
            return flask.Response(stream, status=response.status, headers=headers)
        return flask.Response(response.body, status=response.status, headers=headers)


def _with_function_name(host: str, path: str) -> str:
    """``https://REGION-PROJECT.cloudfunctions.net/NAME/...`` reaches the function as ``/...``."""
    service = os.environ.get(SERVICE_ENV, "")
    if not service or not host.split(":")[0].endswith(CLOUDFUNCTIONS_HOST_SUFFIX):
        return path
    prefix = f"/{service}"
    if path == prefix or path.startswith(prefix + "/"):
        return path
    return prefix + (path if path != "/" else "")
