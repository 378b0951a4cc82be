"""What the dashboard's buttons and forms do: send an event, invoke a function, cancel and rerun a run.

Each goes through the executor exactly as the event API, ``POST /invoke`` and ``DELETE /v1/runs``
do, so a run started from the page is like any other.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from inngest_serverless.core.wire import InternalEvent

from ..ingest import EventError
from ..runs import ENDED
from .read import NotFound, runs_of_events

if TYPE_CHECKING:
    from ..executor import Executor


class Refused(ValueError):
    """An action that cannot succeed as asked (4xx): ``status`` says which."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _data(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Refused(400, "data must be a JSON object")
    return value


def send_event(ex: Executor, body: Any) -> dict[str, Any]:
    """Send one event (``{"name", "data"}``); returns its id and the runs it started."""
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object with name and data")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Refused(400, "an event needs a name")
    event: dict[str, Any] = {"name": name.strip(), "data": _data(body.get("data"))}
    try:
        ids = ex.send([event])
    except EventError as exc:
        raise Refused(400, str(exc.args[0])) from None
    return {"id": ids[0], "runs": runs_of_events(ex, ids)[ids[0]]}


def invoke(ex: Executor, slug: str, body: Any) -> dict[str, Any]:
    """Run a function now with ``{"data": ...}`` as its event data (``inngest/function.invoked``)."""
    fn = ex.registry.by_id(slug)
    if fn is None:
        raise NotFound(f"no function {slug}")
    data = dict(_data(body.get("data") if isinstance(body, dict) else None))
    data["_inngest"] = {"fn_id": fn.slug}
    ids = ex.send([{"name": InternalEvent.FUNCTION_INVOKED, "data": data}], internal=True)
    started = runs_of_events(ex, ids)[ids[0]]
    return {"id": ids[0], "run_id": started[0]["run_id"] if started else None}


def cancel(ex: Executor, run_id: str) -> dict[str, Any]:
    existing = ex.runs.get(run_id)
    if existing is None:
        raise NotFound(f"no run {run_id}")
    if existing.status in ENDED or not ex.cancel(run_id):
        current = ex.runs.get(run_id)
        raise Refused(409, f"the run is already {current.status if current else existing.status}: nothing to cancel")
    return {"run_id": run_id, "status": "Cancelled"}


def rerun(ex: Executor, run_id: str) -> dict[str, Any]:
    """A new run of the same function with the same triggering events; each run names the other
    (``rerun_of`` on the new run, ``reruns`` on the old). Flow control that holds or drops events
    (debounce, rate limits, idempotency) does not apply: the rerun is asked for by hand."""
    old = ex.runs.get(run_id)
    if old is None:
        raise NotFound(f"no run {run_id}")
    fn = ex.registry.function(old.fn_uuid) or ex.registry.by_id(old.fn_slug)
    if fn is None:
        raise Refused(409, f"function {old.fn_slug} is no longer registered")
    events = copy.deepcopy(old.events)
    for event in events:
        # An invoked run's rerun must not answer its parent's (long finished) invoke.
        internal = (event.get("data") or {}).get("_inngest")
        if isinstance(internal, dict):
            internal.pop("correlation_id", None)
    with ex.store.tx():
        new_id = ex.scheduler.schedule(fn, events, list(old.event_ids), f"rerun:{ex.ids.new()}", debounced=True)
        new = ex.runs.get(new_id) if new_id else None
        if new is None:
            raise Refused(409, f"{fn.slug} did not start a run (its singleton run may still be running)")
        ex.runs.update(new, meta={**new.meta, "rerun_of": old.id})
        ex.runs.update(old, meta={**old.meta, "reruns": [*old.meta.get("reruns", []), new.id]})
    ex.queue.notify()
    return {"run_id": new.id, "rerun_of": old.id}
