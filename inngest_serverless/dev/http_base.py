"""What the HTTP API and the dashboard share: the one-line JSON error, the request handler as
the dashboard sees it (so that it needs no import of the API that routes to it), and what the
test engine's in-process API answers too: the key check and a run's state."""

from __future__ import annotations

import email.message
import io
import re
from typing import TYPE_CHECKING, Any, Protocol

from inngest_serverless.core import signing

from .runs import ENDED

if TYPE_CHECKING:
    from .executor import Executor
    from .runs import Runs

# GET: a running run's events (``batch``) or memoized steps (``actions``), which an SDK reads when
# the call body left them out.
RUN_STATE = re.compile(r"^/v0/runs/([^/]+)/(batch|actions)$")


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


def run_state(runs: Runs, run_id: str, what: str) -> Any:
    """The answer to ``GET RUN_STATE`` for a run; HTTPError 410 once the run has ended."""
    run = runs.get(run_id)
    if run is None or run.status in ENDED:
        raise HTTPError(410, f"runtime state is no longer available for runID: {run_id}")
    return run.events if what == "batch" else runs.steps(run_id)[1]


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
