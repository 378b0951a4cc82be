"""Running a verified call, and encoding its reply.

The handler routes and verifies; a :class:`Call` is what it hands here. The
:class:`Runner` builds the call's replay engine (with the deadline and, when the
function checkpoints, the op batcher), runs the function from the top with the
middleware around it, and turns the :class:`Outcome` into the reply:

* ``200`` with the function's return value (it finished);
* ``206`` with the ops of new work (steps to report or plan; the server calls again);
* ``400`` + ``X-Inngest-No-Retry: true`` for a failure no retry can mend
  (:class:`~.errors.NonRetriableError`, a :class:`~.errors.StepError` not caught,
  a step called with arguments it refuses);
* ``500`` for any other exception (retried; ``Retry-After`` from a
  :class:`~.errors.RetryAfterError`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import serialize
from .call_body import CallBody
from .config import package_logger
from .context import Context, ContextSync, ReplayLogger
from .deadline import Deadline
from .errors import ConfigError, NonRetriableError, RetryAfterError, StepError, error_object
from .event import Event
from .http import Request, Response, sdk_headers
from .record import Record
from .replay import Engine, Interrupt, is_user_failure, usable_error
from .steps import ObservedStepSync, Step, StepSync
from .wire import Header, Opcode

if TYPE_CHECKING:
    from .client import Inngest
    from .config import Config
    from .function import Function
    from .middleware import Chain, TransformOutputResult



class Call(Record):
    """A parsed, verified call, ready to run."""

    # Plain classes, not dataclasses: every call builds them (core/record.py says why).
    _fields = ("fn", "body", "target", "immediate", "verified_key", "deadline", "request_id", "job_id", "request")

    def __init__(
        self,
        fn: Function[Any],
        body: CallBody,
        target: str | None,  # the hashed ID of the step this call runs; None: discovery
        immediate: bool,  # may a lone new step.run execute in this call (discovery, not forced to plan)?
        verified_key: str | None,  # the signing key that verified the request: it signs the reply
        deadline: float | None = None,  # the ``time.monotonic()`` moment the host ends the invocation
        request_id: str | None = None,
        job_id: str | None = None,
        request: Request | None = None,  # what middleware gets as its raw request
    ) -> None:
        self.fn = fn
        self.body = body
        self.target = target
        self.immediate = immediate
        self.verified_key = verified_key
        self.deadline = deadline
        self.request_id = request_id
        self.job_id = job_id
        self.request = request
        self.event = Event.from_wire(body.event)
        self.events: list[Event]
        if len(body.events) == 1 and body.events[0] is body.event:  # no batch: the one event, parsed once
            self.events = [self.event]
        else:
            self.events = [Event.from_wire(e) for e in body.events] or [self.event]
        self.memos: dict[str, Any] = body.steps

    def load_state(self, cfg: Config) -> None:
        """Fetch the run's events and steps from the API when the body was too large to carry them."""
        if not self.body.fetch_state:
            return
        from . import inngest_api

        events, steps = inngest_api.fetch_run_state(cfg, self.body.ctx.run_id)
        parsed = [Event.from_wire(e) for e in events if isinstance(e, dict)]
        if parsed:
            self.events = parsed
            self.event = parsed[0]
        self.memos = steps


class Outcome(Record):
    """What running a call came to: a result, an interrupt (new work), or an error."""

    __slots__ = ("error", "headers", "interrupt", "result")
    _fields = ("result", "interrupt", "error", "headers")

    def __init__(self, result: Any = None, interrupt: Interrupt | None = None, error: BaseException | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.result = result
        self.interrupt = interrupt
        self.error = error
        self.headers: dict[str, str] = {} if headers is None else headers


class Runner:
    """Runs calls of one client's functions and encodes their replies (with ``framework``'s headers)."""

    def __init__(self, client: Inngest, *, framework: str, deadline_margin: float | None = None) -> None:
        self.client = client
        self.framework = framework
        self.deadline_margin = deadline_margin  # seconds kept free before a call's deadline (core/deadline.py)
        self._headers = sdk_headers(framework)  # the same on every reply: built once, copied

    def headers(self) -> dict[str, str]:
        return dict(self._headers)

    def json(self, status: int, body: Any, *, key: str | None = None,
             headers: dict[str, str] | None = None) -> Response:
        """``body`` as the SDK's JSON reply, signed with ``key`` when given; raises ``TypeError`` /
        ``ValueError`` for a body that is not JSON."""
        raw = serialize.dumps(body)
        out = dict(self._headers)
        # Explicit on every reply, 2xx included: the server retries a reply without it.
        out[Header.NO_RETRY] = "false"
        if headers:
            out.update(headers)
        if key:
            from . import signing  # a dev-mode app signs nothing: no need for its module at start-up

            out[Header.SIGNATURE] = signing.sign(raw, key)
        return Response(status, out, raw)

    # -- whole calls ------------------------------------------------------------------------

    def respond(self, call: Call) -> Response:
        call.load_state(self.client.config)
        return self.reply(call, self.run_sync(call))

    async def respond_async(self, call: Call) -> Response:
        if call.body.fetch_state:
            import asyncio

            await asyncio.to_thread(call.load_state, self.client.config)
        return self.reply(call, await self.run_async(call))

    # -- running ----------------------------------------------------------------------------

    def engine(self, call: Call) -> Engine:
        ctx = call.body.ctx
        deadline = None if call.deadline is None else Deadline(call.deadline, margin=self.deadline_margin)
        batch = None
        config = call.fn.opts.checkpoint
        # Checkpointing needs a discovery call that may run steps, and the function's ID as the
        # server knows it (ctx.fn_id), which each post names.
        if config is not None and call.immediate and call.target is None and ctx.run_id and ctx.fn_id:
            from .batching import Batcher
            from .inngest_api import CheckpointPoster

            poster = CheckpointPoster(self.client.config, ctx.run_id, fn_id=ctx.fn_id, qi_id=ctx.qi_id,
                                      request_id=call.request_id or ctx.request_id,
                                      generation_id=ctx.generation_id)
            batch = Batcher(config, poster, deadline)
        return Engine(memos=call.memos, target=call.target, immediate=call.immediate, attempt=ctx.attempt,
                      max_attempts=ctx.max_attempts, deadline=deadline, batch=batch, stack=ctx.stack)

    @staticmethod
    def _settled(engine: Engine, outcome: Outcome) -> Outcome:
        """The function returned or raised: post held checkpoint ops, or report them instead."""
        halted = engine.halted
        if halted is not None and outcome.interrupt is not halted:
            if outcome.interrupt is None:
                package_logger().warning("inngest_serverless: the function caught the step interrupt (a bare 'except:' or "
                            "'except BaseException:' around a step?) and went on; answering as if it had not")
            outcome = Outcome(interrupt=halted)
        if outcome.interrupt is None and outcome.error is None and engine.target is None and (missed := engine.unreached()):
            # Returned without meeting finished steps (removed from the code): nothing runs twice, so warn.
            package_logger().warning("inngest_serverless: the function ended without reaching %d step(s) this run already "
                        "finished (first: hashed ID %s); its code changed while the run was in progress",
                        len(missed), missed[0])
        batch = engine.batch
        if batch is None:
            return outcome
        try:
            if outcome.interrupt is None:
                leftover = batch.settle()
                if leftover:
                    return Outcome(interrupt=Interrupt(leftover))
            return outcome
        finally:
            batch.close()

    def _context_args(self, call: Call, engine: Engine) -> dict[str, Any]:
        function_id = call.fn.composite_id(self.client.app_id)
        run_id = call.body.ctx.run_id
        keys = {"run_id": run_id, "function_id": function_id}
        return {
            "function_id": function_id,
            "env": self.client.config.env,
            "attempt": call.body.ctx.attempt,
            "event": call.event,
            "events": call.events,
            "run_id": run_id,
            "logger": ReplayLogger(self.client.logger, engine, keys),
            "max_attempts": call.body.ctx.max_attempts,
            "request_id": call.request_id,
            "job_id": call.job_id,
        }

    def _chain(self, call: Call, engine: Engine) -> Chain | None:
        """The call's middleware (core/middleware.py), or None: without any, nothing is imported."""
        factories = self.client.middleware
        if call.fn.opts.middleware:
            factories = [*factories, *call.fn.opts.middleware]
        if not factories:
            return None
        from .middleware import Chain

        engine.middleware = chain = Chain(self.client, call.request, factories)
        return chain

    def _dumped(self, fn: Function[Any], result: Any) -> Any:
        """The function's result, through the client's serializer when the function declares an
        ``output_type``, or is an ``on_failure`` handler (as ``object``, as the official SDK does)
        (core/serializer.py); a serializer that fails fails the call, as the function would."""
        serializer = self.client.serializer
        if serializer is None:
            return result
        tp = fn.opts.output_type if fn._failure_of is None else object
        return result if tp is None else serializer.serialize(result, tp)

    def run_sync(self, call: Call) -> Outcome:
        if call.fn.is_async:
            import asyncio

            return asyncio.run(self.run_async(call))
        engine = self.engine(call)
        chain = self._chain(call, engine)
        step = StepSync(engine, self.client) if chain is None else ObservedStepSync(engine, self.client)
        ctx = ContextSync(step=step, **self._context_args(call, engine))
        try:
            if chain is not None:
                memos = chain.transform_input_sync(ctx, call.fn, engine.memos)
                if memos is not engine.memos:  # the middleware changed or dropped memoized steps
                    engine.memos = memos
                    engine.reload_memos()
                if not engine.replaying():  # no memoized step: new code from the start
                    chain.before_execution_sync()
            outcome = Outcome(result=self._dumped(call.fn, call.fn.handler(ctx)))
        except BaseException as exc:
            outcome = _raised(exc)
        outcome = self._settled(engine, outcome)
        if chain is None:
            return outcome
        results = _output_results(outcome, chain)
        try:
            chain.after_execution_sync()
            chain.transform_output_sync([r for _, r in results])
            chain.before_response_sync()
        except Exception as exc:
            return Outcome(error=exc)
        return _apply_results(outcome, results)

    async def run_async(self, call: Call) -> Outcome:
        if not call.fn.is_async:
            import asyncio

            return await asyncio.to_thread(self.run_sync, call)
        engine = self.engine(call)
        chain = self._chain(call, engine)
        ctx = Context(step=Step(engine, self.client), **self._context_args(call, engine))
        try:
            if chain is not None:
                chain.is_async = True
                memos = await chain.transform_input_async(ctx, call.fn, engine.memos)
                if memos is not engine.memos:
                    engine.memos = memos
                    engine.reload_memos()
                if not engine.replaying():
                    await chain.before_execution_async()
            outcome = Outcome(result=self._dumped(call.fn, await call.fn.handler(ctx)))
        except BaseException as exc:
            outcome = _raised(exc)
        outcome = self._settled(engine, outcome)
        if chain is None:
            return outcome
        results = _output_results(outcome, chain)
        try:
            await chain.after_execution_async()
            await chain.transform_output_async([r for _, r in results])
            await chain.before_response_async()
        except Exception as exc:
            return Outcome(error=exc)
        return _apply_results(outcome, results)

    # -- the reply --------------------------------------------------------------------------

    def reply(self, call: Call, outcome: Outcome) -> Response:
        key = call.verified_key
        if outcome.interrupt is not None and outcome.interrupt.error is not None:
            return self._function_error(outcome.interrupt.error, key)
        if outcome.interrupt is not None:
            ops = outcome.interrupt.ops
            if not ops and call.target is not None:
                return self.json(500, {"name": "StepNotFound", "code": "step_not_found",
                                       "message": f"step {call.target} targeted by this call was not reached; "
                                                  "the function's code may have changed under a running run"},
                                 key=key)
            return self.json(206, ops, key=key, headers=outcome.interrupt.headers)
        if outcome.error is not None:
            return self._function_error(outcome.error, key)
        try:
            return self.json(200, outcome.result, key=key)
        except (TypeError, ValueError, RecursionError) as exc:
            return self._function_error(
                NonRetriableError(f"the function's return value is not JSON: {serialize.json_error(exc)}"), key)

    def _function_error(self, exc: BaseException, key: str | None) -> Response:
        exc = usable_error(exc)
        body = error_object(exc)
        headers: dict[str, str] = {}
        # A ConfigError is a step called with arguments it refuses (a negative sleep, a timeout
        # that is no time, parallel() of non-callables): the same code refuses them every time.
        if isinstance(exc, (NonRetriableError, StepError, ConfigError)):
            status, headers[Header.NO_RETRY] = 400, "true"
            body["code"] = "step_errored" if isinstance(exc, StepError) else "non_retriable_error"
        else:
            status, headers[Header.NO_RETRY] = 500, "false"
            body["code"] = "unknown"
            if isinstance(exc, RetryAfterError):
                body["code"] = "retry_after_error"
                headers[Header.RETRY_AFTER] = exc.header_value()
        return self.json(status, body, key=key, headers=headers)


def _raised(exc: BaseException) -> Outcome:
    """The outcome of a function that raised ``exc``: the engine's interrupt, or the function's
    failure (SystemExit too: a function must not end the process); anything else goes on up
    (KeyboardInterrupt, a real cancellation of the task: see is_user_failure)."""
    if isinstance(exc, Interrupt):
        return Outcome(interrupt=exc)
    if not is_user_failure(exc):
        raise exc
    return Outcome(error=exc)


def _output_results(outcome: Outcome, chain: Chain) -> list[tuple[dict[str, Any] | None, TransformOutputResult]]:
    """What transform_output sees of ``outcome``: the function's result or error, or its ops' outputs
    (but not ops transformed already, when a checkpointing call held them)."""
    from .middleware import EMPTY, TransformOutputResult, step_results

    interrupt = outcome.interrupt
    if interrupt is not None:
        if interrupt.error is not None:
            return [(None, TransformOutputResult(error=interrupt.error, output=EMPTY, step=None))]
        return list(step_results([op for op in interrupt.ops if id(op) not in chain.transformed]))
    if outcome.error is not None:
        return [(None, TransformOutputResult(error=outcome.error, output=EMPTY, step=None))]
    return [(None, TransformOutputResult(error=None, output=outcome.result, step=None))]


def _apply_results(outcome: Outcome, results: list[tuple[dict[str, Any] | None, TransformOutputResult]]) -> Outcome:
    """``outcome`` with what the middleware put in its results."""
    for op, result in results:
        if op is not None:
            if result.has_output() and op.get("op") == Opcode.STEP_RUN.value:
                op["data"] = result.output
        elif outcome.interrupt is None:
            if result.error is not None:
                return Outcome(error=result.error, headers=outcome.headers)
            return Outcome(result=result.output if result.has_output() else None, headers=outcome.headers)
    return outcome
