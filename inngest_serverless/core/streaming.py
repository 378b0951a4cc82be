"""Keep-alive streaming: answer ``201`` at once, a space every few seconds, then the reply.

Gateways and proxies drop a request that sends no byte for their idle timeout
(API Gateway REST streams, Vercel, Cloudflare, load balancers). In streaming
mode the call runs in a worker (a thread, or a task on the event loop) while
the reply carries keep-alive spaces; the last chunk is the real outcome as
``{"status", "body", "headers"}``. Leading whitespace before a JSON value is
legal, and the server parses the whole body.

Modes (``streaming=`` on the client or the handler, else ``INNGEST_STREAMING``):

* ``"off"``: never stream.
* ``"force"``: every call is streamed from its first byte, whatever the host.
* ``"auto"`` (default): stream only on hosts that flush chunks as they are
  written, and only once a call has run for one keep-alive interval. Quick
  calls get a plain reply; hosts that buffer (Lambda ``BUFFERED``, HTTP APIs,
  ALB, classic Azure replies) never see a 201 they cannot use.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Literal

from .http import Response
from .record import FrozenRecord
from .wire import Env

if TYPE_CHECKING:
    import asyncio

Mode = Literal["auto", "force", "off"]


class Streaming(enum.Enum):
    """The official SDK's names for two modes, for ``serve(..., streaming=)``: ``DISABLE`` is
    ``"off"``, ``FORCE`` is ``"force"`` (adapters read the value as a mode)."""

    DISABLE = "disable"
    FORCE = "force"

MODES: tuple[Mode, ...] = ("auto", "force", "off")

DEFAULT_INTERVAL = 3.0
"""Seconds between keep-alive bytes (the official Python SDK uses 3, Go 5)."""

KEEPALIVE = b" "
STREAMED_STATUS = 201

# Frameworks (the ``framework`` name adapters give core) whose hosts write each chunk
# through as it is yielded. GCF and Azure stream only in some setups (gen2; the FastAPI
# HTTP-streams extension), so their adapters opt in with ``host_streams=True``.
HOSTS_THAT_FLUSH = frozenset({"asgi", "wsgi", "vercel", "aws_lambda_streaming"})

# Spellings accepted from INNGEST_STREAMING (the official SDK reads disable / allow / force).
_ALIASES: dict[str, Mode] = {
    "auto": "auto", "": "auto",
    "force": "force", "allow": "force", "on": "force", "true": "force", "1": "force",
    "off": "off", "disable": "off", "disabled": "off", "false": "off", "0": "off",
}


def parse_mode(value: str | None, what: str = "streaming") -> Mode | None:
    """``value`` as a :data:`Mode` (None stays None); raises ``ValueError`` naming ``what``."""
    if value is None:
        return None
    mode = _ALIASES.get(str(value).strip().lower())
    if mode is None:
        raise ValueError(f"{what} must be one of 'auto', 'force' or 'off', not {value!r}")
    return mode


def resolve_mode(*explicit: str | None, environ: Mapping[str, str] | None = None) -> Mode:
    """The first explicit setting, else ``INNGEST_STREAMING``, else ``auto``."""
    for value in explicit:
        mode = parse_mode(value)
        if mode is not None:
            return mode
    env = os.environ if environ is None else environ
    try:
        return parse_mode(env.get(Env.STREAMING), Env.STREAMING) or "auto"
    except ValueError:
        return "auto"


class Policy(FrozenRecord):
    """When to switch a call to a keep-alive stream: after ``grace`` seconds (None: never)."""

    # A plain class, not a dataclass: every adapter decides one (core/record.py says why).
    __slots__ = ("grace", "interval")
    _fields = ("grace", "interval")
    grace: float | None
    interval: float

    def __init__(self, grace: float | None, interval: float = DEFAULT_INTERVAL) -> None:
        object.__setattr__(self, "grace", grace)
        object.__setattr__(self, "interval", interval)

    @classmethod
    def decide(cls, mode: Mode, *, host_streams: bool, interval: float = DEFAULT_INTERVAL) -> Policy:
        if mode == "force":
            return cls(0.0, interval)
        if mode == "auto" and host_streams:
            return cls(interval, interval)
        return cls(None, interval)

    @property
    def enabled(self) -> bool:
        return self.grace is not None


def wrap(response: Response) -> bytes:
    """The stream's last chunk: the real reply as ``{"status", "body", "headers"}``.

    ``body`` is the exact reply body as a JSON string, which the server decodes
    before parsing, so a function whose result is itself a string stays a string.
    """
    body = response.read().decode("utf-8", "replace")
    return json.dumps({"status": response.status, "body": body, "headers": dict(response.headers)}).encode()


class _Outcome:
    """A reply being computed elsewhere; ``done`` is set once ``response`` is ready."""

    def __init__(self) -> None:
        import threading  # a streamed call only: a call answered in one piece needs no thread

        self.done = threading.Event()
        self.response: Response | None = None

    def set(self, response: Response) -> None:
        self.response = response
        self.done.set()


def _chunks(outcome: _Outcome, interval: float) -> Iterator[bytes]:
    # The first space goes out at once: it pushes the status line and headers
    # through any proxy that waits for body bytes before forwarding them.
    yield KEEPALIVE
    while not outcome.done.wait(interval):
        yield KEEPALIVE
    assert outcome.response is not None
    yield wrap(outcome.response)


def streamed(outcome: _Outcome, headers: dict[str, str], interval: float) -> Response:
    return Response(STREAMED_STATUS, dict(headers), b"", _chunks(outcome, interval))


def run(work: Callable[[], Response], policy: Policy, headers: dict[str, str],
        failed: Callable[[], Response]) -> Response:
    """Run ``work``; stream keep-alives if it outlasts ``policy.grace``.

    ``failed`` makes the reply should ``work`` raise (it is meant not to).
    """
    if policy.grace is None:
        return work()
    import contextvars

    outcome = _Outcome()
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome.set(context.run(work))
        except BaseException:
            outcome.set(failed())
            raise

    import threading

    worker = threading.Thread(target=target, name="inngest-call", daemon=True)
    worker.start()
    if policy.grace > 0 and outcome.done.wait(policy.grace) and outcome.response is not None:
        return outcome.response
    return streamed(outcome, headers, policy.interval)


async def run_async(task: asyncio.Future[Response], policy: Policy, headers: dict[str, str],
                    failed: Callable[[], Response]) -> Response:
    """Await ``task``; stream keep-alives if it outlasts ``policy.grace`` (``failed``: as in :func:`run`).

    The stream is a plain iterator that waits on a thread event, so an ASGI
    server pulls it from a worker thread while the task runs on the loop.
    """
    import asyncio

    if policy.grace is None:
        return await task
    if policy.grace > 0:
        done, _ = await asyncio.wait({task}, timeout=policy.grace)
        if done:
            return task.result()
    outcome = _Outcome()

    def settle(t: asyncio.Future[Response]) -> None:
        outcome.set(failed() if t.cancelled() or t.exception() is not None else t.result())

    task.add_done_callback(settle)
    return streamed(outcome, headers, policy.interval)
