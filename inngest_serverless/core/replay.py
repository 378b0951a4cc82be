"""The replay engine: one per call, shared by sync and async functions.

User code runs from the top on every call. Each step computes its hashed ID
(the SHA-1 of ``id``, or of ``id:n`` for its n-th repeat) and asks the engine what to do: return memoized state, skip,
report new work, or run the step body now. New work ends the call by raising
:class:`Interrupt` (a ``BaseException``, so a user's ``except Exception`` does
not swallow it) that carries the ops for the ``206`` reply.
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from . import serialize
from .errors import NonDeterminismError, NonRetriableError, RetryAfterError, StepError, error_object
from .record import Record
from .wire import PARALLEL_MODE_OPT, Limit, Opcode, ParallelMode, StepType

if TYPE_CHECKING:
    from .batching import Batcher
    from .deadline import Deadline
    from .errors import DeadlineExceeded

try:  # CPython's built-in SHA-1: step IDs need no OpenSSL (hashlib loads libcrypto: time and RSS)
    from _sha1 import sha1 as _sha1  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - a build without the built-in hashes
    from hashlib import sha1 as _sha1


class Interrupt(BaseException):
    """Ends user code: the call answers ``206`` with ``ops`` (and ``headers``), or fails
    with ``error`` when the engine itself refuses to go on (user code cannot catch it)."""

    def __init__(self, ops: list[dict[str, Any]], headers: dict[str, str] | None = None,
                 error: BaseException | None = None) -> None:
        super().__init__("step interrupt")
        self.ops = ops
        self.headers = headers or {}
        self.error = error


if TYPE_CHECKING:  # for annotations only: a Protocol class costs a cold start
    class StepHooks(Protocol):
        """What the engine and the step API call on the call's middleware (core/middleware.py's
        ``Chain``), which the engine holds without knowing it."""

        def before_execution_sync(self) -> None: ...
        async def before_execution_async(self) -> None: ...
        def memos_met(self) -> None: ...
        async def memos_met_async(self) -> None: ...
        def transform_held_op(self, op: dict[str, Any]) -> None: ...


class _BranchDone(BaseException):
    """Ends one branch of a parallel group after its new op was collected (or skipped)."""


_MISSING: Any = object()

# Step-ID hashes by raw ID ("name" or "name:n"): every call of a run replays the same IDs, so a
# warm process hashes each once. Bounded; cleared when full.
_HASHES: dict[str, str] = {}
_RAW_IDS: dict[str, str] = {}  # the same, hashed ID -> raw ID
_HASHES_MAX = 65_536


def _hash(raw: str) -> str:
    """SHA-1 hex of a raw step ID, cached in ``_HASHES`` (and ``_RAW_IDS``)."""
    try:
        encoded = raw.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 form, so no hashed ID, on any attempt
        raise NonRetriableError(f"step ID {raw!r} is not valid Unicode text (it holds a lone surrogate)") from None
    hashed: str = _sha1(encoded).hexdigest()
    if len(_HASHES) >= _HASHES_MAX:
        _HASHES.clear()
        _RAW_IDS.clear()
    _HASHES[raw] = hashed
    _RAW_IDS[hashed] = raw
    return hashed


# The engine and step ID whose body is running in this thread or task (StepSync._execute sets it):
# a step met while it is set is nested in that body. A ContextVar, not an engine attribute, so
# that steps awaited side by side in separate tasks do not see each other's bodies.
IN_BODY: ContextVar[tuple[Engine, str] | None] = ContextVar("inngest_step_body", default=None)


def is_user_failure(exc: BaseException) -> bool:
    """Does ``exc``, raised by a function or step body, fail it like any exception would?

    ``SystemExit`` and ``GeneratorExit`` do: user code raised them, and a Lambda or server
    process must not exit because a function did. So does an ``asyncio.CancelledError`` that
    user code raised itself. Not so ``KeyboardInterrupt`` (the host's SIGINT: the process is
    being stopped), a real cancellation of the task serving the request (the server is
    closing it: asyncio needs it to propagate), or the engine's own interrupts.
    """
    if isinstance(exc, (Exception, SystemExit, GeneratorExit)):
        return True
    asyncio = sys.modules.get("asyncio")  # not imported: no CancelledError can exist
    if asyncio is None or not isinstance(exc, asyncio.CancelledError):
        return False
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop: nothing of ours is being cancelled
        return True
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+; on 3.10 every CancelledError propagates
    return task is None or (cancelling is not None and cancelling() == 0)


class Pending(Record):
    """A step with no memoized state: what the caller needs to report or run it."""

    # Plain classes, not dataclasses: every call meets them (core/record.py says why).
    __slots__ = ("hashed", "index", "user_id")
    _fields = ("hashed", "user_id", "index")

    def __init__(self, hashed: str, user_id: str, index: int) -> None:
        self.hashed = hashed
        self.user_id = user_id
        self.index = index

    def base_op(self, op: Opcode, display_name: str | None = None) -> dict[str, Any]:
        userland: dict[str, Any] = {"id": self.user_id}
        if self.index:
            userland["index"] = self.index
        # "opts" and "data" are always present, null where empty, as the Go SDK writes them: the
        # server reads a missing key and a null alike, and the SDK conformance suite compares
        # op lists exactly (docs/compatibility.md).
        return {
            "op": op.value,
            "id": self.hashed,
            "name": self.user_id,
            "displayName": display_name or self.user_id,
            "opts": None,
            "data": None,
            "userland": userland,
        }


class Engine:
    """One call's replay state: its memos, which step it targets, and what the steps met did."""

    def __init__(
        self,
        memos: dict[str, Any],
        target: str | None,  # hashed step ID of a targeted call; None on discovery
        immediate: bool,  # may a lone new step.run execute in this call?
        attempt: int = 0,
        max_attempts: int | None = None,
        stack: list[Any] | None = None,  # ctx.stack.stack as sent: read only to name a missed step
        deadline: Deadline | None = None,  # the call's deadline, which step bodies run against (core/deadline.py)
        batch: Batcher | None = None,  # a checkpointing call's held ops (core/batching.py)
        middleware: StepHooks | None = None,  # the call's middleware, if the app has any
    ) -> None:
        self.memos = memos
        self.target = target
        self.immediate = immediate
        self.attempt = attempt
        self.max_attempts = max_attempts
        self.stack: list[Any] = [] if stack is None else stack
        self.deadline = deadline
        self.batch = batch
        self.middleware = middleware
        self._counts: dict[str, int] = {}  # user ID -> steps of that ID met (but see _met_first)
        self._seen = 0  # steps met other than through ``first``
        self._hits = 0  # ... of which had a memo
        self._repeats = False  # an ID met more than once ("id:1" may then equal another step's raw ID)
        self._numbered: dict[str, tuple[str, int]] = {}  # "id:n" -> ("id", n) for repeats met
        self._dropped = 0  # memos taken out of ``first`` because a repeat owns their raw ID (see lookup)
        # The interrupt the engine raised first. User code that catches it (a bare ``except:``)
        # and goes on meets it again at its next step, and Handler answers with it whatever the
        # function did next: the call behaves as if the interrupt had never been caught.
        self.halted: Interrupt | None = None
        self.branch_stopped = False  # the running parallel branch already ended (its _BranchDone was caught)
        self._collect: list[dict[str, Any]] | None = None  # set while inside a parallel group
        self._ran_target = False
        self._replay_checked = False
        self._step_memos: int | None = None  # memoized steps in ``memos``, counted when ctx.logger first asks
        # Memos by the user ID of their step's first occurrence, for the steps whose hashed IDs this
        # process has computed before (every call of a run replays the same steps): replaying one of
        # them is a single dictionary pop (StepSync.run's fast path). A step leaves ``first`` when met.
        self.first: dict[str, Any] = {}
        self._first_ids: dict[str, Any] = {}  # ``first`` as the call began
        self.reload_memos()

    def reload_memos(self) -> None:
        """(Re)index ``memos`` before any step is met (middleware may have replaced their values)."""
        # All in C (k can be 1,000); memos whose raw ID this process does not know land on None.
        first: dict[Any, Any] = dict(zip(map(_RAW_IDS.get, self.memos), self.memos.values(), strict=True))
        first.pop(None, None)
        self._first_ids = first
        self._step_memos = None
        if hasattr(self, "first"):  # in place: StepSync holds this dict (its fast path)
            self.first.clear()
            self.first.update(first)
        else:
            self.first = dict(first)

    def memos_met(self) -> None:
        """After a step was met: before_execution, when it was the last memoized one (middleware only)."""
        if self.middleware is not None and not self.replaying():
            self.middleware.memos_met()

    def replaying(self) -> bool:
        """Are memoized steps still ahead (the code now running ran in an earlier call)?"""
        if self._step_memos is None:
            keys = self.memos.keys()
            # Every key a hashed step ID, as the server sends them: told in C, without a Python call
            # per memo (this runs once per call that has middleware or logs).
            if set(map(len, keys)) <= {40} and not "".join(keys).strip(_HEX):
                self._step_memos = len(keys)
            else:
                self._step_memos = sum(1 for key in keys if _is_step_hash(key))
        return self._hits + self._met_first() < self._step_memos

    # -- identity -----------------------------------------------------------------

    def next_id(self, user_id: str) -> tuple[str, int]:
        """The hashed ID and repeat index of the next step named ``user_id`` (counting it)."""
        _, hashed, index = self.lookup(user_id)
        return hashed, index

    @staticmethod
    def hashed_id(raw: str) -> str:
        """The hashed ID of raw step ID ``raw`` (its SHA-1, in hex), cached per process."""
        return _HASHES.get(raw) or _hash(raw)

    def _met_first(self) -> int:
        """Steps met through ``first`` (each the first occurrence of its ID, with a memo)."""
        return len(self._first_ids) - len(self.first) - self._dropped

    def lookup(self, user_id: str) -> tuple[Any, str, int]:
        """The memoized value of the next step named ``user_id`` (or ``_MISSING``), its hashed
        ID and repeat index, counting the step. Builds no Pending: it runs once
        per earlier step on every call (StepSync.run has a faster path still, through ``first``)."""
        if not isinstance(user_id, str) or not user_id:
            raise NonRetriableError("a step ID must be a non-empty string")
        counts = self._counts
        index = counts.get(user_id)
        if index is None:
            value = self.first.pop(user_id, _MISSING)
            if value is not _MISSING:
                counts[user_id] = 1
                if self.middleware is not None and not self.replaying():
                    self.middleware.memos_met()  # the last memoized step: before_execution, as the official SDK
                return value, _HASHES.get(user_id) or _hash(user_id), 0
            if self._numbered and user_id in self._numbered:
                self._collision(user_id, *self._numbered[user_id])
            index = 1 if user_id in self._first_ids else 0  # 1: met before, through StepSync.run's fast path
        counts[user_id] = index + 1
        if index:
            self._repeats = True
            self._number(user_id, index)
        self._seen += 1
        seen = self._seen + self._met_first()
        if seen > Limit.STEPS_PER_RUN:
            # Through the interrupt, so a user's ``except Exception`` around a step cannot hide it.
            self.halt(Interrupt([], error=NonRetriableError(
                f"step {user_id!r} would be step {seen} of this run, over the server's limit of "
                f"{Limit.STEPS_PER_RUN} steps per run; split the work across several runs "
                "(e.g. with step.invoke or send_event)"
            )))
        raw = user_id if index == 0 else f"{user_id}:{index}"
        hashed = _HASHES.get(raw) or _hash(raw)
        value = self.memos.get(hashed, _MISSING)
        if value is not _MISSING:
            self._hits += 1
        if self.middleware is not None and not self.replaying():
            self.middleware.memos_met()
        return value, hashed, index

    def _number(self, user_id: str, index: int) -> None:
        """Record that the repeat ``index`` of ``user_id`` owns raw ID ``user_id:index``; fail if a
        step met before used that raw ID as its own ID (both would hash alike)."""
        raw = f"{user_id}:{index}"
        if raw in self._counts or (raw in self._first_ids and raw not in self.first):
            self._collision(raw, user_id, index)
        self._numbered[raw] = (user_id, index)
        if self.first.pop(raw, _MISSING) is not _MISSING:
            # Its memo is this repeat's; a later step whose own ID is ``raw`` must not find it
            # through StepSync.run's fast path (lookup refuses it instead).
            self._dropped += 1

    def _collision(self, raw: str, user_id: str, index: int) -> NoReturn:
        self.halt(Interrupt([], error=NonRetriableError(
            f"step ID {raw!r} is also the ID of step {index + 1} named {user_id!r} (a repeated step ID gets "
            f"':1', ':2', ... appended, and the server knows a step only by its hashed ID): the two steps would "
            f"share one result, so one of them would never run. Rename the step {raw!r} or the steps {user_id!r}."
        )))

    def memo(self, user_id: str) -> tuple[Any, Pending]:
        """The memoized value of the next step named ``user_id`` (or ``_MISSING``)."""
        value, hashed, index = self.lookup(user_id)
        return value, Pending(hashed, user_id, index)

    # -- decisions ----------------------------------------------------------------

    def new_work(self, pending: Pending, op: dict[str, Any], *, runnable: bool) -> bool:
        """Called for a step without state. Returns True when the caller must run it now;
        otherwise raises to report ``op`` (or to skip it)."""
        if self.halted is not None:
            raise self.halted  # user code caught the interrupt and went on: nothing more runs
        if self.branch_stopped:
            raise _BranchDone()
        running = IN_BODY.get()
        if running is not None and running[0] is self:
            self.halt(Interrupt([], error=NonRetriableError(
                f"step {pending.user_id!r} was called inside the body of step {running[1]!r}; steps cannot be "
                f"nested. Call {pending.user_id!r} from the function, before or after {running[1]!r}."
            )))
        if self.target is not None:
            if pending.hashed == self.target and runnable:
                self._ran_target = True
                return True
            self._end_branch_or_stop()
        if self._collect is None:
            self.check_replay(pending.user_id)
        if runnable and self.immediate and self._collect is None:
            if self.batch is not None and (ops := self.batch.before_step()) is not None:
                self.halt(Interrupt(ops))  # the steps that finished; the server calls again for this one
            return True
        if runnable:
            op = {**op, "op": Opcode.STEP_PLANNED.value, "data": None}
        if self._collect is not None:
            self._collect.append(op)
            raise self.branch_done()
        self.report([op])

    # -- determinism: finished steps the code no longer reaches ------------------------------

    def unreached(self) -> list[str]:
        """Memoized step IDs this replay has not met, in the order the run finished them."""
        if not self._repeats and self._hits + self._met_first() >= len(self.memos):
            return []  # every step met used a distinct raw ID, so each hit met a different memo
        reached = {_HASHES.get(raw) or _hash(raw) for user_id, count in self._counts.items()
                   for raw in (user_id, *(f"{user_id}:{i}" for i in range(1, count)))}
        reached.update(_HASHES.get(user_id) or _hash(user_id) for user_id in self._first_ids
                       if user_id not in self.first)
        missed = [h for h in self.memos if h not in reached and _is_step_hash(h)]
        if not missed:
            return []
        order = {h: i for i, h in enumerate(self.stack) if isinstance(h, str)}
        return sorted(missed, key=lambda h: order.get(h, len(order)))

    def check_replay(self, new_step: str) -> None:
        """Before the first new work of a discovery call, every memoized step must have been met.

        If not, the code changed under the running run (a step renamed, removed or added
        before finished ones) and going on would run work out of the order the run's
        history records. Checked once per call, when the first new step is met outside a
        parallel group or when the outermost group ends (branches legitimately finish out
        of order), so it costs O(steps). Targeted calls are not checked: the step they
        target may sit in a parallel branch ahead of memoized steps of later branches.
        """
        if self._replay_checked or self.target is not None:
            return
        self._replay_checked = True
        missed = self.unreached()
        if not missed:
            return
        stack = [h for h in self.stack if isinstance(h, str)]
        first = stack.index(missed[0]) + 1 if missed[0] in stack else None
        where = f" (the run finished it as step {first} of {len(stack)})" if first else ""
        self.halt(Interrupt([], error=NonDeterminismError(
            f"step {new_step!r} is new, but this run already finished {len(missed)} step(s) that the code no longer "
            f"reaches: hashed ID {missed[0]}{where}" + (f" and {len(missed) - 1} more" if len(missed) > 1 else "")
            + ". The function's code changed while the run was in progress; failing instead of running "
            f"{new_step!r} out of the order the run recorded."
        )))

    def halt(self, interrupt: Interrupt) -> NoReturn:
        """Raise ``interrupt``, remembering it (the first one) as the call's outcome."""
        if self.halted is None:
            self.halted = interrupt
        raise interrupt

    def branch_done(self) -> _BranchDone:
        """End the running parallel branch (a branch that catches this meets it again)."""
        self.branch_stopped = True
        return _BranchDone()

    def _end_branch_or_stop(self) -> NoReturn:
        if self._collect is not None:
            raise self.branch_done()
        # A targeted call met a different new step: the target is elsewhere (or
        # gone); stop without reporting anything.
        self.halt(Interrupt([]))

    def report(self, ops: list[dict[str, Any]], headers: dict[str, str] | None = None) -> NoReturn:
        """End the call with ``ops`` (after the held checkpoint ops had their say)."""
        if self.batch is not None:
            ops, headers = self.batch.before_report(ops, headers or {})
        self.halt(Interrupt(ops, headers))

    def ran(self, pending: Pending, output: Any, *, step_type: str = StepType.RUN) -> Any:
        """The step body returned ``output``: report it and end the call.

        When checkpointing, the op is held instead and the JSON value returned,
        so the function goes on with what a replay would have given it.
        """
        try:
            data, size = serialize.to_json_value_and_size(output)
        except (TypeError, ValueError, RecursionError) as exc:  # RecursionError: nested too deeply for JSON
            self.failed(pending, NonRetriableError(f"step {pending.user_id!r} returned a value that is not JSON: "
                                                   f"{serialize.json_error(exc)}"))
        if size > Limit.STEP_OUTPUT:
            self.failed(
                pending,
                NonRetriableError(
                    f"step {pending.user_id!r} returned {size} bytes; the server's limit for a step output "
                    f"is {Limit.STEP_OUTPUT} bytes"
                ),
            )
        op = pending.base_op(Opcode.STEP_RUN)
        op["data"] = data
        if step_type != StepType.RUN:
            # The server takes a StepRun without opts.type for a step.run (GeneratorOpcode.StepType),
            # as the Go SDK sends it; only the other kinds need naming.
            op["opts"] = {"type": step_type}
        if self.batch is not None and self.target is None and self.immediate and self._collect is None:
            if self.middleware is not None:  # the op may be posted before the call ends: transform it now
                self.middleware.transform_held_op(op)
            self.batch.hold(op)
            return data
        self.report([op])

    def overran(self, pending: Pending, error: DeadlineExceeded) -> NoReturn:
        """The deadline guard abandoned (or never started) the body of ``pending``: report the steps
        that finished, when some are held (the step starts afresh in the next call), else fail it."""
        if self.batch is not None and self.batch.held:
            self.halt(Interrupt(self.batch.take()))
        self.failed(pending, error)

    def failed(self, pending: Pending, exc: BaseException) -> NoReturn:
        """The step body raised ``exc``: report StepError (retry) or StepFailed (final)."""
        exc = usable_error(exc)
        last = self.max_attempts is not None and self.attempt + 1 >= self.max_attempts
        final = last or isinstance(exc, NonRetriableError)
        op = pending.base_op(Opcode.STEP_FAILED if final else Opcode.STEP_ERROR)
        op["error"] = error_object(exc)
        headers: dict[str, str] = {}
        if isinstance(exc, NonRetriableError):
            headers["x-inngest-no-retry"] = "true"
        if isinstance(exc, RetryAfterError):
            headers["retry-after"] = exc.header_value()
        self.report([op], headers)

    # -- memo shapes: {"data": x}, {"error": e}, or a bare value (an event, a sleep's null) ---

    @staticmethod
    def unwrap(memo: Any, pending: Pending) -> Any:
        """``{"data": x}`` -> x; ``{"error": e}`` -> raise StepError."""
        if isinstance(memo, dict) and 0 < len(memo) == ("data" in memo) + ("error" in memo):  # keys within {data, error}
            err = memo.get("error")
            if err is not None:
                raise step_error(err, pending.user_id)
            return memo.get("data")
        return memo

    # -- parallel groups --------------------------------------------------------------

    def begin_parallel(self) -> list[dict[str, Any]] | None:
        """Start collecting ops; returns the outer collector (None for the outermost group)."""
        outer = self._collect
        if outer is None:
            self._collect = []
        return outer

    def end_parallel(self, outer: list[dict[str, Any]] | None, pending: bool, *, race: bool = False,
                     finished: bool = False, mark: int = 0) -> None:
        """After every branch ran: report what was collected, or end the enclosing branch.

        ``race``: the group returns once any branch ``finished``, dropping the new steps the
        others met (collected from index ``mark`` on); until then its ops ask the server to call
        again as each step ends."""
        if race and self._collect is not None:
            if finished:
                del self._collect[mark:]
                if outer is None:
                    self._collect = None
                return
            for op in self._collect[mark:]:
                op["opts"] = {**(op.get("opts") or {}), PARALLEL_MODE_OPT: ParallelMode.RACE.value}
        if outer is not None:
            if pending:
                raise self.branch_done()
            return
        collected, self._collect = self._collect or [], None
        if collected and self.target is None:
            self.check_replay(str(collected[0].get("name")))
        if collected or pending:
            self.report(collected)


def usable_error(exc: BaseException) -> BaseException:
    """``exc``, or a NonRetriableError when it can never be reported as it is: a RetryAfterError
    whose ``retry_after`` is no time (NaN, infinite, text) would fail the same way on every retry."""
    if isinstance(exc, RetryAfterError):
        try:
            exc.header_value()
        except (TypeError, ValueError, OverflowError) as err:
            return NonRetriableError(f"RetryAfterError({exc.message!r}) cannot be retried: {err}")
    return exc


def _is_step_hash(key: str) -> bool:
    """A hashed step ID (40 hex digits); other keys cannot be steps the code reaches."""
    # strip() runs in C: nothing left means hex digits only (a generator over the 40 characters
    # took 2.5 ms for 900 memos)
    return len(key) == 40 and not key.strip(_HEX)


_HEX = "0123456789abcdef"


def step_error(err: Any, user_id: str) -> StepError:
    if not isinstance(err, dict):
        return StepError(str(err), step_id=user_id)
    return StepError(
        str(err.get("message", "step failed")),
        name=str(err.get("name", "Error")),
        stack=err.get("stack"),
        data=err.get("data"),
        step_id=user_id,
    )


BranchDone = _BranchDone
MISSING = _MISSING
