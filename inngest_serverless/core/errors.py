"""Every exception this package raises, and the error object of the wire.

One hierarchy, rooted at :class:`InngestError` (``except InngestError`` catches
anything the SDK itself raises)::

    InngestError
    ├── NonRetriableError        raise it: the function (or step) fails at once, no retry
    │   └── NonDeterminismError  the memoized steps no longer match the code
    ├── RetryAfterError          raise it: retried, but not before ``retry_after``
    ├── StepError                a step failed for good; raised where the step is called
    ├── DeadlineExceeded         a step body outlived the invocation's deadline (retried)
    ├── ConfigError (ValueError) an invalid option: a client, function or step call
    ├── SignatureError           a request's signature is missing, malformed, stale or wrong
    ├── ApiError                 the Inngest API answered an error (``status`` kept)
    │   └── SendEventsError      sending events failed (``ids``: those sent before)
    ├── BadRequest               a request that can never succeed (the handler answers 4xx)
    ├── RateLimited              a request that succeeds later (the handler answers 429)
    ├── EventShapeError (ValueError)    AWS Lambda: an event of no HTTP shape the adapter serves
    └── KeySourceError (RuntimeError)   AWS Lambda: the signing keys' secret or parameter is unusable

The first seven and the API errors are public (``inngest_serverless`` exports
them); ``BadRequest`` and ``RateLimited`` never leave the handler. The last two
belong to the Lambda adapter (``inngest_serverless.adapters.aws_lambda`` exports
them, from its ``_events.py`` and ``_keys.py``).

The wire's error object is ``{"name", "message", "stack"}``: ``name`` is the
exception's class name (a bare ``Exception`` goes by the generic ``"Error"``),
and a :class:`StepError` carries on the name and stack of the step's failure.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .wire import GENERIC_ERROR_NAME

if TYPE_CHECKING:
    import datetime


class InngestError(Exception):
    """Base of every error this SDK raises."""


class NonRetriableError(InngestError):
    """Raise to fail the function (or step) at once, with no retry."""

    def __init__(self, message: str | None = "", quiet: bool = False, *, cause: dict[str, Any] | None = None) -> None:
        message = message or ""
        super().__init__(message)
        self.message = message
        self.cause = cause
        self.quiet = quiet  # the official SDK's switch for its error log line; this package writes none


class RetryAfterError(InngestError):
    """Raise to retry, but not before ``retry_after``: milliseconds (an int or float, as
    in the official SDK and every other duration of this API), a timedelta, or a datetime."""

    def __init__(
        self,
        message: str | None,
        retry_after: int | float | datetime.timedelta | datetime.datetime,
        quiet: bool = False,
    ) -> None:
        message = message or ""
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.quiet = quiet  # as NonRetriableError's

    def header_value(self) -> str:
        """The ``Retry-After`` header: whole seconds, or an RFC 3339 date; ``ValueError`` when
        ``retry_after`` is no time (text, NaN, infinite)."""
        import datetime  # a retry asked for: not on a cold start's path

        value = self.retry_after
        if isinstance(value, bool) or not isinstance(value, (int, float, datetime.timedelta, datetime.datetime)):
            raise ValueError(f"retry_after must be milliseconds, a timedelta or a datetime, not {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"retry_after must be a finite number of milliseconds, not {value!r}")
        if isinstance(value, datetime.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=datetime.timezone.utc)
            return value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
        seconds = value.total_seconds() if isinstance(value, datetime.timedelta) else float(value) / 1000
        return str(max(1, round(seconds)))


class StepError(InngestError):
    """A step failed for good (its retries ran out, or it was non-retriable).

    Raised from the ``ctx.step.*`` call on replay; catch it to recover.
    """

    def __init__(self, message: str, *, name: str = "Error", stack: str | None = None,
                 data: Any = None, step_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.stack = stack
        self.data = data
        self.step_id = step_id


class NonDeterminismError(NonRetriableError):
    """The run's memoized steps no longer match the code: it changed while the run was in progress."""


class DeadlineExceeded(InngestError):
    """A step was still running when the invocation's deadline came near (retried like any error)."""


class ConfigError(InngestError, ValueError):
    """A function or client was defined with an invalid option (raised at definition time), or a
    step was called with arguments it refuses (a negative sleep): the same code fails every time."""


class SignatureError(InngestError):
    """The request's signature is missing, malformed, stale or wrong (reason in the message)."""


class ApiError(InngestError):
    """The Inngest API answered a call with an error (status and message kept)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SendEventsError(ApiError):
    """Sending events failed. ``ids``: the events sent before the failing batch (a send of more
    events than the server takes at once goes in batches, one after the other)."""

    def __init__(self, message: str, status: int | None = None, ids: list[str] | None = None) -> None:
        super().__init__(message, status)
        self.ids = ids or []


class BadRequest(InngestError):
    """A request that can never succeed: answered 4xx with ``X-Inngest-No-Retry: true``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class RateLimited(InngestError):
    """Answered 429 with ``Retry-After``: the same request succeeds later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def error_object(exc: BaseException) -> dict[str, Any]:
    """The wire error ``{name, message, stack}`` for ``exc``."""
    if isinstance(exc, StepError):
        out: dict[str, Any] = {"name": exc.name, "message": exc.message}
        if exc.stack:
            out["stack"] = exc.stack
        return out
    import traceback  # a failure's stack only: a call that fails nothing does not load it

    # Beyond Exception (SystemExit(3), GeneratorExit()): str() alone would say "3" or nothing.
    fallback = str(exc) if isinstance(exc, Exception) else repr(exc)
    message = getattr(exc, "message", None) or fallback or type(exc).__name__
    return {
        # A bare Exception is the language's generic error: the wire's generic name says the same.
        "name": GENERIC_ERROR_NAME if type(exc) is Exception else type(exc).__name__,
        "message": str(message),
        "stack": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }
