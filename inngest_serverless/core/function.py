"""A durable function: its handler, triggers and options, and its sync config."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload
from urllib.parse import urlencode, urlsplit, urlunsplit

from .coroutines import is_coroutine_function
from .errors import ConfigError
from .interfaces import Invocable
from .record import Record
from .triggers import Trigger, TriggerCron, TriggerEvent
from .wire import DISCOVERY_STEP_ID, FAILURE_HANDLER_SUFFIX, InternalEvent, Limit, Query

if TYPE_CHECKING:
    from .checkpoint import Checkpoint
    from .context import Context, ContextSync
    from .flow_control import Batch, Cancel, Concurrency, Debounce, Priority, RateLimit, Singleton, Throttle, Timeouts

_FLOW_CONTROL = ("concurrency", "throttle", "rate_limit", "debounce", "batch_events", "priority", "cancel",
                 "singleton", "timeouts")

T_co = TypeVar("T_co", covariant=True)  # what the handler returns: the type step.invoke gives back
if TYPE_CHECKING:
    T = TypeVar("T")
    DataT = TypeVar("DataT")  # the event data's type (event_type), a dict when not declared
Handler = Callable[..., Any]
_UNRESOLVED: Any = object()


class FunctionOptions(Record):
    """What ``create_function`` was given. A plain class, not a dataclass: every cold start builds
    one per function (core/record.py says why)."""

    _fields = ("fn_id", "name", "triggers", "retries", "concurrency", "throttle", "rate_limit", "debounce",
               "batch_events", "priority", "cancel", "singleton", "timeouts", "idempotency", "output_type",
               "event_type", "checkpoint", "middleware")

    def __init__(
        self,
        fn_id: str,
        name: str | None = None,
        triggers: list[Trigger] | None = None,
        retries: int | None = None,
        concurrency: list[Concurrency] | None = None,
        throttle: Throttle | None = None,
        rate_limit: RateLimit | None = None,
        debounce: Debounce | None = None,
        batch_events: Batch | None = None,
        priority: Priority | None = None,
        cancel: list[Cancel] | None = None,
        singleton: Singleton | None = None,
        timeouts: Timeouts | None = None,
        idempotency: str | None = None,
        output_type: Any = None,
        event_type: Any = None,
        checkpoint: Checkpoint | None = None,
        middleware: list[Any] | None = None,
    ) -> None:
        self.fn_id = fn_id
        self.name = name
        self.triggers: list[Trigger] = [] if triggers is None else triggers
        self.retries = retries
        self.concurrency = concurrency
        self.throttle = throttle
        self.rate_limit = rate_limit
        self.debounce = debounce
        self.batch_events = batch_events
        self.priority = priority
        self.cancel = cancel
        self.singleton = singleton
        self.timeouts = timeouts
        self.idempotency = idempotency
        # What step.invoke turns the result into (core/typed_data.py), else the handler's return type.
        self.output_type = output_type
        self.event_type = event_type  # the event data's dataclass or pydantic model (core/typed_data.py); None: a dict
        self.checkpoint = checkpoint  # core/checkpoint.py; None: one step per invocation
        self.middleware: list[Any] = [] if middleware is None else middleware  # after the client's (core/middleware.py)

    def validate(self) -> None:
        if not isinstance(self.fn_id, str) or not self.fn_id.strip():
            raise ConfigError("create_function(fn_id=...) must be a non-empty string")
        if not self.triggers:
            raise ConfigError(f"function {self.fn_id!r} needs at least one trigger")
        if len(self.triggers) > Limit.MAX_TRIGGERS:
            raise ConfigError(f"function {self.fn_id!r} has {len(self.triggers)} triggers; the limit is {Limit.MAX_TRIGGERS}")
        for trig in self.triggers:
            if not isinstance(trig, (TriggerEvent, TriggerCron)):
                raise ConfigError(f"function {self.fn_id!r}: a trigger must be TriggerEvent or TriggerCron, not {trig!r}")
        if self.retries is not None and (
            isinstance(self.retries, bool) or not isinstance(self.retries, int)
            or not 0 <= self.retries <= Limit.MAX_RETRIES
        ):
            raise ConfigError(f"function {self.fn_id!r}: retries must be an integer from 0 to {Limit.MAX_RETRIES}")
        if any(getattr(self, name) is not None for name in _FLOW_CONTROL):
            self._validate_flow_control()
        if self.idempotency is not None and (not isinstance(self.idempotency, str) or not self.idempotency.strip()):
            raise ConfigError(f"function {self.fn_id!r}: idempotency must be a non-empty expression")
        if self.event_type is not None:
            from .typed_data import check_model

            check_model(self.event_type, f"function {self.fn_id!r}: event_type")
            if any(isinstance(t, TriggerCron) for t in self.triggers):
                raise ConfigError(f"function {self.fn_id!r}: event_type types the data of events; a cron trigger has none")
        if self.batch_events is not None and (self.debounce is not None or self.idempotency or self.rate_limit):
            raise ConfigError(f"function {self.fn_id!r}: batch_events cannot be combined with debounce, "
                              "rate_limit or idempotency")

    def _validate_flow_control(self) -> None:
        # Imported here, for the functions that set flow control: its nine classes cost every cold start.
        from .flow_control import Batch, Cancel, Concurrency, Debounce, Priority, RateLimit, Singleton, Throttle, Timeouts

        if self.concurrency is not None:
            if not isinstance(self.concurrency, list) or not 1 <= len(self.concurrency) <= Limit.MAX_CONCURRENCY:
                raise ConfigError(f"function {self.fn_id!r}: concurrency takes a list of 1 or 2 Concurrency entries")
            _check_types(self.fn_id, "concurrency", self.concurrency, Concurrency)
        if self.cancel is not None:
            if not isinstance(self.cancel, list) or len(self.cancel) > Limit.MAX_CANCEL:
                raise ConfigError(f"function {self.fn_id!r}: cancel takes a list of at most {Limit.MAX_CANCEL} Cancel entries")
            _check_types(self.fn_id, "cancel", self.cancel, Cancel)
        for name, tp in (("throttle", Throttle), ("rate_limit", RateLimit), ("debounce", Debounce),
                         ("batch_events", Batch), ("priority", Priority), ("singleton", Singleton),
                         ("timeouts", Timeouts)):
            value = getattr(self, name)
            if value is not None and not isinstance(value, tp):
                raise ConfigError(f"function {self.fn_id!r}: {name} must be a {tp.__name__}")


if TYPE_CHECKING:  # for annotations only: nothing of the typing of create_function runs
    class FunctionDecorator(Protocol[DataT]):
        """What ``client.create_function(...)`` returns: it takes a ``def`` handler of a
        ``ContextSync[D]`` or an ``async def`` one of a ``Context[D]``, and gives a ``Function`` of what
        the handler returns (so that ``step.invoke`` returns that type)."""

        @overload
        def __call__(self, handler: Callable[[Context[DataT]], Awaitable[T]], /) -> Function[T]: ...
        @overload
        def __call__(self, handler: Callable[[ContextSync[DataT]], T], /) -> Function[T]: ...


    class TypedFunctionDecorator(Protocol[DataT, T_co]):
        """What ``client.create_function(..., output_type=X)`` returns: a ``Function[X]``, whatever
        the handler is annotated to return."""

        @overload
        def __call__(self, handler: Callable[[Context[DataT]], Awaitable[object]], /) -> Function[T_co]: ...
        @overload
        def __call__(self, handler: Callable[[ContextSync[DataT]], object], /) -> Function[T_co]: ...


def _check_types(fn_id: str, what: str, values: list[Any], tp: type) -> None:
    for v in values:
        if not isinstance(v, tp):
            raise ConfigError(f"function {fn_id!r}: {what} entries must be {tp.__name__}, not {v!r}")


class Function(Invocable[T_co]):
    """A function created with ``client.create_function``; ``.id`` is its composite ID."""

    def __init__(self, opts: FunctionOptions, handler: Handler, on_failure: Handler | None = None) -> None:
        opts.validate()
        if not callable(handler):
            raise ConfigError(f"function {opts.fn_id!r}: the decorated object must be callable")
        self.opts = opts
        self.is_async = is_coroutine_function(handler)
        self._declared = handler  # the app's own handler, whose return annotation output_model() reads
        # With event_type, what runs is the handler behind a check of the event data: so the check
        # comes after middleware's transform_input (which may decrypt the data), and costs nothing
        # to functions that declare no type.
        self.handler = handler if opts.event_type is None else _typed_handler(self, handler, self.is_async)
        self.on_failure: Function[Any] | None = None
        if on_failure is not None:
            if not callable(on_failure):
                raise ConfigError(f"function {opts.fn_id!r}: on_failure must be callable")
            self.on_failure = Function(
                FunctionOptions(
                    fn_id=opts.fn_id + FAILURE_HANDLER_SUFFIX,
                    name=f"{opts.name or opts.fn_id} (failure)",
                    triggers=[TriggerEvent(event=InternalEvent.FUNCTION_FAILED)],
                    retries=0,
                    middleware=opts.middleware,
                ),
                on_failure,
            )
            self.on_failure._failure_of = opts.fn_id
        self._failure_of: str | None = None
        self._output_model: Any = _UNRESOLVED

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the handler directly (e.g. in a unit test with a hand-made context)."""
        return self.handler(*args, **kwargs)

    def type_events(self, ctx: Any) -> None:
        """Turn ``ctx.event.data`` (and each of ``ctx.events``) into ``event_type``; data that does
        not fit raises NonRetriableError naming the field, failing the run without a retry."""
        from .typed_data import typed_event

        tp = self.opts.event_type
        first = ctx.event
        ctx.event = typed_event(first, tp)
        ctx.events = [ctx.event if e is first else typed_event(e, tp) for e in ctx.events]

    def output_model(self) -> Any:
        """The dataclass or pydantic model ``step.invoke`` turns this function's result into:
        ``output_type``, else the handler's return annotation; None when neither names one.
        Resolved on first use (annotations may name classes defined after the function)."""
        if self._output_model is _UNRESOLVED:
            from . import serialize

            tp = self.opts.output_type
            self._output_model = tp if serialize.is_structured(tp) else None if tp is not None else (
                serialize.output_type_of(self._declared))
        return self._output_model

    app_id: str = ""  # set by the client that defines the function

    @property
    def local_id(self) -> str:
        return self.opts.fn_id

    @property
    def id(self) -> str:
        """The ID the server knows the function by, ``<app_id>-<fn_id>``, as the official SDK's ``Function.id``."""
        return self.composite_id(self.app_id)

    @property
    def name(self) -> str:
        return self.opts.name or self.opts.fn_id

    def composite_id(self, app_id: str) -> str:
        return f"{app_id}-{self.opts.fn_id}"

    @property
    def output_type(self) -> Any:
        """``create_function(output_type=)``; None when not given."""
        return self.opts.output_type

    def all(self) -> list[Function[Any]]:
        """This function and its failure handler, if any."""
        return [self] if self.on_failure is None else [self, self.on_failure]

    def config(self, app_id: str, app_url: str) -> dict[str, Any]:
        """The FunctionConfig of the register payload."""
        o = self.opts
        fid = self.composite_id(app_id)
        triggers = [t.to_wire() for t in o.triggers]
        if self._failure_of is not None:
            triggers = [{
                "event": InternalEvent.FUNCTION_FAILED,
                "expression": f"event.data.function_id == '{app_id}-{self._failure_of}'",
            }]
        retries = Limit.DEFAULT_RETRIES if o.retries is None else o.retries
        cfg: dict[str, Any] = {
            "id": fid,
            "name": o.name or o.fn_id,
            "triggers": triggers,
            "steps": {
                DISCOVERY_STEP_ID: {
                    "id": DISCOVERY_STEP_ID,
                    "name": DISCOVERY_STEP_ID,
                    "runtime": {"type": "http", "url": step_url(app_url, fid)},
                    "retries": {"attempts": retries},
                }
            },
        }
        if o.concurrency:
            cfg["concurrency"] = [c.to_wire() for c in o.concurrency]
        optional: dict[str, Any] = {
            "throttle": o.throttle,
            "rateLimit": o.rate_limit,
            "debounce": o.debounce,
            "batchEvents": o.batch_events,
            "priority": o.priority,
            "singleton": o.singleton,
            "timeouts": o.timeouts,
        }
        for key, value in optional.items():
            if value is not None:
                cfg[key] = value.to_wire()
        if o.cancel:
            cfg["cancel"] = [c.to_wire() for c in o.cancel]
        if o.idempotency:
            cfg["idempotency"] = o.idempotency
        if o.checkpoint is not None:
            cfg["checkpoint"] = o.checkpoint.to_wire()
        return cfg


def _typed_handler(fn: Function[Any], handler: Handler, is_async: bool) -> Handler:
    if is_async:
        async def typed_async(ctx: Any) -> Any:
            fn.type_events(ctx)
            return await handler(ctx)

        return typed_async

    def typed(ctx: Any) -> Any:
        fn.type_events(ctx)
        return handler(ctx)

    return typed


def slugify(name: str) -> str:
    """The ID the official SDKs derived from a function's name before IDs were required (the
    TypeScript SDK's ``slugify``): lower case, every run of other characters than ``a-z``, ``0-9``
    made one ``-``, none at either end. ``fn_id=slugify("Send Welcome Email")`` keeps the ID of
    functions that were created with a name only, so their runs and history carry on."""
    import re

    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def step_url(app_url: str, composite_id: str) -> str:
    parts = urlsplit(app_url)
    query = urlencode({Query.FN_ID: composite_id, Query.STEP_ID: DISCOVERY_STEP_ID})
    merged = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit((parts.scheme, parts.netloc, parts.path, merged, ""))
