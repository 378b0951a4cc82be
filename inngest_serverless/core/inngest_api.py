"""The one client for the Inngest API: register, large run state, events, checkpoints.

Every authenticated call carries ``Authorization: Bearer <hashed signing key>``
and, when the server refuses it (401/403), is tried once more with the fallback
key (a key rotation in progress): :func:`with_fallback_key` is that rule, for
both transports. httpx (imported lazily) serves register, run state and
events; checkpoint posts go over one reused standard-library connection, so
that a checkpointing function's first call does not pay for httpx, unless the
app gave its own httpx client (``Inngest(http_client=...)``: a proxy, a test
engine's in-process transport), which then carries them too.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

from . import signing
from .config import Config
from .errors import ApiError, SendEventsError
from .version import SDK_HEADER
from .wire import CONTENT_TYPE_JSON, Header, Limit, Path

if TYPE_CHECKING:
    import http.client

    import httpx

log = logging.getLogger("inngest_serverless")

_SEND_ATTEMPTS = 3
_REFUSED = (401, 403)  # the key was refused: try the fallback key
R = TypeVar("R")


def base_headers(cfg: Config) -> dict[str, str]:
    headers = {
        Header.SDK: SDK_HEADER,
        Header.USER_AGENT: SDK_HEADER,
        Header.CONTENT_TYPE: CONTENT_TYPE_JSON,
    }
    if cfg.env:
        headers[Header.ENV] = cfg.env
    if cfg.platform:
        headers[Header.PLATFORM] = cfg.platform
    return headers


def bearer_headers(cfg: Config) -> list[dict[str, str]]:
    """Headers to try in order: the primary key's, then the fallback key's (none without keys)."""
    keys = [k for k in cfg.signing_keys if k]
    if not keys:
        return [base_headers(cfg)]
    return [{**base_headers(cfg), Header.AUTHORIZATION: f"Bearer {signing.bearer(k)}"} for k in keys]


def with_fallback_key(cfg: Config, exchange: Callable[[dict[str, str]], R], status: Callable[[R], int]) -> R:
    """``exchange(headers)`` with the primary key, again with the fallback key when refused (401/403)."""
    result: R | None = None
    for headers in bearer_headers(cfg):
        result = exchange(headers)
        if status(result) not in _REFUSED:
            break
    assert result is not None  # bearer_headers() is never empty
    return result


_shared: httpx.Client | None = None
_shared_lock = threading.Lock()


def _client(cfg: Config | None = None) -> httpx.Client:
    """The app's own client (``Inngest(http_client=...)``), else one per process: building one
    loads the CA bundle (tens of ms), so calls share it."""
    global _shared
    if cfg is not None and cfg.http_client is not None:
        return cfg.http_client  # type: ignore[no-any-return]
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                import httpx

                _shared = httpx.Client(timeout=30.0)
    return _shared


def _timeout(cfg: Config, http: httpx.Client | httpx.AsyncClient) -> float | httpx.Timeout:
    """``Inngest(request_timeout=)`` for one call, else the client's own (httpx reads ``None`` as no limit at all)."""
    return http.timeout if cfg.request_timeout is None else cfg.request_timeout


def authed_request(cfg: Config, method: str, url: str, body: Any = None,
                   extra_headers: dict[str, str] | None = None) -> httpx.Response:
    """An API call with the hashed Bearer key, retried once with the fallback key on 401/403."""
    content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
    http = _client(cfg)
    return with_fallback_key(
        cfg, lambda headers: http.request(method, url, content=content, headers={**headers, **(extra_headers or {})},
                                      timeout=_timeout(cfg, http)),
        lambda response: response.status_code)


def register(cfg: Config, payload: dict[str, Any], *, deploy_id: str | None, server_kind: str | None) -> tuple[int, Any]:
    url = cfg.api_origin + Path.REGISTER
    if deploy_id:
        from urllib.parse import urlencode

        url += "?" + urlencode({"deployId": deploy_id})
    extra = {Header.EXPECTED_SERVER_KIND: server_kind} if server_kind else None
    response = authed_request(cfg, "POST", url, payload, extra)
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:500]}
    return response.status_code, body


def fetch_run_state(cfg: Config, run_id: str) -> tuple[list[Any], dict[str, Any]]:
    """The run's events and memoized steps, for a call whose body was too large to carry them."""
    out = []
    for path in (Path.RUN_BATCH, Path.RUN_ACTIONS):
        # Escaped: the run ID comes from the request body and must not reach other API paths.
        response = authed_request(cfg, "GET", cfg.api_origin + path.format(run_id=quote(run_id, safe="")))
        if response.status_code != 200:
            raise ApiError(f"fetching run state failed with status {response.status_code}", response.status_code)
        out.append(response.json())
    events, steps = out
    if not isinstance(events, list) or not isinstance(steps, dict):
        raise ApiError("the server returned run state of the wrong shape")
    return events, steps


def _event_seed() -> str:
    return f"{int(time.time() * 1000)},{base64.b64encode(os.urandom(10)).decode()}"


def prepare_events(events: Any) -> list[dict[str, Any]]:
    from .event import Event

    items = events if isinstance(events, list) else [events]
    if not items:
        raise ValueError("send() needs at least one event")
    out = []
    now = int(time.time() * 1000)
    for item in items:
        raw = item.to_wire() if isinstance(item, Event) else item
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
            raise ValueError("an event must be a dict (or Event) with a non-empty 'name'")
        raw = {k: v for k, v in raw.items() if not (k == "id" and not v)}
        raw.setdefault("data", {})
        raw.setdefault("ts", now)
        out.append(raw)
    return out


def _send_target(cfg: Config) -> str:
    key = cfg.event_key_or_default()
    if not key:
        raise ValueError("sending events needs an event key: Inngest(event_key=...) or INNGEST_EVENT_KEY")
    return f"{cfg.event_api_origin}{Path.EVENTS}{key}"


def _send_result(response: httpx.Response, sent: list[str]) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200:
        message = body.get("error") if isinstance(body, dict) else None
        raise SendEventsError(f"sending events failed ({response.status_code}): {message or response.text[:200]}",
                              response.status_code, list(sent))
    ids = body.get("ids") if isinstance(body, dict) else None
    return [str(i) for i in ids] if isinstance(ids, list) else []


def _backoff(attempt: int) -> float:
    return float(min(2.0, 0.1 * 2**attempt) * (0.5 + random.random() / 2))


def _send_plan(cfg: Config, events: Any) -> tuple[str, list[bytes], dict[str, str]]:
    """The URL, one body per batch of at most ``Limit.EVENTS_PER_SEND`` events, and the headers."""
    prepared = prepare_events(events)
    step = Limit.EVENTS_PER_SEND
    bodies = [json.dumps(prepared[i:i + step], separators=(",", ":")).encode() for i in range(0, len(prepared), step)]
    return _send_target(cfg), bodies, base_headers(cfg)


def _send_outcome(attempt: int, response: httpx.Response | None, error: Exception | None,
                  sent: list[str]) -> list[str] | None:
    """The IDs of this batch, or None to try again: server errors and network failures are retried, 4xx is
    not (a :class:`SendEventsError` naming the IDs ``sent`` before)."""
    last = attempt + 1 == _SEND_ATTEMPTS
    if error is not None:
        if last:
            raise error
        return None
    assert response is not None
    return _send_result(response, sent) if response.status_code < 500 or last else None


def send_sync(cfg: Config, events: Any) -> list[str]:
    """Send events in batches the server takes, one after the other; returns every ID in order.
    A batch that fails raises (the batches before it were sent: ``SendEventsError.ids``)."""
    import httpx

    url, bodies, headers = _send_plan(cfg, events)
    http = _client(cfg)
    ids: list[str] = []
    for body in bodies:
        # One seed per batch, kept across its retries: the server derives the same IDs, so a
        # retried batch is not stored twice.
        batch_headers = {**headers, Header.EVENT_ID_SEED: _event_seed()}
        for attempt in range(_SEND_ATTEMPTS):
            response, error = None, None
            try:
                response = http.post(url, content=body, headers=batch_headers, timeout=_timeout(cfg, http))
            except httpx.TransportError as exc:
                error = exc
            if (sent := _send_outcome(attempt, response, error, ids)) is not None:
                ids += sent
                break
            time.sleep(_backoff(attempt))
    return ids


async def send(cfg: Config, events: Any) -> list[str]:
    import asyncio

    import httpx

    url, bodies, headers = _send_plan(cfg, events)
    own = cfg.async_http_client
    http: httpx.AsyncClient = own if own is not None else httpx.AsyncClient(timeout=30.0)
    ids: list[str] = []
    try:
        for body in bodies:
            batch_headers = {**headers, Header.EVENT_ID_SEED: _event_seed()}  # as in send_sync()
            for attempt in range(_SEND_ATTEMPTS):
                response, error = None, None
                try:
                    response = await http.post(url, content=body, headers=batch_headers, timeout=_timeout(cfg, http))
                except httpx.TransportError as exc:
                    error = exc
                if (sent := _send_outcome(attempt, response, error, ids)) is not None:
                    ids += sent
                    break
                await asyncio.sleep(_backoff(attempt))
    finally:
        if own is None:
            await http.aclose()
    return ids


class CheckpointPoster:
    """Posts a checkpointing call's finished ops to ``POST {api}/v1/checkpoint/{run_id}/async``.

    Through the app's own httpx client when it configured one (every API call goes where the app
    said), else one standard-library connection, reused for every post of the call. The body
    names the run as the server knows it: ``fn_id`` and ``qi_id`` come from the call's ctx.
    """

    def __init__(self, cfg: Config, run_id: str, *, fn_id: str, qi_id: str | None,
                 request_id: str | None, generation_id: int | None) -> None:
        self._cfg = cfg
        self._target = cfg.api_origin + Path.CHECKPOINT_ASYNC.format(run_id=quote(run_id, safe=""))
        self._url = urlsplit(self._target)
        self._http: httpx.Client | None = cfg.http_client  # the app's: never closed here
        self._base: dict[str, Any] = {"run_id": run_id, "fn_id": fn_id, "qi_id": qi_id or ""}
        if request_id:
            self._base["request_id"] = request_id
        if generation_id is not None:
            self._base["generation_id"] = generation_id
        self._conn: http.client.HTTPConnection | None = None
        self.started_ms = int(time.time() * 1000)

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
        """One POST; a connection the server closed meanwhile is opened afresh once."""
        if self._http is not None:
            return self._http.post(self._target, content=body, headers=headers, timeout=timeout).status_code
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

    def post(self, ops: Sequence[dict[str, Any]], timeout: float) -> bool:
        """True once the server stored ``ops``; False (logged, no secrets) on any failure."""
        payload = {**self._base, "steps": list(ops), "ts": int(time.time() * 1000),
                   "request_started_at": self.started_ms}
        body = json.dumps(payload, separators=(",", ":")).encode()
        wait = max(0.1, timeout)
        try:
            status = with_fallback_key(self._cfg, lambda headers: self._exchange(body, headers, wait), int)
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
