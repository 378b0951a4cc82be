"""What the app says about itself: introspection bodies (PROTOCOL §5) and sync payloads (§6)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import signing
from .serialize import drop_none
from .version import VERSION
from .wire import (
    CAPABILITIES,
    DEPLOY_TYPE_PING,
    INTROSPECTION_SCHEMA_VERSION,
    REGISTER_PAYLOAD_VERSION,
    SDK_AUTHOR,
    SDK_LANGUAGE,
    Query,
)

if TYPE_CHECKING:
    from .handler import Handler

_PROTOCOL_QUERY = (Query.FN_ID, Query.STEP_ID, Query.PROBE, Query.DEPLOY_ID)


def strip_query(url: str, names: Iterable[str] = _PROTOCOL_QUERY) -> str:
    parts = urlsplit(url)
    drop = set(names)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in drop]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), ""))


def app_url(request_url: str, serve_origin: str | None, serve_path: str | None) -> str:
    """The URL the server must call: the request's, with serve origin/path overrides applied."""
    parts = urlsplit(strip_query(request_url))
    scheme, netloc, path = parts.scheme or "https", parts.netloc, parts.path or "/"
    if serve_origin:
        origin = urlsplit(serve_origin if "://" in serve_origin else f"{scheme}://{serve_origin}")
        scheme, netloc = origin.scheme, origin.netloc
        if origin.path.strip("/") and not serve_path:
            path = origin.path.rstrip("/") + path
    if serve_path:
        path = serve_path if serve_path.startswith("/") else "/" + serve_path
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def _common(handler: Handler) -> dict[str, Any]:
    cfg = handler.client.config
    return {
        "schema_version": INTROSPECTION_SCHEMA_VERSION,
        "function_count": len(handler.functions),
        "has_event_key": cfg.event_key is not None,
        "has_signing_key": cfg.signing_key is not None,
        "has_signing_key_fallback": cfg.signing_key_fallback is not None,
        "mode": cfg.mode,
        "capabilities": dict(CAPABILITIES),
    }


def unauthenticated(handler: Handler, verified: bool | None) -> dict[str, Any]:
    return {**_common(handler), "authentication_succeeded": verified}


def authenticated(handler: Handler, request_url: str) -> dict[str, Any]:
    cfg = handler.client.config
    url = urlsplit(handler.app_url(request_url))
    return {
        **_common(handler),
        "authentication_succeeded": True,
        "api_origin": cfg.api_origin,
        "app_id": cfg.app_id,
        "env": cfg.env,
        "event_api_origin": cfg.event_api_origin,
        "event_key_hash": signing.event_key_hash(cfg.event_key) if cfg.event_key else None,
        "framework": handler.framework,
        "sdk_language": SDK_LANGUAGE,
        "sdk_version": VERSION,
        "serve_origin": f"{url.scheme}://{url.netloc}",
        "serve_path": url.path,
        "signing_key_hash": signing.bearer(cfg.signing_key) if cfg.signing_key else None,
        "signing_key_fallback_hash": signing.bearer(cfg.signing_key_fallback) if cfg.signing_key_fallback else None,
    }


def _functions(handler: Handler, url: str) -> list[dict[str, Any]]:
    app = handler.client.app_id
    return [f.config(app, url) for f in handler.functions]


def register_payload(handler: Handler, request_url: str) -> dict[str, Any]:
    """The body of ``POST /fn/register`` (exact keys: appName, deployType, appVersion)."""
    cfg = handler.client.config
    url = handler.app_url(request_url)
    payload: dict[str, Any] = {
        "url": url,
        "v": REGISTER_PAYLOAD_VERSION,
        "deployType": DEPLOY_TYPE_PING,
        "sdk": f"{SDK_LANGUAGE}:v{VERSION}",
        "framework": handler.framework,
        "appName": cfg.app_id,
        "capabilities": dict(CAPABILITIES),
        "functions": _functions(handler, url),
    }
    if cfg.app_version:
        payload["appVersion"] = cfg.app_version
    return payload


def in_band_payload(handler: Handler, server_url: str) -> dict[str, Any]:
    """The signed reply to an in-band sync (PROTOCOL §6.3), with null values removed."""
    cfg = handler.client.config
    url = handler.app_url(server_url)
    body: dict[str, Any] = {
        "app_id": cfg.app_id,
        "appVersion": cfg.app_version,
        "env": cfg.env,
        "framework": handler.framework,
        "functions": _functions(handler, url),
        "inspection": drop_none(authenticated(handler, server_url)),
        "platform": cfg.platform,
        "sdk_author": SDK_AUTHOR,
        "sdk_language": SDK_LANGUAGE,
        "sdk_version": VERSION,
        "url": url,
    }
    return drop_none(body)
