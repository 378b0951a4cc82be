"""AWS Lambda response streaming for Python: a Lambda Runtime API loop that streams its replies.

The managed Python runtime (``awslambdaric``) buffers every reply, so a
Function URL or API Gateway REST API in front of it sees nothing until the
function returns, and keep-alive bytes are useless. This module is a small
runtime of its own: it takes invocations from the Runtime API and posts each
reply in Lambda's *streaming* response mode:

* ``POST /runtime/invocation/{id}/response`` with
  ``Lambda-Runtime-Function-Response-Mode: streaming``, chunked transfer
  encoding written by hand (``http.client`` cannot send trailers), and the
  content type ``application/vnd.awslambda.http-integration-response``;
* the body starts with the HTTP prelude ``{"statusCode", "headers", "cookies"}``
  and 8 NUL bytes, then the reply as it is produced: keep-alive spaces while
  a step runs, then the final JSON (core/streaming.py);
* an error after the first byte is reported in the trailers
  ``Lambda-Runtime-Function-Error-Type`` / ``-Error-Body`` (base64 JSON).

Deploy it on the managed ``python3.x`` runtime with ``entry`` as the handler:
``awslambdaric`` imports it before its first ``invocation/next``, and the
import starts this loop in its place (``sam/template-streaming.yaml``)::

    Handler: inngest_serverless.adapters.aws_lambda_streaming.entry.handler
    Environment:
      INNGEST_LAMBDA_CLIENT: app.client   # module.attribute: an Inngest client (or a core Handler)
    FunctionUrlConfig: {InvokeMode: RESPONSE_STREAM}

The ``bootstrap`` script next to this file starts the same loop as an
``AWS_LAMBDA_EXEC_WRAPPER`` or as a ``provided.al2023`` runtime's entry point,
where the client comes from ``_HANDLER``; Lambda runs it only if the deployed
file kept its execute bit, which ``sam build`` drops (entry.py says why).
Streaming mode defaults to ``auto`` here: calls that finish within one
keep-alive interval get a plain reply; longer ones stream.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...core.config import PackageLogger
from ...core.http import Response
from ...core.wire import Env
from .._host import error_response
from ..aws_lambda import LambdaAdapter, key_source

if TYPE_CHECKING:
    import http.client

    from ...core.client import Inngest
    from ...core.function import Function

__all__ = [
    "DELIMITER",
    "PRELUDE_CONTENT_TYPE",
    "LambdaStreamingAdapter",
    "RuntimeApi",
    "lambda_streaming_adapter",
    "main",
    "stream_body",
]

FRAMEWORK = "aws_lambda_streaming"
RUNTIME_API_ENV = "AWS_LAMBDA_RUNTIME_API"
HANDLER_ENV = "_HANDLER"
TRACE_ENV = "_X_AMZN_TRACE_ID"
API_VERSION = "2018-06-01"

PRELUDE_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
DELIMITER = b"\x00" * 8

# Runtime API headers (Lambda's, not Inngest wire names).
REQUEST_ID = "Lambda-Runtime-Aws-Request-Id"
DEADLINE_MS = "Lambda-Runtime-Deadline-Ms"
TRACE_ID = "Lambda-Runtime-Trace-Id"
RESPONSE_MODE = "Lambda-Runtime-Function-Response-Mode"
ERROR_TYPE = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY = "Lambda-Runtime-Function-Error-Body"

log = PackageLogger()


@dataclass(frozen=True)
class Invocation:
    request_id: str
    deadline_ms: int | None
    trace_id: str | None
    event: bytes

    def remaining_seconds(self) -> float | None:
        if self.deadline_ms is None:
            return None
        return max(0.0, self.deadline_ms / 1000 - time.time())


def _chunk(data: bytes) -> bytes:
    return b"%X\r\n" % len(data) + data + b"\r\n"


def prelude(response: Response) -> bytes:
    """The HTTP-integration prelude and its delimiter (Function URLs, API Gateway REST streaming)."""
    meta = {"statusCode": response.status, "headers": dict(response.headers), "cookies": []}
    return json.dumps(meta, separators=(",", ":")).encode() + DELIMITER


def stream_body(response: Response) -> Iterator[bytes]:
    """The streamed body: prelude + delimiter, then the reply's chunks (or its whole body)."""
    yield prelude(response)
    if response.stream is not None:
        for piece in response.stream:
            if piece:
                yield piece
    elif response.body:
        yield response.body


def _error_json(exc: BaseException) -> dict[str, Any]:
    return {"errorType": type(exc).__name__, "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__)}


class RuntimeApi:
    """The Lambda Runtime API at ``host:port`` (``AWS_LAMBDA_RUNTIME_API``)."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self.host = host or address
        self.port = int(port) if port.isdigit() else 80
        self._next: http.client.HTTPConnection | None = None

    def _connection(self, timeout: float | None = None) -> http.client.HTTPConnection:
        import http.client

        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _path(self, tail: str) -> str:
        return f"/{API_VERSION}/runtime/{tail}"

    def next(self) -> Invocation:
        """Wait for the next invocation (no timeout: the process may be frozen in between)."""
        if self._next is None:
            self._next = self._connection()
        try:
            self._next.request("GET", self._path("invocation/next"))
            reply = self._next.getresponse()
            event = reply.read()
        except Exception:
            self._next.close()
            self._next = None
            raise
        if reply.status != 200:
            raise RuntimeError(f"the Runtime API answered {reply.status} to invocation/next")
        deadline = reply.getheader(DEADLINE_MS)
        return Invocation(
            request_id=reply.getheader(REQUEST_ID) or "",
            deadline_ms=int(deadline) if deadline and deadline.isdigit() else None,
            trace_id=reply.getheader(TRACE_ID),
            event=event,
        )

    def stream(self, request_id: str, chunks: Iterable[bytes]) -> int:
        """POST ``chunks`` as a streamed response; a failure while streaming goes in the trailers."""
        conn = self._connection()
        try:
            conn.putrequest("POST", self._path(f"invocation/{request_id}/response"), skip_accept_encoding=True)
            conn.putheader(RESPONSE_MODE, "streaming")
            conn.putheader("Transfer-Encoding", "chunked")
            conn.putheader("Trailer", f"{ERROR_TYPE}, {ERROR_BODY}")
            conn.putheader("Content-Type", PRELUDE_CONTENT_TYPE)
            conn.endheaders()
            trailers = b""
            try:
                for piece in chunks:
                    conn.send(_chunk(piece))
            except Exception as exc:
                log.exception("inngest_serverless: the reply failed while it was being streamed")
                body = base64.b64encode(json.dumps(_error_json(exc)).encode()).decode()
                trailers = f"{ERROR_TYPE}: Runtime.StreamError\r\n{ERROR_BODY}: {body}\r\n".encode()
            conn.send(b"0\r\n" + trailers + b"\r\n")
            reply = conn.getresponse()
            reply.read()
            return reply.status
        finally:
            conn.close()  # the docs ask for the connection to be closed once the response is complete

    def error(self, request_id: str | None, exc: BaseException, *, init: bool = False) -> None:
        """Report an invocation (or init) error before any reply byte was sent."""
        path = self._path("init/error") if init else self._path(f"invocation/{request_id}/error")
        body = json.dumps(_error_json(exc)).encode()
        conn = self._connection(timeout=10)
        try:
            conn.request("POST", path, body=body, headers={
                "Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": "Runtime.HandlerError"})
            conn.getresponse().read()
        finally:
            conn.close()


def _target(spec: str) -> Any:
    """``module.attribute`` (or ``module:attribute``) from ``_HANDLER``."""
    if not spec:
        raise ValueError(f"name the Inngest client to serve in {Env.LAMBDA_CLIENT}, as module.attribute (app.client)")
    module, sep, attr = spec.replace(":", ".").rpartition(".")
    if not sep or not module:
        raise ValueError(f"the handler must be 'module.attribute' naming an Inngest client, not {spec!r}")
    task_root = os.environ.get("LAMBDA_TASK_ROOT")
    if task_root and task_root not in sys.path:
        sys.path.insert(0, task_root)
    return getattr(importlib.import_module(module), attr)


def lambda_streaming_adapter(
    target: Any,
    *,
    functions: list[Function[Any]] | None = None,
    runtime_api: str | None = None,
    invocations: int | None = None,
) -> None:
    """Serve ``target`` (an Inngest client, or a core Handler) from the Runtime API, streaming each
    reply, until the process ends (or ``invocations`` have been served)."""
    LambdaStreamingAdapter.for_target(target, functions=functions).serve(runtime_api, invocations=invocations)


class LambdaStreamingAdapter(LambdaAdapter):
    """The Lambda adapter's event -> request -> reply path, its reply streamed to the Runtime API."""

    framework = FRAMEWORK
    host_streams = None  # core knows this host flushes

    @classmethod
    def for_target(cls, target: Any, *, functions: list[Function[Any]] | None = None) -> LambdaStreamingAdapter:
        from ...core.handler import Handler

        if isinstance(target, Handler):
            adapter, client = cls(target), target.client
        else:
            client = _client(target)
            adapter = cls.for_client(client, functions=functions)
        # Keys in Secrets Manager / SSM (INNGEST_SIGNING_KEY_SECRET_ARN, ...): re-read as lambda_adapter does.
        adapter.use_keys(client, key_source())
        return adapter

    def serve(self, runtime_api: str | None = None, *, invocations: int | None = None) -> None:
        """Take invocations from the Runtime API and stream each reply back."""
        api = RuntimeApi(runtime_api or os.environ[RUNTIME_API_ENV])
        served = 0
        while invocations is None or served < invocations:
            job = api.next()
            served += 1
            if job.trace_id:
                os.environ[TRACE_ENV] = job.trace_id
            try:
                try:
                    event = json.loads(job.event or b"null")
                except ValueError as err:
                    response = error_response(400, f"the event is not JSON: {err}")
                else:
                    _, response = self.respond(event, job.remaining_seconds())
            except Exception as exc:  # respond() never raises; this guards the translation itself
                log.exception("inngest_serverless: could not handle the invocation")
                api.error(job.request_id, exc)
                continue
            api.stream(job.request_id, stream_body(response))


def _client(target: Any) -> Inngest:
    from ...core.client import Inngest

    if not isinstance(target, Inngest):
        raise TypeError(f"the handler must name an Inngest client or a Handler, not {type(target).__name__}")
    return target


def main(argv: list[str] | None = None) -> None:
    """Load the client (``argv[0]``, else ``INNGEST_LAMBDA_CLIENT``, else ``_HANDLER``) and serve
    invocations until the process ends."""
    api_address = os.environ.get(RUNTIME_API_ENV)
    if not api_address:
        raise SystemExit(f"{RUNTIME_API_ENV} is not set: this runs inside AWS Lambda (or its emulator)")
    spec = argv[0] if argv else os.environ.get(Env.LAMBDA_CLIENT) or os.environ.get(HANDLER_ENV, "")
    try:
        target = _target(spec)
    except Exception as exc:
        log.exception("inngest_serverless: could not load the handler %r", spec)
        RuntimeApi(api_address).error(None, exc, init=True)
        raise SystemExit(1) from None
    lambda_streaming_adapter(target, runtime_api=api_address)
