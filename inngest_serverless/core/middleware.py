"""Middleware: hooks around a call, its execution, its output and event sends.

The hook set is the official Python SDK's: ``transform_input``, ``before_execution``,
``after_execution``, ``transform_output``, ``before_response``, ``before_send_events``,
``after_send_events``. A middleware is a class taking ``(client, raw_request)``, made
anew for each call (and each send); subclass :class:`MiddlewareSync` (plain methods) or
:class:`Middleware` (coroutines). The chain is the client's middleware, then the
function's, in the order given; "after" hooks run in reverse order.

Imported only when an app configures middleware: the call path checks two empty lists.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .interfaces import MiddlewareBase
from .wire import Opcode

if TYPE_CHECKING:
    from .client import Inngest, MiddlewareFactory
    from .context import Context, ContextSync
    from .event import Event
    from .function import Function


class _Empty:
    """No output: the call ended with an error, or with an op that carries none (a sleep)."""

    def __repr__(self) -> str:
        return "EMPTY"


EMPTY: Any = _Empty()


class MemoizedError:
    """A memoized step's error (a step that failed for good), as ``Output.error``."""

    __slots__ = ("message", "name", "stack")

    def __init__(self, message: str, name: str, stack: str | None = None) -> None:
        self.message = message
        self.name = name
        self.stack = stack


class Output:
    """One memoized step as transform_input's ``steps`` holds it: its ``data``, or its ``error``.
    Setting either changes what the function gets from the step in this call."""

    __slots__ = ("_raw", "_raw_error", "_wrapped", "data", "error")

    def __init__(self, data: Any = None, error: MemoizedError | None = None) -> None:
        self.data = data
        self.error = error
        self._raw: Any = EMPTY  # the memo as the server sent it, given back when nothing changed
        self._raw_error: Any = None
        self._wrapped = True  # {"data": ...} / {"error": ...}, not a bare value (an event, a sleep's null)

    @classmethod
    def from_raw(cls, raw: Any) -> Output:
        if not (isinstance(raw, dict) and 0 < len(raw) == ("data" in raw) + ("error" in raw)):
            out = cls(raw)  # the engine's rule (Engine.unwrap): a bare value is the step's data
            out._wrapped = False
        else:
            err = raw.get("error")
            out = cls(raw.get("data"))
            if err is not None:
                fields = err if isinstance(err, dict) else {"message": str(err)}
                stack = fields.get("stack")
                out.error = MemoizedError(str(fields.get("message", "")), str(fields.get("name", "Error")),
                                          stack if isinstance(stack, str) else None)
                out._raw_error = err
        out._raw = raw
        return out

    def to_raw(self) -> Any:
        """The memo the engine replays: as sent when unchanged, else rebuilt from ``data``/``error``."""
        raw, err = self._raw, self.error
        if not self._wrapped and err is None:
            return self.data
        if err is None:
            unchanged = isinstance(raw, dict) and raw.get("error") is None and raw.get("data") is self.data
            return raw if unchanged else {"data": self.data}
        if self._raw_error is not None and _same_error(err, self._raw_error):
            return raw
        return {"error": {"name": err.name, "message": err.message, **({"stack": err.stack} if err.stack else {})}}


def _same_error(err: MemoizedError, raw: Any) -> bool:
    fields = raw if isinstance(raw, dict) else {"message": str(raw)}
    return (err.message, err.name) == (str(fields.get("message", "")), str(fields.get("name", "Error")))


class StepMemos:
    """transform_input's ``steps`` (the official SDK's class): the call's memoized steps, each an
    :class:`Output`, by hashed step ID. ``values()`` to read or change them (a decrypting
    middleware sets ``output.data``), ``pop(hashed_id)`` to drop one (the step then runs again),
    ``size`` to count them. Made only for an app with middleware, and its Outputs only when a hook
    asks for them: a middleware that reads ``size`` at most costs a call nothing per step."""

    def __init__(self, memos: dict[str, Output]) -> None:
        self._memos: dict[str, Output] | None = memos
        self._raw: dict[str, Any] = {}

    @property
    def size(self) -> int:
        return len(self._raw) if self._memos is None else len(self._memos)

    def _outputs(self) -> dict[str, Output]:
        if self._memos is None:
            self._memos = {key: Output.from_raw(value) for key, value in self._raw.items()}
        return self._memos

    def values(self) -> Iterator[Output]:
        return iter(self._outputs().values())

    def pop(self, hashed_id: str) -> Output | _Empty:
        """The memo of ``hashed_id``, taken out (or the empty sentinel when there is none)."""
        out: Output | _Empty = self._outputs().pop(hashed_id, EMPTY)
        return out

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> StepMemos:
        memos = cls({})
        memos._memos, memos._raw = None, raw
        return memos

    def to_raw(self) -> dict[str, Any]:
        """The memos as the engine replays them (core/replay.py), with the middleware's changes:
        the very dict it was made from when no hook asked for the Outputs."""
        if self._memos is None:
            return self._raw
        return {key: out.to_raw() for key, out in self._memos.items()}


@dataclass
class TransformOutputStepInfo:
    """The step whose output is being transformed (changes to it are discarded)."""

    id: str  # the step's ID as the code names it
    op: str  # its opcode on the wire ("StepRun", "Sleep", ...)
    opts: dict[str, Any] | None


@dataclass
class TransformOutputResult:
    """What a call produced: the function's return value, or one step's output. A middleware may
    replace ``output`` (or ``error``); ``step`` is None for the function's own result."""

    error: BaseException | None
    output: Any
    step: TransformOutputStepInfo | None

    def has_output(self) -> bool:
        return self.output is not EMPTY


@dataclass
class SendEventsResult:
    """What a send returned: the events' IDs, or the error it failed with."""

    ids: list[str]
    error: BaseException | None = None


class MiddlewareSync(MiddlewareBase):
    """Hooks as plain methods. Override any of them; the defaults do nothing."""

    def __init__(self, client: Inngest, raw_request: object) -> None:
        self.client = client
        self.raw_request = raw_request  # the core Request of the call; None for a send

    def transform_input(self, ctx: ContextSync | Context, function: Function[Any], steps: StepMemos) -> None:
        """Before the function runs. ``steps`` (:class:`StepMemos`) holds the memoized steps; changing
        their ``data`` (or ``ctx.event``/``ctx.events``) changes what the function sees."""

    def before_execution(self) -> None:
        """Once per call, when new code starts: right after the last memoized step is met (at the
        start, when there is none), as in the official SDK; at the latest before a step body runs
        or the call ends."""

    def after_execution(self) -> None:
        """Once per call, after the function returned, raised or stopped at a step."""

    def transform_output(self, result: TransformOutputResult) -> None:
        """After the function or a step produced ``result``; may replace ``result.output``."""

    def before_response(self) -> None:
        """After the output is final, before the reply goes to the server."""

    def before_send_events(self, events: list[Event]) -> None:
        """Before events are sent (also by ``step.send_event``); may change them in place."""

    def after_send_events(self, result: SendEventsResult) -> None:
        """After a send, with its IDs or error."""


class Middleware(MiddlewareBase):
    """Hooks as coroutines (each may also be a plain method). Sync functions and ``client.send_sync``
    run them on a private event loop; prefer :class:`MiddlewareSync` for those."""

    def __init__(self, client: Inngest, raw_request: object) -> None:
        self.client = client
        self.raw_request = raw_request

    async def transform_input(self, ctx: ContextSync | Context, function: Function[Any],
                              steps: StepMemos) -> None:
        """As :meth:`MiddlewareSync.transform_input`."""

    async def before_execution(self) -> None:
        """As :meth:`MiddlewareSync.before_execution`."""

    async def after_execution(self) -> None:
        """As :meth:`MiddlewareSync.after_execution`."""

    async def transform_output(self, result: TransformOutputResult) -> None:
        """As :meth:`MiddlewareSync.transform_output`."""

    async def before_response(self) -> None:
        """As :meth:`MiddlewareSync.before_response`."""

    async def before_send_events(self, events: list[Event]) -> None:
        """As :meth:`MiddlewareSync.before_send_events`."""

    async def after_send_events(self, result: SendEventsResult) -> None:
        """As :meth:`MiddlewareSync.after_send_events`."""




def check_factories(where: str, factories: Any) -> list[MiddlewareFactory]:
    """``middleware=`` as a list of classes (or factories), or a ConfigError now."""
    if factories is None:
        return []
    if not isinstance(factories, (list, tuple)):
        raise ConfigError(f"{where}: middleware takes a list of middleware classes")
    for item in factories:
        if not callable(item):
            raise ConfigError(f"{where}: middleware entries must be classes taking (client, raw_request), not {item!r}")
    return list(factories)


class Chain:
    """One call's (or one send's) middleware instances, in order."""

    def __init__(self, client: Inngest, raw_request: object, factories: Sequence[MiddlewareFactory]) -> None:
        self.items: list[MiddlewareBase] = [make(client, raw_request) for make in factories]
        self.executing = False  # before_execution has run in this call
        self.is_async = False  # the call runs an ``async def`` function: its hooks are awaited
        self.due = False  # the last memoized step was met in an async call: before_execution at the next await
        self.transformed: set[int] = set()  # ids of ops transformed when held for a checkpoint

    # One runner per direction: sync code runs a coroutine hook on a private loop; async code awaits it.

    def _call_sync(self, name: str, *args: Any, reverse: bool = False) -> None:
        for m in reversed(self.items) if reverse else self.items:
            out = getattr(m, name)(*args)
            if inspect.isawaitable(out):
                _run_on_private_loop(out)

    async def _call_async(self, name: str, *args: Any, reverse: bool = False) -> None:
        for m in reversed(self.items) if reverse else self.items:
            out = getattr(m, name)(*args)
            if inspect.isawaitable(out):
                await out

    # -- a call -------------------------------------------------------------------------

    def transform_input_sync(self, ctx: ContextSync | Context, function: Function[Any],
                             memos: dict[str, Any]) -> dict[str, Any]:
        """The hooks on ``memos`` (the call's, as sent) as a StepMemos; the memos as they left them."""
        steps = StepMemos.from_raw(memos)
        self._call_sync("transform_input", ctx, function, steps)
        return steps.to_raw()

    async def transform_input_async(self, ctx: ContextSync | Context, function: Function[Any],
                                    memos: dict[str, Any]) -> dict[str, Any]:
        steps = StepMemos.from_raw(memos)
        await self._call_async("transform_input", ctx, function, steps)
        return steps.to_raw()

    def before_execution_sync(self) -> None:
        if not self.executing:
            self.executing = True
            self._call_sync("before_execution")

    async def before_execution_async(self) -> None:
        if not self.executing:
            self.executing = True
            await self._call_async("before_execution")

    def memos_met(self) -> None:
        """The engine met the last memoized step (core/replay.py): before_execution now, or, in an
        async call, once the step's own call returns to an ``await`` (core/steps.py's Step)."""
        if self.executing:
            return
        if self.is_async:
            self.due = True
        else:
            self.before_execution_sync()

    async def memos_met_async(self) -> None:
        if self.due:
            await self.before_execution_async()

    def after_execution_sync(self) -> None:
        self.before_execution_sync()  # a call that ran no step body still executed new code
        self._call_sync("after_execution", reverse=True)

    async def after_execution_async(self) -> None:
        await self.before_execution_async()
        await self._call_async("after_execution", reverse=True)

    def transform_output_sync(self, results: list[TransformOutputResult]) -> None:
        for result in results:
            self._call_sync("transform_output", result, reverse=True)

    async def transform_output_async(self, results: list[TransformOutputResult]) -> None:
        for result in results:
            await self._call_async("transform_output", result, reverse=True)

    def transform_held_op(self, op: dict[str, Any]) -> None:
        """transform_output for a step a checkpointing call finished and holds: it may be posted to
        the server before the call ends, so it is transformed at once (sync; an async hook runs on a
        private loop, which an ``async def`` function's running loop refuses with a ConfigError)."""
        for held, result in step_results([op]):
            self._call_sync("transform_output", result, reverse=True)
            if result.has_output():
                held["data"] = result.output
        self.transformed.add(id(op))

    def before_response_sync(self) -> None:
        self._call_sync("before_response")

    async def before_response_async(self) -> None:
        await self._call_async("before_response")

    # -- a send ---------------------------------------------------------------------------

    def before_send_sync(self, events: list[Event]) -> None:
        self._call_sync("before_send_events", events)

    async def before_send_async(self, events: list[Event]) -> None:
        await self._call_async("before_send_events", events)

    def after_send_sync(self, result: SendEventsResult) -> None:
        self._call_sync("after_send_events", result, reverse=True)

    async def after_send_async(self, result: SendEventsResult) -> None:
        await self._call_async("after_send_events", result, reverse=True)


def step_results(ops: list[dict[str, Any]]) -> list[tuple[dict[str, Any], TransformOutputResult]]:
    """The outputs a call's ops carry, one result each: every StepRun op's data, or else the info
    of a lone op (a sleep, a wait). Ops planned side by side carry nothing and get none."""
    runs = [op for op in ops if op.get("op") == Opcode.STEP_RUN.value]
    if not runs and len(ops) == 1 and ops[0].get("op") != Opcode.STEP_PLANNED.value:
        runs = ops
    out = []
    for op in runs:
        info = TransformOutputStepInfo(id=str(op.get("displayName") or op.get("name")), op=str(op.get("op")),
                                       opts=op.get("opts"))
        has_data = op.get("op") == Opcode.STEP_RUN.value
        out.append((op, TransformOutputResult(error=None, output=op.get("data") if has_data else EMPTY, step=info)))
    return out


def _run_on_private_loop(awaitable: Any) -> None:
    import asyncio  # deferred: only an async hook called from sync code needs a loop

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise ConfigError("an async middleware hook was called from sync code inside a running event loop; "
                          "use MiddlewareSync, or the async API (client.send, an async def function)")

    async def wrap() -> Any:
        return await awaitable

    asyncio.run(wrap())
