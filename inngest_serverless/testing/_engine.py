"""``TestEngine``: the embedded executor on a virtual clock, calling the app in process."""

from __future__ import annotations

import copy
import datetime
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from inngest_serverless.core import introspection
from inngest_serverless.core.client import Inngest
from inngest_serverless.core.function import Function
from inngest_serverless.core.handler import Handler
from inngest_serverless.core.wire import InternalEvent

from ._mocks import UNSET, Mock, Mocks
from ._results import RunResult, StepRecord, to_datetime
from ._transport import API_ORIGIN, ApiTransport, AppTransport

if TYPE_CHECKING:
    from collections.abc import Callable

    from inngest_serverless.core.config import Config
    from inngest_serverless.dev.executor import Executor
    from inngest_serverless.dev.runs import Run

# Where the executor believes the app is served. Never resolved: the transport calls the handler.
APP_URL = "http://app.invalid/api/inngest"
DEFAULT_MAX_JUMPS = 10_000
_ENDED = frozenset({"Completed", "Failed", "Cancelled", "Skipped"})

EventLike = Mapping[str, Any] | Any  # a dict with name and data, or an inngest_serverless.Event


class EngineError(RuntimeError):
    """The engine cannot do what a test asked: no run started, a run that cannot end, a loop."""


# Clients an open engine has taken over: a second engine on one of them would give it back wrong.
_TAKEN: weakref.WeakSet[Inngest] = weakref.WeakSet()


class TestEngine:
    """Runs an app's functions in process, on a virtual clock, through the app's own handler.

    ``app`` is an ``Inngest`` client (all its functions), or one function or a list of them (with
    ``client=`` the client they belong to; else a dev-mode client is made for them). ``start`` is
    where the virtual clock begins (default: the machine's time now); it moves only when the engine
    moves it: ``advance``, or ``run`` / ``finish``, which jump to each next due item.

    While the engine is open it owns the client: the client's calls to the Inngest API (events its
    functions send) are answered in process. ``close()`` (or leaving a ``with`` block) gives the
    client back as it was.
    """

    __test__ = False  # a class named Test* is not a pytest test class

    def __init__(
        self,
        app: Inngest | Function[Any] | Sequence[Function[Any]],
        *,
        client: Inngest | None = None,
        start: datetime.datetime | None = None,
        max_jumps: int = DEFAULT_MAX_JUMPS,
    ) -> None:
        from inngest_serverless.dev.clock import VirtualClock
        from inngest_serverless.dev.executor import Executor, Options
        from inngest_serverless.dev.store import Store

        if isinstance(app, Inngest):
            client, functions = app, list(app.functions)
        else:
            functions = [app] if isinstance(app, Function) else list(app)
            client = client or Inngest(app_id="test-app", is_production=False)
        if client in _TAKEN:
            raise EngineError(f"client {client.app_id!r} is in use by another open TestEngine: close that one first")
        self.client = client
        self.max_jumps = max_jumps
        self.mocks = Mocks()
        self.clock = VirtualClock(_seconds(start) if start is not None else None)
        self._own: dict[str, Function[Any]] = {fn.composite_id(client.app_id): fn for top in functions for fn in top.all()}
        self.handler = Handler(client, functions=[self._wrap(fn) for fn in functions], framework="testing", streaming="off")
        self._config: Config | None = None
        cfg = client.config
        url = introspection.app_url(APP_URL, cfg.serve_origin, cfg.serve_path)
        payload = introspection.register_payload(cfg, self.handler.functions, self.handler.framework, url)
        self._transport = AppTransport(self.handler, str(payload["url"]), self.mocks)
        store = Store(":memory:")
        try:
            options = Options(signing_key=client.config.signing_key)
            self.executor: Executor = Executor(store, options, clock=self.clock, transport=self._transport)
            self.executor.prepare()
            self.executor.register(payload)
            self._api = ApiTransport(self.executor, lambda: int(self.clock.now() * 1000))
            self._take_client()
        except BaseException:
            store.close()
            raise

    # ------------------------------------------------------------------ the client

    def _wrap(self, fn: Function[Any]) -> Function[Any]:
        """A copy of ``fn`` whose context swaps mocked step bodies in (and of its failure handler)."""
        wrapped = copy.copy(fn)
        real, mocks, fid = fn.handler, self.mocks, fn.composite_id(self.client.app_id)
        if fn.is_async:

            async def handler_async(ctx: Any) -> Any:
                return await real(mocks.wrap_context(ctx, fid))

            wrapped.handler = handler_async
        else:

            def handler(ctx: Any) -> Any:
                return real(mocks.wrap_context(ctx, fid))

            wrapped.handler = handler
        if fn.on_failure is not None:
            wrapped.on_failure = self._wrap(fn.on_failure)
        return wrapped

    def _take_client(self) -> None:
        cfg = self.client.config
        http, http_async = self._api.clients()
        self._config = cfg
        _TAKEN.add(self.client)
        self.client.config = cfg.replace(
            api_origin=API_ORIGIN,
            event_api_origin=API_ORIGIN,
            event_key=cfg.event_key or "test-engine",
            http_client=http,
            async_http_client=http_async,
        )

    def close(self) -> None:
        """Give the client back and drop the engine's state."""
        if self._config is not None:
            replaced = self.client.config
            self.client.config = self._config
            self._config = None
            _TAKEN.discard(self.client)
            replaced.http_client.close()
        self.executor.store.close()

    def __enter__(self) -> TestEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the clock

    @property
    def now(self) -> datetime.datetime:
        """The virtual clock's time (UTC)."""
        return datetime.datetime.fromtimestamp(self.clock.now(), datetime.timezone.utc)

    def advance(self, delta: datetime.timedelta | float) -> None:
        """Move the clock ``delta`` (a timedelta, or seconds) forward, working each item as it falls due."""
        seconds = delta.total_seconds() if isinstance(delta, datetime.timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("the clock cannot go back")
        self.advance_to(self.clock.now() + seconds)

    def advance_to(self, when: datetime.datetime | float) -> None:
        """Move the clock to ``when``, working each item as it falls due on the way."""
        target = _seconds(when) if isinstance(when, datetime.datetime) else float(when)
        self._work()
        for _ in range(self.max_jumps):
            if not self._jump(until=target):
                break
        else:
            raise EngineError(f"more than {self.max_jumps} due items before {_iso(target)}: an endless loop?")
        if target > self.clock.now():
            self.clock.set(target)
        self._work()

    def _work(self) -> int:
        return self.executor.run_due()

    def _jump(self, until: float | None = None) -> bool:
        """Move the clock to the next due item (not past ``until``) and work it; False if none."""
        due = self.executor.next_due()
        if due is None or (until is not None and due > until):
            return False
        if due > self.clock.now():
            self.clock.set(due)
        self._work()
        return True

    # ------------------------------------------------------------------ events in, events out

    def send(self, events: EventLike | Iterable[EventLike]) -> list[str]:
        """Send events as a client would (starting runs, ending waits, cancelling); returns their IDs.

        The work they cause that is due now is done before this returns.
        """
        items = [events] if isinstance(events, Mapping) or hasattr(events, "to_wire") else list(events)
        ids = self.executor.send([_wire(e) for e in items])
        self._work()
        return ids

    @property
    def sent_events(self) -> list[dict[str, Any]]:
        """The events the app's functions sent (``step.send_event``, ``client.send``), in order, with IDs."""
        return list(self._api.sent)

    def signal(self, signal: str, data: Any = None) -> str | None:
        """Send ``signal`` to the run waiting for it; returns that run's ID (None if none waits)."""
        run_id = self.executor.pauses.signal(signal, data)
        self._work()
        return run_id

    def cancel(self, run: RunResult | str) -> bool:
        """Cancel a run (as the API's cancel does); False when it had already ended."""
        cancelled = self.executor.cancel(_run_id(run))
        self._work()
        return cancelled

    # ------------------------------------------------------------------ runs

    def run(self, fn: Function[Any] | str, event: EventLike | None = None) -> RunResult:
        """Start ``fn`` and run it to its end, jumping the clock to each next due item.

        With ``event`` the event is sent and the run it starts for ``fn`` is followed (through a
        debounce window or a batch timeout too). Without it, ``fn`` must have a cron trigger: the
        clock jumps to its next tick. EngineError when no run of ``fn`` starts.
        """
        return self.finish(self.start(fn, event))

    def start(self, fn: Function[Any] | str, event: EventLike | None = None) -> RunResult:
        """Like ``run``, but return as soon as the run exists, after the work due at once."""
        slug = self._slug(fn)
        if event is None:
            before = set(self._run_ids(slug))
            found = self._jump_until(lambda: [r for r in self._run_ids(slug) if r not in before], f"no cron tick of {slug}")
        else:
            event_id = self.send(event)[0]
            found = self._jump_until(lambda: self._run_ids(slug, event_id), f"no run of {slug} started from that event")
        return self.result(found[0])

    def finish(self, run: RunResult | str) -> RunResult:
        """Run the clock forward, item by item, until the run ends; its result."""
        run_id = _run_id(run)

        def ended() -> list[str]:
            current = self.executor.runs.get(run_id)
            if current is None:
                raise EngineError(f"no run {run_id}")
            return [run_id] if current.status in _ENDED else []

        self._jump_until(ended, f"run {run_id} waits for something that nothing scheduled (an event, a signal?)")
        return self.result(run_id)

    def _jump_until(self, found: Callable[[], list[str]], stuck: str) -> list[str]:
        self._work()
        for _ in range(self.max_jumps):
            ids = found()
            if ids:
                return ids
            if not self._jump():
                raise EngineError(f"{stuck}; nothing else is due (clock at {self.now.isoformat()})")
        raise EngineError(f"{stuck} after {self.max_jumps} due items (clock at {self.now.isoformat()}): an endless loop?")

    def result(self, run: RunResult | str) -> RunResult:
        """The run as it stands now."""
        run_id = _run_id(run)
        found = self.executor.runs.get(run_id)
        if found is None:
            raise EngineError(f"no run {run_id}")
        return self._result(found)

    def runs(self, fn: Function[Any] | str | None = None, *, status: str | None = None) -> list[RunResult]:
        """Every run (of ``fn``; with ``status``), oldest first."""
        ids = self._run_ids(self._slug(fn) if fn is not None else None)
        results = [self.result(run_id) for run_id in ids]
        return [r for r in results if status is None or r.status == status]

    def _slug(self, fn: Function[Any] | str) -> str:
        if isinstance(fn, Function):
            return fn.composite_id(self.client.app_id)
        if fn in self._own or fn in self.mocks.invokes:
            return fn
        return f"{self.client.app_id}-{fn}"

    def _run_ids(self, slug: str | None, event_id: str | None = None) -> list[str]:
        return self.executor.runs.ids(fn_slug=slug, event_id=event_id)

    def _result(self, run: Run) -> RunResult:
        timeline = [
            StepRecord(
                kind=entry["kind"],
                name=entry["name"],
                step_id=entry["step_id"],
                attempt=entry["attempt"],
                started=to_datetime(entry["started"]) or self.now,
                ended=to_datetime(entry["ended"]),
                detail=entry["detail"],
            )
            for entry in self.executor.runs.timeline(run.id)
        ]
        return RunResult(
            run_id=run.id,
            function_id=run.fn_slug,
            status=run.status,
            output=run.output,
            error=run.error,
            events=run.events,
            created_at=to_datetime(run.created_at) or self.now,
            started_at=to_datetime(run.started_at),
            ended_at=to_datetime(run.ended_at),
            timeline=timeline,
        )

    # ------------------------------------------------------------------ mocks

    def mock_step(
        self,
        step_id: str,
        *,
        value: Any = UNSET,
        error: BaseException | type[BaseException] | None = None,
        fn: Callable[..., Any] | None = None,
        fail_times: int = 0,
        function: Function[Any] | str | None = None,
    ) -> Mock:
        """Replace the body of ``step.run(step_id, ...)`` (in every function, or in ``function``).

        ``value``: the step returns it; ``error``: each attempt raises it (retried as the function's
        retries allow); ``fn``: called with the step's arguments instead; ``fail_times=N``: the
        first N attempts fail (with ``error``, else ``MockedStepError``), then the step runs (the
        real body, or ``value`` / ``fn``). The step stays a step: memoized, retried, in the timeline.
        Returns the mock, whose ``calls`` count the attempts per run.
        """
        mock = Mock(value=value, error=error, fn=fn, fail_times=fail_times)
        self.mocks.steps[(self._slug(function) if function is not None else None, step_id)] = mock
        return mock

    def mock_invoke(
        self,
        function_id: str,
        *,
        app_id: str | None = None,
        value: Any = UNSET,
        error: BaseException | type[BaseException] | None = None,
        fn: Callable[..., Any] | None = None,
        fail_times: int = 0,
    ) -> Mock:
        """Stand in for a function of another app that runs invoke (``step.invoke_by_id``).

        ``function_id`` is the ID the invoke names (with ``app_id``, as ``invoke_by_id`` takes them).
        The invoke runs as any other: a run of the stand-in starts, and its result (``value``, or
        ``fn(data)``) or its error comes back to the invoking step.
        """
        target = f"{app_id}-{function_id}" if app_id else function_id
        if target in self._own:
            raise ValueError(f"{target} is a function of the app under test: it runs for real")
        self.mocks.invokes[target] = Mock(value=value, error=error, fn=fn, fail_times=fail_times)
        self.executor.register(Mocks.register_payload(sorted(self.mocks.invokes)))
        return self.mocks.invokes[target]

    def invoke(self, fn: Function[Any] | str, data: Mapping[str, Any] | None = None) -> RunResult:
        """Run ``fn`` as an invoke from outside would (any function, whatever its triggers) to its end."""
        slug = self._slug(fn)
        event = {"name": InternalEvent.FUNCTION_INVOKED, "data": {**(data or {}), "_inngest": {"fn_id": slug}}}
        event_id = self.executor.send([event], internal=True)[0]
        found = self._jump_until(lambda: self._run_ids(slug, event_id), f"no run of {slug} started from the invoke")
        return self.finish(found[0])


def _seconds(when: datetime.datetime) -> float:
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def _iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat()


def _run_id(run: RunResult | str) -> str:
    return run.run_id if isinstance(run, RunResult) else run


def _wire(event: Any) -> Any:
    return event.to_wire() if hasattr(event, "to_wire") else dict(event)
