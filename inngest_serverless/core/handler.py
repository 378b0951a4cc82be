"""The one entry point: a :class:`Request` in, a :class:`Response` out.

GET introspection, PUT sync (out-of-band and in-band), POST ``?probe=trust``,
POST calls, 405 for anything else. Adapters only translate their host's event
to a Request and the Response back.

The handler routes, verifies signatures and keeps the one error guard (a
:class:`~.errors.BadRequest` becomes a 4xx, anything unexpected a 500 with no
detail); a call, once parsed (core/call_body.py) and verified, is run and its
reply encoded by core/execution.py, and the sync and introspection bodies come
from core/introspection.py.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import serialize
from . import streaming as streaming_lib
from .call_body import CallBody
from .config import package_logger
from .errors import BadRequest, RateLimited, SignatureError
from .execution import Call, Runner
from .function import Function
from .http import Request, Response, error_response
from .serialize import is_utf8
from .wire import (
    DISCOVERY_STEP_ID,
    PROBE_TRUST,
    Env,
    Header,
    Query,
    ServerKind,
    SyncKind,
)

if TYPE_CHECKING:
    from .client import Inngest


# handle_async verifies and parses bodies larger than this in a worker thread; smaller ones
# cost less than the thread hop (an HMAC over 256 KiB takes well under a millisecond).
OFFLOAD_BYTES = 256 * 1024
# At most one unsigned sync (cloud mode, INNGEST_ENABLE_UNAUTHED_SYNC) per this many seconds:
# each one costs an authenticated call to the Inngest API.
UNSIGNED_SYNC_INTERVAL = 10.0


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
        seconds kept free before ``Request.deadline`` (core/deadline.py); ``enable_unauthed_sync``:
        accept unsigned syncs in cloud mode (default: ``INNGEST_ENABLE_UNAUTHED_SYNC``)."""
        self.client = client
        self._unsigned_sync = enable_unauthed_sync
        self.streaming = streaming_lib.resolve_mode(streaming, getattr(client, "streaming", None))
        flushes = framework in streaming_lib.HOSTS_THAT_FLUSH if host_streams is None else host_streams
        self.stream_policy = streaming_lib.Policy.decide(self.streaming, host_streams=flushes,
                                                     interval=keepalive_interval)
        self.framework = framework
        self.runner = Runner(client, framework=framework, deadline_margin=deadline_margin)
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
        return self._guarded(lambda: self._answer(request), request.method)

    async def handle_async(self, request: Request) -> Response:
        """Answer ``request`` from an event loop: sync user code runs in a worker thread; never raises."""
        return await self._guarded_async(self._answer_async(request), request.method)

    # -- the error guard ------------------------------------------------------------------

    def _guarded(self, work: Callable[[], Response], what: str) -> Response:
        try:
            return work()
        except Exception as exc:
            return self._refusal(exc, what)

    async def _guarded_async(self, work: Awaitable[Response], what: str) -> Response:
        try:
            return await work
        except Exception as exc:
            return self._refusal(exc, what)

    def _refusal(self, exc: Exception, what: str) -> Response:
        """The reply for what answering a request raised: 4xx for a request that cannot succeed
        (or not yet), else a 500 that says nothing of the cause (the app's log has it)."""
        if isinstance(exc, BadRequest):
            return self._error(exc.status, exc.code, exc.message, no_retry=True)
        if isinstance(exc, RateLimited):
            response = self._error(429, "sync_rate_limited", "an unsigned sync ran less than "
                                   f"{UNSIGNED_SYNC_INTERVAL:g} s ago; try again later, or sign the request",
                                   no_retry=False)
            response.headers[Header.RETRY_AFTER] = str(exc.retry_after)
            return response
        package_logger().error("inngest_serverless: internal error while handling %s", what, exc_info=exc)
        return self._internal_error()

    def _internal_error(self) -> Response:
        return self._error(500, "internal_error", "internal error in the SDK; see the app's logs", no_retry=False)

    def _error(self, status: int, code: str, message: str, *, no_retry: bool) -> Response:
        return error_response(status, code, message, no_retry=no_retry, framework=self.framework)

    # -- answering ----------------------------------------------------------------------

    def _answer(self, request: Request) -> Response:
        prepared = self._prepare(request)
        if isinstance(prepared, Response):
            return prepared
        runner = self.runner
        if self.stream_policy.enabled:
            # The call runs while keep-alive bytes go out (core/streaming.py); its errors are
            # guarded where it runs, since the 201 has gone out by then.
            return streaming_lib.run(lambda: self._guarded(lambda: runner.respond(prepared), "a call"),
                                     self.stream_policy, runner.headers(), self._internal_error)
        return runner.respond(prepared)

    async def _answer_async(self, request: Request) -> Response:
        import asyncio

        if request.method == "PUT" or len(request.body) > OFFLOAD_BYTES:
            # Off the loop: a sync calls the API, and a large body's HMAC (hashlib releases
            # the GIL) and parsing would stall every other request the loop serves.
            prepared = await asyncio.to_thread(self._prepare, request)
        else:
            prepared = self._prepare(request)
        if isinstance(prepared, Response):
            return prepared
        runner = self.runner
        if self.stream_policy.enabled:
            task = asyncio.ensure_future(self._guarded_async(runner.respond_async(prepared), "a call"))
            return await streaming_lib.run_async(task, self.stream_policy, runner.headers(), self._internal_error)
        return await runner.respond_async(prepared)

    def _json(self, status: int, body: Any, *, key: str | None = None,
              headers: dict[str, str] | None = None) -> Response:
        return self.runner.json(status, body, key=key, headers=headers)

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
            if not is_utf8(request.url):  # a lone surrogate cannot be sent on in a sync or a function URL
                raise BadRequest(400, "malformed_url", "the request URL is not valid Unicode text")
        if method == "GET":
            return self._introspect(request)
        if method == "PUT":
            return self._sync(request)
        if method == "POST":
            if request.query.get(Query.PROBE) == PROBE_TRUST:
                return self._trust_probe(request)
            return self._parse_call(request)
        response = Response(405, self.runner.headers(), b"")
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
        from . import signing  # only signed requests need hmac and hashlib (OpenSSL)

        try:
            return signing.verify(request.body, header, cfg.signing_keys).key
        except SignatureError as exc:
            raise BadRequest(401, "unauthorized", f"invalid signature: {exc}") from None

    def _app_url(self, request_url: str) -> str:
        """The URL the server must call: the request's, unless a serve origin or path says otherwise."""
        from . import introspection  # GET and PUT only: a call never needs it

        cfg = self.client.config
        return introspection.app_url(request_url, self._serve_origin or cfg.serve_origin,
                                     self._serve_path or cfg.serve_path)

    # -- GET ----------------------------------------------------------------------------

    def _introspect(self, request: Request) -> Response:
        from . import introspection, signing

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
        count = len(self.functions)
        if verified:
            body = introspection.authenticated(cfg, count, self.framework, self._app_url(request.url))
        else:
            body = introspection.unauthenticated(cfg, count, verified)
        return self._json(200, body, key=key)

    # -- PUT ----------------------------------------------------------------------------

    def _sync(self, request: Request) -> Response:
        from . import introspection

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
            body = introspection.in_band_payload(cfg, self.functions, self.framework, self._app_url(url))
            return self._json(200, body, key=key, headers={Header.SYNC_KIND: SyncKind.IN_BAND})
        key = self._verify(request, required=False)  # a signature that is present must verify
        if key is None and not cfg.is_dev:
            self._admit_unsigned_sync()
        url = self._app_url(introspection.strip_query(request.url, (Query.DEPLOY_ID,)))
        server_kind = request.headers.get(Header.SERVER_KIND, "").lower()
        status, body = introspection.out_of_band_sync(
            cfg, self.functions, self.framework, url, deploy_id=request.query.get(Query.DEPLOY_ID) or None,
            server_kind=server_kind if server_kind in (ServerKind.DEV, ServerKind.CLOUD) else None)
        headers = {Header.SYNC_KIND: SyncKind.OUT_OF_BAND}
        if 400 <= status < 500:
            headers[Header.NO_RETRY] = "true"  # the API refused the app: the same sync fails again
        return self._json(status, body, key=key, headers=headers)

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
        body = CallBody.parse(request.body)
        target = query.get(Query.STEP_ID) or DISCOVERY_STEP_ID
        disable = body.ctx.disable_immediate_execution or (
            request.headers.get(Header.FORCE_STEP_PLAN, "").lower() == "true")
        return Call(
            fn=fn,
            body=body,
            target=None if target == DISCOVERY_STEP_ID else target,
            immediate=target == DISCOVERY_STEP_ID and not disable,
            verified_key=key,
            deadline=request.deadline,
            request_id=request.headers.get(Header.REQUEST_ID),
            job_id=request.headers.get(Header.JOB_ID),
            request=request,
        )
