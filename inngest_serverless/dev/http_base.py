"""What the HTTP API and the dashboard share: the one-line JSON error, the request handler as
the dashboard sees it (so that it needs no import of the API that routes to it), and the API's
key check (the test engine's in-process API makes it too)."""

from __future__ import annotations

import email.message
import io
from typing import TYPE_CHECKING, Any, Protocol

from inngest_serverless.core import signing

if TYPE_CHECKING:
    from .executor import Executor


class HTTPError(Exception):
    """A refusal answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def authorized(signing_key: str | None, authorization: str) -> bool:
    """Whether an ``Authorization`` header may call the API of an executor with ``signing_key``.

    Like the dev server: with no key anyone may; else the key or its hash, each with or without
    the ``signkey-<env>-`` prefix.
    """
    if not signing_key:
        return True
    token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
    accepted = {signing.normalize_key(signing_key), signing.normalize_key(signing.bearer(signing_key))}
    return bool(token) and signing.normalize_key(token) in accepted


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
