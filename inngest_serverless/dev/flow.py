"""Flow-control keys, and the payload a run's queue item carries (its edge, attempts, limits)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import expressions
from .timefmt import parse_duration

if TYPE_CHECKING:
    from .functions import FunctionConfig
    from .runs import Run


def flow_key(fn: FunctionConfig, expression: Any, event: dict[str, Any]) -> str | None:
    """``<fn uuid>`` or ``<fn uuid>-<evaluated key>``; None when the key expression is false."""
    if not expression:
        return fn.uuid
    value = expressions.key_value(str(expression), {"event": expressions.event_map(event)})
    return None if value is None else f"{fn.uuid}-{value}"


def item_payload(fn: FunctionConfig, run: Run, edge: dict[str, Any]) -> dict[str, Any]:
    """What a queue item of ``run`` carries: the edge it follows, its attempts, its concurrency
    keys, and for the start, its throttle."""
    payload: dict[str, Any] = {"edge": edge, "max_attempts": fn.max_attempts, "ckeys": run.meta.get("ckeys")}
    if fn.throttle and edge.get("incoming") == "$trigger":
        key = flow_key(fn, fn.throttle.get("key"), run.events[0]) or fn.uuid
        limit = int(fn.throttle.get("limit") or 1) or 1
        payload["throttle"] = {
            "key": key,
            "limit": limit,
            "period": parse_duration(fn.throttle.get("period")),
            "burst": limit + int(fn.throttle.get("burst") or 0) - 1,
        }
    return payload
