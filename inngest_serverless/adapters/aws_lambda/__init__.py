"""Serve Inngest functions from AWS Lambda: ``handler = lambda_adapter(client)``.

One handler serves every HTTP front door a Lambda function can have: API
Gateway REST APIs (payload 1.0), HTTP APIs (payload 2.0), Function URLs and
Application Load Balancers. The URL it advertises on sync is the one the
caller used (host, stage, base path), unless ``serve_origin``/``serve_path``
or ``INNGEST_SERVE_ORIGIN``/``INNGEST_SERVE_PATH`` say otherwise. The time
Lambda has left (``context.get_remaining_time_in_millis()``) becomes the
request's deadline.

Keys may come from AWS Secrets Manager or SSM Parameter Store (extra
``inngest-serverless[aws]``)::

    client = Inngest(app_id="shop", **aws_keys())  # INNGEST_SIGNING_KEY_SECRET_ARN names the secret
    handler = lambda_adapter(client)               # re-reads it at most every 5 minutes

See docs/deploy-lambda.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ...core.config import package_logger
from ...core.wire import Env
from .. import _host
from ._events import ACCEPTED, SHAPES, EventShape, EventShapeError, LambdaReply, infer

if TYPE_CHECKING:
    from ...core.client import Inngest
    from ...core.function import Function
    from ...core.http import Response
    from ._keys import PARAMETER_ENV, SECRET_ENV, AwsKeys, AwsKeySource, KeySourceError, aws_keys

__all__ = [
    "ACCEPTED",
    "PARAMETER_ENV",
    "SECRET_ENV",
    "SHAPES",
    "AwsKeySource",
    "AwsKeys",
    "EventShape",
    "EventShapeError",
    "KeySourceError",
    "LambdaAdapter",
    "LambdaHandler",
    "aws_keys",
    "lambda_adapter",
]

LambdaHandler = Callable[[Any, Any], LambdaReply]

# The keys-from-AWS names, loaded on first use: most functions take their keys from the environment.
_KEY_NAMES = frozenset({"PARAMETER_ENV", "SECRET_ENV", "AwsKeys", "AwsKeySource", "KeySourceError", "aws_keys"})


def __getattr__(name: str) -> object:
    if name in _KEY_NAMES:
        from . import _keys

        return getattr(_keys, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def key_source(secret: str | None = None, parameter: str | None = None, max_age: int = 300) -> AwsKeySource | None:
    """Where the signing keys live in AWS, if the arguments or the environment say; None otherwise
    (and then the module that reads them is never imported)."""
    if not (secret or parameter or os.environ.get(Env.SIGNING_KEY_SECRET_ARN) or os.environ.get(Env.SIGNING_KEY_PARAMETER)):
        return None
    from ._keys import AwsKeySource

    return AwsKeySource.resolve(secret, parameter, max_age)


def lambda_adapter(
    client: Inngest,
    *,
    functions: list[Function[Any]] | None = None,
    serve_origin: str | None = None,
    serve_path: str | None = None,
    signing_key_secret: str | None = None,
    signing_key_parameter: str | None = None,
    keys_max_age: int = 300,
) -> LambdaAdapter:
    """A Lambda handler ``(event, context) -> dict`` serving ``client``'s functions over HTTP.

    ``signing_key_secret`` (a Secrets Manager name or ARN) or ``signing_key_parameter``
    (an SSM parameter name), else ``INNGEST_SIGNING_KEY_SECRET_ARN`` /
    ``INNGEST_SIGNING_KEY_PARAMETER``, name where the keys live; they are read on
    the first call and again once ``keys_max_age`` seconds have passed.
    """
    adapter = LambdaAdapter.for_client(client, functions=functions, serve_origin=serve_origin, serve_path=serve_path)
    adapter.use_keys(client, key_source(signing_key_secret, signing_key_parameter, keys_max_age))
    return adapter


class LambdaAdapter(_host.Adapter):
    """A Lambda event -> core ``Request``; core ``Response`` -> the reply its front door expects.

    The event classes (``_events.py``) do the translation; this adds what both Lambda runtimes
    share (the managed one calls the adapter, the streaming loop calls :meth:`respond`): the
    deadline from the time Lambda has left, and signing keys read from AWS.
    """

    framework = "aws_lambda"
    # The Python managed runtime sends the reply in one piece: keep-alive bytes would only be joined.
    host_streams: ClassVar[bool | None] = False

    def __init__(self, handler: _host.CoreHandler, *, timeout: float | None = None, max_body: int | None = None) -> None:
        super().__init__(handler, timeout=timeout, max_body=max_body)
        self._client: Inngest | None = None
        self._keys: AwsKeySource | None = None

    def use_keys(self, client: Inngest, keys: AwsKeySource | None) -> None:
        """Apply ``keys`` (Secrets Manager / SSM) to ``client`` before each call; None: the client's own."""
        self._client, self._keys = client, keys

    def __call__(self, event: Any, context: Any = None) -> LambdaReply:
        shape, response = self.respond(event, _remaining_seconds(context))
        return shape.reply(response) if shape is not None else _plain_reply(response)

    def respond(self, event: object, remaining_seconds: float | None) -> tuple[EventShape | None, Response]:
        """Core's reply to ``event``, and its shape (None when it has no HTTP shape: a 400)."""
        try:
            shape = infer(event)
            request = shape.to_request(remaining_seconds=remaining_seconds)
        except EventShapeError as err:
            package_logger().warning("inngest_serverless: %s", err)
            return None, _host.error_response(400, str(err))
        if self._keys is not None and self._client is not None:
            from ._keys import KeySourceError

            try:
                self._keys.apply(self._client)
            except KeySourceError as err:
                package_logger().error("inngest_serverless: %s", err)
                return shape, _host.error_response(500, str(err), retry=True)
        return shape, self.answer(request)


def _remaining_seconds(context: Any) -> float | None:
    """Seconds left before Lambda stops this invocation, when the context can tell."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(getter):
        return None
    try:
        millis = float(getter())
    except Exception:  # the context is the host's (or a test's, or a wrapper's): it may raise anything
        return None
    # Not NaN, not infinite, not absurd (10**400 does not fit a float): no deadline rather than a wrong one.
    return millis / 1000 if 0 < millis < 1e12 else None


def _plain_reply(response: Response) -> LambdaReply:
    """A reply for an event of no known shape: HTTP-shaped, and readable as a direct-invoke result."""
    headers: Mapping[str, str] = response.headers
    return {"statusCode": response.status, "headers": dict(headers),
            "body": response.read().decode("utf-8"), "isBase64Encoded": False}
