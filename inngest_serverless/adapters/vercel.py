"""Vercel Python functions: what Vercel's runtime (vercel-runtime) serves from ``api/inngest.py``.

``api/inngest.py``::

    from inngest_serverless.adapters.vercel import vercel_wsgi_adapter
    app = vercel_wsgi_adapter(client)

Vercel's builder deploys a Python file as a function only when it finds a
module-level ``app`` (any WSGI/ASGI app) or a ``class handler(...)``
statement; an assignment ``handler = ...`` is not recognised. So use
``app = vercel_wsgi_adapter(client)`` (or ``vercel_asgi_adapter``), or subclass the
handler class: ``class handler(vercel_adapter(client)): pass``. The runtime
writes and flushes each chunk, so a streamed core response reaches the
caller as it is produced.

Deadline: ``timeout=`` (your ``maxDuration``), else the invocation deadline
Vercel's runtime reads from its internal header. Serve URL: X-Forwarded-Proto
and -Host, which Vercel's edge sets to the deployment's public host.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..core.http import Request, Response
from . import _host
from .asgi import ASGIAdapter
from .wsgi import WSGIAdapter

FRAMEWORK = "vercel"

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

    from ..core.client import Inngest
    from ..core.function import Function

__all__ = [
    "VercelASGIAdapter",
    "VercelAdapter",
    "VercelWSGIAdapter",
    "runtime_deadline",
    "vercel_adapter",
    "vercel_asgi_adapter",
    "vercel_wsgi_adapter",
]


def vercel_adapter(
    client: Inngest,
    *,
    functions: list[Function[Any]] | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
    timeout: float | None = None,
) -> type[BaseHTTPRequestHandler]:
    """A ``BaseHTTPRequestHandler`` class for Vercel's Python runtime.

    Vercel's builder looks for a ``class handler`` statement, so subclass it:
    ``class handler(vercel_adapter(client)): pass``.
    """
    adapter = VercelAdapter.for_client(client, functions=functions, serve_origin=serve_origin, serve_path=serve_path,
                                       timeout=timeout)
    return adapter.handler_class()


def vercel_wsgi_adapter(
    client: Inngest,
    *,
    functions: list[Function[Any]] | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
    timeout: float | None = None,
) -> VercelWSGIAdapter:
    """The same endpoint as a WSGI ``app`` (Vercel's runtime flushes each yielded chunk)."""
    return VercelWSGIAdapter.for_client(client, functions=functions, serve_origin=serve_origin,
                                        serve_path=serve_path, timeout=timeout)


def vercel_asgi_adapter(
    client: Inngest,
    *,
    functions: list[Function[Any]] | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
    timeout: float | None = None,
) -> VercelASGIAdapter:
    """The same endpoint as an ASGI ``app`` (Vercel's runtime serves it with uvicorn)."""
    return VercelASGIAdapter.for_client(client, functions=functions, serve_origin=serve_origin,
                                        serve_path=serve_path, timeout=timeout)


def runtime_deadline() -> float | None:
    """Vercel's deadline for the current invocation as a ``time.monotonic()`` moment, when known."""
    from datetime import datetime, timezone

    try:
        from vercel_runtime.deadline import get_deadline  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    moment = get_deadline()
    if not isinstance(moment, datetime):
        return None
    remaining = (moment - datetime.now(timezone.utc)).total_seconds()
    return time.monotonic() + remaining


class _VercelDeadline(_host.Adapter):
    """``timeout`` when given, else the invocation deadline Vercel's runtime knows."""

    framework = FRAMEWORK

    def deadline(self) -> float | None:
        return time.monotonic() + self.timeout if self.timeout else runtime_deadline()


class VercelWSGIAdapter(_VercelDeadline, WSGIAdapter):
    """The WSGI adapter, with Vercel's invocation deadline when no ``timeout`` is given."""


class VercelASGIAdapter(_VercelDeadline, ASGIAdapter):
    """The ASGI adapter, with Vercel's invocation deadline when no ``timeout`` is given."""


class VercelAdapter(_VercelDeadline):
    """A ``BaseHTTPRequestHandler`` request -> core ``Request``; core ``Response`` written to its socket."""

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The handler class Vercel's runtime instantiates per request (http.server is imported only
        now: the runtime has it loaded already)."""
        from http.server import BaseHTTPRequestHandler

        adapter = self

        class handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                adapter.send(self, adapter.answer(adapter.to_request(self)))

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

            def __getattr__(self, name: str) -> Any:
                # http.server looks up do_<METHOD>; any other method goes to core too, which
                # answers a bare 405 with the SDK headers (not http.server's own 501 page).
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the runtime logs requests itself; never echo URLs with keys in them twice."""

        return handler

    def to_request(self, http: BaseHTTPRequestHandler) -> Request | Response:
        """The request ``http`` has read the head of, its body read here (length or chunked)."""
        from urllib.parse import unquote

        deadline = self.deadline()
        headers = {k.lower(): v for k, v in http.headers.items()}
        body = self._body(http, headers)
        if isinstance(body, Response):
            return body
        path, _, query = http.path.partition("?")
        url = _host.public_url("http", headers.get("host", "localhost"), unquote(path), query, headers)
        return Request.build(http.command, url, headers, body, deadline=deadline)

    def _body(self, http: BaseHTTPRequestHandler, headers: dict[str, str]) -> bytes | Response:
        limit = self.max_body
        if headers.get("transfer-encoding", "").lower() == "chunked":
            try:
                data = _read_chunked(http.rfile, limit)
            except ValueError as exc:
                return _host.error_response(400, f"malformed chunked body: {exc}")
            return _host.body_too_large(limit) if data is None else data
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            return _host.error_response(400, "the Content-Length header is not a number")
        if length > limit:
            return _host.body_too_large(limit)
        return http.rfile.read(length) if length > 0 else b""

    @staticmethod
    def send(http: BaseHTTPRequestHandler, response: Response) -> None:
        """Write ``response`` on ``http``'s connection, flushing each streamed chunk."""
        stream = response.stream
        length = None if stream is not None else len(response.body)
        http.send_response(response.status)
        for name, value in _host.header_pairs(response, length=length):
            http.send_header(name, value)
        http.end_headers()
        if http.command == "HEAD":
            return
        if stream is None:
            http.wfile.write(response.body)
        else:
            for chunk in stream:
                if chunk:
                    http.wfile.write(chunk)
                    http.wfile.flush()
        http.wfile.flush()


def _read_chunked(rfile: Any, limit: int) -> bytes | None:
    """The body of a chunked upload; None past ``limit``; ``ValueError`` for a malformed one."""
    chunks: list[bytes] = []
    size = 0
    while True:
        line = rfile.readline(1024).split(b";")[0].strip()
        # Hex digits only: int() would also take "-5" (then read(-5) raises, or read(-1) reads to
        # the end of the stream, past the limit), "+5", "0x5" and "5_0".
        if not line or line.strip(b"0123456789abcdefABCDEF"):
            raise ValueError(f"chunk size {line[:20]!r} is not a hexadecimal number")
        n = int(line, 16)
        if n == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        size += n
        if size > limit:
            return None
        chunk = rfile.read(n)
        if len(chunk) < n:
            raise ValueError("the body ended inside a chunk")
        chunks.append(chunk)
        rfile.readline(1024)
