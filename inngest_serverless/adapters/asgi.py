"""ASGI: ``asgi_adapter(client)`` is a plain ASGI 3 application (FastAPI, Starlette, uvicorn, hypercorn...).

Mount it at the path the Inngest server should call::

    app.mount("/api/inngest", asgi_adapter(client))        # FastAPI / Starlette

A streamed core response goes out chunk by chunk (``more_body``), so
keep-alive bytes reach the caller as they are written.
"""

from __future__ import annotations

from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    MutableMapping,
)
from typing import TYPE_CHECKING, Any

from ..core.http import Request, Response
from . import _host

if TYPE_CHECKING:
    from ..core.client import Inngest
    from ..core.function import Function

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

__all__ = ["ASGIAdapter", "asgi_adapter"]


def asgi_adapter(
    client: Inngest,
    *,
    functions: list[Function[Any]] | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
    timeout: float | None = None,
) -> ASGIAdapter:
    """An ASGI app serving the Inngest endpoint.

    ``timeout``: seconds your server or proxy gives one request, when it has
    such a limit; core stops starting new steps before it runs out.
    """
    return ASGIAdapter.for_client(client, functions=functions, serve_origin=serve_origin, serve_path=serve_path,
                                  timeout=timeout)


class ASGIAdapter(_host.Adapter):
    """ASGI scope + body -> core ``Request``; core ``Response`` -> ``http.response.*`` messages."""

    framework = "asgi"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "http":
            await _send_response(send, await self.answer_async(await self.to_request(scope, receive)))
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def to_request(self, scope: Scope, receive: Receive) -> Request | Response:
        """The core request of an ``http`` scope and its body, or a 413 once the body passes the limit."""
        deadline = self.deadline()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", ())]
        body = await _read_body(receive, self.max_body)
        if body is None:
            return _host.body_too_large(self.max_body)
        return Request.build(scope["method"], _url(scope, headers), headers, body, deadline=deadline)


def _url(scope: Scope, headers: list[tuple[str, str]]) -> str:
    host = next((v for k, v in headers if k == "host"), "")
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = f"{server[0]}:{server[1]}" if server[1] else str(server[0])
    root = scope.get("root_path", "")
    path = scope.get("path", "/")
    # Starlette's Mount keeps the full path and sets root_path to the prefix; plain servers give
    # the path below root_path. Either way, the public path is root_path + the rest.
    full = path if root and path.startswith(root) else root + path
    query = scope.get("query_string", b"").decode("latin-1")
    return _host.public_url(scope.get("scheme", "http"), host, full, query, dict(headers))


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it grows past ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send_response(send: Send, response: Response) -> None:
    stream = response.stream
    length = None if stream is not None else len(response.body)
    pairs = _host.header_pairs(response, length=length)
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if stream is None:
        await send({"type": "http.response.body", "body": response.body, "more_body": False})
        return
    async for piece in _chunks(stream):
        if piece:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _chunks(stream: Iterable[bytes] | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """Yield a stream's chunks without blocking the event loop: sync iterators are pulled in a thread."""
    if isinstance(stream, AsyncIterable):
        async for item in stream:
            yield item
        return
    import asyncio

    iterator: Iterator[bytes] = iter(stream)
    while True:
        chunk: bytes | None = await asyncio.to_thread(_next_or_none, iterator)
        if chunk is None:
            return
        yield chunk


def _next_or_none(iterator: Iterator[bytes]) -> bytes | None:
    return next(iterator, None)


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop; answer the server so it does not wait or warn."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
