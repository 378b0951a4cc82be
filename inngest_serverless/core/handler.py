"""The one entry point: a :class:`Request` in, a :class:`Response` out.

GET introspection, PUT sync (out-of-band and in-band), POST ``?probe=trust``,
POST calls (replay and run), 405 for anything else. Adapters only translate
their host's event to a Request and the Response back.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import checkpoint, introspection, serialize, signing
from . import streaming as streaming_lib
from .context import Context, ContextSync, Event, ReplayLogger
from .errors import (
    BadRequest,
    ConfigError,
    NonRetriableError,
    RateLimited,
    RetryAfterError,
    SignatureError,
    StepError,
    error_object,
)
from .function import Function
from .http import Request, Response, error_response, sdk_headers
from .replay import Engine, Interrupt, is_user_failure, usable_error
from .steps import Step, StepSync
from .wire import (
    DISCOVERY_STEP_ID,
    PROBE_TRUST,
    Env,
    Header,
    Opcode,
    Query,
    ServerKind,
    SyncKind,
)

if TYPE_CHECKING:
    from .client import Inngest
    from .middleware import Chain, TransformOutputResult

log = logging.getLogger("inngest_serverless")

# handle_async verifies and parses bodies larger than this in a worker thread; smaller ones
# cost less than the thread hop (an HMAC over 256 KiB takes well under a millisecond).
OFFLOAD_BYTES = 256 * 1024
# At most one unsigned sync (cloud mode, INNGEST_ENABLE_UNAUTHED_SYNC) per this many seconds:
# each one costs an authenticated call to the Inngest API.
UNSIGNED_SYNC_INTERVAL = 10.0


@dataclass
class Call:
    """A parsed, verified call, ready to run."""

    fn: Function[Any]
    event: Event
    events: list[Event]
    memos: dict[str, Any]
    target: str | None
    attempt: int
    max_attempts: int | None
    run_id: str
    immediate: bool
    use_api: bool
    verified_key: str | None
    deadline: float | None
    request_id: str | None = None
    job_id: str | None = None
    ctx: dict[str, Any] = field(default_factory=dict)  # the call's raw ctx (fn_id, qi_id: checkpointing)
    request: Request | None = None  # what middleware gets as its raw request


@dataclass
class Outcome:
    result: Any = None
    interrupt: Interrupt | None = None
    error: BaseException | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Handler:
    """Serves one client's functions to the Inngest server over any transport."""

    def __init__(
        self,
        client: Inngest,
        *,
        functions: Iterable[Function[Any]] | None = None,
        framework: str = "python",
        serve_origin: str | None = None,
        serve_path: str | None = None,
        streaming: str | None = None,
        host_streams: bool | None = None,
        keepalive_interval: float = streaming_lib.DEFAULT_INTERVAL,
        deadline_margin: float | None = None,
        enable_unauthed_sync: bool | None = None,
    ) -> None:
        """``streaming``: ``"auto"`` | ``"force"`` | ``"off"`` (else the client's, else
        ``INNGEST_STREAMING``, else auto); ``host_streams``: does the host flush chunks
        as they are written (default: known from ``framework``); ``deadline_margin``:
        seconds kept free before ``Request.deadline`` (core/checkpoint.py); ``enable_unauthed_sync``:
        accept unsigned syncs in cloud mode (default: ``INNGEST_ENABLE_UNAUTHED_SYNC``)."""
        self.client = client
        self._unsigned_sync = enable_unauthed_sync
        self.streaming = streaming_lib.resolve_mode(streaming, getattr(client, "streaming", None))
        flushes = framework in streaming_lib.HOSTS_THAT_FLUSH if host_streams is None else host_streams
        self.stream_policy = streaming_lib.Policy.decide(self.streaming, host_streams=flushes,
                                                     interval=keepalive_interval)
        self.deadline_margin = deadline_margin
        self.framework = framework
        self._explicit = list(functions) if functions is not None else None
        self._serve_origin = serve_origin
        self._serve_path = serve_path
        self._index: dict[str, Function[Any]] = {}
        self._indexed_count = -1
        self._unsigned_sync_at: float | None = None

    # -- public -----------------------------------------------------------------------

    @property
    def functions(self) -> list[Function[Any]]:
        base = self._explicit if self._explicit is not None else self.client.functions
        return [f for top in base for f in top.all()]

    def handle(self, request: Request) -> Response:
        """Answer ``request``; never raises."""
        try:
            prepared = self._prepare(request)
            if isinstance(prepared, Response):
                return prepared
            if self.stream_policy.enabled:
                call = prepared
                return streaming_lib.run(lambda: self._call_guarded(call), self.stream_policy, self._headers(),
                                     self._internal_error)
            self._load_state(prepared)
            return self._finish(prepared, self._run_sync(prepared))
        except BadRequest as exc:
            return self._error(exc.status, exc.code, exc.message, no_retry=True)
        except RateLimited as exc:
            return self._rate_limited(exc)
        except Exception:
            log.exception("inngest_serverless: internal error while handling %s", request.method)
            return self._error(500, "internal_error", "internal error in the SDK; see the app's logs", no_retry=False)

    async def handle_async(self, request: Request) -> Response:
        """Answer ``request`` from an event loop: sync user code runs in a worker thread."""
        import asyncio

        try:
            if request.method == "PUT" or len(request.body) > OFFLOAD_BYTES:
                # Off the loop: a sync calls the API, and a large body's HMAC (hashlib releases
                # the GIL) and parsing would stall every other request the loop serves.
                prepared = await asyncio.to_thread(self._prepare, request)
            else:
                prepared = self._prepare(request)
            if isinstance(prepared, Response):
                return prepared
            if self.stream_policy.enabled:
                task = asyncio.ensure_future(self._call_guarded_async(prepared))
                return await streaming_lib.run_async(task, self.stream_policy, self._headers(), self._internal_error)
            if prepared.use_api:
                await asyncio.to_thread(self._load_state, prepared)
            outcome = await self._run_async(prepared)
            return self._finish(prepared, outcome)
        except BadRequest as exc:
            return self._error(exc.status, exc.code, exc.message, no_retry=True)
        except RateLimited as exc:
            return self._rate_limited(exc)
        except Exception:
            log.exception("inngest_serverless: internal error while handling %s", request.method)
            return self._error(500, "internal_error", "internal error in the SDK; see the app's logs", no_retry=False)

    # -- streamed calls (core/streaming.py): the call runs while keep-alive bytes go out --------

    def _internal_error(self) -> Response:
        return self._error(500, "internal_error", "internal error in the SDK; see the app's logs", no_retry=False)

    def _call_guarded(self, call: Call) -> Response:
        try:
            self._load_state(call)
            return self._finish(call, self._run_sync(call))
        except BadRequest as exc:
            return self._error(exc.status, exc.code, exc.message, no_retry=True)
        except Exception:
            log.exception("inngest_serverless: internal error while running a call")
            return self._internal_error()

    async def _call_guarded_async(self, call: Call) -> Response:
        import asyncio

        try:
            if call.use_api:
                await asyncio.to_thread(self._load_state, call)
            return self._finish(call, await self._run_async(call))
        except BadRequest as exc:
            return self._error(exc.status, exc.code, exc.message, no_retry=True)
        except Exception:
            log.exception("inngest_serverless: internal error while running a call")
            return self._internal_error()

    # -- responses ----------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return sdk_headers(self.framework)

    def _json(self, status: int, body: Any, *, key: str | None = None,
              headers: dict[str, str] | None = None) -> Response:
        raw = serialize.dumps(body)
        out = self._headers()
        # Explicit on every reply, 2xx included: the server retries a reply without it (PROTOCOL §11.3).
        out[Header.NO_RETRY] = "false"
        out.update(headers or {})
        if key:
            out[Header.SIGNATURE] = signing.sign(raw, key)
        return Response(status, out, raw)

    def _error(self, status: int, code: str, message: str, *, no_retry: bool) -> Response:
        return error_response(status, code, message, no_retry=no_retry, framework=self.framework)

    def _rate_limited(self, exc: RateLimited) -> Response:
        response = self._error(429, "sync_rate_limited", f"an unsigned sync ran less than {UNSIGNED_SYNC_INTERVAL:g} s "
                               "ago; try again later, or sign the request", no_retry=False)
        response.headers[Header.RETRY_AFTER] = str(exc.retry_after)
        return response

    # -- routing --------------------------------------------------------------------------

    def _prepare(self, request: Request) -> Response | Call:
        cfg = self.client.config
        if len(request.body) > cfg.max_body_bytes:
            raise BadRequest(413, "body_too_large",
                             f"request body of {len(request.body)} bytes exceeds the limit of {cfg.max_body_bytes}")
        method = request.method.upper()
        if method in ("GET", "PUT", "POST"):
            try:
                urlsplit(request.url)  # a hostile Host header can make the URL unparseable
            except ValueError:
                raise BadRequest(400, "malformed_url", "the request URL cannot be parsed") from None
            if not _is_utf8(request.url):  # a lone surrogate cannot be sent on in a sync or a function URL
                raise BadRequest(400, "malformed_url", "the request URL is not valid Unicode text")
        if method == "GET":
            return self._introspect(request)
        if method == "PUT":
            return self._sync(request)
        if method == "POST":
            if request.query.get(Query.PROBE) == PROBE_TRUST:
                return self._trust_probe(request)
            return self._parse_call(request)
        response = Response(405, self._headers(), b"")
        response.headers[Header.NO_RETRY] = "true"
        del response.headers[Header.CONTENT_TYPE]
        return response

    def _verify(self, request: Request, *, required: bool) -> str | None:
        """The key that verified ``request``; None when unsigned and not required."""
        cfg = self.client.config
        header = request.headers.get(Header.SIGNATURE)
        if not header and not required:
            return None
        if not any(cfg.signing_keys):
            if required:
                raise BadRequest(401, "unauthorized", "request must be signed, but the app has no signing key")
            return None
        try:
            return signing.verify(request.body, header, cfg.signing_keys).key
        except SignatureError as exc:
            raise BadRequest(401, "unauthorized", f"invalid signature: {exc}") from None

    def app_url(self, request_url: str) -> str:
        return introspection.app_url(
            request_url,
            self._serve_origin or self.client.config.serve_origin,
            self._serve_path or self.client.config.serve_path,
        )

    # -- GET ----------------------------------------------------------------------------

    def _introspect(self, request: Request) -> Response:
        cfg = self.client.config
        header = request.headers.get(Header.SIGNATURE)
        key: str | None = None
        verified: bool | None = None
        if header and any(cfg.signing_keys):
            try:
                key = signing.verify(request.body, header, cfg.signing_keys).key
                verified = True
            except SignatureError:
                verified = False
        elif header:
            verified = False
        if verified:
            body = introspection.authenticated(self, request.url)
        else:
            body = introspection.unauthenticated(self, verified)
        return self._json(200, body, key=key)

    # -- PUT ----------------------------------------------------------------------------

    def _sync(self, request: Request) -> Response:
        cfg = self.client.config
        in_band = (
            request.headers.get(Header.SYNC_KIND, "").lower() == SyncKind.IN_BAND and cfg.allow_in_band_sync
        )
        if in_band:
            key = self._verify(request, required=True)
            url = request.url
            try:
                sent = serialize.loads_request(request.body or b"{}")
            except (ValueError, RecursionError):
                sent = None
            if not isinstance(sent, dict):
                raise BadRequest(400, "malformed_body", "sync body must be a JSON object like {\"url\": ...}")
            if isinstance(sent.get("url"), str) and sent["url"]:
                url = sent["url"]
            body = introspection.in_band_payload(self, url)
            return self._json(200, body, key=key, headers={Header.SYNC_KIND: SyncKind.IN_BAND})
        key = self._verify(request, required=False)  # a signature that is present must verify
        from . import api

        if key is None and not cfg.is_dev:
            self._admit_unsigned_sync()
        url = introspection.strip_query(request.url, (Query.DEPLOY_ID,))
        payload = introspection.register_payload(self, url)
        deploy_id = request.query.get(Query.DEPLOY_ID) or None
        server_kind = request.headers.get(Header.SERVER_KIND, "").lower()
        try:
            status, reply = api.register(cfg, payload, deploy_id=deploy_id,
                                         server_kind=server_kind if server_kind in (ServerKind.DEV, ServerKind.CLOUD) else None)
        except Exception as exc:
            log.warning("inngest_serverless: sync failed: could not reach %s (%s)", cfg.api_origin, type(exc).__name__)
            return self._json(500, {"message": f"could not reach the Inngest API at {cfg.api_origin}",
                                    "modified": False}, key=key, headers={Header.SYNC_KIND: SyncKind.OUT_OF_BAND})
        if status == 200:
            modified = bool(reply.get("modified")) if isinstance(reply, dict) else False
            return self._json(200, {"message": "Successfully synced.", "modified": modified}, key=key,
                              headers={Header.SYNC_KIND: SyncKind.OUT_OF_BAND})
        message = reply.get("error") or reply.get("message") if isinstance(reply, dict) else None
        out_status = status if 400 <= status < 500 else 500
        return self._json(out_status, {"message": str(message or f"sync failed with status {status}"),
                                       "modified": False}, key=key,
                          headers={Header.SYNC_KIND: SyncKind.OUT_OF_BAND,
                                   Header.NO_RETRY: "true" if out_status < 500 else "false"})

    def _admit_unsigned_sync(self) -> None:
        """Let an unsigned PUT sync the app in cloud mode, or raise (401, 429).

        The register call carries the app's own key, so an unsigned PUT with ``Host:
        evil.example`` would point the app's Inngest environment, and every event and step
        output after it, at evil.example. The Go SDK (v0.16) refuses unsigned syncs unless
        ``INNGEST_ENABLE_UNAUTHED_SYNC``; so does this one, and even then only with a serve
        origin configured (``app_url`` puts it in place of the request's), and at most once
        every ``UNSIGNED_SYNC_INTERVAL`` seconds. The dashboard's syncs are signed.
        """
        cfg = self.client.config
        if not (cfg.unsigned_sync if self._unsigned_sync is None else self._unsigned_sync):
            raise BadRequest(401, "unauthorized",
                             "unsigned sync refused in cloud mode: sync from the Inngest dashboard (it signs its "
                             f"request), or set {Env.ENABLE_UNAUTHED_SYNC}=true and {Env.SERVE_ORIGIN}")
        if not (self._serve_origin or cfg.serve_origin):
            raise BadRequest(401, "unauthorized",
                             f"unsigned sync refused: {Env.ENABLE_UNAUTHED_SYNC} needs {Env.SERVE_ORIGIN} (or "
                             "serve_origin=), so that the app registers its own URL and not one taken from the request")
        now = time.monotonic()
        last = self._unsigned_sync_at
        if last is not None and now - last < UNSIGNED_SYNC_INTERVAL:
            # Not a BadRequest: retrying later succeeds. A race between threads lets a second one through; harmless.
            raise RateLimited(math.ceil(UNSIGNED_SYNC_INTERVAL - (now - last)))
        self._unsigned_sync_at = now

    # -- POST ?probe=trust ------------------------------------------------------------------

    def _trust_probe(self, request: Request) -> Response:
        cfg = self.client.config
        key = self._verify(request, required=not cfg.is_dev)
        return self._json(200, {}, key=key)

    # -- POST call ------------------------------------------------------------------------

    def _find(self, fn_id: str) -> Function[Any] | None:
        fns = self.functions
        if len(fns) != self._indexed_count:
            app = self.client.app_id
            self._index = {f.composite_id(app): f for f in fns}
            self._index.update({f.local_id: f for f in fns if f.local_id not in self._index})
            self._indexed_count = len(fns)
        return self._index.get(fn_id)

    def _parse_call(self, request: Request) -> Call:
        cfg = self.client.config
        key = self._verify(request, required=not cfg.is_dev)
        query = request.query
        fn_id = query.get(Query.FN_ID, "")
        if not fn_id:
            raise BadRequest(400, "missing_fn_id", "call is missing the fnId query parameter")
        fn = self._find(fn_id)
        if fn is None:
            raise BadRequest(404, "function_not_found", f"no function with ID {fn_id!r} in app {self.client.app_id!r}")
        try:
            body = serialize.loads_request(request.body)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise BadRequest(400, "malformed_body", "call body is not valid JSON") from None
        if not isinstance(body, dict):
            raise BadRequest(400, "malformed_body", "call body must be a JSON object")
        ctx = body.get("ctx")
        raw_event = body.get("event")
        if not isinstance(ctx, dict) or not isinstance(raw_event, dict):
            raise BadRequest(400, "malformed_body", "call body must carry 'event' and 'ctx' objects")
        steps = body.get("steps") or {}
        raw_events = body.get("events") or [raw_event]
        if not isinstance(steps, dict) or not isinstance(raw_events, list):
            raise BadRequest(400, "malformed_body", "'steps' must be an object and 'events' an array")
        run_id = ctx.get("run_id")
        attempt = ctx.get("attempt", 0)
        max_attempts = ctx.get("max_attempts")
        if not isinstance(run_id, str) or not isinstance(attempt, int) or isinstance(attempt, bool):
            raise BadRequest(400, "malformed_body", "'ctx.run_id' must be a string and 'ctx.attempt' an integer")
        if not _is_utf8(run_id):  # it goes into API paths (use_api, checkpoints), which need UTF-8
            raise BadRequest(400, "malformed_body", "'ctx.run_id' is not valid Unicode text")
        if max_attempts is not None and (not isinstance(max_attempts, int) or isinstance(max_attempts, bool)):
            max_attempts = None
        target = query.get(Query.STEP_ID) or DISCOVERY_STEP_ID
        disable = bool(ctx.get("disable_immediate_execution")) or (
            request.headers.get(Header.FORCE_STEP_PLAN, "").lower() == "true")
        events = [Event.from_wire(e) for e in raw_events if isinstance(e, dict)]
        return Call(
            fn=fn,
            event=Event.from_wire(raw_event),
            events=events or [Event.from_wire(raw_event)],
            memos=steps,
            target=None if target == DISCOVERY_STEP_ID else target,
            attempt=attempt,
            max_attempts=max_attempts,
            run_id=run_id,
            immediate=target == DISCOVERY_STEP_ID and not disable,
            use_api=bool(ctx.get("use_api") or body.get("use_api")),
            verified_key=key,
            deadline=request.deadline,
            request_id=request.headers.get(Header.REQUEST_ID),
            job_id=request.headers.get(Header.JOB_ID),
            ctx=ctx,
            request=request,
        )

    def _load_state(self, call: Call) -> None:
        if not call.use_api:
            return
        from . import api

        events, steps = api.fetch_run_state(self.client.config, call.run_id)
        parsed = [Event.from_wire(e) for e in events if isinstance(e, dict)]
        if parsed:
            call.events = parsed
            call.event = parsed[0]
        call.memos = steps

    # -- running ----------------------------------------------------------------------------

    def _engine(self, call: Call) -> Engine:
        budget = checkpoint.for_call(
            self.client.config, config=call.fn.opts.checkpoint, deadline=call.deadline, run_id=call.run_id,
            ctx=call.ctx, request_id=call.request_id, immediate=call.immediate and call.target is None,
            margin=self.deadline_margin)
        raw_stack = call.ctx.get("stack")
        stack = raw_stack.get("stack") if isinstance(raw_stack, dict) else None
        return Engine(memos=call.memos, target=call.target, immediate=call.immediate,
                      attempt=call.attempt, max_attempts=call.max_attempts, budget=budget,
                      stack=stack if isinstance(stack, list) else [])

    @staticmethod
    def _settled(engine: Engine, outcome: Outcome) -> Outcome:
        """The function returned or raised: post held checkpoint ops, or report them instead."""
        halted = engine.halted
        if halted is not None and outcome.interrupt is not halted:
            if outcome.interrupt is None:
                log.warning("inngest_serverless: the function caught the step interrupt (a bare 'except:' or "
                            "'except BaseException:' around a step?) and went on; answering as if it had not")
            outcome = Outcome(interrupt=halted)
        if outcome.interrupt is None and outcome.error is None and engine.target is None and (missed := engine.unreached()):
            # Returned without meeting finished steps (removed from the code): nothing runs twice, so warn.
            log.warning("inngest_serverless: the function ended without reaching %d step(s) this run already "
                        "finished (first: hashed ID %s); its code changed while the run was in progress",
                        len(missed), missed[0])
        budget = engine.budget
        if budget is None:
            return outcome
        try:
            if outcome.interrupt is None:
                leftover = budget.settle()
                if leftover:
                    return Outcome(interrupt=Interrupt(leftover))
            return outcome
        finally:
            budget.close()

    def _context_args(self, call: Call, engine: Engine) -> dict[str, Any]:
        function_id = call.fn.composite_id(self.client.app_id)
        keys = {"run_id": call.run_id, "function_id": function_id}
        return {
            "function_id": function_id,
            "env": self.client.config.env,
            "attempt": call.attempt,
            "event": call.event,
            "events": call.events,
            "run_id": call.run_id,
            "logger": ReplayLogger(self.client.logger, engine, keys),
            "max_attempts": call.max_attempts,
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

    def _run_sync(self, call: Call) -> Outcome:
        if call.fn.is_async:
            import asyncio

            return asyncio.run(self._run_async(call))
        engine = self._engine(call)
        ctx = ContextSync(step=StepSync(engine, self.client), **self._context_args(call, engine))
        chain = self._chain(call, engine)
        try:
            if chain is not None:
                chain.transform_input_sync(ctx, call.fn, engine.memos)
                engine.reload_memos()  # the middleware may have replaced memoized values
                if not engine.memos:
                    chain.before_execution_sync()
            outcome = Outcome(result=call.fn.handler(ctx))
        except Interrupt as interrupt:
            outcome = Outcome(interrupt=interrupt)
        except BaseException as exc:  # SystemExit too: a function must not end the process (is_user_failure)
            if not is_user_failure(exc):
                raise
            outcome = Outcome(error=exc)
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

    async def _run_async(self, call: Call) -> Outcome:
        if not call.fn.is_async:
            import asyncio

            return await asyncio.to_thread(self._run_sync, call)
        engine = self._engine(call)
        ctx = Context(step=Step(engine, self.client), **self._context_args(call, engine))
        chain = self._chain(call, engine)
        try:
            if chain is not None:
                await chain.transform_input_async(ctx, call.fn, engine.memos)
                engine.reload_memos()
                if not engine.memos:
                    await chain.before_execution_async()
            outcome = Outcome(result=await call.fn.handler(ctx))
        except Interrupt as interrupt:
            outcome = Outcome(interrupt=interrupt)
        except BaseException as exc:  # a real cancellation of this task propagates (is_user_failure)
            if not is_user_failure(exc):
                raise
            outcome = Outcome(error=exc)
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

    def _finish(self, call: Call, outcome: Outcome) -> Response:
        key = call.verified_key
        if outcome.interrupt is not None and outcome.interrupt.error is not None:
            return self._function_error(outcome.interrupt.error, key)
        if outcome.interrupt is not None:
            ops = outcome.interrupt.ops
            if not ops and call.target is not None:
                return self._json(500, {"name": "StepNotFound", "code": "step_not_found",
                                        "message": f"step {call.target} targeted by this call was not reached; "
                                                   "the function's code may have changed under a running run"},
                                  key=key)
            return self._json(206, ops, key=key, headers=outcome.interrupt.headers)
        if outcome.error is not None:
            return self._function_error(outcome.error, key)
        try:
            return self._json(200, outcome.result, key=key)
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
        return self._json(status, body, key=key, headers=headers)


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


def _is_utf8(text: str) -> bool:
    """Has ``text`` a UTF-8 form (no lone surrogate)? ASCII, the usual case, is decided in C."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
