"""Request signatures, response signatures and the hashed Bearer key.

The HMAC key is the UTF-8 text of the signing key without its ``signkey-<env>-``
prefix (not hex-decoded). Request bodies are canonicalised with JCS (RFC 8785)
before verification; response bodies are signed as sent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs

from . import serialize
from .errors import SignatureError
from .wire import Limit

_PREFIX = re.compile(r"^signkey-\w+-")


def normalize_key(key: str) -> str:
    """The key without its ``signkey-<env>-`` prefix."""
    return _PREFIX.sub("", key, count=1)


# hashlib and hmac are imported where used: they load OpenSSL (milliseconds and megabytes of
# RSS at start-up), and a dev-mode app never signs anything.


def _mac(body: bytes, key: str, ts: int) -> str:
    import hashlib
    import hmac

    # Two updates, not ``body + ts``: no copy of a body that may be megabytes long.
    mac = hmac.new(normalize_key(key).encode("utf-8"), body, hashlib.sha256)
    mac.update(str(ts).encode("ascii"))
    return mac.hexdigest()


def sign(body: bytes, key: str, ts: int | None = None) -> str:
    """The ``X-Inngest-Signature`` header value for ``body`` (signed as given, no JCS)."""
    ts = int(time.time()) if ts is None else ts
    return f"t={ts}&s={_mac(body, key, ts)}"


def bearer(key: str) -> str:
    """``<prefix><hex(sha256(hex_decode(key_without_prefix)))>`` (prefix kept)."""
    match = _PREFIX.match(key)
    prefix = match.group(0) if match else ""
    raw = normalize_key(key)
    try:
        material = bytes.fromhex(raw)
    except ValueError:
        material = raw.encode("utf-8")
    import hashlib

    return prefix + hashlib.sha256(material).hexdigest()


def event_key_hash(event_key: str) -> str:
    import hashlib

    return hashlib.sha256(event_key.encode("utf-8")).hexdigest()


def canonical(body: bytes) -> bytes:
    """JCS form of a JSON body; the raw bytes when it is empty or not JSON."""
    if not body.strip():
        return b""
    try:
        value = serialize.loads_request(body)
    except (ValueError, RecursionError):  # deep nesting: not canonicalisable, so it cannot verify
        return body
    import rfc8785  # deferred: only signed requests need it

    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, ValueError, TypeError, RecursionError):
        return body


@dataclass(frozen=True)
class Verified:
    key: str  # the key that verified the request: it signs the response


def parse_header(header: str) -> tuple[int, str]:
    fields = parse_qs(header, keep_blank_values=True)
    ts_text = (fields.get("t") or [""])[0]
    sig = (fields.get("s") or [""])[0]
    if not ts_text or not sig:
        raise SignatureError("signature header must carry t and s")
    try:
        ts = int(ts_text)
    except ValueError:
        raise SignatureError("signature timestamp is not an integer") from None
    if not 0 <= ts < 2**53:  # beyond this, comparing it with the clock (a float) overflows
        raise SignatureError("signature timestamp is out of range")
    return ts, sig


def verify(
    body: bytes,
    header: str | None,
    keys: tuple[str | None, ...],
    *,
    now: float | None = None,
    max_age: int = Limit.SIGNATURE_MAX_AGE_SECONDS,
) -> Verified:
    """Check ``header`` against ``body`` with each key in turn; return the key that matched.

    Rejects a timestamp older than ``max_age`` seconds, or more than ``max_age``
    seconds in the future (a clock that far ahead is not a clock we trust).
    """
    usable = [k for k in keys if k]
    if not usable:
        raise SignatureError("no signing key is configured")
    if not header:
        raise SignatureError("missing X-Inngest-Signature header")
    ts, sig = parse_header(header)
    current = time.time() if now is None else now
    if current - ts > max_age:
        raise SignatureError("signature has expired")
    if ts - current > max_age:
        raise SignatureError("signature timestamp is in the future")
    import hmac

    # Bytes, not str: compare_digest refuses non-ASCII text, and ``s`` is the caller's.
    expected = sig.encode("utf-8", "replace")
    for message in _signed_forms(body):
        for key in usable:
            if hmac.compare_digest(_mac(message, key, ts).encode("ascii"), expected):
                return Verified(key)
    raise SignatureError("signature does not match")


# Bodies up to this size whose bytes do not verify are tried again in JCS form. A body that
# needs it is a sync PUT's ``{"url": ...}`` (a few hundred bytes); call bodies arrive in JCS
# form already. Above it, a wrong signature costs one HMAC per key and nothing else: parsing
# and canonicalising 16 MB for an unauthenticated caller took seconds of CPU and ~200 MB.
JCS_FALLBACK_MAX_BYTES = 8 * 1024


def _signed_forms(body: bytes) -> Iterator[bytes]:
    """What the server may have signed for ``body``: the bytes as received, then (only if those
    do not verify, and the body is at most ``JCS_FALLBACK_MAX_BYTES``) their JCS form.

    The server signs the JCS form of a body and sends call bodies in that form already,
    so trying the bytes first spares parsing and canonicalising a large body
    (tens of milliseconds at 1,000 memoized steps). A MAC that matches these exact bytes proves
    the server signed exactly them. A body sent in another form than the one signed (the sync
    PUT's) verifies through its JCS form.
    """
    received = body if body.strip() else b""
    yield received
    if len(body) > JCS_FALLBACK_MAX_BYTES:
        return
    jcs = canonical(body)
    if jcs != received:
        yield jcs
