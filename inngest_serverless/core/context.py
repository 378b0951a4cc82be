"""What a function receives: the event(s) (core/event.py), the run's identity, and the step API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from .event import D, Event
from .record import Record
from .replay import IN_BODY, Engine
from .steps import Step, StepSync

if TYPE_CHECKING:
    import logging

    class Logger(Protocol):  # for annotations only
        """What ``Inngest(logger=...)`` takes: a ``logging.Logger`` or ``LoggerAdapter``, an AWS
        Powertools ``Logger``, or any object with these methods."""

        def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None: ...
        def info(self, msg: Any, *args: Any, **kwargs: Any) -> None: ...
        def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None: ...
        def error(self, msg: Any, *args: Any, **kwargs: Any) -> None: ...
        def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None: ...
        def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None: ...

S = TypeVar("S", StepSync, Step)


class ReplayLogger:
    """``ctx.logger``: the client's logger (any ``logging.Logger``-like object, an AWS Powertools
    ``Logger`` included), silent while the function replays memoized steps.

    User code runs from the top on every call, so a line logged before step N would otherwise
    be written once per call after it. A line is written when the code logging it runs for the
    first time in the run: inside a step body that runs now, or once every memoized step has been
    met. Each line carries ``run_id`` and ``function_id``, and ``step_id`` inside a step body, as
    ``extra`` (stdlib: record attributes; Powertools: keys of the JSON line; per line, so that
    concurrent runs in one process do not stamp each other's lines).
    """

    __slots__ = ("_engine", "_keys", "logger")

    def __init__(self, logger: Any, engine: Engine, keys: dict[str, str]) -> None:
        self.logger = logger
        self._engine = engine
        self._keys = keys

    def _emit(self, method: str, msg: object, args: tuple[object, ...], kwargs: dict[str, Any]) -> None:
        running = IN_BODY.get()
        if running is not None and running[0] is self._engine:
            extra = {**self._keys, "step_id": running[1]}
        elif self._engine.replaying():
            return
        else:
            extra = dict(self._keys)
        given = kwargs.get("extra")
        if given:
            extra.update(given)
        kwargs["extra"] = extra
        # Point the record's file and line at the caller, past this wrapper's two frames (Powertools
        # already skips one frame of its own). Asked here, when a line is written: the client's default
        # logger is a stand-in that imports logging when it is first asked anything.
        kwargs.setdefault("stacklevel", 4 if hasattr(self.logger, "append_keys") else 3)
        getattr(self.logger, method)(msg, *args, **kwargs)

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._emit("debug", msg, args, kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._emit("info", msg, args, kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._emit("warning", msg, args, kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._emit("error", msg, args, kwargs)

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._emit("exception", msg, args, kwargs)

    def critical(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._emit("critical", msg, args, kwargs)

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if hasattr(self.logger, "log"):
            self._emit("log", level, (msg, *args), kwargs)
        else:  # Powertools has no log(): its method for the level
            import logging

            self._emit(logging.getLevelName(level).lower(), msg, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.logger, name)  # setLevel, isEnabledFor, append_keys, handlers ...


class GroupSync:
    """``ctx.group.parallel(...)`` for ``def`` functions, as in the official SDK (same as ``ctx.step.parallel``)."""

    def __init__(self, step: StepSync) -> None:
        self.parallel = step.parallel  # the step's own method, so that its typed overloads hold here too


class Group:
    """``await ctx.group.parallel(...)`` for ``async def`` functions."""

    def __init__(self, step: Step) -> None:
        self.parallel = step.parallel


class _BaseContext(Record, Generic[S, D]):
    # Plain classes, not dataclasses: every call builds a context (core/record.py says why).
    _fields = ("attempt", "event", "events", "run_id", "step", "logger", "max_attempts", "request_id", "job_id",
               "function_id", "env")

    def __init__(
        self,
        attempt: int,
        event: Event[D],
        events: list[Event[D]],
        run_id: str,
        step: S,
        logger: logging.Logger | logging.LoggerAdapter[Any] | ReplayLogger,
        max_attempts: int | None = None,
        request_id: str | None = None,
        job_id: str | None = None,
        function_id: str = "",
        env: str | None = None,
    ) -> None:
        self.attempt = attempt
        self.event = event
        self.events = events
        self.run_id = run_id
        self.step: S = step
        self.logger = logger
        self.max_attempts = max_attempts
        self.request_id = request_id
        self.job_id = job_id
        self.function_id = function_id  # the composite ID the server knows the function by ("<app>-<fn_id>")
        self.env = env  # the Inngest environment (branch) the app is configured for; None: the default
        self._make_group()

    def _make_group(self) -> None:
        """Set ``group``, the step's ``parallel`` under the official SDK's other name."""

    @property
    def step_id(self) -> str | None:
        """The ID of the step whose body is running now (None outside a step body)."""
        running = IN_BODY.get()
        engine = getattr(self.step, "_engine", None)
        return running[1] if running is not None and running[0] is engine else None


class ContextSync(_BaseContext[StepSync, D]):
    """The context of a ``def`` function: ``ctx.step.run(...)`` returns results directly.

    ``ContextSync[OrderData]``: the context of a function declared with ``event_type=OrderData``,
    whose ``ctx.event.data`` is an ``OrderData``."""

    group: GroupSync

    def _make_group(self) -> None:
        self.group = GroupSync(self.step)


class Context(_BaseContext[Step, D]):
    """The context of an ``async def`` function: ``await ctx.step.run(...)`` (``Context[OrderData]``
    as :class:`ContextSync`)."""

    group: Group

    def _make_group(self) -> None:
        self.group = Group(self.step)

