"""What the dashboard shows, read from the executor's store: plain JSON-ready dictionaries.

Every query here is bounded (a page of rows, one run's history), so a page stays fast with tens
of thousands of runs stored: lists walk the ``runs`` primary key (ULIDs sort by creation time),
or the ``(status, id)`` and ``(fn_slug, id)`` indexes, from a cursor, and time filters become
ULID bounds on that key (the indexes are in ``store.SCHEMA``; bench/bench_dashboard.py measures).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from inngest_serverless.core.wire import InternalEvent

from .. import expressions
from ..ids import is_ulid, ulid_floor
from ..runs import Status

if TYPE_CHECKING:
    from ..executor import Executor
    from ..functions import FunctionConfig

PAGE = 50
MAX_PAGE = 200
# Lifecycle events the executor emits after every run: listed only on request.
LIFECYCLE = (InternalEvent.FUNCTION_FINISHED, InternalEvent.FUNCTION_FAILED, InternalEvent.FUNCTION_CANCELLED)
# A function config's keys that are not flow control: everything else it registered is shown as such.
_NOT_FLOW = frozenset({"id", "name", "triggers", "steps"})
# Timeline entries that are bookkeeping rather than steps.
_HIDDEN = frozenset({"Scheduled"})
_ERRORS = frozenset({"StepError", "StepFailed", "FunctionError"})
_OPEN_KINDS = frozenset({"Sleep", "WaitForEvent", "InvokeFunction", "WaitForSignal"})


class NotFound(LookupError):
    """A run, event or function the store does not have (404)."""


def _page(rows: list[Any], key: str, limit: int) -> tuple[list[Any], str | None]:
    """One page of ``rows`` (``limit + 1`` read newest first along the ULID column ``key``), with
    the cursor of the next page (None on the last)."""
    return rows[:limit], rows[limit - 1][key] if len(rows) > limit else None


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def version(ex: Executor) -> str:
    """A token that changes whenever anything the dashboard shows changes (``Store.change_token``)."""
    return ex.store.change_token()


# ---------------------------------------------------------------------------- apps and functions


def apps(ex: Executor) -> list[dict[str, Any]]:
    """Registered apps with their function count and the last sync's problem, and app URLs that
    were polled but never registered (with why)."""
    counts: dict[str, int] = {}
    for fn in ex.registry.functions():
        counts[fn.app] = counts.get(fn.app, 0) + 1
    polled = {row["url"]: row for row in ex.registry.sync_states()}
    out = []
    for app in sorted(ex.registry.apps(), key=lambda a: str(a["name"])):
        sync = polled.pop(app["url"], None)
        out.append(
            {
                "name": app["name"],
                "url": app["url"],
                "sdk": app["sdk"],
                "framework": app["framework"],
                "synced_at": app["updated_at"],
                "functions": counts.get(app["name"], 0),
                "error": (sync["error"] if sync else None) or app["error"],
                "checked_at": sync["polled_at"] if sync else None,
            }
        )
    for url, sync in sorted(polled.items()):
        out.append(
            {
                "name": None,
                "url": url,
                "sdk": None,
                "framework": None,
                "synced_at": None,
                "functions": 0,
                "error": sync["error"] or "not synced yet",
                "checked_at": sync["polled_at"],
            }
        )
    return out


def _triggers(fn: FunctionConfig) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for trigger in fn.config.get("triggers") or []:
        if trigger.get("event"):
            out.append({"event": trigger["event"], "expression": trigger.get("expression") or None})
        elif trigger.get("cron"):
            out.append({"cron": trigger["cron"], "jitter": trigger.get("jitter") or None})
    return out


def functions(ex: Executor) -> list[dict[str, Any]]:
    """Every registered function: triggers, retries, flow control as configured, runs by status."""
    by_status: dict[str, dict[str, int]] = {}
    for row in ex.runs.counts_by_function():
        by_status.setdefault(row[0], {})[row[1]] = row[2]
    out = []
    for fn in sorted(ex.registry.functions(), key=lambda f: (f.app, f.slug)):
        out.append(
            {
                "slug": fn.slug,
                "name": fn.name,
                "app": fn.app,
                "url": fn.url,
                "triggers": _triggers(fn),
                "retries": fn.max_attempts - 1,
                "flow_control": {key: value for key, value in fn.config.items() if key not in _NOT_FLOW and value},
                "runs": by_status.get(fn.uuid, {}),
            }
        )
    return out


# ---------------------------------------------------------------------------- events


def runs_of_events(ex: Executor, event_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The runs each event started. A run is created at or after its event, and both ids are
    ULIDs, so only runs newer than the oldest event are read."""
    found: dict[str, list[dict[str, Any]]] = {event_id: [] for event_id in event_ids}
    if not event_ids:
        return found
    for row in ex.runs.of_events(event_ids):
        found[row[3]].append({"run_id": row[0], "function": row[1], "status": row[2]})
    return found


def _why_no_run(ex: Executor, event: dict[str, Any]) -> str:
    """Why an event started no run, judged against the functions registered now."""
    name = str(event.get("name") or "")
    if name in LIFECYCLE:
        return "a lifecycle event: it resumes invoking runs and starts on_failure handlers"
    listening = [(fn, fn.triggered_by(name)) for fn in ex.registry.functions()]
    listening = [(fn, triggers) for fn, triggers in listening if triggers]
    if not listening:
        return f"no function is triggered by {name}"
    variables = {"event": expressions.event_map(event)}
    reasons = []
    for fn, triggers in listening:
        try:
            matched = any(expressions.matches(expression, variables) for expression in triggers)
        except expressions.ExpressionError as exc:
            reasons.append(f"{fn.slug}: its trigger's if cannot be evaluated: {exc}")
            continue
        if not matched:
            reasons.append(f"{fn.slug}: its trigger's if did not match: {' or '.join(str(t) for t in triggers)}")
        elif fn.debounce:
            reasons.append(f"{fn.slug}: held by its debounce ({fn.debounce.get('period')})")
        elif fn.batch:
            reasons.append(f"{fn.slug}: waiting in a batch of up to {fn.batch.get('maxSize')} events")
        elif fn.rate_limit:
            reasons.append(f"{fn.slug}: dropped by its rate limit or idempotency key")
        else:
            reasons.append(f"{fn.slug}: its event id had already started a run, or it was registered after the event")
    return "; ".join(reasons)


def _event_json(row: Any, runs: list[dict[str, Any]], ex: Executor, *, payload: bool) -> dict[str, Any]:
    """An event with its runs or why none; its data and user only with ``payload`` (an event may
    hold 3 MiB: a list of them carries none)."""
    body = json.loads(row["body"])
    out = {
        "internal_id": row["internal_id"],
        "id": body.get("id"),
        "name": body.get("name"),
        "received_at": row["received_at"],
        "ts": body.get("ts"),
        "runs": runs,
        "no_run_reason": None if runs else _why_no_run(ex, body),
    }
    if payload:
        out.update(data=body.get("data"), user=body.get("user"))
    return out


def events(ex: Executor, *, name: str | None, cursor: str | None, internal: bool, limit: int = PAGE) -> dict[str, Any]:
    """A page of events, newest first, each with the runs it started or why none."""
    excluded = () if internal else tuple(LIFECYCLE)
    rows, after = _page(ex.events.page(name=name, excluded=excluded, before=cursor, limit=limit + 1), "internal_id", limit)
    runs = runs_of_events(ex, [row["internal_id"] for row in rows])
    return {"events": [_event_json(row, runs[row["internal_id"]], ex, payload=False) for row in rows], "next": after}


def event(ex: Executor, internal_id: str) -> dict[str, Any]:
    row = ex.events.get(internal_id)
    if row is None:
        raise NotFound(f"no event {internal_id}")
    found = runs_of_events(ex, [internal_id])[internal_id]
    out = _event_json(row, found, ex, payload=True)
    if not found:
        # A run that waited for this event took it: its wait's result names the event's id.
        body = json.loads(row["body"])
        if body.get("id"):
            resumed = ex.runs.resumed_by(body["id"])
            if resumed is not None:
                out["resumed"] = resumed
                out["no_run_reason"] = f"it started no run, and resumed run {resumed} waiting for it"
    return out


# ---------------------------------------------------------------------------- runs


def _summary(row: Any) -> dict[str, Any]:
    return {
        "run_id": row["id"],
        "function": row["fn_slug"],
        "status": row["status"],
        "created_at": row["created_at"],
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "event": row["event_name"],
        "error": row["error_message"],
    }


def runs(
    ex: Executor,
    *,
    function: str | None,
    status: str | None,
    since: float | None,
    until: float | None,
    cursor: str | None,
    limit: int = PAGE,
) -> dict[str, Any]:
    """A page of runs, newest first, filtered by function slug, status and creation time."""
    before = [bound for bound in (cursor, None if until is None else ulid_floor(int(until * 1000))) if bound]
    found = ex.runs.summaries(
        function=function or None,
        status=status or None,
        from_id=None if since is None else ulid_floor(int(since * 1000)),
        before_id=min(before) if before else None,
        limit=limit + 1,
    )
    rows, after = _page(found, "id", limit)
    return {"runs": [_summary(row) for row in rows], "next": after}


def _entry(row: Any, origin: float, now: float, pauses: dict[str, float]) -> dict[str, Any]:
    detail = _loads(row["detail"])
    kind = row["kind"]
    started, ended = row["started"], row["ended"]
    entry: dict[str, Any] = {
        "kind": kind,
        "step_id": row["step_id"],
        "name": row["name"],
        "started": started,
        "ended": ended,
        "offset": started - origin,
        "duration": (ended if ended is not None else now) - started,
        "open": ended is None,
        "attempt": row["attempt"],
        "state": "ok",
    }
    if isinstance(detail, dict):
        if kind in _ERRORS:
            entry["state"] = "error"
            entry["error"] = detail.get("error")
            entry["retry_at"] = detail.get("retry_at")
        elif kind == Status.FAILED:
            entry["state"] = "error"
            entry["error"] = detail.get("error")
        if "data" in detail:
            entry["output"] = detail["data"]
        elif "output" in detail:
            entry["output"] = detail["output"]
        elif kind == "StepRun" and "error" in detail:
            entry["state"] = "error"
            entry["error"] = detail["error"]
        if "result" in detail:
            entry["result"] = detail["result"]
        if detail.get("timeout"):
            entry["timed_out"] = True
        for key in ("until", "event", "if", "function_id", "signal", "reason"):
            if detail.get(key) is not None:
                entry[key] = detail[key]
    if kind == Status.FAILED:
        entry.pop("output", None)  # a failed run's output is its error, shown as such
    if kind == "StepFailed":
        entry["state"] = "error"
        entry["error"] = (detail or {}).get("error") if isinstance(detail, dict) else detail
    if kind in _OPEN_KINDS and entry["open"]:
        entry["state"] = "waiting"
        due = entry.get("until") if kind == "Sleep" else pauses.get(str(row["step_id"]))
        if due is not None:
            entry["due_at"] = due
    return entry


def run(ex: Executor, run_id: str) -> dict[str, Any]:
    """One run: its input events, output or error, its timeline (steps with offsets and durations,
    attempts and retries, open sleeps and waits with their due time, invokes with their child run),
    and its links (the run that invoked it, reruns)."""
    if not is_ulid(run_id):
        raise NotFound(f"no run {run_id}")
    row = ex.runs.row(run_id)
    if row is None:
        raise NotFound(f"no run {run_id}")
    now = ex.clock.now()  # the times it is compared with are on the executor's clock
    meta = json.loads(row["meta"])
    origin = float(row["created_at"])
    pauses = ex.pauses.rows.expiries(run_id)
    timeline = [_entry(h, origin, now, pauses) for h in ex.runs.history(run_id) if h["kind"] not in _HIDDEN]
    invokes = [e for e in timeline if e["kind"] == "InvokeFunction"]
    if invokes:
        children = ex.runs.invoked_by(run_id)
        for entry in invokes:
            entry["child_run"] = children.get(f"{run_id}.{entry['step_id']}")
    fn = ex.registry.function(row["fn_uuid"])
    last = timeline[-1] if timeline else None
    next_retry = None
    if row["status"] == Status.RUNNING and last is not None and last.get("retry_at"):
        retry = last
        next_retry = {"at": retry["retry_at"], "attempt": (retry["attempt"] or 0) + 1, "error": retry.get("error")}
    correlation = str(meta.get("correlation_id") or "")
    return {
        "run_id": row["id"],
        "function": row["fn_slug"],
        "function_name": fn.name if fn else row["fn_slug"],
        "app": fn.app if fn else None,
        "max_attempts": fn.max_attempts if fn else None,
        "status": row["status"],
        "created_at": origin,
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "now": now,
        "events": json.loads(row["events"]),
        "event_ids": json.loads(row["event_ids"]),
        "output": _loads(row["output"]),
        "error": _loads(row["error"]),
        "timeline": timeline,
        "next_retry": next_retry,
        "cron": meta.get("cron"),
        "batch_id": meta.get("batch_id"),
        "skip_reason": meta.get("skip_reason"),
        "parent_run": correlation.split(".", 1)[0] if correlation else None,
        "rerun_of": meta.get("rerun_of"),
        "reruns": meta.get("reruns") or [],
    }
