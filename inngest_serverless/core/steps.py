"""The step API users call: ``ctx.step.run``, ``sleep``, ``wait_for_event``, ``invoke`` ...

Every decision lives in :class:`~.replay.Engine`. :class:`StepSync` is the API for
``def`` functions; :class:`Step` gives ``async def`` functions the same
calls as awaitables, delegating to the same code (the official SDK's names and meaning).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from . import serialize
from .coroutines import is_awaitable
from .deadline import Overrun, call_sync
from .durations import format_duration
from .errors import ConfigError
from .replay import IN_BODY, MISSING, BranchDone, Engine, Pending, is_user_failure
from .wire import Opcode, ParallelMode, StepType

if TYPE_CHECKING:
    import datetime

    from typing_extensions import TypeVar as TypeVarWithDefault
    from typing_extensions import TypeVarTuple, Unpack

    from .durations import Duration
    from .event import D, Event
    from .interfaces import Invocable, StepClient

    R = TypeVarWithDefault("R", default=Any)  # invoke_by_id's output_type when given, else Any (PEP 696)
    # step.run's handler arguments: a TypeVarTuple, as the official SDK types them. A ParamSpec
    # would also type keyword arguments, but the method would then take **kwargs, an empty dict
    # built on every call: about 4% of a call replaying 1,000 steps (docs/benchmarks.md).
    Ts = TypeVarTuple("Ts")
    # Names for annotations only (the overloads of run and parallel exist for type checkers alone,
    # so that none of this typing costs start-up time).
    T = TypeVar("T")
    U = TypeVar("U")
    T1 = TypeVar("T1")  # T1 to T6: parallel() of a tuple of up to six callables keeps each result's type
    T2 = TypeVar("T2")
    T3 = TypeVar("T3")
    T4 = TypeVar("T4")
    T5 = TypeVar("T5")
    T6 = TypeVar("T6")
    _Fn = Callable[[], T]
    _AFn = Callable[[], Awaitable[T]]
    _Wait = Literal[ParallelMode.WAIT]

_YEAR_MS = 366 * 86_400_000


def _event_from_memo(memo: Any, event_type: Any) -> Event[Any] | None:
    from .event import Event

    if memo is None:
        return None
    if isinstance(memo, dict) and memo.keys() == {"data"} and isinstance(memo["data"], dict) and "name" in memo["data"]:
        memo = memo["data"]  # tolerate a wrapped event
    if not isinstance(memo, dict):
        return None
    event = Event.from_wire(memo)
    if event_type is None:
        return event
    from .typed_data import typed_event

    return typed_event(event, event_type)


def _typed_result(value: Any, output_type: Any, step_id: str) -> Any:
    """An invoked function's result as its declared dataclass or model (core/typed_data.py)."""
    if output_type is None or value is None:
        return value
    from .typed_data import convert

    return convert(value, output_type, f"the result of invoke({step_id!r})")


def _timeout(value: Duration | datetime.datetime | None, what: str) -> str | None:
    import datetime  # steps that take a time only: a cold start's first step rarely does

    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return _rfc3339(value)
    return format_duration(value, what, maximum_ms=_YEAR_MS)


def _rfc3339(value: datetime.datetime) -> str:
    import datetime

    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


class StepSync:
    """Steps for ``def`` functions: each call returns the step's result."""

    def __init__(self, engine: Engine, client: StepClient) -> None:
        self._engine = engine
        self._first = engine.first  # run()'s fast path, which skips Engine.lookup (see ObservedStepSync)
        self._client = client
        self._last_handler: Any = None  # the last step.run handler whose output type was resolved
        self._last_type: Any = None

    # -- steps whose body runs in the app -------------------------------------------

    def _begin_run(self, step_id: str, handler: Callable[..., Any], output_type: Any) -> tuple[Any, Pending | None]:
        """A memoized step's value (and None), or (None and) the Pending of a step to run now."""
        _require_callable(step_id, handler)
        memo, hashed, index = self._engine.lookup(step_id)
        if memo is not MISSING:
            return self._replayed(memo, step_id, hashed, index, handler, output_type), None
        return None, self._new_run(step_id, hashed, index)

    def _replayed(self, memo: Any, step_id: str, hashed: str, index: int, handler: Callable[..., Any],
                  output_type: Any) -> Any:
        """The value of a memoized step.run: the hot path, once per earlier step on every call."""
        if type(memo) is dict and len(memo) == 1 and "data" in memo:  # the usual {"data": x}
            value = memo["data"]
        else:
            value = self._engine.unwrap(memo, Pending(hashed, step_id, index))
        if output_type is not None:
            return self._load(value, output_type, handler)
        if handler is self._last_handler:  # a loop calling the same function: its type is known
            output_type = self._last_type
        else:
            output_type = self._last_type = serialize.output_type_of(handler)
            self._last_handler = handler
        return value if output_type is None else serialize.load(value, output_type)

    def _load(self, data: Any, output_type: Any, handler: Callable[..., Any]) -> Any:
        """A step.run's JSON value as the code gets it: through the client's serializer when an
        ``output_type`` is given and the client has one (core/serializer.py), else as
        ``output_type`` or the handler's return annotation names (core/serialize.py)."""
        if output_type is None:
            return serialize.load(data, serialize.output_type_of(handler))
        serializer = self._client.serializer
        return serialize.load(data, output_type) if serializer is None else serializer.deserialize(data, output_type)

    def _dumped(self, result: Any, output_type: Any) -> Any:
        """A new step output on its way out: the client's serializer's JSON of it, when an
        ``output_type`` is given and the client has a serializer (its failure fails the step)."""
        serializer = self._client.serializer
        return result if output_type is None or serializer is None else serializer.serialize(result, output_type)

    def _new_run(self, step_id: str, hashed: str, index: int) -> Pending:
        """A step.run without state: report it, or return its Pending when it must run now."""
        pending = Pending(hashed, step_id, index)
        self._engine.new_work(pending, pending.base_op(Opcode.STEP_RUN), runnable=True)
        return pending

    def _finish_run(self, pending: Pending, step_type: str, result: Any, exc: BaseException | None) -> Any:
        """Report the step (ending the call), or, when checkpointing, return its JSON value."""
        if exc is not None:
            self._engine.failed(pending, exc)
        return self._engine.ran(pending, result, step_type=step_type)

    # Typed so that mypy checks the arguments against the handler's parameters and gives the
    # handler's return type; with ``output_type`` the result is that type instead.
    if TYPE_CHECKING:  # the typed signatures; nothing of them runs
        @overload
        def run(self, step_id: str, handler: Callable[[Unpack[Ts]], object], *handler_args: Unpack[Ts],
                output_type: type[U]) -> U: ...
        @overload
        def run(self, step_id: str, handler: Callable[[Unpack[Ts]], T], *handler_args: Unpack[Ts],
                output_type: None = None) -> T: ...
    def run(
        self,
        step_id: str,
        handler: Callable[[Unpack[Ts]], Any],
        *handler_args: Unpack[Ts],
        output_type: Any = None,
    ) -> Any:
        """Run ``handler(*handler_args)`` once; later calls return its memoized result (a
        dataclass or pydantic model again when the handler's return annotation, or
        ``output_type``, names one)."""
        # The replay hot path, once per earlier step on every call: a step met for the first time
        # whose hashed ID this process knows (Engine.first), returning the usual {"data": x} of a
        # loop calling one handler, costs a pop and a few checks.
        try:
            memo = self._first.pop(step_id, MISSING)
        except TypeError:  # an unhashable step ID: lookup() below refuses it
            memo = MISSING
        if memo is not MISSING:
            if output_type is None and handler is self._last_handler and type(memo) is dict and len(memo) == 1:
                value = memo.get("data", MISSING)
                if value is not MISSING:
                    tp = self._last_type
                    return value if tp is None else serialize.load(value, tp)
            if not callable(handler):
                _require_callable(step_id, handler)
            hashed = self._engine.hashed_id(step_id)
            return self._replayed(memo, step_id, hashed, 0, handler, output_type)
        if not callable(handler):
            _require_callable(step_id, handler)
        memo, hashed, index = self._engine.lookup(step_id)
        if memo is not MISSING:
            return self._replayed(memo, step_id, hashed, index, handler, output_type)
        pending = self._new_run(step_id, hashed, index)
        return self._execute(pending, handler, handler_args, output_type, StepType.RUN)

    def _run(self, step_id: str, handler: Callable[..., Any], args: Sequence[Any], output_type: Any, kind: str) -> Any:
        value, pending = self._begin_run(step_id, handler, output_type)
        if pending is None:
            return value
        return self._execute(pending, handler, args, output_type, kind)

    def _execute(self, pending: Pending, handler: Callable[..., Any], args: Sequence[Any], output_type: Any,
                 kind: str) -> Any:
        """Run a step body that has no memoized state (the call then ends, unless checkpointing)."""
        deadline = self._engine.deadline
        if self._engine.middleware is not None:
            self._engine.middleware.before_execution_sync()
        token = IN_BODY.set((self._engine, pending.user_id))
        try:
            result = call_sync(handler, args) if deadline is None else deadline.run_body(pending.user_id, handler, args)
            result = self._dumped(result, output_type)
        except Overrun as overrun:
            self._engine.overran(pending, overrun.error)
        except BaseException as exc:  # SystemExit too; not KeyboardInterrupt or the engine's own (is_user_failure)
            if not is_user_failure(exc):
                raise
            self._finish_run(pending, kind, None, exc)
        finally:
            IN_BODY.reset(token)
        data = self._finish_run(pending, kind, result, None)  # returns only when checkpointing
        return self._load(data, output_type, handler)

    def send_event(self, step_id: str, events: Any) -> list[str]:
        """Send one event or a list of events, once; returns their IDs."""
        return self._run(step_id, self._client.send_sync, (events,), None, StepType.SEND_EVENT)  # type: ignore[no-any-return]

    # -- steps the server carries out ----------------------------------------------------

    def _report(self, step_id: str, op: Opcode, opts: dict[str, Any]) -> tuple[Any, Pending]:
        memo, pending = self._engine.memo(step_id)
        if memo is MISSING:
            body = pending.base_op(op)
            body["opts"] = {k: v for k, v in opts.items() if v is not None}
            self._engine.new_work(pending, body, runnable=False)
        return memo, pending

    def sleep(self, step_id: str, duration: Duration) -> None:
        """Pause the run for ``duration`` (a timedelta, or milliseconds)."""
        self._report(step_id, Opcode.SLEEP, {"duration": format_duration(duration, "sleep duration", maximum_ms=_YEAR_MS)})

    def sleep_until(self, step_id: str, until: datetime.datetime) -> None:
        """Pause the run until ``until`` (naive datetimes are UTC)."""
        import datetime

        if not isinstance(until, datetime.datetime):
            raise ConfigError("sleep_until needs a datetime")
        self._report(step_id, Opcode.SLEEP, {"duration": _rfc3339(until)})

    def wait_for_event(
        self,
        step_id: str,
        *,
        event: str,
        timeout: Duration | datetime.datetime,
        if_exp: str | None = None,
        event_type: type[D] | None = None,
    ) -> Event[D] | None:
        """Wait for an event named ``event`` (matching ``if_exp``); ``None`` on timeout.
        ``event_type``: a dataclass or pydantic model its data is validated into (a NonRetriableError
        naming the field when it does not fit)."""
        if event_type is not None:
            from .typed_data import check_model

            check_model(event_type, f"wait_for_event({step_id!r}) event_type")
        memo, _ = self._report(
            step_id,
            Opcode.WAIT_FOR_EVENT,
            {"event": event, "timeout": _timeout(timeout, "wait_for_event timeout"), "if": if_exp},
        )
        return _event_from_memo(memo, event_type)

    def wait_for_signal(
        self,
        step_id: str,
        *,
        signal: str,
        timeout: Duration | datetime.datetime,
        conflict: Literal["fail", "replace"] = "fail",
    ) -> Any:
        """Wait for ``signal``; returns ``{"signal", "data"}`` or ``None`` on timeout."""
        memo, pending = self._report(
            step_id,
            Opcode.WAIT_FOR_SIGNAL,
            {"signal": signal, "timeout": _timeout(timeout, "wait_for_signal timeout"), "conflict": conflict},
        )
        return self._engine.unwrap(memo, pending)

    def invoke(
        self,
        step_id: str,
        *,
        function: Invocable[T],
        data: Any = None,
        user: Any = None,
        timeout: Duration | None = None,
        v: str | None = None,
    ) -> T:
        """Run another function of this app and return its result (as the function's
        ``output_type``, or the dataclass or model its handler is annotated to return; with a
        client serializer and an ``output_type``, what the serializer makes of it). ``v``
        becomes the version (``event.v``) of the event that starts it."""
        serializer, declared = self._client.serializer, function.output_type
        if serializer is not None and declared is not None:
            value = self.invoke_by_id(step_id, function_id=function.composite_id(self._client.app_id), data=data,
                                      user=user, timeout=timeout, v=v, _composite=True)
            return serializer.deserialize(value, declared)  # type: ignore[return-value]
        return self.invoke_by_id(step_id, function_id=function.composite_id(self._client.app_id), data=data,  # type: ignore[no-any-return]
                                 user=user, timeout=timeout, v=v, output_type=function.output_model(), _composite=True)

    def invoke_by_id(
        self,
        step_id: str,
        *,
        function_id: str,
        app_id: str | None = None,
        data: Any = None,
        user: Any = None,
        timeout: Duration | None = None,
        v: str | None = None,
        output_type: type[R] | None = None,
        _composite: bool = False,
    ) -> R:
        """Run a function by its ID (of this app unless ``app_id`` is given) and return its result
        (validated into ``output_type`` when that is a dataclass or pydantic model)."""
        target = function_id if _composite else f"{app_id or self._client.app_id}-{function_id}"
        try:
            payload: dict[str, Any] = {"data": serialize.to_json_value(data if data is not None else {})}
            if user is not None:
                payload["user"] = serialize.to_json_value(user)
            if v is not None:
                payload["v"] = str(v)
        except (TypeError, ValueError, RecursionError) as exc:
            raise ConfigError(f"step.invoke({step_id!r}): data and user must be JSON: {serialize.json_error(exc)}") from None
        memo, pending = self._report(
            step_id,
            Opcode.INVOKE_FUNCTION,
            {"function_id": target, "payload": payload, "timeout": _timeout(timeout, "invoke timeout")},
        )
        return _typed_result(self._engine.unwrap(memo, pending), output_type, step_id)  # type: ignore[no-any-return]

    def fetch(
        self,
        step_id: str,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: str | bytes | None = None,
    ) -> Any:
        """An HTTP request made by the server, durably: ``{status_code, headers, body, url}``."""
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        memo, pending = self._report(
            step_id, Opcode.GATEWAY, {"url": url, "method": method.upper(), "headers": headers, "body": text}
        )
        return self._engine.unwrap(memo, pending)

    @property
    def ai(self) -> AISync:
        """``ctx.step.ai.infer(...)`` and ``ctx.step.ai.wrap(...)``."""
        return AISync(self)

    # -- groups ---------------------------------------------------------------------------

    # Typed per branch for a tuple of up to six callables, else as a homogeneous tuple; in RACE
    # mode (or a mode not known before the call) a branch that did not finish gives None.
    if TYPE_CHECKING:  # the typed signatures; nothing of them runs
        @overload
        def parallel(self, callables: tuple[_Fn[T1]], parallel_mode: _Wait = ...) -> tuple[T1]: ...
        @overload
        def parallel(self, callables: tuple[_Fn[T1], _Fn[T2]], parallel_mode: _Wait = ...) -> tuple[T1, T2]: ...
        @overload
        def parallel(self, callables: tuple[_Fn[T1], _Fn[T2], _Fn[T3]], parallel_mode: _Wait = ...) -> tuple[T1, T2, T3]: ...
        @overload
        def parallel(self, callables: tuple[_Fn[T1], _Fn[T2], _Fn[T3], _Fn[T4]],
                     parallel_mode: _Wait = ...) -> tuple[T1, T2, T3, T4]: ...
        @overload
        def parallel(self, callables: tuple[_Fn[T1], _Fn[T2], _Fn[T3], _Fn[T4], _Fn[T5]],
                     parallel_mode: _Wait = ...) -> tuple[T1, T2, T3, T4, T5]: ...
        @overload
        def parallel(self, callables: tuple[_Fn[T1], _Fn[T2], _Fn[T3], _Fn[T4], _Fn[T5], _Fn[T6]],
                     parallel_mode: _Wait = ...) -> tuple[T1, T2, T3, T4, T5, T6]: ...
        @overload
        def parallel(self, callables: tuple[_Fn[T1]], parallel_mode: ParallelMode) -> tuple[T1 | None]: ...
        @overload
        def parallel(self, callables: tuple[_Fn[T1], _Fn[T2]], parallel_mode: ParallelMode) -> tuple[T1 | None, T2 | None]: ...
        @overload
        def parallel(self, callables: tuple[_Fn[T1], _Fn[T2], _Fn[T3]],
                     parallel_mode: ParallelMode) -> tuple[T1 | None, T2 | None, T3 | None]: ...
        @overload
        def parallel(self, callables: tuple[_Fn[T1], _Fn[T2], _Fn[T3], _Fn[T4]],
                     parallel_mode: ParallelMode) -> tuple[T1 | None, T2 | None, T3 | None, T4 | None]: ...
        @overload
        def parallel(self, callables: tuple[_Fn[T1], _Fn[T2], _Fn[T3], _Fn[T4], _Fn[T5]],
                     parallel_mode: ParallelMode) -> tuple[T1 | None, T2 | None, T3 | None, T4 | None, T5 | None]: ...
        @overload
        def parallel(self, callables: tuple[_Fn[T1], _Fn[T2], _Fn[T3], _Fn[T4], _Fn[T5], _Fn[T6]],
                     parallel_mode: ParallelMode) -> tuple[T1 | None, T2 | None, T3 | None, T4 | None, T5 | None, T6 | None]: ...
        @overload
        def parallel(self, callables: Sequence[_Fn[T]], parallel_mode: _Wait = ...) -> tuple[T, ...]: ...
        @overload
        def parallel(self, callables: Sequence[_Fn[T]], parallel_mode: ParallelMode) -> tuple[T | None, ...]: ...
    def parallel(self, callables: Sequence[Callable[[], Any]],
                 parallel_mode: ParallelMode = ParallelMode.WAIT) -> tuple[Any, ...]:
        """Run each callable's steps in parallel; returns their results in order.

        ``ParallelMode.RACE``: the server calls again as each step ends, and the group returns as
        soon as one branch has finished (first finished wins): the finished branches' results,
        None for the others, whose later steps are not scheduled."""
        branches = _branches(callables)
        engine = self._engine
        outer = engine.begin_parallel()
        mark = len(outer) if outer is not None else 0
        results: list[Any] = []
        pending = finished = False
        enclosing = engine.branch_stopped
        for fn in branches:
            engine.branch_stopped = False
            try:
                value = fn()
            except BranchDone:
                value = None
            # Ended even if the branch caught its _BranchDone and returned (Engine.branch_done).
            pending = pending or engine.branch_stopped
            finished = finished or not engine.branch_stopped
            results.append(None if engine.branch_stopped else value)
        engine.branch_stopped = enclosing
        engine.end_parallel(outer, pending, race=_is_race(parallel_mode), finished=finished, mark=mark)
        return tuple(results)


class ObservedStepSync(StepSync):
    """StepSync for a call with middleware: ``run`` tells the engine after each step, whose fast
    path skips Engine.lookup, so that before_execution fires right after the last memoized step
    (Engine.memos_met). A call without middleware keeps StepSync's ``run`` as it is."""

    def run(self, step_id: str, handler: Callable[..., Any], *handler_args: Any,  # type: ignore[override]
            output_type: Any = None) -> Any:
        if output_type is None:  # no keyword: no dict built per step
            value = StepSync.run(self, step_id, handler, *handler_args)
        else:
            value = StepSync.run(self, step_id, handler, *handler_args, output_type=output_type)
        if not self._first:  # while Engine.first holds memos, some are still ahead: no need to ask
            self._engine.memos_met()
        return value


class Step:
    """Steps for ``async def`` functions: the same calls as :class:`StepSync`, awaited."""

    def __init__(self, engine: Engine, client: StepClient) -> None:
        self._sync = StepSync(engine, client)
        self._engine = engine

    # As StepSync.run; an ``async def`` handler's result is awaited, a ``def`` handler runs as it is.
    if TYPE_CHECKING:  # the typed signatures; nothing of them runs
        @overload
        async def run(self, step_id: str, handler: Callable[[Unpack[Ts]], object], *handler_args: Unpack[Ts],
                      output_type: type[U]) -> U: ...
        @overload
        async def run(self, step_id: str, handler: Callable[[Unpack[Ts]], Awaitable[T]], *handler_args: Unpack[Ts],
                      output_type: None = None) -> T: ...
        @overload
        async def run(self, step_id: str, handler: Callable[[Unpack[Ts]], T], *handler_args: Unpack[Ts],
                      output_type: None = None) -> T: ...
    async def run(
        self,
        step_id: str,
        handler: Callable[[Unpack[Ts]], Any],
        *handler_args: Unpack[Ts],
        output_type: Any = None,
    ) -> Any:
        return await self._run(step_id, handler, handler_args, output_type, StepType.RUN)

    async def _run(self, step_id: str, handler: Callable[..., Any], args: Sequence[Any], output_type: Any, kind: str) -> Any:
        value, pending = self._sync._begin_run(step_id, handler, output_type)
        if pending is None:
            if self._engine.middleware is not None:  # the last memoized step met: before_execution (Chain.memos_met)
                await self._engine.middleware.memos_met_async()
            return value
        deadline = self._engine.deadline
        if self._engine.middleware is not None:
            await self._engine.middleware.before_execution_async()
        token = IN_BODY.set((self._engine, pending.user_id))
        try:
            if deadline is not None:
                result = await deadline.run_body_async(pending.user_id, handler, args)
            else:
                result = handler(*args)
                if is_awaitable(result):
                    result = await result
            result = self._sync._dumped(result, output_type)
        except Overrun as overrun:
            self._engine.overran(pending, overrun.error)
        except BaseException as exc:  # as in StepSync._execute
            if not is_user_failure(exc):
                raise
            self._sync._finish_run(pending, kind, None, exc)
        finally:
            IN_BODY.reset(token)
        data = self._sync._finish_run(pending, kind, result, None)  # returns only when checkpointing
        return self._sync._load(data, output_type, handler)

    async def send_event(self, step_id: str, events: Any) -> list[str]:
        return await self._run(step_id, self._sync._client.send, (events,), None, StepType.SEND_EVENT)  # type: ignore[no-any-return]

    async def sleep(self, step_id: str, duration: Duration) -> None:
        self._sync.sleep(step_id, duration)
        if self._engine.middleware is not None:  # the last memoized step met: before_execution (Chain.memos_met)
            await self._engine.middleware.memos_met_async()

    async def sleep_until(self, step_id: str, until: datetime.datetime) -> None:
        self._sync.sleep_until(step_id, until)
        if self._engine.middleware is not None:  # the last memoized step met: before_execution (Chain.memos_met)
            await self._engine.middleware.memos_met_async()

    async def wait_for_event(self, step_id: str, *, event: str, timeout: Duration | datetime.datetime,
                             if_exp: str | None = None, event_type: type[D] | None = None) -> Event[D] | None:
        event_ = self._sync.wait_for_event(step_id, event=event, timeout=timeout, if_exp=if_exp, event_type=event_type)
        if self._engine.middleware is not None:  # the last memoized step met: before_execution (Chain.memos_met)
            await self._engine.middleware.memos_met_async()
        return event_

    async def wait_for_signal(self, step_id: str, *, signal: str, timeout: Duration | datetime.datetime,
                              conflict: Literal["fail", "replace"] = "fail") -> Any:
        value = self._sync.wait_for_signal(step_id, signal=signal, timeout=timeout, conflict=conflict)
        if self._engine.middleware is not None:  # the last memoized step met: before_execution (Chain.memos_met)
            await self._engine.middleware.memos_met_async()
        return value

    async def invoke(self, step_id: str, *, function: Invocable[T], data: Any = None, user: Any = None,
                     timeout: Duration | None = None, v: str | None = None) -> T:
        value = self._sync.invoke(step_id, function=function, data=data, user=user, timeout=timeout, v=v)
        if self._engine.middleware is not None:  # the last memoized step met: before_execution (Chain.memos_met)
            await self._engine.middleware.memos_met_async()
        return value

    async def invoke_by_id(self, step_id: str, *, function_id: str, app_id: str | None = None, data: Any = None,
                           user: Any = None, timeout: Duration | None = None, v: str | None = None,
                           output_type: type[R] | None = None) -> R:
        value = self._sync.invoke_by_id(step_id, function_id=function_id, app_id=app_id, data=data, user=user,
                                        timeout=timeout, v=v, output_type=output_type)
        if self._engine.middleware is not None:  # the last memoized step met: before_execution (Chain.memos_met)
            await self._engine.middleware.memos_met_async()
        return value

    async def fetch(self, step_id: str, url: str, *, method: str = "GET", headers: dict[str, str] | None = None,
                    body: str | bytes | None = None) -> Any:
        value = self._sync.fetch(step_id, url, method=method, headers=headers, body=body)
        if self._engine.middleware is not None:  # the last memoized step met: before_execution (Chain.memos_met)
            await self._engine.middleware.memos_met_async()
        return value

    @property
    def ai(self) -> AI:
        return AI(self)

    # As StepSync.parallel.
    if TYPE_CHECKING:  # the typed signatures; nothing of them runs
        @overload
        async def parallel(self, callables: tuple[_AFn[T1]], parallel_mode: _Wait = ...) -> tuple[T1]: ...
        @overload
        async def parallel(self, callables: tuple[_AFn[T1], _AFn[T2]], parallel_mode: _Wait = ...) -> tuple[T1, T2]: ...
        @overload
        async def parallel(self, callables: tuple[_AFn[T1], _AFn[T2], _AFn[T3]],
                           parallel_mode: _Wait = ...) -> tuple[T1, T2, T3]: ...
        @overload
        async def parallel(self, callables: tuple[_AFn[T1], _AFn[T2], _AFn[T3], _AFn[T4]],
                           parallel_mode: _Wait = ...) -> tuple[T1, T2, T3, T4]: ...
        @overload
        async def parallel(self, callables: tuple[_AFn[T1], _AFn[T2], _AFn[T3], _AFn[T4], _AFn[T5]],
                           parallel_mode: _Wait = ...) -> tuple[T1, T2, T3, T4, T5]: ...
        @overload
        async def parallel(self, callables: tuple[_AFn[T1], _AFn[T2], _AFn[T3], _AFn[T4], _AFn[T5], _AFn[T6]],
                           parallel_mode: _Wait = ...) -> tuple[T1, T2, T3, T4, T5, T6]: ...
        @overload
        async def parallel(self, callables: tuple[_AFn[T1]], parallel_mode: ParallelMode) -> tuple[T1 | None]: ...
        @overload
        async def parallel(self, callables: tuple[_AFn[T1], _AFn[T2]],
                           parallel_mode: ParallelMode) -> tuple[T1 | None, T2 | None]: ...
        @overload
        async def parallel(self, callables: tuple[_AFn[T1], _AFn[T2], _AFn[T3]],
                           parallel_mode: ParallelMode) -> tuple[T1 | None, T2 | None, T3 | None]: ...
        @overload
        async def parallel(self, callables: tuple[_AFn[T1], _AFn[T2], _AFn[T3], _AFn[T4]],
                           parallel_mode: ParallelMode) -> tuple[T1 | None, T2 | None, T3 | None, T4 | None]: ...
        @overload
        async def parallel(self, callables: tuple[_AFn[T1], _AFn[T2], _AFn[T3], _AFn[T4], _AFn[T5]],
                           parallel_mode: ParallelMode) -> tuple[T1 | None, T2 | None, T3 | None, T4 | None, T5 | None]: ...
        @overload
        async def parallel(self, callables: tuple[_AFn[T1], _AFn[T2], _AFn[T3], _AFn[T4], _AFn[T5], _AFn[T6]],
                           parallel_mode: ParallelMode,
                           ) -> tuple[T1 | None, T2 | None, T3 | None, T4 | None, T5 | None, T6 | None]: ...
        @overload
        async def parallel(self, callables: Sequence[_AFn[T]], parallel_mode: _Wait = ...) -> tuple[T, ...]: ...
        @overload
        async def parallel(self, callables: Sequence[_AFn[T]], parallel_mode: ParallelMode) -> tuple[T | None, ...]: ...
    async def parallel(self, callables: Sequence[Callable[[], Awaitable[Any]]],
                       parallel_mode: ParallelMode = ParallelMode.WAIT) -> tuple[Any, ...]:
        branches = _branches(callables)
        engine = self._engine
        outer = engine.begin_parallel()
        mark = len(outer) if outer is not None else 0
        results: list[Any] = []
        pending = finished = False
        enclosing = engine.branch_stopped
        for fn in branches:
            engine.branch_stopped = False
            try:
                value = await fn()
            except BranchDone:
                value = None
            pending = pending or engine.branch_stopped  # as in StepSync.parallel
            finished = finished or not engine.branch_stopped
            results.append(None if engine.branch_stopped else value)
        engine.branch_stopped = enclosing
        engine.end_parallel(outer, pending, race=_is_race(parallel_mode), finished=finished, mark=mark)
        return tuple(results)


class AISync:
    """Model calls as steps: ``infer`` has the server make the request (the function costs no
    compute while the model answers); ``wrap`` runs your own client call as a step."""

    def __init__(self, step: StepSync) -> None:
        self._step = step

    def infer(self, step_id: str, *, adapter: Any, body: dict[str, Any]) -> Any:
        """Send ``body`` to the model ``adapter`` names (inngest_serverless.ai, or the official
        SDK's adapters) through the server's AI gateway; returns the provider's JSON reply."""
        memo, pending = self._step._report(step_id, Opcode.AI_GATEWAY, _infer_opts(adapter, body))
        return self._step._engine.unwrap(memo, pending)

    def wrap(self, step_id: str, handler: Callable[[Unpack[Ts]], T], *handler_args: Unpack[Ts]) -> T:
        """Run ``handler(*handler_args)`` (an SDK call to a model) once, as a step the server
        shows as an AI call; later calls return its memoized result."""
        return self._step._run(step_id, handler, handler_args, None, StepType.AI_WRAP)  # type: ignore[no-any-return]


class AI:
    def __init__(self, step: Step) -> None:
        self._step = step

    async def infer(self, step_id: str, *, adapter: Any, body: dict[str, Any]) -> Any:
        value = AISync(self._step._sync).infer(step_id, adapter=adapter, body=body)
        if self._step._engine.middleware is not None:  # the last memoized step met: before_execution (Chain.memos_met)
            await self._step._engine.middleware.memos_met_async()
        return value

    if TYPE_CHECKING:  # the typed signatures; nothing of them runs
        @overload
        async def wrap(self, step_id: str, handler: Callable[[Unpack[Ts]], Awaitable[T]], *handler_args: Unpack[Ts]) -> T: ...
        @overload
        async def wrap(self, step_id: str, handler: Callable[[Unpack[Ts]], T], *handler_args: Unpack[Ts]) -> T: ...
    async def wrap(self, step_id: str, handler: Callable[[Unpack[Ts]], Any], *handler_args: Unpack[Ts]) -> Any:
        return await self._step._run(step_id, handler, handler_args, None, StepType.AI_WRAP)


def _infer_opts(adapter: Any, body: Any) -> dict[str, Any]:
    """The AIGateway op's opts, as the server reads them, from an adapter of the official shape
    (``auth_key()``, ``format()``, ``headers()``, ``on_call(body)``, ``url_infer()``)."""
    if not isinstance(body, dict):
        raise ConfigError("step.ai.infer(body=...) must be a dict: the provider's request body")
    for name in ("auth_key", "format", "headers", "on_call", "url_infer"):
        if not callable(getattr(adapter, name, None)):
            raise ConfigError(f"step.ai.infer(adapter=...) needs an adapter with {name}(), e.g. inngest_serverless.ai.OpenAI")
    body = dict(body)
    adapter.on_call(body)
    try:
        body = serialize.to_json_value(body)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ConfigError(f"step.ai.infer: body must be JSON: {serialize.json_error(exc)}") from None
    return {"type": StepType.AI_INFER, "url": adapter.url_infer(), "headers": dict(adapter.headers()),
            "auth_key": adapter.auth_key(), "format": adapter.format(), "body": body}


def _branches(callables: Any) -> tuple[Callable[[], Any], ...]:
    """parallel()'s argument as a tuple of callables, or a ConfigError (before any branch runs)."""
    try:
        branches = tuple(callables)
    except TypeError:
        raise ConfigError(f"parallel() takes a sequence of callables, not {type(callables).__name__}") from None
    for i, fn in enumerate(branches):
        if not callable(fn):
            raise ConfigError(f"parallel(): item {i} ({type(fn).__name__}) is not callable; pass functions, "
                              "e.g. lambda: ctx.step.run(...)")
    return branches


def _is_race(mode: Any) -> bool:
    if mode is ParallelMode.RACE or mode is ParallelMode.WAIT:
        return mode is ParallelMode.RACE
    try:
        return ParallelMode(getattr(mode, "value", mode)) is ParallelMode.RACE  # the official SDK's enum too
    except ValueError:
        raise ConfigError(f"parallel_mode must be ParallelMode.WAIT or ParallelMode.RACE, not {mode!r}") from None


def _require_callable(step_id: str, handler: Any) -> None:
    if not callable(handler):
        raise ConfigError(f"step.run({step_id!r}, handler): handler must be callable")

