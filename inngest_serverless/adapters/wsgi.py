"""WSGI: ``wsgi_adapter(client)`` is a PEP 3333 application (gunicorn, waitress, uWSGI, mod_wsgi, wsgiref).

Mount it at the path the Inngest server should call, e.g. in Flask with
``DispatcherMiddleware(app.wsgi_app, {"/api/inngest": wsgi_adapter(client)})``
or in Django with a one-line view (see docs/deploy-asgi-wsgi.md).

A streamed core response is returned as the iterator itself: servers that
flush per item (gunicorn, waitress, vercel-runtime) send keep-alive bytes
as they are written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any

from ..core.http import Request, Response
from . import _host

if TYPE_CHECKING:
    from ..core.client import Inngest
    from ..core.function import Function

StartResponse = Callable[..., Any]

__all__ = ["LocalServer", "WSGIAdapter", "wsgi_adapter"]


def wsgi_adapter(
    client: Inngest,
    *,
    functions: list[Function[Any]] | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
    timeout: float | None = None,
) -> WSGIAdapter:
    """A WSGI app serving the Inngest endpoint.

    ``timeout``: seconds your server (e.g. gunicorn ``--timeout``) or proxy
    gives one request; core stops starting new steps before it runs out.
    """
    return WSGIAdapter.for_client(client, functions=functions, serve_origin=serve_origin, serve_path=serve_path,
                                  timeout=timeout)


class WSGIAdapter(_host.Adapter):
    """WSGI environ -> core ``Request``; core ``Response`` -> ``start_response`` + an iterable."""

    framework = "wsgi"

    def __call__(self, environ: Mapping[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return _reply(self.respond(environ), start_response)

    def respond(self, environ: Mapping[str, Any]) -> Response:
        """The core reply to the request ``environ`` describes (for a framework's own view)."""
        return self.answer(self.to_request(environ))

    def to_request(self, environ: Mapping[str, Any]) -> Request | Response:
        """The core request ``environ`` describes, or the reply to a body that cannot be read."""
        deadline = self.deadline()  # taken before the body is read: the host's clock is already running
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _host.error_response(400, "the Content-Length header is not a number")
        if length < 0:  # read(-1) would read to the end of the stream: a hang, past the body limit
            return _host.error_response(400, "the Content-Length header is negative")
        if length > self.max_body:
            return _host.body_too_large(self.max_body)
        body = _read(environ, length, self.max_body)
        if body is None:
            return _host.body_too_large(self.max_body)
        headers = request_headers(environ)
        url = environ_url(environ, headers)
        return Request.build(environ["REQUEST_METHOD"], url, headers, body, deadline=deadline)


def request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The HTTP headers of a WSGI environ, lower case."""
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def environ_url(environ: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    """The full public URL of a WSGI request (PEP 3333 URL reconstruction, then proxy headers)."""
    scheme = str(environ.get("wsgi.url_scheme", "http"))
    host = headers.get("host") or ""
    if not host:
        host = str(environ.get("SERVER_NAME", "localhost"))
        port = str(environ.get("SERVER_PORT", ""))
        if port and port != {"https": "443", "http": "80"}.get(scheme):
            host = f"{host}:{port}"
    # PEP 3333 strings are bytes decoded as latin-1; the real path is UTF-8.
    raw_path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    try:
        path = raw_path.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a server that broke the rule and passed decoded text: take it as it is
        path = raw_path.encode("utf-8", "replace").decode("utf-8")
    return _host.public_url(scheme, host, path, str(environ.get("QUERY_STRING", "")), headers)


def _read(environ: Mapping[str, Any], length: int, limit: int) -> bytes | None:
    stream: IO[bytes] | None = environ.get("wsgi.input")
    if stream is None:
        return b""
    if length:
        return stream.read(length)
    if environ.get("wsgi.input_terminated"):
        # Chunked upload without a length: the server guarantees read() ends.
        data = stream.read(limit + 1)
        return None if len(data) > limit else data
    return b""


def _reply(response: Response, start_response: StartResponse) -> Iterable[bytes]:
    stream = response.stream
    length = None if stream is not None else len(response.body)
    start_response(status_line(response.status), _host.header_pairs(response, length=length))
    if stream is not None:
        return stream
    return [response.body]


def status_line(status: int) -> str:
    """``"206 Partial Content"``: WSGI wants the reason phrase too."""
    from http import HTTPStatus

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


class LocalServer:
    """A WSGI app served on this machine by the standard library's ``wsgiref``, a thread per
    request, without request logs: for trying an app locally with nothing else installed
    (next to ``inngest-serverless dev``), and for tests. Not a production server.

    ``LocalServer(wsgi_adapter(client)).start()`` serves in a background thread; ``url`` is its
    origin; ``close()`` (or leaving a ``with`` block) stops it. ``serve_forever()`` serves in
    the calling thread instead, as a program's server: it prints the URL it listens on (origin
    and ``path``) and returns quietly on Ctrl-C. ``port=0`` picks a free port.
    """

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/api/inngest",
    ) -> None:
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        class _Threaded(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        class _Quiet(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = make_server(host, port, app, server_class=_Threaded, handler_class=_Quiet)
        self._thread: Any = None
        self.url = f"http://{host}:{self._server.server_port}"
        self.path = path

    def start(self) -> LocalServer:
        import threading

        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve until Ctrl-C (SIGINT), then close the socket and return: no traceback."""
        import sys

        print(f"listening on {self.url}{self.path}  (Ctrl-C stops)", file=sys.stdout, flush=True)
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(10)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LocalServer:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()
