"""The HTTP event shapes a Lambda function can receive, one class per shape.

Each shape knows how to recognise its event (``infer``), how to read it as a
neutral :class:`~inngest_serverless.core.http.Request` and how to write a
:class:`~inngest_serverless.core.http.Response` back as the reply that front
door expects. Adding a front door means adding one class to ``SHAPES``.

Only the standard library is used: importing Mangum or Powertools for this
would cost more at cold start than the translation itself (docs/deploy-lambda.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from inngest_serverless.core import wire
from inngest_serverless.core.errors import InngestError
from inngest_serverless.core.http import Headers, Request, Response

from .._host import FORWARDED_PROTO, first_hop

Event = Mapping[str, Any]
LambdaReply = dict[str, Any]

# serverless-offline sets this in the handler's environment; it serves REST
# APIs under /<stage> but leaves the stage out of every path in the event.
_OFFLINE_ENV = "IS_OFFLINE"
_TEXT_TYPES = ("json", "text/", "xml", "javascript", "x-www-form-urlencoded")


class EventShapeError(InngestError, ValueError):
    """The event is not one of the HTTP shapes this adapter serves."""


def _lower_keys(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in (raw or {}).items()}


def _pairs(single: object, multi: object) -> list[tuple[str, str]]:
    """Name/value pairs: every value of the multi-value map, then single-map names it lacks."""
    pairs: list[tuple[str, str]] = []
    if isinstance(multi, Mapping):
        for k, values in multi.items():
            if values is None:
                continue
            for v in values if isinstance(values, list) else [values]:
                pairs.append((str(k), str(v)))
    seen = {k.lower() for k, _ in pairs}
    if isinstance(single, Mapping):
        pairs += [(str(k), str(v)) for k, v in single.items() if v is not None and str(k).lower() not in seen]
    return pairs


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name in ("localhost", "[::1]") or name.startswith("127.")


def _is_text(content_type: str) -> bool:
    return any(t in content_type.lower() for t in _TEXT_TYPES)


class EventShape:
    """Base for one front door's event. Subclasses set ``name`` and implement the hooks."""

    name: ClassVar[str]

    def __init__(self, event: Event) -> None:
        self.event = event
        self.context: Mapping[str, Any] = event.get("requestContext") or {}

    @classmethod
    def infer(cls, event: Event) -> bool:
        raise NotImplementedError

    # -- request side -------------------------------------------------------
    def method(self) -> str:
        return str(self.event.get("httpMethod") or "GET")

    def header_pairs(self) -> list[tuple[str, str]]:
        return _pairs(self.event.get("headers"), self.event.get("multiValueHeaders"))

    def path(self, headers: Mapping[str, str]) -> str:
        return str(self.event.get("path") or "/")

    def query(self) -> str:
        single = self.event.get("queryStringParameters")
        multi = self.event.get("multiValueQueryStringParameters")
        return urlencode(_pairs(single, multi), quote_via=quote)

    def body(self) -> bytes:
        raw = self.event.get("body")
        if raw is None:
            return b""
        if self.event.get("isBase64Encoded"):
            import base64  # only binary bodies are encoded: Inngest's are JSON text
            import binascii

            try:
                return base64.b64decode(str(raw), validate=True)
            except (binascii.Error, ValueError) as err:
                raise EventShapeError(f"{self.name} event body is marked base64 but is not: {err}") from None
        return str(raw).encode("utf-8")

    def url(self, headers: Mapping[str, str]) -> str:
        """The URL the caller used: scheme, host, the full path (stage, base path) and query."""
        host = str(headers.get("host") or self.context.get("domainName") or "localhost")
        # AWS front doors always send X-Forwarded-Proto; local emulators may not, and serve plain HTTP.
        default_scheme = "http" if _is_loopback(host) else "https"
        scheme = first_hop(headers.get(FORWARDED_PROTO)) or default_scheme
        query = self.query()
        return f"{scheme}://{host}{self.path(headers)}" + (f"?{query}" if query else "")

    def to_request(self, remaining_seconds: float | None = None) -> Request:
        try:
            headers = Headers(self.header_pairs())
            return Request.build(self.method(), self.url(headers), headers, self.body(),
                                 remaining_seconds=remaining_seconds)
        except EventShapeError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as err:  # a field of the wrong JSON type
            raise EventShapeError(f"malformed {self.name} event ({type(err).__name__}: {err})") from None

    # -- reply side ---------------------------------------------------------
    @staticmethod
    def encode_body(response: Response) -> tuple[str, bool]:
        """The reply body as text, base64-encoded unless it is text the front door can carry as is."""
        data = response.read()
        content_type = str(_lower_keys(response.headers).get(wire.Header.CONTENT_TYPE, ""))
        if not data or _is_text(content_type):
            try:
                return data.decode("utf-8"), False
            except UnicodeDecodeError:
                pass
        import base64

        return base64.b64encode(data).decode("ascii"), True

    def reply(self, response: Response) -> LambdaReply:
        body, is_b64 = self.encode_body(response)
        return {"statusCode": response.status, "headers": dict(response.headers),
                "body": body, "isBase64Encoded": is_b64}


class RestApiEvent(EventShape):
    """API Gateway REST API (payload 1.0), with or without ``multiValueHeaders``."""

    name = "API Gateway REST API (payload v1)"

    @classmethod
    def infer(cls, event: Event) -> bool:
        ctx = event.get("requestContext")
        return ("httpMethod" in event and isinstance(ctx, Mapping) and "elb" not in ctx
                and str(event.get("version") or "1.0") == "1.0")

    def path(self, headers: Mapping[str, str]) -> str:
        # On an execute-api host event["path"] lacks the stage, which requestContext.path
        # keeps; behind a custom domain both carry the base path and neither the stage.
        # (SAM's local emulator puts the resource template in requestContext.path.)
        path = super().path(headers)
        ctx_path = str(self.context.get("path") or "")
        if ctx_path and ctx_path != path and ctx_path.endswith(path) and "{" not in ctx_path:
            return ctx_path
        stage = self.context.get("stage")
        if stage and stage != "$default" and not path.startswith(f"/{stage}/"):
            host = str(headers.get("host") or self.context.get("domainName") or "")
            if ".execute-api." in host or os.environ.get(_OFFLINE_ENV):
                return f"/{stage}{path}"
        return path


class HttpApiEvent(EventShape):
    """API Gateway HTTP API (payload 2.0)."""

    name = "API Gateway HTTP API (payload v2)"

    @classmethod
    def infer(cls, event: Event) -> bool:
        ctx = event.get("requestContext")
        return (str(event.get("version")) == "2.0" and isinstance(ctx, Mapping)
                and isinstance(ctx.get("http"), Mapping))

    def method(self) -> str:
        return str(self.context["http"].get("method") or "GET")

    def header_pairs(self) -> list[tuple[str, str]]:
        pairs = _pairs(self.event.get("headers"), None)
        cookies = self.event.get("cookies")
        # Payload 2.0 moves the Cookie header into a list of its own.
        if cookies and not any(k.lower() == "cookie" for k, _ in pairs):
            pairs.append(("cookie", "; ".join(str(c) for c in cookies)))
        return pairs

    def path(self, headers: Mapping[str, str]) -> str:
        # rawPath keeps a named stage and a custom domain's mapping prefix.
        return str(self.event.get("rawPath") or self.context["http"].get("path") or "/")

    def query(self) -> str:
        return str(self.event.get("rawQueryString") or "")

    def reply(self, response: Response) -> LambdaReply:
        out = super().reply(response)
        out["headers"] = {k.lower(): v for k, v in response.headers.items()}
        return out


class FunctionUrlEvent(HttpApiEvent):
    """Lambda Function URL: the HTTP API 2.0 payload, on a ``*.lambda-url.*`` domain."""

    name = "Lambda Function URL"

    @classmethod
    def infer(cls, event: Event) -> bool:
        return super().infer(event) and ".lambda-url." in str(event["requestContext"].get("domainName", ""))


class AlbEvent(EventShape):
    """Application Load Balancer target, with single or multi-value headers."""

    name = "Application Load Balancer"

    @classmethod
    def infer(cls, event: Event) -> bool:
        ctx = event.get("requestContext")
        return isinstance(ctx, Mapping) and "elb" in ctx and "httpMethod" in event

    def query(self) -> str:
        # ALB passes query keys and values exactly as received, still percent-encoded.
        single = self.event.get("queryStringParameters")
        multi = self.event.get("multiValueQueryStringParameters")
        return "&".join(f"{k}={v}" for k, v in _pairs(single, multi))

    def reply(self, response: Response) -> LambdaReply:
        body, is_b64 = self.encode_body(response)
        # Canonical capitalisation: serverless-offline's ALB rejects a lower-case content-type.
        headers = {"-".join(p.capitalize() for p in k.split("-")): v for k, v in response.headers.items()}
        out: LambdaReply = {"statusCode": response.status,
                            "statusDescription": f"{response.status} {_reason(response.status)}".strip(),
                            "body": body, "isBase64Encoded": is_b64}
        # A target group with multi-value headers on accepts only multiValueHeaders back.
        if "multiValueHeaders" in self.event:
            out["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
        else:
            out["headers"] = headers
        return out


def _reason(status: int) -> str:
    from http import HTTPStatus  # the ALB's reply only: its enum costs every other front door's cold start

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# Most specific first: a Function URL event is also a valid HTTP API event.
SHAPES: tuple[type[EventShape], ...] = (AlbEvent, FunctionUrlEvent, HttpApiEvent, RestApiEvent)
ACCEPTED = ", ".join(shape.name for shape in SHAPES)


def infer(event: object) -> EventShape:
    """The shape of ``event``, or :class:`EventShapeError` naming what was received and what is accepted."""
    if isinstance(event, Mapping):
        for shape in SHAPES:
            if shape.infer(event):
                return shape(event)
    raise EventShapeError(
        f"this Lambda serves Inngest over HTTP and received {_describe(event)}; "
        f"it accepts events from: {ACCEPTED}")


def _describe(event: object) -> str:
    """A short guess at what a non-HTTP event is, for the error message."""
    if not isinstance(event, Mapping):
        return f"a JSON {type(event).__name__}, not an object"
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        source = records[0].get("eventSource") or records[0].get("EventSource") or "unknown"
        return f"a batch of {source} records"
    if "detail-type" in event:
        return f"an EventBridge event ({event.get('source', 'unknown source')})"
    keys = sorted(str(k) for k in event)[:6]
    return f"an object with keys {keys}" if keys else "an empty object"
