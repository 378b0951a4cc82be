"""Request signatures, for code that talks to an app or the Inngest API without the SDK's handler:
proxies, tests, custom transports.

    header = sign(body, signing_key)                     # X-Inngest-Signature for ``body``
    verify(body, header, signing_key)                    # raises SignatureError if it does not match
    authorization = "Bearer " + hash_signing_key(key)    # what the Inngest API takes
"""

from __future__ import annotations

from .core import signing as _core
from .core.errors import SignatureError
from .core.wire import Limit

__all__ = ["SignatureError", "hash_signing_key", "sign", "verify"]


def sign(body: bytes, signing_key: str, *, timestamp: int | None = None) -> str:
    """The ``X-Inngest-Signature`` value for ``body``, signed as given, at ``timestamp`` (now)."""
    return _core.sign(body, _core.normalize_key(signing_key), timestamp)


def verify(body: bytes, header: str | None, signing_key: str, signing_key_fallback: str | None = None, *,
           max_age: int = Limit.SIGNATURE_MAX_AGE_SECONDS) -> None:
    """Check ``header`` against ``body`` with either key; raise :class:`SignatureError` if it is
    missing, malformed, older (or further ahead) than ``max_age`` seconds, or does not match. A
    request body is also accepted in its JCS form, as the server signs it."""
    keys = tuple(_core.normalize_key(k) if k else None for k in (signing_key, signing_key_fallback))
    _core.verify(body, header, keys, max_age=max_age)


def hash_signing_key(signing_key: str) -> str:
    """The hashed key the Inngest API takes as ``Authorization: Bearer <hash>`` (prefix kept)."""
    return _core.bearer(signing_key)
