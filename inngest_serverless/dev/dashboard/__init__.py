"""The executor's web dashboard: apps, functions, events, runs and each run's timeline, served on
the executor's own port.

Pages live under ``/ui/`` (``/`` redirects there); the JSON they read comes from ``/ui/api/``,
which no Inngest API path starts with. The page is plain HTML, CSS and one ES module shipped as
package data (``static/``): no build step, no CDN, nothing fetched from elsewhere.

Importing this package is cheap (the executor's request handler asks :func:`owns` of every
path); the routes, queries and static files load on the first dashboard request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..http_base import RequestHandler

PREFIX = "/ui"
API_PREFIX = f"{PREFIX}/api"


def owns(path: str) -> bool:
    """Whether ``path`` is the dashboard's (its pages, files and JSON) rather than the Inngest API's."""
    return path == "/" or path == PREFIX or path.startswith(PREFIX + "/")


def home_url(base: str) -> str:
    return f"{base.rstrip('/')}{PREFIX}/"


def run_url(base: str, run_id: str) -> str:
    from urllib.parse import quote

    return f"{base.rstrip('/')}{PREFIX}/runs/{quote(run_id, safe='')}"


def serve(handler: RequestHandler, method: str, path: str, query: dict[str, str]) -> None:
    """Answer one dashboard request on ``handler`` (errors raise the API's ``HTTPError``)."""
    from .routes import serve as serve_route

    serve_route(handler, method, path, query)
