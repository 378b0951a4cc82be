"""Checkpointing (PROTOCOL §14) and the invocation's deadline.

Without checkpointing every ``step.run`` costs one invocation: the SDK runs
the step, answers ``206 [StepRun]``, and the server calls again. With it,
consecutive ``step.run``s execute in one invocation: each finished step is
posted to ``POST {api}/v1/checkpoint/{runID}/async`` and the function keeps
going. The invocation ends as usual on a sleep, a wait, an invoke, a failing
step, a parallel group, or the function's end.

A finished step's op is held until the SDK knows what comes next (posted
right before the next step starts, or before the invocation ends), so that:

* when the request's deadline (``Request.deadline``, minus a safety margin) is
  too close to start another step, the held ops go back in the ``206`` and the
  server calls again: no work is lost to a host timeout;
* when a post fails, the held ops go back in the ``206`` (the plain protocol),
  and the invocation ends there.

The deadline also guards step bodies, checkpointing or not: a body still
running when the deadline is near is abandoned, and the call answers with a
retriable error naming the step and the deadline, before the host kills the
invocation and the attempt vanishes as a timeout.
"""

from __future__ import annotations

import inspect
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from .durations import Duration, format_ms, to_ms
from .errors import ConfigError, DeadlineExceeded
from .replay import Interrupt
from .wire import Path

if TYPE_CHECKING:
    import http.client

    from .config import Config
    from .replay import Engine, Pending

log = logging.getLogger("inngest_serverless")

DEFAULT_MARGIN = 1.5
"""Seconds kept free before the deadline to answer (at most a tenth of the invocation's budget)."""

_POST_TIMEOUT = 10.0


@dataclass(frozen=True)
class Checkpoint:
    """How a function checkpoints; pass to ``create_function(checkpoint=...)`` or ``Inngest(checkpoint=...)``.

    ``batch_steps``: post after this many finished steps (1: after each one).
    ``batch_interval``: also post once the oldest held step is this old.
    ``max_runtime``: stop starting new steps after this long in one invocation
    (a fresh invocation carries on), on top of the host's deadline.
    Durations are timedeltas or milliseconds.
    """

    batch_steps: int = 1
    batch_interval: Duration | None = None
    max_runtime: Duration | None = None

    def __post_init__(self) -> None:
        if isinstance(self.batch_steps, bool) or not isinstance(self.batch_steps, int) or self.batch_steps < 1:
            raise ConfigError("Checkpoint(batch_steps=...) must be an integer of at least 1")
        for name in ("batch_interval", "max_runtime"):
            value = getattr(self, name)
            if value is not None:
                to_ms(value, f"Checkpoint({name}=...)")

    def interval_seconds(self) -> float | None:
        ms = to_ms(self.batch_interval, "batch_interval") if self.batch_interval is not None else 0
        return ms / 1000 if ms else None

    def max_runtime_seconds(self) -> float | None:
        ms = to_ms(self.max_runtime, "max_runtime") if self.max_runtime is not None else 0
        return ms / 1000 if ms else None

    def to_wire(self) -> dict[str, Any]:
        """The register payload's ``checkpoint`` object (zero values left out, as Go does)."""
        out: dict[str, Any] = {"batch_steps": self.batch_steps}
        for name in ("batch_interval", "max_runtime"):
            value = getattr(self, name)
            if value is not None and to_ms(value, name):
                out[name] = format_ms(to_ms(value, name))
        return out


def coerce(value: Checkpoint | bool | None, what: str = "checkpoint") -> Checkpoint | None:
    """``True`` -> the default config, ``False``/``None`` -> off."""
    if value is None or value is False:
        return None
    if value is True:
        return Checkpoint()
    if isinstance(value, Checkpoint):
        return value
    raise ConfigError(f"{what} must be a Checkpoint, True or False, not {value!r}")


def margin_for(deadline: float | None, now: float, margin: float | None = None) -> float:
    if margin is not None:
        return max(0.0, margin)
    if deadline is None:
        return DEFAULT_MARGIN
    return max(0.0, min(DEFAULT_MARGIN, (deadline - now) / 10))


class Poster:
    """Posts finished ops to the async checkpoint endpoint over one reused connection (stdlib only)."""

    def __init__(self, cfg: Config, run_id: str, ctx: dict[str, Any], request_id: str | None) -> None:
        self._cfg = cfg
        self._url = urlsplit(cfg.api_origin + Path.CHECKPOINT_ASYNC.format(run_id=quote(run_id, safe="")))
        self._base: dict[str, Any] = {"run_id": run_id, "fn_id": ctx.get("fn_id"), "qi_id": ctx.get("qi_id", "")}
        if request_id or ctx.get("request_id"):
            self._base["request_id"] = request_id or ctx.get("request_id")
        if isinstance(ctx.get("generation_id"), int):
            self._base["generation_id"] = ctx["generation_id"]
        self._conn: http.client.HTTPConnection | None = None
        self.started_ms = int(time.time() * 1000)

    def _headers(self) -> list[dict[str, str]]:
        from . import api

        return api.bearer_headers(self._cfg)

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        import http.client

        if self._conn is None:
            cls = http.client.HTTPSConnection if self._url.scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self._url.hostname or "127.0.0.1", self._url.port, timeout=timeout)
        else:
            self._conn.timeout = timeout
            if self._conn.sock is not None:
                self._conn.sock.settimeout(timeout)
        return self._conn

    def _exchange(self, body: bytes, headers: dict[str, str], timeout: float) -> int:
        path = self._url.path + (f"?{self._url.query}" if self._url.query else "")
        for fresh in (False, True):
            conn = self._connection(timeout)
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.getheader("connection", "").lower() == "close":
                    self.close()
                return response.status
            except OSError:
                self.close()
                if fresh:
                    raise
            except Exception:
                self.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def post(self, ops: Sequence[dict[str, Any]], timeout: float = _POST_TIMEOUT) -> bool:
        """True once the server stored ``ops``; False (logged, no secrets) on any failure."""
        payload = {**self._base, "steps": list(ops), "ts": int(time.time() * 1000),
                   "request_started_at": self.started_ms}
        body = json.dumps(payload, separators=(",", ":")).encode()
        status = 0
        try:
            for headers in self._headers():
                status = self._exchange(body, headers, max(0.1, timeout))
                if status not in (401, 403):
                    break
        except Exception as exc:
            log.warning("inngest_serverless: checkpoint failed (%s); reporting the steps in the reply instead",
                        type(exc).__name__)
            return False
        if 200 <= status < 300:
            return True
        log.warning("inngest_serverless: checkpoint answered %s; reporting the steps in the reply instead", status)
        return False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Invocation:
    """One call's budget: the deadline guard for step bodies and, when enabled, the held ops."""

    def __init__(
        self,
        *,
        deadline: float | None,
        margin: float | None = None,
        config: Checkpoint | None = None,
        poster: Poster | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        now = clock()
        self.deadline = deadline
        self.margin = margin_for(deadline, now, margin)
        self.config = config if poster is not None else None
        self.poster = poster
        runtime = self.config.max_runtime_seconds() if self.config is not None else None
        self.runtime_end = now + runtime if runtime else None
        self.held: list[dict[str, Any]] = []
        self.held_since: float | None = None
        self.longest = 0.0
        self.posted = 0
        self.ran = 0

    @property
    def checkpointing(self) -> bool:
        return self.config is not None

    # -- step bodies ------------------------------------------------------------------

    def _cutoff(self) -> float | None:
        return None if self.deadline is None else self.deadline - self.margin

    def _overrun(self, engine: Engine, pending: Pending) -> None:
        if self.held:
            # Report what finished; the abandoned step starts afresh in the next call.
            raise Interrupt(self._take())
        seconds = max(0.0, (self.deadline or 0.0) - self.clock())
        engine.failed(pending, DeadlineExceeded(
            f"step {pending.user_id!r} was still running {seconds:.1f}s before the invocation's deadline; "
            "the SDK answered before the host could kill the invocation. Give the function more time "
            "(e.g. a longer host timeout) or split the step"))

    def _timed(self, started: float) -> None:
        self.ran += 1
        self.longest = max(self.longest, self.clock() - started)

    def run_body(self, engine: Engine, pending: Pending, handler: Callable[..., Any], args: Sequence[Any]) -> Any:
        """``handler(*args)``, abandoned (with a reply) if it outlives the deadline's cutoff."""
        started = self.clock()
        cutoff = self._cutoff()
        if cutoff is None:
            try:
                return _call(handler, args)
            finally:
                self._timed(started)
        if cutoff <= started:
            self._overrun(engine, pending)  # no time left: do not start what cannot finish
        import contextvars

        box: dict[str, Any] = {}
        context = contextvars.copy_context()

        def target() -> None:
            try:
                box["value"] = context.run(_call, handler, args)
            except BaseException as exc:
                box["error"] = exc

        worker = threading.Thread(target=target, name=f"inngest-step-{pending.user_id}", daemon=True)
        worker.start()
        worker.join(max(0.0, cutoff - self.clock()))
        if worker.is_alive():
            self._overrun(engine, pending)
        self._timed(started)
        if "error" in box:
            raise box["error"]
        return box.get("value")

    async def run_body_async(self, engine: Engine, pending: Pending, handler: Callable[..., Any],
                             args: Sequence[Any]) -> Any:
        """As :meth:`run_body`, for ``async def`` functions (a coroutine body is cancelled on overrun)."""
        import asyncio

        started = self.clock()
        cutoff = self._cutoff()
        try:
            if cutoff is None:
                result = handler(*args)
                return await result if inspect.isawaitable(result) else result
            if cutoff <= started:
                self._overrun(engine, pending)
            if inspect.iscoroutinefunction(handler):
                work: Any = handler(*args)
            else:
                work = asyncio.to_thread(_call, handler, args)
            try:
                return await asyncio.wait_for(work, max(0.0, cutoff - self.clock()))
            except asyncio.TimeoutError:
                self._overrun(engine, pending)
                raise AssertionError("unreachable") from None  # pragma: no cover
        finally:
            self._timed(started)

    # -- checkpointing -------------------------------------------------------------------

    def _take(self) -> list[dict[str, Any]]:
        ops, self.held, self.held_since = self.held, [], None
        return ops

    def _flush(self) -> bool:
        """Post the held ops; False (ops kept) when the post failed."""
        if not self.held or self.poster is None:
            return True
        cutoff = self._cutoff()
        timeout = _POST_TIMEOUT if cutoff is None else min(_POST_TIMEOUT, cutoff - self.clock())
        if timeout <= 0 or not self.poster.post(self.held, timeout):
            return False
        self.posted += len(self.held)
        self._take()
        return True

    def finished(self, op: dict[str, Any]) -> None:
        """A step.run finished in checkpoint mode: hold its op; the function goes on."""
        if not self.held:
            self.held_since = self.clock()
        self.held.append(op)

    def before_step(self) -> None:
        """A new step.run is about to start: stop here (raising the reply) or post what is due."""
        if not self.held:
            return
        now = self.clock()
        if (self.deadline is not None and now + self.margin + self.longest > self.deadline) or (
                self.runtime_end is not None and now >= self.runtime_end):
            # Another step might not finish in time: hand back what finished; the server calls again.
            raise Interrupt(self._take())
        assert self.config is not None
        interval = self.config.interval_seconds()
        due = len(self.held) >= self.config.batch_steps or (
            interval is not None and self.held_since is not None and self.clock() - self.held_since >= interval)
        if due and not self._flush():
            raise Interrupt(self._take())

    def before_report(self, ops: list[dict[str, Any]],
                      headers: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """The invocation ends with ``ops``: post held ops first, or report them instead."""
        if self.held and not self._flush():
            return self._take(), {}
        return ops, headers

    def settle(self) -> list[dict[str, Any]] | None:
        """The function returned or raised: None when nothing is held any more, else the ops to report."""
        if self.held and not self._flush():
            return self._take()
        return None

    def close(self) -> None:
        if self.poster is not None:
            self.poster.close()


def _call(handler: Callable[..., Any], args: Sequence[Any]) -> Any:
    result = handler(*args)
    if inspect.isawaitable(result):
        import asyncio  # a sync function calling an async step body needs a loop of its own

        async def wrap() -> Any:
            return await result

        return asyncio.run(wrap())
    return result


def for_call(
    cfg: Config,
    *,
    config: Checkpoint | None,
    deadline: float | None,
    run_id: str,
    ctx: dict[str, Any],
    request_id: str | None,
    immediate: bool,
    margin: float | None = None,
) -> Invocation | None:
    """The call's :class:`Invocation`, or None when there is neither a deadline nor checkpointing.

    Checkpointing needs a discovery call that may run steps, and the
    function's ID as the server knows it (``ctx.fn_id``).
    """
    can_checkpoint = config is not None and immediate and bool(run_id) and bool(ctx.get("fn_id"))
    if deadline is None and not can_checkpoint:
        return None
    poster = Poster(cfg, run_id, ctx, request_id) if can_checkpoint else None
    return Invocation(deadline=deadline, margin=margin, config=config, poster=poster)
