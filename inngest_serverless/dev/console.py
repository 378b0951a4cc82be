"""What the executor tells the person running it, each with its reason: an app it cannot reach, a
sync it refused, an event that started no run.

The lines go to the ``inngest_serverless.dev.console`` logger at INFO. ``inngest-serverless dev``
prints that logger at its normal level; an application that embeds ``DevServer`` sees them only if
it configures logging for them, so a test suite stays quiet.
"""

from __future__ import annotations

import logging
import threading
from typing import IO, Any

log = logging.getLogger("inngest_serverless.dev.console")


def print_to(stream: IO[str]) -> logging.Handler:
    """Print the executor's console lines on ``stream`` (indented, among a command's own output);
    returns the handler, for ``log.removeHandler``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return handler


def event(event: dict[str, Any], internal_id: str, what: str) -> None:
    """``event shop/order.placed 01J...: <what>``: what became of an event that started no run."""
    log.info("event %s %s: %s", event.get("name"), internal_id, what)


def sync_refused(payload: dict[str, Any] | None, why: str) -> None:
    """``payload``: the register body, when it was read (a refused key is checked before)."""
    fields = {str(k).lower(): v for k, v in (payload or {}).items()}
    app = f"of app {fields['appname']} " if fields.get("appname") else ""
    url = f"from {fields['url']} " if fields.get("url") else ""
    log.info("sync %s%srefused: %s", app, url, why)


class AppReachability:
    """Reports whether each polled app answers, once per change of state rather than once per poll."""

    def __init__(self) -> None:
        self._states: dict[str, str] = {}
        self._lock = threading.Lock()

    def record(self, url: str, problem: tuple[str, str] | None) -> None:
        """``problem``: why the app did not sync, as (state, message), the state being what counts
        as a change (unreachable, or the HTTP status it answered); None when it synced."""
        state = problem[0] if problem else ""
        with self._lock:
            previous = self._states.get(url)
            if state == (previous or ""):
                return
            self._states[url] = state
        if problem:
            log.info("app at %s did not sync: %s", url, problem[1])
        elif previous:
            log.info("app at %s answers again", url)
