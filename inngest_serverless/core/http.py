"""The transport-independent request and response every adapter speaks.

An adapter turns its host's event into a :class:`Request`, hands it to
``CommHandler.handle`` (or ``handle_async``), and turns the :class:`Response`
back into its host's reply. Nothing here knows about a host.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .record import FrozenRecord, Record

_set = object.__setattr__  # how a FrozenRecord's __init__ sets its fields


class Headers(Mapping[str, str]):
    """A case-insensitive, read-only header mapping (keys are stored lower case).

    Repeated headers are joined with ``", "`` as HTTP allows.
    """

    __slots__ = ("_items",)

    def __init__(self, raw: Mapping[str, str] | Iterable[tuple[str, str]] | None = None) -> None:
        items: dict[str, str] = {}
        pairs = raw.items() if isinstance(raw, Mapping) else (raw or ())
        for key, value in pairs:
            name = str(key).lower()
            items[name] = f"{items[name]}, {value}" if name in items else str(value)
        self._items = items

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()]

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class Request(FrozenRecord):
    """One HTTP request from the Inngest server (or anyone else) to the app.

    ``url`` is the full URL as the host saw it (scheme, host, path, query);
    it is what the SDK advertises on sync unless serve origin/path override it.
    ``deadline`` is the ``time.monotonic()`` moment the host will kill this
    invocation, when the adapter can know it (Lambda's remaining time, a
    configured timeout); core stops starting new work before it.
    """

    # A plain class, not a dataclass: every cold start meets it (core/record.py says why).
    _fields = ("method", "url", "headers", "body", "deadline")
    method: str
    url: str
    headers: Headers
    body: bytes
    deadline: float | None

    def __init__(self, method: str, url: str, headers: Headers | None = None, body: bytes = b"",
                 deadline: float | None = None) -> None:
        _set(self, "method", method)
        _set(self, "url", url)
        _set(self, "headers", Headers() if headers is None else headers)
        _set(self, "body", body)
        _set(self, "deadline", deadline)

    @classmethod
    def build(
        cls,
        method: str,
        url: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes | str | None = None,
        *,
        deadline: float | None = None,
        remaining_seconds: float | None = None,
    ) -> Request:
        """Build a request, normalising headers and body; ``remaining_seconds`` sets the deadline."""
        if remaining_seconds is not None:
            deadline = time.monotonic() + remaining_seconds
        raw = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        return cls(method.upper(), url, Headers(headers), raw, deadline)

    @cached_property
    def query(self) -> dict[str, str]:
        """The query string as a dict (the first value of a repeated key wins); parsed once, read-only."""
        out: dict[str, str] = {}
        for key, value in parse_qsl(urlsplit(self.url).query, keep_blank_values=True):
            out.setdefault(key, value)
        return out


class Response(Record):
    """The SDK's reply. Either ``body`` bytes, or ``stream``: an iterator of chunks.

    A streamed response (keep-alive mode) has its status and headers fixed
    before the first chunk; adapters whose host cannot flush join the chunks.
    """

    __slots__ = ("body", "headers", "status", "stream")
    _fields = ("status", "headers", "body", "stream")

    def __init__(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"",
                 stream: Iterator[bytes] | None = None) -> None:
        self.status = status
        self.headers: dict[str, str] = {} if headers is None else headers
        self.body = body
        self.stream = stream

    def read(self) -> bytes:
        """The whole body, draining ``stream`` if there is one."""
        if self.stream is not None:
            self.body = b"".join(self.stream)
            self.stream = None
        return self.body

    def json(self) -> Any:
        return json.loads(self.read() or b"null")


def sdk_headers(framework: str | None = None) -> dict[str, str]:
    """The headers every SDK reply carries: the server ignores replies without them."""
    from .version import SDK_HEADER
    from .wire import CONTENT_TYPE_JSON, REQUEST_VERSION, Header

    headers = {Header.SDK: SDK_HEADER, Header.REQ_VERSION: REQUEST_VERSION, Header.CONTENT_TYPE: CONTENT_TYPE_JSON}
    if framework:
        headers[Header.FRAMEWORK] = framework
    return headers


def error_response(status: int, code: str, message: str, *, no_retry: bool, framework: str | None = None) -> Response:
    """A one-line JSON error ``{"code", "message"}`` with the SDK headers and an explicit No-Retry."""
    from .wire import Header

    headers = sdk_headers(framework)
    headers[Header.NO_RETRY] = "true" if no_retry else "false"
    body = json.dumps({"code": code, "message": message}, separators=(",", ":")).encode()
    return Response(status, headers, body)
