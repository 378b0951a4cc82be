"""What the fuzzers aim at, and the promises every reply must keep.

Shared by the hypothesis suites (tests/test_fuzz_*.py) and the coverage-guided
run (bench/fuzz_atheris.py): the fuzzed apps (dev mode, dev mode with a key,
cloud mode with a primary and a fallback key), the requests they expect, and
:func:`check_reply`, which states the invariants every reply keeps:

* the handler never raises;
* every reply carries ``X-Inngest-SDK`` and an explicit ``X-Inngest-No-Retry``;
* input that can never succeed gets a 4xx with ``X-Inngest-No-Retry: true``,
  never a 5xx (the fuzzed functions themselves never raise a retriable error,
  and the loopback API always answers, so no 5xx is ever legitimate here);
* a reply to a caller who did not sign with a configured key never contains a
  key, its normalised text, its hashed Bearer form, or the event key's hash.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import io
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import rfc8785

from inngest_serverless import ContextSync, Handler, Inngest, Request, Response, TriggerCron, TriggerEvent
from inngest_serverless.core import signing
from inngest_serverless.core.context import Context
from inngest_serverless.core.version import SDK_HEADER
from tests.support.fake_api import FakeApi, fake_api

APP = "fuzz"
URL = "http://app.test/api/inngest"
KEY = "signkey-prod-00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
FALLBACK = "signkey-prod-ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
EVENT_KEY = "fuzz-event-key-5b1d0c"

# Step IDs the fuzzed functions use, so that mutated memos reach deep replay paths.
STEP_IDS = ("a", "nap", "b", "wait", "call", "p1", "p2", "p1:1", "x", "y")
FUNCTIONS = ("steps", "parallel", "waits", "echo", "async-steps", "cron")


def hashed(step_id: str) -> str:
    return hashlib.sha1(step_id.encode()).hexdigest()


HASHES = tuple(hashed(s) for s in STEP_IDS)

# ``INNGEST_FUZZ_EXAMPLES=N``: examples per fuzz test, for a longer run than CI's.
EXAMPLES = int(os.environ.get("INNGEST_FUZZ_EXAMPLES", "0") or 0)


@contextmanager
def event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for all the examples of an async fuzz test."""
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        loop.close()


def build_client(mode: str, api_url: str) -> Inngest:
    """``dev`` (no key), ``dev-key`` (dev mode holding a key) or ``cloud`` (primary + fallback key)."""
    keys: dict[str, Any] = {}
    if mode in ("dev-key", "cloud"):
        keys["signing_key"] = KEY
    if mode == "cloud":
        keys["signing_key_fallback"] = FALLBACK
    client = Inngest(app_id=APP, is_production=mode == "cloud", event_key=EVENT_KEY, api_base_url=api_url,
                     event_api_base_url=api_url, **keys)

    def step_value(ctx: ContextSync | Context) -> Any:
        return ctx.event.data.get("x")

    @client.create_function(fn_id="steps", trigger=TriggerEvent(event="fuzz/steps"))
    def steps(ctx: ContextSync) -> Any:
        a = ctx.step.run("a", step_value, ctx)
        ctx.step.sleep("nap", datetime.timedelta(seconds=1))
        b = ctx.step.run("b", lambda: [a, ctx.attempt])
        return {"a": a, "b": b}

    @client.create_function(fn_id="parallel", trigger=TriggerEvent(event="fuzz/parallel"))
    def parallel(ctx: ContextSync) -> Any:
        return ctx.step.parallel((
            lambda: ctx.step.run("p1", lambda: 1),
            lambda: ctx.step.run("p2", lambda: 2),
            lambda: ctx.step.run("p1", lambda: 3),
        ))

    @client.create_function(fn_id="waits", trigger=TriggerEvent(event="fuzz/waits"))
    def waits(ctx: ContextSync) -> Any:
        got = ctx.step.wait_for_event("wait", event="fuzz/reply", timeout=datetime.timedelta(minutes=1),
                                      if_exp="async.data.id == event.data.id")
        out = ctx.step.invoke_by_id("call", function_id="echo", data={"got": got.name if got else None})
        return out

    @client.create_function(fn_id="echo", trigger=TriggerEvent(event="fuzz/echo"))
    def echo(ctx: ContextSync) -> Any:
        return {"event": ctx.event.to_wire(), "count": len(ctx.events)}

    @client.create_function(fn_id="async-steps", trigger=TriggerEvent(event="fuzz/async"))
    async def async_steps(ctx: Context) -> Any:
        x = await ctx.step.run("x", step_value, ctx)
        y = await ctx.step.run("y", lambda: x)
        return [x, y]

    @client.create_function(fn_id="cron", trigger=TriggerCron(cron="*/5 * * * *"))
    def cron(ctx: ContextSync) -> Any:
        return ctx.step.run("a", lambda: "tick")

    return client


class _Routes(dict[tuple[str, str], Any]):
    """Exact routes, plus empty large-payload state (for ``use_api``) for any run ID."""

    def get(self, key: tuple[str, str], default: Any = None) -> Any:
        method, path = key
        if key in self:
            return self[key]
        if method == "GET" and path.startswith("/v0/runs/"):
            if path.endswith("/batch"):
                return lambda _r: (200, [])
            if path.endswith("/actions"):
                return lambda _r: (200, {})
        return default


@contextmanager
def loopback_api() -> Iterator[FakeApi]:
    """A loopback Inngest API that accepts every sync and serves empty run state for any run."""
    with fake_api() as api:
        api.routes = _Routes()
        api.on("POST", "/fn/register", (200, {"ok": True, "modified": False}))
        yield api


class Connection:
    """A socket as ``socketserver.StreamRequestHandler`` uses it (Vercel's handler class is one):
    the request's bytes in, the reply's bytes out, with no network in between."""

    def __init__(self, data: bytes) -> None:
        self.incoming = io.BytesIO(data)
        self.sent = bytearray()

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BytesIO:
        return self.incoming

    def sendall(self, data: bytes) -> None:
        self.sent += data


def serve_raw(handler_class: Any, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Run an ``http.server`` handler class on one raw HTTP request: status, headers, body."""
    connection = Connection(raw)
    handler_class(connection, ("127.0.0.1", 1234), None)
    head, _, body = bytes(connection.sent).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    return int(lines[0].split()[1]), dict(line.split(": ", 1) for line in lines[1:]), body


# -- the oracle ------------------------------------------------------------------------


def canonical(body: bytes) -> bytes:
    """JCS form (what the server signs), written here independently of the SDK."""
    if not body.strip():
        return b""
    try:
        return rfc8785.dumps(json.loads(body))
    except Exception:
        return body


def signed_by(request: Request, keys: tuple[str, ...]) -> bool:
    """Did the caller prove it holds one of ``keys``? (Timestamps are not checked: stricter.)"""
    header = request.headers.get("x-inngest-signature")
    if not header or not keys:
        return False
    fields = parse_qs(header)
    try:
        ts = int(fields["t"][0])
        sig = fields["s"][0]
    except (KeyError, ValueError, IndexError):
        return False
    message = canonical(request.body) + str(ts).encode()
    for key in keys:
        secret = signing.normalize_key(key).encode()
        if hmac.compare_digest(hmac.new(secret, message, hashlib.sha256).hexdigest().encode(), sig.encode("utf-8", "replace")):
            return True
    return False


def secrets() -> tuple[str, ...]:
    out: list[str] = [EVENT_KEY, hashlib.sha256(EVENT_KEY.encode()).hexdigest()]
    for key in (KEY, FALLBACK):
        bearer = signing.bearer(key)
        out += [key, signing.normalize_key(key), bearer, bearer.removeprefix("signkey-prod-")]
    return tuple(out)


SECRETS = secrets()


@dataclass
class Violation(AssertionError):
    what: str
    request: Request
    response: Response

    def __str__(self) -> str:
        return (f"{self.what}: {self.request.method} {self.request.url!r} headers={dict(self.request.headers)!r} "
                f"body={self.request.body[:300]!r} -> {self.response.status} {self.response.headers!r} "
                f"{self.response.body[:300]!r}")


class LogSecrets(logging.Handler):
    """Attached to the SDK's logger while fuzzing: remembers any record that shows a secret."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        if any(secret in text for secret in SECRETS):
            self.leaks.append(text)


@contextmanager
def log_secrets() -> Iterator[LogSecrets]:
    """Watch the SDK's log records (every level) for secrets while the block runs."""
    logger = logging.getLogger("inngest_serverless")
    watcher, level = LogSecrets(), logger.level
    logger.addHandler(watcher)
    logger.setLevel(logging.DEBUG)
    try:
        yield watcher
    finally:
        logger.removeHandler(watcher)
        logger.setLevel(level)


def _targeted_step_not_found(request: Request, body: bytes) -> bool:
    """The one 5xx the fuzzer accepts: a targeted call whose step the code does not reach.

    Core answers it 500 (retriable) with code ``step_not_found``, as inngest-py does
    (tests/protocol/test_differential.py asserts the parity); see docs/reliability.md.
    """
    try:
        step = request.query.get("stepId", "step") if request.method.upper() == "POST" else "step"
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return False
    return step not in ("", "step") and code == "step_not_found"


def check_reply(handler: Handler, request: Request, response: Response, *, exact: bool = True) -> None:
    """Raise :class:`Violation` when ``response`` breaks one of the promises in the module docstring.

    ``exact=False``: a host adapter's input was mutated after ``request`` was drawn, so
    the method that reached core is not known (the 405 promise is not checked).
    """

    def fail(what: str) -> None:
        raise Violation(what, request, response)

    if not isinstance(response, Response) or not isinstance(response.status, int):
        fail("reply is not a Response")
    body = response.read()
    headers = {k.lower(): v for k, v in response.headers.items()}
    if headers.get("x-inngest-sdk") != SDK_HEADER:
        fail("reply lacks X-Inngest-SDK")
    if response.status == 201:  # keep-alive stream: judge the wrapped reply
        try:
            wrapped = json.loads(body)
            status, inner, inner_headers = wrapped["status"], wrapped["body"], wrapped["headers"]
        except (ValueError, KeyError, TypeError):
            fail("streamed reply does not end with a {status, body, headers} wrapper")
        if not isinstance(status, int) or not isinstance(inner, str) or not isinstance(inner_headers, dict):
            fail("streamed reply's wrapper has fields of the wrong type")
        # The server copies the wrapper's headers over the response's before its retry logic.
        response = Response(status, {**headers, **{k.lower(): v for k, v in inner_headers.items()}}, inner.encode())
        body = response.body
        headers = response.headers
    if headers.get("x-inngest-no-retry") not in ("true", "false"):
        fail("reply lacks an explicit X-Inngest-No-Retry")
    if response.status >= 500 and not _targeted_step_not_found(request, body):
        fail("5xx for input that can never succeed")
    if 400 <= response.status < 500 and headers["x-inngest-no-retry"] != "true":
        fail("4xx that the server would retry")
    other_method = exact and request.method.upper() not in ("GET", "PUT", "POST")
    if other_method and len(request.body) <= handler.client.config.max_body_bytes and (response.status != 405 or body):
        fail("a method other than GET, PUT, POST was not answered with a bare 405")
    if body and response.status != 405:
        try:
            json.loads(body)
        except ValueError:
            fail("reply body is not JSON")
    keys = tuple(k for k in handler.client.config.signing_keys if k)
    if not signed_by(request, keys):
        text = body.decode("utf-8", "replace") + json.dumps(headers)
        for secret in SECRETS:
            if secret in text:
                fail("reply to an unauthenticated caller reveals a key or its hash")
