"""What the app says about itself: introspection bodies (GET) and sync payloads (PUT).

Functions of data only: the app's config, its functions, the framework name and
the URL the server must call (:func:`app_url` works it out from a request's).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    from .config import Config
    from .function import Function

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


def _common(cfg: Config, function_count: int) -> dict[str, Any]:
    return {
        "schema_version": INTROSPECTION_SCHEMA_VERSION,
        "function_count": function_count,
        "has_event_key": cfg.event_key is not None,
        "has_signing_key": cfg.signing_key is not None,
        "has_signing_key_fallback": cfg.signing_key_fallback is not None,
        "mode": cfg.mode,
        "capabilities": dict(CAPABILITIES),
    }


def unauthenticated(cfg: Config, function_count: int, verified: bool | None) -> dict[str, Any]:
    """The GET body for a request that was not signed (``verified`` None) or failed verification."""
    return {**_common(cfg, function_count), "authentication_succeeded": verified}


def authenticated(cfg: Config, function_count: int, framework: str, url: str) -> dict[str, Any]:
    """The GET body for a signed request: the app's settings too (key hashes, never keys)."""
    parts = urlsplit(url)
    return {
        **_common(cfg, function_count),
        "authentication_succeeded": True,
        "api_origin": cfg.api_origin,
        "app_id": cfg.app_id,
        "env": cfg.env,
        "event_api_origin": cfg.event_api_origin,
        "event_key_hash": signing.event_key_hash(cfg.event_key) if cfg.event_key else None,
        "framework": framework,
        "sdk_language": SDK_LANGUAGE,
        "sdk_version": VERSION,
        "serve_origin": f"{parts.scheme}://{parts.netloc}",
        "serve_path": parts.path,
        "signing_key_hash": signing.bearer(cfg.signing_key) if cfg.signing_key else None,
        "signing_key_fallback_hash": signing.bearer(cfg.signing_key_fallback) if cfg.signing_key_fallback else None,
    }


def _functions(cfg: Config, functions: Sequence[Function[Any]], url: str) -> list[dict[str, Any]]:
    return [f.config(cfg.app_id, url) for f in functions]


def register_payload(cfg: Config, functions: Sequence[Function[Any]], framework: str, url: str) -> dict[str, Any]:
    """The body of ``POST /fn/register`` for the app served at ``url`` (exact keys: appName,
    deployType, appVersion)."""
    payload: dict[str, Any] = {
        "url": url,
        "v": REGISTER_PAYLOAD_VERSION,
        "deployType": DEPLOY_TYPE_PING,
        "sdk": f"{SDK_LANGUAGE}:v{VERSION}",
        "framework": framework,
        "appName": cfg.app_id,
        "capabilities": dict(CAPABILITIES),
        "functions": _functions(cfg, functions, url),
    }
    if cfg.app_version:
        payload["appVersion"] = cfg.app_version
    return payload


def in_band_payload(cfg: Config, functions: Sequence[Function[Any]], framework: str, url: str) -> dict[str, Any]:
    """The reply to an in-band sync (the app answers with its config instead of calling the API;
    the handler signs it), with null values removed."""
    body: dict[str, Any] = {
        "app_id": cfg.app_id,
        "appVersion": cfg.app_version,
        "env": cfg.env,
        "framework": framework,
        "functions": _functions(cfg, functions, url),
        "inspection": drop_none(authenticated(cfg, len(functions), framework, url)),
        "platform": cfg.platform,
        "sdk_author": SDK_AUTHOR,
        "sdk_language": SDK_LANGUAGE,
        "sdk_version": VERSION,
        "url": url,
    }
    return drop_none(body)


def out_of_band_sync(cfg: Config, functions: Sequence[Function[Any]], framework: str, url: str, *,
                     deploy_id: str | None, server_kind: str | None) -> tuple[int, dict[str, Any]]:
    """An out-of-band sync: register the app served at ``url`` with the Inngest API, and what to
    answer the PUT with (status and body). The API's refusals keep their 4xx; anything else that
    goes wrong is a 500 (the caller retries)."""
    from . import inngest_api
    from .config import package_logger

    payload = register_payload(cfg, functions, framework, url)
    try:
        status, reply = inngest_api.register(cfg, payload, deploy_id=deploy_id, server_kind=server_kind)
    except Exception as exc:
        package_logger().warning("inngest_serverless: sync failed: could not reach %s (%s)", cfg.api_origin,
                                 type(exc).__name__)
        return 500, {"message": f"could not reach the Inngest API at {cfg.api_origin}", "modified": False}
    if status == 200:
        modified = bool(reply.get("modified")) if isinstance(reply, dict) else False
        return 200, {"message": "Successfully synced.", "modified": modified}
    message = reply.get("error") or reply.get("message") if isinstance(reply, dict) else None
    out_status = status if 400 <= status < 500 else 500
    return out_status, {"message": str(message or f"sync failed with status {status}"), "modified": False}
