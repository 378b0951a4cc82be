"""What every host adapter shares: the :class:`Adapter` base, core's handler, the public URL, the
deadline, a last-resort reply.

An adapter only translates its host's request into a core :class:`Request`
and a core :class:`Response` back; the pieces here keep that translation the
same on every host. Nothing here imports a host library.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from ..core.http import Request, Response
from ..core.http import error_response as core_error_response
from ..core.wire import Limit

if TYPE_CHECKING:  # for annotations only: a Protocol class and a TypeVar bound by name cost a cold start
    from typing import Protocol, TypeVar

    from ..core.client import Inngest
    from ..core.function import Function
    from ..core.handler import Handler

# Proxy headers, not Inngest wire names: they tell the scheme and host the caller used.
FORWARDED_PROTO = "x-forwarded-proto"
FORWARDED_HOST = "x-forwarded-host"

# Characters left as they are when a decoded path is put back into a URL.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"

if TYPE_CHECKING:
    class CoreHandler(Protocol):
        """The part of ``core.handler.Handler`` an adapter calls."""

        def handle(self, request: Request) -> Response: ...

        async def handle_async(self, request: Request) -> Response: ...

    AdapterT = TypeVar("AdapterT", bound="Adapter")


class Adapter:
    """The base of every host's adapter: host request -> core ``Request`` -> core ``Response`` -> host reply.

    A subclass names its host (``framework``, and ``host_streams`` when it knows whether the
    host flushes a streamed reply), reads its host's request into a core :class:`Request`
    (or answers early with a :class:`Response`: a body over the limit, a malformed request)
    and writes core's :class:`Response` back in its host's form. What every host shares lives
    here: building core's handler, the body limit, the deadline, and the one call into core.
    The ``<host>_adapter(client)`` entry of each module is ``for_client`` plus the form the
    host wants (a plain function, a registered route, a handler class, or the adapter itself).
    """

    framework: ClassVar[str] = "python"
    host_streams: ClassVar[bool | None] = None  # None: core knows from ``framework``

    def __init__(self, handler: CoreHandler, *, timeout: float | None = None, max_body: int | None = None) -> None:
        self.handler = handler
        self.timeout = timeout
        self.max_body = max_body or max_body_bytes(None)

    @classmethod
    def for_client(
        cls: type[AdapterT],
        client: Inngest,
        *,
        functions: list[Function[Any]] | None = None,
        serve_origin: str | None = None,
        serve_path: str | None = None,
        timeout: float | None = None,
    ) -> AdapterT:
        """This adapter around core's handler for ``client``'s functions."""
        handler = core_handler(client, cls.framework, functions=functions, serve_origin=serve_origin,
                               serve_path=serve_path, host_streams=cls.host_streams)
        return cls(handler, timeout=timeout, max_body=max_body_bytes(client))

    def deadline(self) -> float | None:
        """When this request must be answered (``time.monotonic()``), if the host says."""
        return time.monotonic() + self.timeout if self.timeout else None

    def answer(self, request: Request | Response) -> Response:
        """Core's reply to a translated request; an early reply of the adapter's own passes through."""
        return request if isinstance(request, Response) else self.handler.handle(request)

    async def answer_async(self, request: Request | Response) -> Response:
        """:meth:`answer` on the host's event loop (``async def`` functions run on it)."""
        return request if isinstance(request, Response) else await self.handler.handle_async(request)


def core_handler(
    client: Inngest,
    framework: str,
    *,
    functions: list[Function[Any]] | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
    host_streams: bool | None = None,
) -> CoreHandler:
    """Build core's handler for one host (imported here, so importing an adapter stays cheap).

    ``host_streams``: whether the host flushes a streamed reply chunk by chunk
    (None: core knows from ``framework``); it decides core's "auto" keep-alive mode.
    """
    from ..core.handler import Handler

    return Handler(
        client,
        functions=functions,
        framework=framework,
        serve_origin=serve_origin,
        serve_path=serve_path,
        host_streams=host_streams,
    )


def framework_handler(
    client: Inngest,
    framework: str,
    functions: list[Function[Any]],
    *,
    enable_unauthed_sync: bool | None,
    public_path: str | None,
    serve_origin: str | None,
    streaming: object = None,
) -> Handler:
    """Core's handler for a ``serve()`` of the official SDK's signature (flask, fast_api, django,
    tornado): its ``public_path`` is the path in the URL the app registers."""
    from ..core.handler import Handler

    mode = getattr(streaming, "value", streaming)  # the official SDK's Streaming enum, or our mode string
    return Handler(client, functions=functions, framework=framework, serve_origin=serve_origin,
                   serve_path=public_path, streaming=None if mode is None else str(mode),
                   enable_unauthed_sync=enable_unauthed_sync)


def route_path(serve_path: str | None) -> str:
    """Where a ``serve()`` mounts the endpoint: ``serve_path``, else ``/api/inngest``."""
    path = serve_path or "/api/inngest"
    return path if path.startswith("/") else "/" + path


def max_body_bytes(client: object) -> int:
    """The largest request body the app accepts (``INNGEST_MAX_BODY_BYTES``)."""
    config = getattr(client, "config", None)
    limit = getattr(config, "max_body_bytes", None)
    return limit if isinstance(limit, int) and limit > 0 else Limit.DEFAULT_MAX_BODY


def public_url(scheme: str, host: str, path: str, query: str, headers: Mapping[str, str]) -> str:
    """The URL the caller used: X-Forwarded-Proto/-Host (first hop) win over what the server saw.

    ``path`` is decoded (it is quoted again here); ``query`` is passed through raw.
    """
    forwarded_proto = first_hop(headers.get(FORWARDED_PROTO))
    forwarded_host = first_hop(headers.get(FORWARDED_HOST))
    origin = f"{forwarded_proto or scheme}://{forwarded_host or host}"
    url = origin + quote(path or "/", safe=_PATH_SAFE + "%")
    return f"{url}?{query}" if query else url


def first_hop(value: str | None) -> str:
    """The first value of a proxy header that each hop appends to (``"a, b"`` -> ``"a"``)."""
    return value.split(",")[0].strip() if value else ""


def timeout_from_env(*names: str) -> float | None:
    """The first positive number of seconds found in these environment variables."""
    for name in names:
        try:
            seconds = float(os.environ.get(name, "") or 0)
        except ValueError:
            continue
        if seconds > 0:
            return seconds
    return None


def error_response(status: int, message: str, *, retry: bool = False, code: str = "bad_request") -> Response:
    """A reply the adapter makes itself (the request never reached core): core's error shape."""
    return core_error_response(status, code, message, no_retry=not retry)


def body_too_large(limit: int) -> Response:
    return error_response(
        413, f"request body is larger than {limit} bytes; raise INNGEST_MAX_BODY_BYTES", code="body_too_large"
    )


def header_pairs(response: Response, *, length: int | None) -> list[tuple[str, str]]:
    """The response headers as a list, with Content-Length when the body is not streamed."""
    pairs = [(name, value) for name, value in response.headers.items() if name.lower() != "content-length"]
    if length is not None:
        pairs.append(("content-length", str(length)))
    return pairs
