"""What the HTTP API and the dashboard share: the one-line JSON error, and the request handler as
the dashboard sees it (so that it needs no import of the API that routes to it)."""

from __future__ import annotations

import email.message
import io
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .executor import Executor


class HTTPError(Exception):
    """A refusal answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ServesExecutor(Protocol):
    @property
    def executor(self) -> Executor: ...


class RequestHandler(Protocol):
    """One request being answered (the API's ``BaseHTTPRequestHandler``)."""

    @property
    def headers(self) -> email.message.Message: ...

    @property
    def client_address(self) -> Any: ...

    @property
    def wfile(self) -> io.BufferedIOBase: ...

    @property
    def server(self) -> ServesExecutor: ...

    def send_response(self, code: int, message: str | None = None) -> None: ...

    def send_header(self, keyword: str, value: str) -> None: ...

    def end_headers(self) -> None: ...

    def _body(self) -> Any: ...
