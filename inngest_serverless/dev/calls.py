"""The executor's outgoing requests: calls to an app, sync pings, step.fetch requests.

Calls to an app go through a ``Transport``, which the executor holds: by default ``request``
(HTTP on a fresh connection), or any callable of the same shape, such as one that hands the
request to an app's handler in the same process. Sync pings (``ping_app``) and step.fetch
requests always use HTTP: they reach a URL the dev server was given or a function named, not a
function's call path.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import time
import urllib.parse
import zlib
from typing import Any, Protocol

import rfc8785

from inngest_serverless.core import signing
from inngest_serverless.core.wire import CONTENT_TYPE_JSON, Header, Limit, ServerKind

from . import payloads

CALL_TIMEOUT_SECONDS = 2 * 3600.0  # MaxFunctionTimeout


@dataclasses.dataclass
class Reply:
    """An app's answer, or the transport error that stood in for one."""

    status: int
    headers: dict[str, str]
    body: bytes
    error: str | None = None
    seconds: float = 0.0

    @property
    def from_sdk(self) -> bool:
        return Header.SDK in self.headers

    @property
    def no_retry(self) -> bool:
        return self.headers.get(Header.NO_RETRY, "").strip().lower() == "true"

    def json(self) -> Any:
        return payloads.loads(self.body) if self.body else None


class Transport(Protocol):
    """How the executor calls an app: one exchange, answered with a ``Reply`` (never raising).

    ``timeout`` bounds the whole exchange; a body (decoded) over ``max_body`` bytes becomes an
    error reply. ``request`` is the HTTP one.
    """

    def __call__(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: float, max_body: int | None
    ) -> Reply: ...


def canonical(value: Any) -> bytes:
    """JCS (RFC 8785) bytes, as the server sends call bodies.

    JCS writes every number as a double, so it refuses an integer beyond 2**53 (a 64-bit order
    id in an event). Such a body goes out in the same compact, key-sorted form with the integer
    exact: the call is signed over these very bytes, which the SDK verifies first.
    """
    try:
        return rfc8785.dumps(value)
    except rfc8785.IntegerDomainError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def too_large(max_body: int | None) -> str:
    """The error of a reply whose body (decoded) is over ``max_body`` bytes, whichever transport read it."""
    return f"output_too_large: the response is over {max_body} bytes"


def request(
    method: str,
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    timeout: float,
    max_body: int | None = None,
) -> Reply:
    """One HTTP exchange on a fresh connection (the server uses no keep-alive for app calls).

    ``timeout`` bounds the whole exchange, not each read: a server that sends one byte at a time
    cannot hold a worker past it. A gzip body is decompressed as it arrives, and a body (decoded)
    over ``max_body`` bytes becomes an error reply as soon as it passes the limit, so neither a
    huge body nor a small gzip bomb is ever held in memory.
    """
    parts = urllib.parse.urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    started = time.monotonic()
    deadline = started + timeout
    conn = conn_class(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=headers)
        response = conn.getresponse()
        reply_headers = {k.lower(): v for k, v in response.getheaders()}
        gzipped = reply_headers.get("content-encoding", "").lower() == "gzip"
        data = _read_body(conn, response, deadline, max_body, gzipped)
        seconds = time.monotonic() - started
        if data is None:
            return Reply(response.status, reply_headers, b"", error=too_large(max_body), seconds=seconds)
        return Reply(response.status, reply_headers, data, seconds=seconds)
    except TimeoutError:
        error = f"Unable to reach SDK URL: no complete response within {timeout:g} s"
        return Reply(0, {}, b"", error=error, seconds=time.monotonic() - started)
    except (OSError, EOFError, zlib.error, http.client.HTTPException) as exc:
        return Reply(0, {}, b"", error=f"Unable to reach SDK URL: {exc}", seconds=time.monotonic() - started)
    finally:
        conn.close()


_CHUNK = 64 * 1024


def _read_body(
    conn: http.client.HTTPConnection, response: http.client.HTTPResponse, deadline: float, max_body: int | None, gzipped: bool
) -> bytes | None:
    """The (decoded) body, read before ``deadline``; None once it passes ``max_body`` bytes."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    limit = max_body
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        if conn.sock is not None:
            conn.sock.settimeout(remaining)
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        if inflate is not None:
            # Never inflate more than the limit allows (plus one byte, to know it was passed).
            chunk = inflate.decompress(chunk, 0 if limit is None else limit - size + 1)
            if limit is not None and size + len(chunk) > limit:
                return None
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
    if inflate is not None:
        chunks.append(inflate.flush())
        if limit is not None and size + len(chunks[-1]) > limit:
            return None
    return b"".join(chunks)


def _unwrap_stream(reply: Reply) -> Reply:
    """A 201 keep-alive stream ends in ``{"status","body","headers"}``: answer as if it was sent plainly."""
    try:
        wrapper = payloads.loads(reply.body)
    except ValueError:
        return Reply(500, reply.headers, reply.body, error="invalid streamed response", seconds=reply.seconds)
    if not isinstance(wrapper, dict):
        return Reply(500, reply.headers, reply.body, error="invalid streamed response", seconds=reply.seconds)
    headers = dict(reply.headers)
    headers.update({str(k).lower(): str(v) for k, v in (wrapper.get("headers") or {}).items()})
    inner = wrapper.get("body")
    body = inner.encode() if isinstance(inner, str) else json.dumps(inner).encode()
    if wrapper.get("error"):
        return Reply(500, headers, body, error=str(wrapper["error"]), seconds=reply.seconds)
    return Reply(int(wrapper.get("status") or 500), headers, body, seconds=reply.seconds)


def with_query(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query.extend(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def call_app(
    url: str,
    body: bytes,
    headers: dict[str, str],
    signing_key: str | None,
    timeout: float = CALL_TIMEOUT_SECONDS,
    transport: Transport = request,
) -> Reply:
    """POST the call body (``canonical`` bytes) to the app and return its (stream-unwrapped) reply.

    The signature carries the machine's time, not the executor's clock: the app checks it
    against its own clock, which a virtual one would be far from.
    """
    all_headers = {Header.CONTENT_TYPE: CONTENT_TYPE_JSON, **headers}
    if signing_key:
        all_headers[Header.SIGNATURE] = signing.sign(body, signing_key, int(time.time()))
    reply = transport("POST", url, body, all_headers, timeout, Limit.SDK_RESPONSE)
    if reply.status == 201 and reply.error is None:
        reply = _unwrap_stream(reply)
    return reply


def ping_app(url: str, signing_key: str | None, timeout: float = 10.0) -> Reply:
    """The dev server's sync ping: ``PUT <url>`` with ``{"url": url}``, which asks the app to register."""
    body = json.dumps({"url": url}).encode()
    headers = {Header.CONTENT_TYPE: CONTENT_TYPE_JSON, Header.SERVER_KIND: ServerKind.DEV}
    if signing_key:
        headers[Header.SIGNATURE] = signing.sign(canonical({"url": url}), signing_key, int(time.time()))
    return request("PUT", url, body, headers, timeout)
