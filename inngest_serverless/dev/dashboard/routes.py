"""The dashboard's HTTP side: its page and files, its JSON under ``/ui/api/``, and its actions.

* Reads answer with an ``ETag`` (the store's change token, :func:`read.version`): the page polls
  with ``If-None-Match`` and gets ``304`` until something changed, so live updates cost one tiny
  query per poll.
* Actions are ``POST`` with a JSON body and the ``X-Inngest-Dashboard`` header, which a page of
  another origin cannot send without a CORS preflight the executor never grants; an ``Origin``
  header, when present, must be the executor's own. A ``Host`` that is not an IP address or
  ``localhost`` is refused (DNS rebinding would otherwise let a remote page read the runs). An
  executor started with a signing key or event keys takes actions from this machine only.
* Errors are the API's one-line JSON (``HTTPError``); a page or file never shows a traceback.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import urllib.parse
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..http_base import HTTPError, RequestHandler
from ..runs import ENDED, Status
from . import API_PREFIX, PREFIX, actions, read

if TYPE_CHECKING:
    from ..executor import Executor, Options

ACTION_HEADER = "X-Inngest-Dashboard"
STATIC_PREFIX = f"{PREFIX}/static/"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Everything the page loads comes from here: no inline script or style, nothing from elsewhere.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self';"
    " base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_STATUSES = frozenset({Status.RUNNING, *ENDED})
_ULID = re.compile(r"^[0-9A-Za-z]{26}$")
_files: dict[str, tuple[bytes, str, str]] = {}


def serve(handler: RequestHandler, method: str, path: str, query: dict[str, str]) -> None:
    _check_host(handler)
    if path == "/" and method in ("GET", "HEAD"):
        _send(handler, 302, b"", "text/plain", {"Location": f"{PREFIX}/"})
        return
    if path.startswith(API_PREFIX + "/"):
        _api(handler, method, path[len(API_PREFIX) :], query)
        return
    if method != "GET":
        raise HTTPError(405, f"{method} is not allowed on {path}")
    name = path[len(STATIC_PREFIX) :] if path.startswith(STATIC_PREFIX) else "index.html"
    body, content_type, etag = _file(name)
    if handler.headers.get("If-None-Match") == etag:
        _send(handler, 304, b"", content_type, {"ETag": etag})
        return
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if name == "index.html":
        headers.update({"Content-Security-Policy": _CSP, "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"})
    _send(handler, 200, body, content_type, headers)


def _check_host(handler: RequestHandler) -> None:
    host = urllib.parse.urlsplit(f"//{handler.headers.get('Host') or ''}").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise HTTPError(403, "open the dashboard by IP address or localhost") from None


def _file(name: str) -> tuple[bytes, str, str]:
    cached = _files.get(name)
    if cached is None:
        suffix = name[name.rfind(".") :] if "." in name else ""
        if "/" in name or name.startswith(".") or suffix not in _TYPES:
            raise HTTPError(404, f"no file {name}")
        try:
            body = resources.files(__package__).joinpath("static").joinpath(name).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise HTTPError(404, f"no file {name}") from None
        cached = (body, _TYPES[suffix], f'"{hashlib.sha256(body).hexdigest()[:16]}"')
        _files[name] = cached
    return cached


def _send(handler: RequestHandler, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("X-Content-Type-Options", "nosniff")
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    if status != 304:
        handler.wfile.write(body)


def _json(handler: RequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    _send(handler, status, data, "application/json", {"Cache-Control": "no-cache", **(headers or {})})


# ---------------------------------------------------------------------------- JSON


def _api(handler: RequestHandler, method: str, route: str, query: dict[str, str]) -> None:
    ex: Executor = handler.server.executor
    parts = [urllib.parse.unquote(p) for p in route.strip("/").split("/")]
    try:
        if method == "GET":
            etag = f'W/"{read.version(ex)}"'
            if handler.headers.get("If-None-Match") == etag:
                _send(handler, 304, b"", "application/json", {"ETag": etag, "Cache-Control": "no-cache"})
                return
            _json(handler, 200, _get(ex, parts, query), {"ETag": etag})
        elif method == "POST":
            _guard(handler)
            _json(handler, 200, _post(ex, parts, handler._body()))
        else:
            raise HTTPError(405, f"{method} is not allowed on {API_PREFIX}{route}")
    except read.NotFound as exc:
        raise HTTPError(404, str(exc)) from None
    except actions.Refused as exc:
        raise HTTPError(exc.status, str(exc)) from None


def _get(ex: Executor, parts: list[str], query: dict[str, str]) -> Any:
    match parts:
        case ["apps"]:
            return {"apps": read.apps(ex)}
        case ["functions"]:
            return {"functions": read.functions(ex)}
        case ["events"]:
            return read.events(
                ex,
                name=query.get("name") or None,
                cursor=_cursor(query),
                internal=query.get("internal") == "1",
                limit=_limit(query),
            )
        case ["events", internal_id]:
            return read.event(ex, internal_id)
        case ["runs"]:
            status = query.get("status") or None
            if status is not None and status not in _STATUSES:
                raise HTTPError(400, f"status must be one of {', '.join(sorted(_STATUSES))}")
            return read.runs(
                ex,
                function=query.get("function") or None,
                status=status,
                since=_time(query, "since"),
                until=_time(query, "until"),
                cursor=_cursor(query),
                limit=_limit(query),
            )
        case ["runs", run_id]:
            return read.run(ex, run_id)
    raise HTTPError(404, f"no dashboard data at {API_PREFIX}/{'/'.join(parts)}")


def _post(ex: Executor, parts: list[str], body: Any) -> Any:
    match parts:
        case ["events"]:
            return actions.send_event(ex, body)
        case ["functions", slug, "invoke"]:
            return actions.invoke(ex, slug, body)
        case ["runs", run_id, "cancel"]:
            return actions.cancel(ex, run_id)
        case ["runs", run_id, "rerun"]:
            return actions.rerun(ex, run_id)
    raise HTTPError(404, f"no dashboard action at {API_PREFIX}/{'/'.join(parts)}")


def may_act(client_ip: str, options: Options) -> bool:
    """Whether a client may use the dashboard's actions. With a signing key or event keys set, the
    executor asks callers of its own API for them (cancel, send): the dashboard, which asks for
    none, then acts only for this machine's own users, never for the network."""
    if not (options.signing_key or options.event_keys):
        return True
    try:
        return ipaddress.ip_address(client_ip).is_loopback
    except ValueError:
        return False


def _guard(handler: RequestHandler) -> None:
    """Only the dashboard's own page may act: see the module's docstring."""
    if not may_act(str(handler.client_address[0]), handler.server.executor.options):
        raise HTTPError(403, "this executor requires keys: its dashboard acts only for clients on this machine")
    if handler.headers.get(ACTION_HEADER) != "1":
        raise HTTPError(403, f"dashboard actions need the {ACTION_HEADER} header")
    origin = handler.headers.get("Origin")
    if origin and urllib.parse.urlsplit(origin).netloc != (handler.headers.get("Host") or ""):
        raise HTTPError(403, "dashboard actions are accepted from the dashboard's own origin only")


def _limit(query: dict[str, str]) -> int:
    try:
        return max(1, min(int(query.get("limit") or read.PAGE), read.MAX_PAGE))
    except ValueError:
        raise HTTPError(400, "limit must be a whole number") from None


def _cursor(query: dict[str, str]) -> str | None:
    cursor = query.get("cursor") or None
    if cursor is not None and not _ULID.match(cursor):
        raise HTTPError(400, "cursor must be an id from a previous page")
    return cursor


def _time(query: dict[str, str], name: str) -> float | None:
    value = query.get(name)
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise HTTPError(400, f"{name} must be a Unix time in seconds") from None
    if not 0 <= seconds < 1e11:
        raise HTTPError(400, f"{name} must be a Unix time in seconds")
    return seconds
