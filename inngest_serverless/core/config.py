"""Client configuration: constructor arguments first, then the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .record import FrozenRecord
from .wire import ENV_BRANCH_FALLBACKS, NO_EVENT_KEY, Env, Limit, Origin, ServerKind

if TYPE_CHECKING:
    import logging

_set = object.__setattr__  # how a FrozenRecord's __init__ sets its fields
PACKAGE_LOGGER = "inngest_serverless"  # the logger the package writes to


def package_logger() -> logging.Logger:
    """The package's logger. ``logging`` is imported here, on first use: a cold start that logs
    nothing (most do) does not load it."""
    import logging

    return logging.getLogger(PACKAGE_LOGGER)


class PackageLogger:
    """``client.logger`` when none is given: stands for :func:`package_logger` and looks it up on
    each use, so that creating a client does not import ``logging``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(package_logger(), name)


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _falsy(value: str) -> bool:
    return value.strip().lower() in ("", "0", "false")


def dev_mode_from_env(environ: Mapping[str, str]) -> bool | None:
    """``INNGEST_DEV``: dev unless empty, ``0`` or ``false``; ``None`` when unset."""
    value = environ.get(Env.DEV)
    if value is None:
        return None
    return not _falsy(value)


# INNGEST_LOG_LEVEL, in the spellings the other Inngest SDKs read; "silent" is above every level.
# The numbers are logging's own (DEBUG 10 to CRITICAL 50), fixed since Python 2: written out, so that
# reading the environment does not import logging.
LOG_LEVELS = {"debug": 10, "info": 20, "warn": 30, "warning": 30, "error": 40, "fatal": 50, "critical": 50,
              "silent": 60}


def log_level_from_env(environ: Mapping[str, str]) -> int | None:
    """``INNGEST_LOG_LEVEL`` as a ``logging`` level; ``None`` when unset or empty."""
    value = environ.get(Env.LOG_LEVEL, "").strip().lower()
    if not value:
        return None
    if value not in LOG_LEVELS:
        raise ValueError(f"{Env.LOG_LEVEL} must be one of debug, info, warn, error, fatal, silent; not {value!r}")
    return LOG_LEVELS[value]


def platform_from_env(environ: Mapping[str, str]) -> str | None:
    if region := environ.get("AWS_REGION"):
        return f"aws-{region}"
    if environ.get("VERCEL"):
        return "vercel"
    if environ.get("NETLIFY"):
        return "netlify"
    if environ.get("K_SERVICE") or environ.get("FUNCTION_TARGET"):
        return "gcp"
    if environ.get("FUNCTIONS_WORKER_RUNTIME"):
        return "azure"
    return None


# Inngest's signing keys are 64 hex digits after the ``signkey-<env>-`` prefix. A key much shorter
# than that (or empty: ``signkey-prod-``) can be guessed, and a request signed with it is served.
MIN_SIGNING_KEY_CHARS = 32


def check_signing_key(name: str, key: str | None) -> None:
    """Raise ``ValueError`` for a key a caller could guess or that can never verify; the message
    never shows the key."""
    if key is None:
        return
    from .signing import normalize_key

    if not isinstance(key, str):
        raise ValueError(f"{name} must be a string")
    secret = normalize_key(key)
    if any(c.isspace() or not c.isprintable() for c in key):
        raise ValueError(f"{name} contains whitespace or control characters (a newline copied with it?)")
    if len(secret) < MIN_SIGNING_KEY_CHARS:
        raise ValueError(
            f"{name} is too short: {len(secret)} characters after its 'signkey-<env>-' prefix, at least "
            f"{MIN_SIGNING_KEY_CHARS} are needed (Inngest's keys have 64 hex digits); a short key can be "
            "guessed, and anyone holding it can call your functions"
        )


class Config(FrozenRecord):
    """The client's resolved configuration (:func:`resolve`); read-only, a changed copy comes from
    :meth:`~.record.Record.replace`, which checks the keys again.

    A plain class, not a dataclass: every cold start builds one (core/record.py says why)."""

    _fields = ("app_id", "mode", "signing_key", "signing_key_fallback", "event_key", "env", "api_origin",
               "event_api_origin", "serve_origin", "serve_path", "app_version", "allow_in_band_sync", "platform",
               "max_body_bytes", "unsigned_sync", "log_level", "http_client", "async_http_client", "request_timeout")
    _hidden = frozenset({"http_client", "async_http_client"})  # the app's objects: not compared nor shown
    _secret = frozenset({"signing_key", "signing_key_fallback", "event_key"})  # compared, never shown
    app_id: str
    mode: str  # wire.ServerKind.DEV | CLOUD
    signing_key: str | None
    signing_key_fallback: str | None
    event_key: str | None
    env: str | None
    api_origin: str
    event_api_origin: str
    serve_origin: str | None
    serve_path: str | None
    app_version: str | None
    allow_in_band_sync: bool
    platform: str | None
    max_body_bytes: int
    # INNGEST_ENABLE_UNAUTHED_SYNC: may an unsigned PUT sync the app in cloud mode (core/handler.py)?
    unsigned_sync: bool
    log_level: int | None  # of the package's logger, "inngest_serverless" (INNGEST_LOG_LEVEL)
    # The app's own httpx clients for calls to the Inngest API (Inngest(http_client=...)); None: the package's.
    http_client: Any
    async_http_client: Any
    request_timeout: float | None  # seconds per call to the Inngest API (Inngest(request_timeout=)); None: 30

    def __init__(self, app_id: str, mode: str, signing_key: str | None, signing_key_fallback: str | None,
                 event_key: str | None, env: str | None, api_origin: str, event_api_origin: str,
                 serve_origin: str | None, serve_path: str | None, app_version: str | None,
                 allow_in_band_sync: bool, platform: str | None, max_body_bytes: int, unsigned_sync: bool = False,
                 log_level: int | None = None, http_client: Any = None, async_http_client: Any = None,
                 request_timeout: float | None = None) -> None:
        # Here, not in resolve(): keys that arrive later (replace(), e.g. from AWS Secrets Manager)
        # are checked too.
        check_signing_key("signing_key", signing_key)
        check_signing_key("signing_key_fallback", signing_key_fallback)
        values = locals()
        for name in self._fields:
            _set(self, name, values[name])

    @property
    def is_dev(self) -> bool:
        return self.mode == ServerKind.DEV

    @property
    def signing_keys(self) -> tuple[str | None, ...]:
        return (self.signing_key, self.signing_key_fallback)

    def event_key_or_default(self) -> str | None:
        return self.event_key or (NO_EVENT_KEY if self.is_dev else None)


def resolve(
    *,
    app_id: str,
    is_production: bool | None,
    signing_key: str | None,
    signing_key_fallback: str | None,
    event_key: str | None,
    env: str | None,
    api_base_url: str | None,
    event_api_base_url: str | None,
    serve_origin: str | None,
    serve_path: str | None,
    app_version: str | None,
    environ: Mapping[str, str] | None = None,
    max_body_bytes: int | None = None,
    allow_in_band_sync: bool | None = None,
) -> Config:
    """Resolve the configuration; raises ``ValueError`` with a clear message when it cannot work."""
    e = os.environ if environ is None else environ
    if not app_id or not isinstance(app_id, str):
        raise ValueError("Inngest(app_id=...) must be a non-empty string")

    if is_production is None:
        dev = dev_mode_from_env(e)
        is_dev = bool(dev)
    else:
        is_dev = not is_production
    mode = ServerKind.DEV if is_dev else ServerKind.CLOUD

    dev_url = e.get(Env.DEV, "")
    dev_origin = dev_url.rstrip("/") if is_dev and _is_url(dev_url) else None
    base = e.get(Env.BASE_URL) or None
    default = Origin.DEV if is_dev else None
    api = (
        api_base_url
        or e.get(Env.API_BASE_URL)
        or base
        or dev_origin
        or default
        or Origin.CLOUD_API
    )
    events = (
        event_api_base_url
        or e.get(Env.EVENT_API_BASE_URL)
        or base
        or dev_origin
        or default
        or Origin.CLOUD_EVENT_API
    )
    key = signing_key or e.get(Env.SIGNING_KEY) or None
    if not is_dev and not key:
        raise ValueError(
            "cloud mode needs a signing key: pass Inngest(signing_key=...) or set INNGEST_SIGNING_KEY "
            "(or set INNGEST_DEV=1 / is_production=False for local development)"
        )
    branch = env or e.get(Env.ENV) or next((e[v] for v in ENV_BRANCH_FALLBACKS if e.get(v)), None)
    if allow_in_band_sync is not None:
        allow_in_band = bool(allow_in_band_sync)
    else:
        allow_in_band = not _falsy(e.get(Env.ALLOW_IN_BAND_SYNC, "true"))
    unsigned_sync = not _falsy(e.get(Env.ENABLE_UNAUTHED_SYNC, "false"))
    if max_body_bytes is not None:
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes <= 0:
            raise ValueError("Inngest(max_body_size=...) must be a positive number of bytes")
        max_body = max_body_bytes
    else:
        try:
            max_body = int(e.get(Env.MAX_BODY_BYTES, "") or Limit.DEFAULT_MAX_BODY)
        except ValueError:
            raise ValueError(f"{Env.MAX_BODY_BYTES} must be an integer number of bytes") from None
    return Config(
        app_id=app_id,
        mode=mode,
        signing_key=key,
        signing_key_fallback=signing_key_fallback or e.get(Env.SIGNING_KEY_FALLBACK) or None,
        event_key=event_key or e.get(Env.EVENT_KEY) or None,
        env=branch,
        api_origin=api.rstrip("/"),
        event_api_origin=events.rstrip("/"),
        serve_origin=serve_origin or e.get(Env.SERVE_ORIGIN) or e.get(Env.SERVE_HOST) or None,
        serve_path=serve_path or e.get(Env.SERVE_PATH) or None,
        app_version=app_version,
        allow_in_band_sync=allow_in_band,
        platform=platform_from_env(e),
        max_body_bytes=max_body,
        unsigned_sync=unsigned_sync,
        log_level=log_level_from_env(e),
    )
