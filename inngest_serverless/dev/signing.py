"""Request signatures and API bearer tokens (PROTOCOL §4), for the executor's side of the wire."""

from __future__ import annotations

import hashlib
import hmac
import re

_PREFIX = re.compile(r"^signkey-\w+-")


def normalize(key: str) -> str:
    return _PREFIX.sub("", key, count=1)


def sign(body: bytes, key: str, ts: int) -> str:
    """The ``X-Inngest-Signature`` value for ``body`` at unix time ``ts``."""
    mac = hmac.new(normalize(key).encode(), body + str(ts).encode(), hashlib.sha256)
    return f"t={ts}&s={mac.hexdigest()}"


def accepted_bearers(key: str) -> set[str]:
    """Bearer tokens the dev server accepts for ``key``: the key or its hash, with or without prefix."""
    plain = normalize(key)
    tokens = {key, plain}
    try:
        hashed = hashlib.sha256(bytes.fromhex(plain)).hexdigest()
    except ValueError:
        return tokens
    match = _PREFIX.match(key)
    tokens.update({hashed, (match.group(0) if match else "") + hashed})
    return {t for t in tokens if t}
