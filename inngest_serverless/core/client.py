"""The ``Inngest`` client: configuration, function registry, and sending events."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

from . import config as config_lib
from .errors import ConfigError
from .function import Function, FunctionOptions
from .triggers import Trigger

if TYPE_CHECKING:
    import datetime

    import httpx

    from .checkpoint import Checkpoint
    from .context import Logger
    from .event import D, Event
    from .flow_control import Batch, Cancel, Concurrency, Debounce, Priority, RateLimit, Singleton, Throttle, Timeouts
    from .function import FunctionDecorator, TypedFunctionDecorator
    from .interfaces import MiddlewareBase
    from .serializer import Serializer

    O = TypeVar("O")  # noqa: E741  # output_type's class
    # What middleware= takes: classes of core/middleware.py (or factories), made with (client,
    # raw_request) for each call. Named here, as the client's, so that middleware.py may name the
    # client while the client names it no class of middleware.py (core/interfaces.py).
    MiddlewareFactory = Callable[["Inngest", object], MiddlewareBase]

T = TypeVar("T")


class Inngest:
    """One app: ``Inngest(app_id="shop")``. Keys, mode and URLs come from the environment by default."""

    def __init__(
        self,
        app_id: str,
        *,
        signing_key: str | None = None,
        signing_key_fallback: str | None = None,
        event_key: str | None = None,
        env: str | None = None,
        is_production: bool | None = None,
        api_base_url: str | None = None,
        event_api_base_url: str | None = None,
        serve_origin: str | None = None,
        serve_path: str | None = None,
        app_version: str | None = None,
        logger: Logger | None = None,
        streaming: str | None = None,
        checkpoint: Checkpoint | bool | None = None,
        middleware: list[MiddlewareFactory] | None = None,
        max_body_size: int | None = None,
        allow_in_band_sync: bool | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        request_timeout: int | float | datetime.timedelta | None = None,
        serializer: Serializer | None = None,
    ) -> None:
        """``streaming``: ``"auto"`` | ``"force"`` | ``"off"`` (core/streaming.py; default from
        ``INNGEST_STREAMING``, else auto). ``checkpoint``: the default for every function
        (core/checkpoint.py; off unless given). ``logger``: any ``logging.Logger``-like object (an
        AWS Powertools ``Logger`` too), which functions use as ``ctx.logger``, silent during replay.
        ``middleware``: classes of core/middleware.py, before each function's own.
        ``max_body_size``: the largest request body accepted, in bytes (else ``INNGEST_MAX_BODY_BYTES``);
        ``allow_in_band_sync``: answer in-band syncs (else ``INNGEST_ALLOW_IN_BAND_SYNC``, default on);
        ``http_client`` / ``async_http_client``: httpx clients for calls to the Inngest API (proxies,
        timeouts, transports), left open; by default the package's own. ``request_timeout``: the limit
        on each call to the Inngest API (milliseconds or a timedelta, as in the official SDK; default 30 s).
        ``serializer``: converts the outputs of steps and functions that give an ``output_type``, as
        in the official SDK (core/serializer.py: ``PydanticSerializer()``, or your own)."""
        from . import streaming as streaming_lib

        try:
            self.streaming = streaming_lib.parse_mode(streaming)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.checkpoint = _checkpoint(checkpoint)
        try:
            self.config = config_lib.resolve(
                app_id=app_id,
                is_production=is_production,
                signing_key=signing_key,
                signing_key_fallback=signing_key_fallback,
                event_key=event_key,
                env=env,
                api_base_url=api_base_url,
                event_api_base_url=event_api_base_url,
                serve_origin=serve_origin,
                serve_path=serve_path,
                app_version=app_version,
                max_body_bytes=max_body_size,
                allow_in_band_sync=allow_in_band_sync,
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if http_client is not None or async_http_client is not None:
            self.config = self.config.replace(http_client=http_client, async_http_client=async_http_client)
        if request_timeout is not None:
            self.config = self.config.replace(request_timeout=_request_timeout(request_timeout))
        if self.config.log_level is not None:  # what the package logs, whichever handlers take it
            config_lib.package_logger().setLevel(self.config.log_level)
        self.logger: Logger = logger or cast("Logger", config_lib.PackageLogger())
        self.functions: list[Function[Any]] = []
        self.middleware: list[MiddlewareFactory] = [] if middleware is None else _middleware("Inngest()", middleware)
        self.serializer: Serializer | None = None
        if serializer is not None:
            from .serializer import check

            self.serializer = check(serializer)

    def add_middleware(self, middleware: MiddlewareFactory) -> None:
        """Append ``middleware`` to the client's chain (the official SDK's name)."""
        self.middleware = [*self.middleware, *_middleware("add_middleware()", [middleware])]

    def set_logger(self, logger: Logger) -> None:
        """Use ``logger`` for ``ctx.logger`` from now on (the official SDK's name)."""
        self.logger = logger

    @property
    def app_id(self) -> str:
        return self.config.app_id

    @property
    def is_production(self) -> bool:
        return not self.config.is_dev

    # Typed: the Function is generic in what the handler returns (or output_type), which is what
    # step.invoke then returns; with event_type the handler takes a ContextSync[event_type] (or a
    # Context[event_type]), whose ctx.event.data is one.
    if TYPE_CHECKING:  # the typed signatures; nothing of them runs
        @overload
        def create_function(
            self, *, fn_id: str, trigger: Trigger | list[Trigger], name: str | None = None, retries: int | None = None,
            concurrency: list[Concurrency] | Concurrency | None = None, throttle: Throttle | None = None,
            rate_limit: RateLimit | None = None, debounce: Debounce | None = None, batch_events: Batch | None = None,
            priority: Priority | None = None, cancel: list[Cancel] | Cancel | None = None, singleton: Singleton | None = None,
            timeouts: Timeouts | None = None, idempotency: str | None = None, on_failure: Callable[..., Any] | None = None,
            output_type: type[O], event_type: type[D] | None = None, checkpoint: Checkpoint | bool | None = None,
            middleware: list[MiddlewareFactory] | None = None,
        ) -> TypedFunctionDecorator[D, O]: ...
        @overload
        def create_function(
            self, *, fn_id: str, trigger: Trigger | list[Trigger], name: str | None = None, retries: int | None = None,
            concurrency: list[Concurrency] | Concurrency | None = None, throttle: Throttle | None = None,
            rate_limit: RateLimit | None = None, debounce: Debounce | None = None, batch_events: Batch | None = None,
            priority: Priority | None = None, cancel: list[Cancel] | Cancel | None = None, singleton: Singleton | None = None,
            timeouts: Timeouts | None = None, idempotency: str | None = None, on_failure: Callable[..., Any] | None = None,
            output_type: None = None, event_type: type[D] | None = None, checkpoint: Checkpoint | bool | None = None,
            middleware: list[MiddlewareFactory] | None = None,
        ) -> FunctionDecorator[D]: ...
    def create_function(
        self,
        *,
        fn_id: str,
        trigger: Trigger | list[Trigger],
        name: str | None = None,
        retries: int | None = None,
        concurrency: list[Concurrency] | Concurrency | None = None,
        throttle: Throttle | None = None,
        rate_limit: RateLimit | None = None,
        debounce: Debounce | None = None,
        batch_events: Batch | None = None,
        priority: Priority | None = None,
        cancel: list[Cancel] | Cancel | None = None,
        singleton: Singleton | None = None,
        timeouts: Timeouts | None = None,
        idempotency: str | None = None,
        on_failure: Callable[..., Any] | None = None,
        output_type: Any = None,
        event_type: Any = None,
        checkpoint: Checkpoint | bool | None = None,
        middleware: list[MiddlewareFactory] | None = None,
    ) -> Any:
        """Decorate a ``def`` or ``async def`` handler taking a context; options are checked now.

        ``event_type``: a dataclass or pydantic model the event data is validated into before the
        handler runs (``ctx.event.data`` is one; data that does not fit fails the run at once, with
        a NonRetriableError naming the field). ``output_type``: the dataclass or pydantic model
        ``step.invoke`` turns this function's result into (by default, the handler's return
        annotation when it names one)."""
        concurrency_list, cancel_list = concurrency, cancel
        if concurrency is not None or cancel is not None:
            # flow_control is imported only for the functions that use it (the caller built these
            # from it): its nine classes cost every cold start otherwise.
            from .flow_control import Cancel, Concurrency

            concurrency_list = [concurrency] if isinstance(concurrency, Concurrency) else concurrency
            cancel_list = [cancel] if isinstance(cancel, Cancel) else cancel
        opts = FunctionOptions(
            fn_id=fn_id,
            name=name,
            triggers=list(trigger) if isinstance(trigger, list) else [trigger],
            retries=retries,
            concurrency=concurrency_list,  # type: ignore[arg-type]  # a wrong type: validate() names it
            throttle=throttle,
            rate_limit=rate_limit,
            debounce=debounce,
            batch_events=batch_events,
            priority=priority,
            cancel=cancel_list,  # type: ignore[arg-type]
            singleton=singleton,
            timeouts=timeouts,
            idempotency=idempotency,
            output_type=output_type,
            event_type=event_type,
            checkpoint=self.checkpoint if checkpoint is None else _checkpoint(checkpoint),
            middleware=[] if middleware is None else _middleware(f"function {fn_id!r}", middleware),
        )
        opts.validate()

        def decorator(handler: Callable[..., Any]) -> Function[Any]:
            fn: Function[Any] = Function(opts, handler, on_failure)
            if any(f.local_id == fn.local_id for f in self.functions):
                raise ConfigError(f"a function with fn_id {fn_id!r} is already defined on app {self.app_id!r}")
            for each in fn.all():
                each.app_id = self.app_id
            self.functions.append(fn)
            return fn

        return decorator

    def send_sync(self, events: Any, *, skip_middleware: bool = False) -> list[str]:
        """Send one event (a dict with ``name`` and ``data``, or an Event) or a list; returns IDs.
        ``skip_middleware``: without the send hooks (as in the official SDK).

        Blocks; ``await client.send(...)`` is the same from async code."""
        from . import inngest_api

        if not self.middleware or skip_middleware:
            return inngest_api.send_sync(self.config, events)
        from .middleware import Chain, SendEventsResult

        chain = Chain(self, None, self.middleware)
        prepared = _events(events)
        chain.before_send_sync(prepared)
        result = SendEventsResult(ids=[])
        try:
            result.ids = inngest_api.send_sync(self.config, [e.to_wire() for e in prepared])
        except Exception as exc:
            result.error = exc
        chain.after_send_sync(result)
        if result.error is not None:
            raise result.error
        return result.ids

    async def send(self, events: Any, *, skip_middleware: bool = False) -> list[str]:
        """Send one event (a dict with ``name`` and ``data``, or an Event) or a list; returns IDs.
        ``skip_middleware``: without the send hooks (as in the official SDK)."""
        from . import inngest_api

        if not self.middleware or skip_middleware:
            return await inngest_api.send(self.config, events)
        from .middleware import Chain, SendEventsResult

        chain = Chain(self, None, self.middleware)
        prepared = _events(events)
        await chain.before_send_async(prepared)
        result = SendEventsResult(ids=[])
        try:
            result.ids = await inngest_api.send(self.config, [e.to_wire() for e in prepared])
        except Exception as exc:
            result.error = exc
        await chain.after_send_async(result)
        if result.error is not None:
            raise result.error
        return result.ids


def _checkpoint(value: Checkpoint | bool | None) -> Checkpoint | None:
    """core/checkpoint.py's ``coerce``, which is imported only when checkpointing is asked for."""
    if value is None or value is False:  # off: most functions
        return None
    from .checkpoint import coerce

    return coerce(value)


def _request_timeout(value: object) -> float:
    """``request_timeout`` in seconds: milliseconds (a number) or a timedelta, positive and finite."""
    import datetime
    import math

    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000
    else:
        raise ConfigError(f"Inngest(request_timeout=...) must be milliseconds or a timedelta, not {value!r}")
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(f"Inngest(request_timeout=...) must be a positive time, not {value!r}")
    return seconds


def _middleware(where: str, factories: Any) -> list[MiddlewareFactory]:
    from .middleware import check_factories

    return check_factories(where, factories)


def _events(events: Any) -> list[Event]:
    """A send's events as Event objects, for middleware to change in place."""
    from . import inngest_api
    from .event import Event

    return [Event.from_wire(raw) for raw in inngest_api.prepare_events(events)]
