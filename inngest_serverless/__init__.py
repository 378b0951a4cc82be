"""inngest-serverless: durable functions for serverless hosts, on the Inngest wire protocol.

The public API, re-exported. What defining functions needs is imported here; the rest (core's
Handler, which an adapter builds, and flow control, checkpointing, middleware and serializers, which
most apps never use) on first use, through ``__getattr__`` below.
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
from .core.function import Function, slugify
from .core.http import Request, Response
from .core.serialize import JSON
from .core.steps import Step, StepSync
from .core.streaming import Streaming
from .core.triggers import TriggerCron, TriggerEvent
from .core.version import VERSION as __version__
from .core.wire import ParallelMode

if TYPE_CHECKING:  # so that type checkers see the class, not __getattr__'s ``object``
    from .core.checkpoint import Checkpoint
    from .core.flow_control import Batch, Cancel, Concurrency, Debounce, Priority, RateLimit, Singleton, Throttle, Timeouts
    from .core.handler import Handler
    from .core.middleware import (
        Middleware,
        MiddlewareSync,
        SendEventsResult,
        StepMemos,
        TransformOutputResult,
        TransformOutputStepInfo,
    )
    from .core.serializer import PydanticSerializer, Serializer

# Public names imported on first use, by the module that defines them: an adapter builds core's
# Handler when it is created, and most apps never configure flow control, checkpointing or middleware.
_LAZY = {
    "Checkpoint": "checkpoint",
    "Handler": "handler",
    **dict.fromkeys(("Batch", "Cancel", "Concurrency", "Debounce", "Priority", "RateLimit", "Singleton", "Throttle",
                     "Timeouts"), "flow_control"),
    **dict.fromkeys(("Middleware", "MiddlewareSync", "SendEventsResult", "StepMemos", "TransformOutputResult",
                     "TransformOutputStepInfo"), "middleware"),
    **dict.fromkeys(("PydanticSerializer", "Serializer"), "serializer"),
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'inngest_serverless' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.core.{module}"), name)
    globals()[name] = value  # looked up here once; the next access is a plain attribute
    return value

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
    "PydanticSerializer",
    "RateLimit",
    "Request",
    "Response",
    "RetryAfterError",
    "SendEventsError",
    "SendEventsResult",
    "Serializer",
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
