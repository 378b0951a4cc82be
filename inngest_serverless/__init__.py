"""inngest-serverless: durable functions for serverless hosts, on the Inngest wire protocol.

The public API, re-exported; nothing heavy is imported here.
"""

from typing import TYPE_CHECKING

from .core.client import Inngest
from .core.context import Context, ContextSync
from .core.errors import (
    ApiError,
    ConfigError,
    InngestError,
    NonRetriableError,
    RetryAfterError,
    SendEventsError,
    StepError,
)
from .core.event import Event
from .core.flow_control import (
    Batch,
    Cancel,
    Concurrency,
    Debounce,
    Priority,
    RateLimit,
    Singleton,
    Throttle,
    Timeouts,
)
from .core.function import Function, slugify
from .core.handler import Handler
from .core.http import Request, Response
from .core.serialize import JSON
from .core.steps import Step, StepSync
from .core.streaming import Streaming
from .core.triggers import TriggerCron, TriggerEvent
from .core.version import VERSION as __version__
from .core.wire import ParallelMode

if TYPE_CHECKING:  # so that type checkers see the class, not __getattr__'s ``object``
    from .core.checkpoint import Checkpoint
    from .core.middleware import (
        Middleware,
        MiddlewareSync,
        SendEventsResult,
        StepMemos,
        TransformOutputResult,
        TransformOutputStepInfo,
    )

_MIDDLEWARE_NAMES = ("Middleware", "MiddlewareSync", "SendEventsResult", "StepMemos", "TransformOutputResult",
                     "TransformOutputStepInfo")


def __getattr__(name: str) -> object:
    # Imported on first use: most apps never configure checkpointing or middleware.
    if name == "Checkpoint":
        from .core.checkpoint import Checkpoint

        return Checkpoint
    if name in _MIDDLEWARE_NAMES:
        from .core import middleware

        return getattr(middleware, name)
    raise AttributeError(f"module 'inngest_serverless' has no attribute {name!r}")

__all__ = [
    "JSON",
    "ApiError",
    "Batch",
    "Cancel",
    "Checkpoint",
    "Concurrency",
    "ConfigError",
    "Context",
    "ContextSync",
    "Debounce",
    "Event",
    "Function",
    "Handler",
    "Inngest",
    "InngestError",
    "Middleware",
    "MiddlewareSync",
    "NonRetriableError",
    "ParallelMode",
    "Priority",
    "RateLimit",
    "Request",
    "Response",
    "RetryAfterError",
    "SendEventsError",
    "SendEventsResult",
    "Singleton",
    "Step",
    "StepError",
    "StepMemos",
    "StepSync",
    "Streaming",
    "Throttle",
    "Timeouts",
    "TransformOutputResult",
    "TransformOutputStepInfo",
    "TriggerCron",
    "TriggerEvent",
    "__version__",
    "slugify",
]
